// The temporary-device expiry job: a temporary replacement device whose validity ran out is ended
// the way the help desk would end it (original restored, temporary device terminated). Due times
// live in the database (requests.due_at), so a restart loses none; each due request is claimed
// with FOR UPDATE SKIP LOCKED in its own transaction, so with several servers each is ended once,
// and one that cannot be ended does not stop the others.
import { systemActor } from '../context.js';
import { claimDueRequests } from '../../store/requests-repo.js';
import type { ReplacementDeps } from './common.js';
import { endTemporary } from './terminate.js';

export class TemporaryExpiry {
  constructor(private readonly deps: ReplacementDeps) {}

  /** Ends every due temporary device; returns how many were ended. */
  async runDue(max = 100): Promise<number> {
    let ended = 0;
    const actor = systemActor('temporary-device expiry');
    const failed = new Set<string>();
    for (let i = 0; i < max; i++) {
      const at = this.deps.clock.now();
      const r = await this.deps.db
        .transaction(async (tx) => {
          const [due] = (await claimDueRequests(tx, at, 1 + failed.size)).filter((d) => !failed.has(d.id));
          if (!due) return null;
          try {
            return { id: due.id, ...(await endTemporary(tx, this.deps, actor, due, at, 'expired')) };
          } catch (e) {
            failed.add(due.id);
            throw Object.assign(e as Error, { requestId: due.id });
          }
        })
        .catch((e: unknown) => ({ error: e }));
      if (r === null) break;
      if ('error' in r) {
        this.onError?.(r.error);
        continue;
      }
      await this.deps.revocation.publishAfterCommit(r.caIds);
      ended++;
    }
    return ended;
  }

  onError?: (err: unknown) => void;

  /** Runs the job now and then every `intervalMs`; returns the function that stops it. */
  startScheduler(o: { intervalMs?: number; onError: (err: unknown) => void }): () => void {
    this.onError = o.onError;
    let running: Promise<unknown> = Promise.resolve();
    const tick = () => {
      running = running.then(() => this.runDue()).catch(o.onError);
    };
    tick();
    const timer = setInterval(tick, o.intervalMs ?? 60_000);
    timer.unref();
    return () => clearInterval(timer);
  }
}
