// Where a job's card work runs (issue #20): on the server that holds the socket of the card's agent
// (or wallet). Any server accepts the API call, knows the card by the serial its holder published
// (or, when none was, checks it through the holder: services/cluster/card-relay.ts) and opens the
// job; when the card is held elsewhere, the job is
// queued for the holder, which is woken on the bus, claims it and runs it — so personalization's
// few hundred APDUs never cross between servers, and a restart of the server that took the call
// does not touch it. A holder that dies with a queued or running job leaves it to the recovery
// sweep once its lease runs out (interrupted-jobs.ts).
import type { Actor } from '../context.js';
import type { Bus } from '../cluster/bus.js';
import type { Db } from '../../store/db.js';
import { getDevice } from '../../store/devices-repo.js';
import { queueJobFor } from '../../store/jobs-repo.js';
import { claimQueuedRuns, type ClaimedRun } from '../../store/queued-job-claim.js';
import { closeQuietly, type CardElsewhere, type CardReader, type ReachedCard } from './card-reader.js';
import type { InitialPinVault } from './initial-pin.js';
import type { IssuanceRunner, KnownForRun } from './issuance-runner.js';
import type { IssuanceJob, JobOptions } from './job-view.js';

/** How the holder is to run a queued job (stored with it until claimed). */
interface Dispatch {
  actor: Actor;
  /** Whose agent the card is reached through (the starter's owner for CardAccess.connect). */
  cardOwner: string;
  agentId: string;
  reader: string;
  wipeFirst?: boolean;
  /** Only the print phase (a retry after the printer failed). */
  printOnly?: boolean;
}

/** Starts jobs where their cards are: the starts, Retry (what IssuanceRunner is to one server). */
export interface CardJobLauncher {
  /** The server instance that takes the call: jobs started here are owned by it until queued. */
  readonly instanceId: string;
  launch(
    actor: Actor,
    job: IssuanceJob,
    card: ReachedCard,
    wipeFirst?: boolean,
    known?: KnownForRun,
  ): Promise<void>;
  /** Only the print phase, for a job whose card is encoded. */
  launchPrint(actor: Actor, job: IssuanceJob): Promise<void>;
}

export class JobDispatch implements CardJobLauncher {
  #claiming: Promise<void> = Promise.resolve();
  #again = false;

  constructor(
    private readonly deps: {
      db: Db;
      runner: IssuanceRunner;
      cards: CardReader;
      bus: Bus;
      /** Opens the PIN and PUK read with a claimed job. */
      pins: InitialPinVault;
      /** Which live server holds an agent; absent (PGlite, one process): always this one. */
      holderOf?: (agentId: string) => Promise<string | null>;
    },
  ) {
    deps.bus.subscribe('job-queued', (instance) => {
      if (instance === this.instanceId) void this.claim();
    });
    deps.bus.onResync(() => void this.claim());
  }

  get instanceId(): string {
    return this.deps.runner.instanceId;
  }

  async launch(
    actor: Actor,
    job: IssuanceJob,
    card: ReachedCard,
    wipeFirst = false,
    known?: KnownForRun,
  ): Promise<void> {
    let far: Pick<CardElsewhere, 'holder' | 'agentId' | 'reader'>;
    if (!('conn' in card)) far = card;
    else {
      // Opened here, through the holder when it published no serial (card-relay.ts's connection).
      const relayed = card.conn as Partial<CardElsewhere>;
      if (!relayed.holder || relayed.holder === this.instanceId)
        return this.deps.runner.launch(actor, job, card, wipeFirst, known);
      await closeQuietly(card.conn);
      far = relayed as CardElsewhere;
    }
    await this.#queue(far.holder, job, {
      actor,
      cardOwner: actor.id ?? job.userId,
      agentId: far.agentId,
      reader: far.reader,
      wipeFirst,
    });
  }

  async launchPrint(actor: Actor, job: IssuanceJob): Promise<void> {
    const opts = job.options as JobOptions;
    const holder = (await this.deps.holderOf?.(opts.agentId)) ?? null;
    if (!holder || holder === this.instanceId) return this.deps.runner.launchPrint(actor, job);
    await this.#queue(holder, job, {
      actor,
      cardOwner: actor.id ?? job.userId,
      agentId: opts.agentId,
      reader: opts.reader,
      printOnly: true,
    });
  }

  async #queue(holder: string, job: IssuanceJob, d: Dispatch): Promise<void> {
    // The word that wakes the holder goes in the same statement (one statement instead of two).
    const { bus } = this.deps;
    const word = bus.carry?.('job-queued', holder) ?? {
      notify: null,
      here: () => bus.publish('job-queued', holder),
    };
    await queueJobFor(this.deps.db, job.id, holder, { ...d }, word.notify);
    word.here();
  }

  /**
   * Claims and starts the jobs queued for this server: when woken, after the bus reconnects, and
   * every so often (a word may be lost). One claim at a time; a wake-up meanwhile claims again.
   */
  claim(): Promise<void> {
    if (this.#again) return this.#claiming;
    this.#again = true;
    this.#claiming = this.#claiming
      .then(async () => {
        this.#again = false;
        for (const claimed of await claimQueuedRuns(this.deps.db, this.instanceId))
          await this.#start(claimed, claimed.dispatch as unknown as Dispatch);
      })
      .catch(() => undefined);
    return this.#claiming;
  }

  async #start(claimed: ClaimedRun, d: Dispatch): Promise<void> {
    const { runner, pins } = this.deps;
    const { job } = claimed;
    if (d.printOnly) return runner.launchPrint(d.actor, job);
    try {
      const device = claimed.device ?? (await getDevice(this.deps.db, job.deviceId))!;
      const opened = await this.deps.cards.openDevice(
        d.cardOwner,
        { agentId: d.agentId, reader: d.reader },
        device,
      );
      // The claim read what the run needs (its job as claimed, the device, policy and person, and
      // the PIN and PUK the start stored), as a start on this server hands it over: the run reads
      // none of it again, and gives the card the stored PUK (so does not write one).
      const { policy, user } = claimed;
      const known: KnownForRun | undefined =
        claimed.device && policy && user
          ? { device: claimed.device, policy, user, secrets: pins.opened(job.deviceId, claimed.sealed) }
          : undefined;
      runner.launch(d.actor, job, opened, d.wipeFirst === true, known);
    } catch (e) {
      // The agent left, or the card was swapped, between the call and the claim.
      await runner.failJob(d.actor, job, e);
    }
  }

  /** Claims every `intervalMs`; returns the function that stops it. */
  startScheduler(o: { intervalMs: number }): () => void {
    void this.claim();
    const timer = setInterval(() => void this.claim(), o.intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}
