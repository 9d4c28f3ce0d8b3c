// Periodic work done once per period by one of the servers sharing the database — never by none
// (a server that dies leaves its slot to the next that looks), never by two (the slot is taken in
// one statement: store/scheduled-work-repo.ts). Any periodic job can use it: CRL refresh, the end
// of temporary devices, the sign-in throttle purge; the mail outbox claims each message itself
// (services/notify/mail-outbox.ts) and may run its sweep here too.
import type { Queryable } from '../../store/db.js';
import { takeSlot } from '../../store/scheduled-work-repo.js';

export interface PeriodicWork {
  /** Unique per kind of work: the slot's name. */
  name: string;
  /** How often the work is done (by whichever server takes the slot). */
  intervalMs: number;
  run(): Promise<unknown>;
}

export class ScheduledWork {
  constructor(
    private readonly deps: { db: Queryable; instanceId: string; onError: (err: unknown) => void },
  ) {}

  /**
   * Looks every quarter interval (and at once) whether the slot is due; runs the work when this
   * server took it. Runs never overlap here. Returns the function that stops it.
   */
  every(work: PeriodicWork): () => void {
    let running: Promise<unknown> = Promise.resolve();
    let busy = false;
    const tick = () => {
      if (busy) return;
      busy = true;
      running = running
        .then(async () => {
          if (await takeSlot(this.deps.db, work.name, work.intervalMs, this.deps.instanceId))
            await work.run();
        })
        .catch(this.deps.onError)
        .finally(() => (busy = false));
    };
    tick();
    const timer = setInterval(tick, Math.max(250, work.intervalMs / 4));
    timer.unref();
    return () => clearInterval(timer);
  }
}
