// Who follows a job hears of each change (progress, end, PIN changed) at once: the portals' event
// streams watch here. Changes are said on the bus (services/cluster/bus.ts), so a stream on any
// server follows a job any server runs; a stream also re-reads the job now and then, in case a
// word was lost.
import { EventEmitter } from 'node:events';
import { LocalBus, type Bus, type Carried } from '../cluster/bus.js';

/** Tells those following a job that it changed; they read the job again. */
export interface JobChanges {
  publish(jobId: string): void;
  /**
   * The word as the statement that commits the change may carry it (the NOTIFY, if any, and this
   * server's delivery to call after the commit); absent, the caller publishes after the commit.
   */
  carry?(jobId: string): Carried;
}

/** The event every change is also heard on; a symbol, so no job id can collide with it. */
const ANY = Symbol('any job');

export class JobProgress implements JobChanges {
  readonly #events = new EventEmitter();

  constructor(private readonly bus: Bus = new LocalBus()) {
    this.#events.setMaxListeners(0);
    bus.subscribe('job', (jobId) => {
      this.#events.emit(jobId);
      this.#events.emit(ANY, jobId);
    });
  }

  publish(jobId: string): void {
    this.bus.publish('job', jobId);
  }

  carry(jobId: string): Carried {
    return this.bus.carry?.('job', jobId) ?? { notify: null, here: () => this.publish(jobId) };
  }

  /** Calls `listener` whenever the job changes (progress, end); returns unsubscribe. */
  watch(jobId: string, listener: () => void): () => void {
    this.#events.on(jobId, listener);
    return () => this.#events.off(jobId, listener);
  }

  /** Calls `listener` with the id of every job that changes (a phone's wallet follows its device's). */
  watchAll(listener: (jobId: string) => void): () => void {
    this.#events.on(ANY, listener);
    return () => this.#events.off(ANY, listener);
  }
}
