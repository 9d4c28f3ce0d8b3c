// The card step: this computer's agent (paired on first use, with what to run and why) and the card
// in its reader. The page watches the readers by itself, so the person only inserts the card and
// presses Set up my card; a card that is not bound to them is named and refused before anything is
// written. One thing at a time: what the person needs now is in plain sight (the readers; else the
// demo hand-over; else pairing the agent), the other ways (pairing instead of the hand-over, a
// phone instead of a card, what the agent is) wait behind a disclosure.
import { useEffect, useState } from 'react';
import { AgentDownloads, agentCommand, useAgentBuilds } from '../components/AgentDownload';
import { ErrorPanel } from '../components/ErrorPanel';
import { CopyButton } from '../components/CopyButton';
import { PhoneLink } from '../components/PhoneLink';
import { toApiError, type ApiError } from '../api';
import { useAction, useLoad } from '../hooks';
import type { Agent, ConnectedCard, Device, IssuanceJob, PairingCode } from '../types';
import type { DemoHandover, DemoReaderView } from './types';
import { portalApi } from './portal-api';

const POLL_MS = 2000;
/** Watching stops after this long, so an unattended page does not keep its session alive. */
const WATCH_MS = 10 * 60_000;

interface Props {
  userId: string;
  onStarted: (started: { device: Device; job: IssuanceJob | null }) => void;
  /** Setting up a replacement: the request it completes (reference 003). */
  requestId?: string;
  onBack: () => void;
}

/** What a reader holds, in the person's terms, and whether Start may use it. */
export function describeCard(c: ConnectedCard, userId: string): { text: string; usable: boolean } {
  if (c.device?.type === 'mobile' && c.device.userId === userId)
    return c.status === 'bound'
      ? { text: `Your phone’s wallet ${c.serial} — ready to be set up.`, usable: true }
      : { text: `Your phone’s wallet ${c.serial} is already set up (${c.device.state}).`, usable: false };
  switch (c.status) {
    case 'empty':
      return { text: 'No card in this reader.', usable: false };
    case 'unreadable':
      return {
        text: `The card could not be read (${c.error ?? 'unknown error'}). Take it out and insert it again.`,
        usable: false,
      };
    case 'bound':
      return c.device?.userId === userId
        ? { text: `Your card ${c.serial} — ready to be set up.`, usable: true }
        : { text: `Card ${c.serial} is bound to someone else.`, usable: false };
    case 'blank':
      return {
        text: `Card ${c.serial} is not bound to you, so it cannot be set up here. Ask your help desk to bind it to you.`,
        usable: false,
      };
    case 'in_use':
      return c.device?.userId === userId
        ? { text: `Your card ${c.serial} is already set up (${c.device.state}).`, usable: false }
        : { text: `Card ${c.serial} belongs to someone else.`, usable: false };
  }
}

/**
 * Why no card can be set up yet, in the person's words: shown beside the disabled button, so the
 * button never waits for no visible reason.
 */
export function waitingFor(cards: ConnectedCard[], agentRunning: boolean, atHelpDesk = false): string {
  if (atHelpDesk) return 'Waiting for your card: take it to a demo reader (above).';
  if (cards.length === 0)
    return agentRunning
      ? 'Waiting for a card reader: plug yours in.'
      : 'Waiting for this computer’s card reader: connect it as shown above.';
  if (cards.every((c) => c.status === 'empty')) return 'Waiting for your card: insert it into a reader.';
  return 'None of the cards in the readers can be set up for you (see above): insert your own card.';
}

export function ConnectCard({ userId, requestId, onStarted, onBack }: Props) {
  const [cards, setCards] = useState<ConnectedCard[] | null>(null);
  const [agents, setAgents] = useState<Agent[]>([]);
  const [pollError, setPollError] = useState<ApiError | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [watching, setWatching] = useState(0);
  const [paused, setPaused] = useState(false);
  const act = useAction();
  // On a demo server, the person's card may still sit in the help desk's demo reader.
  const demo = useLoad(() => portalApi.demoReader(), []);
  const [handed, setHanded] = useState('');
  const atHelpDesk = demo.data?.available ? demo.data.cards.filter((c) => !c.inMyReader) : [];

  // Watch the readers until the person starts: agents connect, cards come and go.
  useEffect(() => {
    let live = true;
    let timer: number | undefined;
    const until = Date.now() + WATCH_MS;
    setPaused(false);
    const poll = async () => {
      if (Date.now() > until) {
        setPaused(true);
        return;
      }
      // Each look reads the cards through the agent: none while the page is not on screen.
      if (!document.hidden)
        try {
          const [c, a] = await Promise.all([portalApi.cards(), portalApi.agents()]);
          if (!live) return;
          setCards(c.items);
          setAgents(a);
          setPollError(null);
        } catch (e) {
          if (live) setPollError(toApiError(e));
        }
      if (live) timer = window.setTimeout(() => void poll(), POLL_MS);
    };
    void poll();
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [watching]);

  const key = (c: ConnectedCard) => `${c.agentId}\u0000${c.reader}`;
  const usable = (cards ?? []).filter((c) => describeCard(c, userId).usable);
  // Keep the person's choice while it stays usable; otherwise take the first usable card.
  const current = usable.find((c) => key(c) === selected) ?? usable[0] ?? null;

  const start = async () => {
    if (!current) return;
    const r = await act.run(() =>
      portalApi.issue({ agentId: current.agentId, reader: current.reader }, requestId),
    );
    if (r) return onStarted(r);
    // The answer may have been lost after the server began: follow that issuance if there is one.
    const open = await portalApi.openIssuance().catch(() => null);
    if (open?.job && open.device) onStarted({ device: open.device, job: open.job });
  };

  if (cards === null)
    return pollError ? (
      <ErrorPanel error={pollError} title="Could not look for your card reader" />
    ) : (
      <p>Looking for your card reader…</p>
    );

  const agentRunning = agents.some((a) => a.connected);
  const pair = <PairAgent agents={agents} />;
  return (
    <div>
      {atHelpDesk.length > 0 && (
        <DemoHandOver
          cards={atHelpDesk}
          onMoved={(r) => {
            demo.setData(r);
            const mine = r.cards.filter((c) => r.moved.includes(c.serial));
            setHanded(
              mine.map((c) => `Your card ${c.serial} is now in your demo reader “${c.reader}”.`).join(' '),
            );
            // Look at the readers now rather than at the next poll.
            setWatching((w) => w + 1);
          }}
        />
      )}
      {handed && (
        <p className="notice" role="status">
          {handed}
        </p>
      )}
      {cards.length === 0 && agentRunning ? (
        <p className="notice" role="status">
          Your agent (
          {agents
            .filter((a) => a.connected)
            .map((a) => `“${a.name}”`)
            .join(', ')}
          ) is running but sees no card reader. Plug in your reader and insert your card.
        </p>
      ) : cards.length === 0 && atHelpDesk.length > 0 ? (
        <details className="portal-more">
          <summary>Use a card reader of this computer instead</summary>
          {pair}
        </details>
      ) : cards.length === 0 ? (
        pair
      ) : (
        <>
          <p>
            {current
              ? 'Your card is here: choose Set up my card.'
              : 'Insert your card into the reader. This page sees it by itself.'}
          </p>
          <ul className="portal-readers" aria-label="Card readers" aria-live="polite">
            {cards.map((c) => {
              const d = describeCard(c, userId);
              return (
                <li
                  key={key(c)}
                  className={d.usable ? 'portal-reader portal-reader--usable' : 'portal-reader'}
                >
                  <label>
                    {d.usable && usable.length > 1 && (
                      <input
                        type="radio"
                        name="portal-card"
                        checked={current !== null && key(current) === key(c)}
                        onChange={() => setSelected(key(c))}
                      />
                    )}
                    <span className="portal-reader__name">{c.reader}</span>
                    <span className="portal-reader__state">{d.text}</span>
                  </label>
                </li>
              );
            })}
          </ul>
        </>
      )}
      {paused && (
        <p className="notice" role="status">
          This page stopped watching your card reader.{' '}
          <button type="button" className="btn-link" onClick={() => setWatching((w) => w + 1)}>
            Look again
          </button>
        </p>
      )}
      <ErrorPanel error={pollError} title="Lost sight of your card reader; trying again" />
      <ErrorPanel error={act.error} title="Your card was not set up" />
      <div className="portal-actions">
        <button
          type="button"
          className="btn btn-primary btn-large"
          disabled={!current || act.busy}
          aria-describedby={current ? undefined : 'portal-card-waiting'}
          onClick={() => void start()}
        >
          {act.busy
            ? 'Setting up…'
            : current?.device?.type === 'mobile'
              ? 'Set up my phone'
              : 'Set up my card'}
        </button>
        <button type="button" className="btn btn-large" onClick={onBack}>
          Back
        </button>
      </div>
      {!current && (
        <p id="portal-card-waiting" className="action-reason" role="status">
          {waitingFor(cards, agentRunning, atHelpDesk.length > 0)}
        </p>
      )}
      <details className="portal-more portal-phone">
        <summary>Or make your phone your smart card</summary>
        <p>
          Your phone can hold your certificates instead of a card: it shows up here like a card in a reader,
          and is set up the same way.
        </p>
        <PhoneLink
          make={portalApi.walletLink}
          whose="your phone"
          buttonLabel="Issue to my phone"
          readers={cards.map((c) => c.reader)}
        />
      </details>
    </div>
  );
}

/** No reader is reachable: say what the agent is, and pair it (or start it, when already paired). */
function PairAgent({ agents }: { agents: Agent[] }) {
  const [code, setCode] = useState<PairingCode | null>(null);
  const act = useAction();
  const server = window.location.origin;
  const paired = agents.filter((a) => !a.connected);
  const builds = useAgentBuilds();
  const run = agentCommand(builds.data);
  const command = code ? `${run} --server ${server} --pair ${code.code}` : '';

  return (
    <div className="portal-pair">
      <h2>Connect this computer’s card reader</h2>
      <p>This computer needs the Tessera agent, a small program that lets Tessera reach your card reader.</p>
      <details className="portal-more">
        <summary>What the agent does</summary>
        <p>
          It only passes messages between Tessera and your card reader: it keeps no key, PIN or password. You
          install it once; after that this page finds your card by itself.
        </p>
      </details>
      {paired.length > 0 && (
        <p className="notice">
          This computer may already be paired ({paired.map((a) => `“${a.name}”`).join(', ')}), but its agent
          is not running. Start it with <code className="mono">{run}</code>, or pair it again below.
        </p>
      )}
      <ol className="portal-steps">
        <li>
          Download the agent to this computer (one file, nothing else to install):
          <AgentDownloads builds={builds} audience="person" />
        </li>
        <li>
          Get a one-time pairing code and run the command shown, in a terminal on this computer:
          {code ? (
            <div className="portal-command">
              <code className="mono" aria-label="Agent command">
                {command}
              </code>
              <CopyButton text={command} />
              <p className="muted small">
                Pairing code <strong className="mono portal-code">{code.code}</strong>, valid once until{' '}
                {new Date(code.expiresAt).toLocaleTimeString()}.
              </p>
            </div>
          ) : (
            <div>
              <button
                type="button"
                className="btn"
                disabled={act.busy}
                onClick={() => void act.run(() => portalApi.pairingCode()).then((c) => c && setCode(c))}
              >
                {act.busy ? 'Getting a code…' : 'Get a pairing code'}
              </button>
            </div>
          )}
        </li>
        <li>Insert your card. This page notices the agent and your card by itself.</li>
      </ol>
      <ErrorPanel error={act.error} title="No pairing code" />
    </div>
  );
}

/**
 * On a demo server the card bound to the person sits in the help desk's emulated reader; this
 * "hands it over" into an emulated reader of the person's own (named as the one it came from), as the
 * help desk would hand over a physical card. Shown only where the server offers it and a card is
 * still elsewhere; then it is what the person needs now, so it comes first.
 */
function DemoHandOver({
  cards,
  onMoved,
}: {
  cards: DemoReaderView['cards'];
  onMoved: (r: DemoHandover) => void;
}) {
  const act = useAction();
  const take = async () => {
    const r = await act.run(() => portalApi.takeDemoCard());
    if (r) onMoved(r);
  };
  return (
    <div className="notice portal-demo" role="note" aria-label="Your card is at the help desk">
      <p>
        {cards.map((c) => (
          <span key={c.serial}>
            Your card <strong className="mono">{c.serial}</strong> is still at the help desk, in “{c.reader}
            ”.{' '}
          </span>
        ))}
      </p>
      <p className="small">
        <strong>Demo server:</strong> on a real workstation you would insert your card into your own reader;
        here Tessera moves it into a demo reader of yours.
      </p>
      <button type="button" className="btn btn-primary" disabled={act.busy} onClick={() => void take()}>
        {act.busy ? 'Moving your card…' : 'Take my card to a demo reader'}
      </button>
      <ErrorPanel error={act.error} title="Your card was not moved" />
    </div>
  );
}
