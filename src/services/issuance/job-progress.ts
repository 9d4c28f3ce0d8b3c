// Who follows a job hears of each change (progress, end, PIN changed) at once: the portals' event
// streams watch here. In memory, so only this process's changes are heard; a stream also polls
// the job now and then for a job another server runs.
import { EventEmitter } from 'node:events';

/** Tells those following a job that it changed; they read the job again. */
export interface JobChanges {
  publish(jobId: string): void;
}

/** The event every change is also heard on; a symbol, so no job id can collide with it. */
const ANY = Symbol('any job');

export class JobProgress implements JobChanges {
  readonly #events = new EventEmitter();

  constructor() {
    this.#events.setMaxListeners(0);
  }

  publish(jobId: string): void {
    this.#events.emit(jobId);
    this.#events.emit(ANY, jobId);
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
