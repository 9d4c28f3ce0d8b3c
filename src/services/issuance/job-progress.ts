// Who follows a job hears of each change (progress, end, PIN changed) at once: the portals' event
// streams watch here. In memory, so only this process's changes are heard; a stream also polls
// the job now and then for a job another server runs.
import { EventEmitter } from 'node:events';

/** Tells those following a job that it changed; they read the job again. */
export interface JobChanges {
  publish(jobId: string): void;
}

export class JobProgress implements JobChanges {
  readonly #events = new EventEmitter();

  constructor() {
    this.#events.setMaxListeners(0);
  }

  publish(jobId: string): void {
    this.#events.emit(jobId);
  }

  /** Calls `listener` whenever the job changes (progress, end); returns unsubscribe. */
  watch(jobId: string, listener: () => void): () => void {
    this.#events.on(jobId, listener);
    return () => this.#events.off(jobId, listener);
  }
}
