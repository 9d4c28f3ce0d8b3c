// This server process as one of several sharing a database (docs/operations.md "Several servers"):
// it registers with a lease and renews it every third of the lease, so the others learn it is
// alive; it ends its lease when it stops cleanly, so its jobs are recovered at once. Whoever finds
// a lease run out treats its holder as dead (services/issuance/interrupted-jobs.ts).
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Queryable } from '../../store/db.js';
import {
  listInstances,
  purgeDeadInstances,
  registerInstance,
  renewLease,
  stopInstance,
  type InstanceRecord,
} from '../../store/instances-repo.js';

export type { InstanceRecord };

export interface InstanceSettings {
  /** How long a server counts as alive after its last heartbeat (TESSERA_INSTANCE_LEASE_SECONDS). */
  leaseSeconds: number;
  /** How this server is named in the list (TESSERA_INSTANCE_NAME; default host name and pid). */
  name?: string;
  version: string;
}

/** Dead instances are listed this long, then forgotten. */
const KEEP_DEAD_SECONDS = 24 * 3600;

export class InstanceRegistry {
  readonly id = randomUUID();
  readonly name: string;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    private readonly db: Queryable,
    private readonly settings: InstanceSettings,
  ) {
    this.name = settings.name ?? `${hostname()}:${process.pid}`;
  }

  get leaseSeconds(): number {
    return this.settings.leaseSeconds;
  }

  /** Registers this process (at start-up, before it can own a job). */
  async register(): Promise<void> {
    await registerInstance(this.db, {
      id: this.id,
      name: this.name,
      pid: process.pid,
      version: this.settings.version,
      leaseSeconds: this.settings.leaseSeconds,
    });
  }

  /**
   * Renews the lease every third of it. A process paused past its lease was dead to the others
   * meanwhile (its running jobs failed as interrupted; its own runs then fail on the job's state):
   * it renews and carries on, or registers again when it was forgotten. A failed renewal is retried
   * at the next beat (the database may be briefly away); `onError` hears of it.
   */
  startHeartbeat(onError: (err: unknown) => void): () => void {
    const beat = async () => {
      if (this.#stopped) return;
      if (!(await renewLease(this.db, this.id, this.settings.leaseSeconds))) await this.register();
      await purgeDeadInstances(this.db, KEEP_DEAD_SECONDS);
    };
    // A beat at once: start-up after registering (migrations, the CA) may have taken a while.
    void beat().catch(onError);
    this.#timer = setInterval(
      () => void beat().catch(onError),
      Math.max(200, (this.settings.leaseSeconds * 1000) / 3),
    );
    this.#timer.unref();
    return () => clearInterval(this.#timer);
  }

  /** Every instance remembered, alive ones first. */
  list(): Promise<InstanceRecord[]> {
    return listInstances(this.db);
  }

  /** A clean stop: the lease ends now. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    await stopInstance(this.db, this.id);
  }
}
