// Agents: the workstations whose card readers (and card printers) this operator uses. Pairing
// shows a one-time code to type into the agent on the workstation; the list shows each paired
// agent, whether it is connected now, its readers, and a Revoke button; below, the agent's download.
import { useState } from 'react';
import { api } from '../api';
import { AgentDownloads, agentCommand, useAgentBuilds } from '../components/AgentDownload';
import { Badge } from '../components/Badge';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { ErrorPanel } from '../components/ErrorPanel';
import { Loading, PageHeader } from '../components/Status';
import { CopyButton } from '../components/CopyButton';
import { useStackTable } from '../components/stack-table';
import { formatDateTime } from '../format';
import { useAction, useLoad, useTitle } from '../hooks';
import type { Agent, PairingCode } from '../types';

const readerName = (r: Agent['readers'][number]) => `${r.name}${r.cardPresent ? ' (card inserted)' : ''}`;

export function AgentsPage() {
  useTitle('Agents');
  const stack = useStackTable();
  const agents = useLoad(async () => (await api.agents.list()).items, []);
  const pair = useAction();
  const revoke = useAction();
  const [code, setCode] = useState<PairingCode | null>(null);
  const [revoking, setRevoking] = useState<Agent | null>(null);
  const notThere = agents.error?.status === 404 || pair.error?.status === 404;
  const builds = useAgentBuilds();
  const command = code
    ? `${agentCommand(builds.data)} --server ${window.location.origin} --pair ${code.code}`
    : '';

  const newCode = async () => {
    const c = await pair.run(() => api.agents.pairingCode());
    if (c) setCode(c);
  };
  const confirmRevoke = async () => {
    if (!revoking) return;
    const ok = await revoke.run(() => api.agents.revoke(revoking.id));
    if (ok !== undefined) {
      setRevoking(null);
      agents.reload();
    }
  };

  return (
    <>
      <PageHeader
        title="Agents"
        intro="The workstations whose card readers you use to issue devices."
        actions={
          <button
            type="button"
            className="btn btn-primary"
            disabled={pair.busy}
            onClick={() => void newCode()}
          >
            Pair an agent
          </button>
        }
      />
      {notThere && (
        <p className="notice" role="status">
          This server does not offer agent pairing yet (it answered 404 Not Found to /api/agents): update the
          Tessera server to pair workstations here.
        </p>
      )}
      {!notThere && <ErrorPanel error={pair.error} title="Could not create a pairing code" />}
      {code && (
        <section className="card pairing" aria-labelledby="pair-h">
          <h2 id="pair-h">Pairing code</h2>
          <p className="pairing__code mono" aria-label="One-time pairing code">
            {code.code}
          </p>
          <p className="muted">
            Valid once, until {formatDateTime(code.expiresAt)}. On the workstation with the card reader, run:
          </p>
          <pre className="pairing__command">{command}</pre>
          <CopyButton text={command} label="Copy command" /> <CopyButton text={code.code} label="Copy code" />
        </section>
      )}
      <section className="card" aria-labelledby="agents-h">
        <div className="card__head">
          <h2 id="agents-h">Paired agents</h2>
          <button type="button" className="btn btn-small" onClick={agents.reload}>
            Refresh
          </button>
        </div>
        {!notThere && <ErrorPanel error={agents.error} title="Could not list the agents" />}
        {agents.loading && !agents.data && <Loading what="Loading agents" />}
        {agents.data && agents.data.length === 0 && <p className="muted">No agent is paired yet.</p>}
        {agents.data && agents.data.length > 0 && (
          <div className="table-wrap">
            <table ref={stack} className="table table--stack">
              <caption className="visually-hidden">Paired agents</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Host</th>
                  <th scope="col">Connection</th>
                  <th scope="col">Last seen</th>
                  <th scope="col">Readers</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {agents.data.map((a) => (
                  <tr key={a.id}>
                    <td>{a.name}</td>
                    <td className="mono">{a.hostname}</td>
                    <td>
                      <Badge
                        value={a.connected ? 'active' : 'inventory'}
                        label={a.connected ? 'Connected' : 'Offline'}
                      />
                    </td>
                    <td>{formatDateTime(a.lastSeenAt)}</td>
                    <td>
                      {a.readers.length ? (
                        a.readers.map(readerName).join(', ')
                      ) : (
                        <span className="muted">none</span>
                      )}
                    </td>
                    <td>
                      <button
                        type="button"
                        className="btn btn-small btn-danger-outline"
                        onClick={() => setRevoking(a)}
                      >
                        Revoke
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section className="card" aria-labelledby="agent-download-h">
        <h2 id="agent-download-h">Agent download</h2>
        <p className="muted">
          The agent runs on each workstation with a card reader: one executable, no Node.js needed. Download
          it there, check its SHA-256, and run the command shown when you pair it.
        </p>
        <AgentDownloads builds={builds} audience="operator" />
      </section>
      <ConfirmDialog
        open={revoking !== null}
        title={revoking ? `Revoke agent ${revoking.name}?` : ''}
        confirmLabel="Revoke"
        danger
        busy={revoke.busy}
        error={revoke.error}
        onConfirm={() => void confirmRevoke()}
        onCancel={() => setRevoking(null)}
      >
        <p>The agent is disconnected at once and can no longer relay cards; pair it again to use it.</p>
      </ConfirmDialog>
    </>
  );
}
