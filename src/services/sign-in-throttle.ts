// Throttling of the sign-in secrets a person can guess at — the operator password, and in the
// user portal the initial password, the security answers and the directory password (decision
// 0022). Each attempt is counted BEFORE its secret is checked, under the locks of its rows, against the name
// as typed, the source address and the pair; attempts in flight are therefore seen by every later
// one, and a burst of parallel guesses gets no more tries than a sequence. Past a few free
// failures an attempt must wait a delay that doubles with each failure; one made too early is
// refused unseen — after the same slow hash and with the same answer as a wrong secret, so that
// neither the delay nor the existence of the name shows. Counts are per name whether or not the
// name exists. A person's own address, once they have signed in from it, ignores the count of
// their name from everywhere, so strangers cannot keep them out.
import { NotFoundError } from '../domain/errors.js';
import {
  decideAttempt,
  sourceKey,
  type ThrottledSecret,
  type ThrottleLimits,
  type ThrottleScope,
} from '../domain/sign-in-throttle.js';
import { appendAudit } from '../store/audit-repo.js';
import type { Queryable } from '../store/db.js';
import {
  countSuccess,
  liftDelay,
  listDelays,
  lockCounts,
  purgeForgotten,
  putCounts,
  type ThrottleRecord,
} from '../store/sign-in-throttle-repo.js';
import { auditActor, type Actor, type ServiceContext } from './context.js';

export type { ThrottleRecord } from '../store/sign-in-throttle-repo.js';
export type { ThrottledSecret, ThrottleLimits, ThrottleScope } from '../domain/sign-in-throttle.js';

export const DEFAULT_THROTTLE: ThrottleLimits = {
  freePerNameAddress: 5,
  freePerName: 20,
  freePerAddress: 20,
  firstDelaySeconds: 30,
  maxDelaySeconds: 15 * 60,
  forgetSeconds: 60 * 60,
};

/** One counted attempt: whether its secret may be looked at, and the pair's count after it. */
export interface Attempt {
  secret: ThrottledSecret;
  name: string;
  address: string;
  at: Date;
  admitted: boolean;
  failures: number;
  nextAt: Date | null;
}

/** The name as the throttle counts it: as typed, in lower case (names match case-insensitively). */
export const throttleName = (username: string) => username.trim().toLowerCase();

/**
 * Counts one attempt at `secret` for `username` from `from` (a remote address) and decides whether
 * its secret may be checked (the rule: decideAttempt in the domain).
 */
export async function admitAttempt(
  ctx: ServiceContext,
  limits: ThrottleLimits,
  secret: ThrottledSecret,
  username: string,
  from: string | undefined,
): Promise<Attempt> {
  const at = ctx.clock.now();
  const name = throttleName(username);
  const address = sourceKey(from);
  const key = { secret, name, address };
  // Read, decided and written under the rows' locks, before the secret is looked at.
  const { admitted, after } = await ctx.db.transaction(async (tx) => {
    const decided = decideAttempt(await lockCounts(tx, key), limits, at);
    if (decided.admitted) await putCounts(tx, key, decided.after);
    return decided;
  });
  const pair = after.name_address;
  return { secret, name, address, at, admitted, failures: pair.failures, nextAt: pair.nextAt };
}

/** A success takes the attempt back (in the transaction that opens the session). */
export function attemptSucceeded(tx: Queryable, a: Attempt): Promise<void> {
  return countSuccess(tx, a);
}

/**
 * Audits a checked, failed attempt at a known person's secret (refused-unseen attempts and unknown
 * names leave no event: the count holds them, and the operator sees delays in force).
 */
export async function auditFailure(
  ctx: ServiceContext,
  a: Attempt,
  userId: string,
  action: string,
  details: Record<string, unknown> = {},
): Promise<void> {
  // In a transaction of its own: appending takes the audit chain's head under its lock.
  await ctx.db.transaction((tx) =>
    appendAudit(tx, {
      actor: { id: null, name: 'anonymous' },
      action,
      targetType: 'user',
      targetId: userId,
      details: {
        ...details,
        from: a.address,
        failures: a.failures,
        ...(a.nextAt ? { delayedUntil: a.nextAt.toISOString() } : {}),
      },
      at: a.at,
    }),
  );
}

/** What the operator sees of the throttle, and lifts. */
export class SignInThrottleService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly limits: ThrottleLimits = DEFAULT_THROTTLE,
  ) {}

  /**
   * Deletes the counts that stand at nothing (no delay in force, last failure forgotten); returns
   * how many. Run by startScheduler, so rows for every name and address ever tried do not pile up.
   */
  purgeForgotten(): Promise<number> {
    const now = this.ctx.clock.now();
    return purgeForgotten(this.ctx.db, now, new Date(now.getTime() - this.limits.forgetSeconds * 1000));
  }

  /** Runs purgeForgotten now and every `intervalMs` (10 minutes); returns the stop function. */
  startScheduler(o: { intervalMs?: number; onError: (err: unknown) => void }): () => void {
    const tick = () => void this.purgeForgotten().catch(o.onError);
    tick();
    const timer = setInterval(tick, o.intervalMs ?? 10 * 60_000);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** The delays in force now, longest first; `username` narrows them to one name. */
  list(opts: { username?: string; limit?: number } = {}): Promise<ThrottleRecord[]> {
    return listDelays(this.ctx.db, this.ctx.clock.now(), {
      ...(opts.username ? { name: throttleName(opts.username) } : {}),
      limit: opts.limit ?? 200,
    });
  }

  /** Ends one delay now (audited). A pair's trust stays. */
  async lift(
    actor: Actor,
    key: { secret: ThrottledSecret; scope: ThrottleScope; subject: string },
  ): Promise<ThrottleRecord> {
    return this.ctx.db.transaction(async (tx) => {
      const lifted = await liftDelay(tx, key);
      if (!lifted) throw new NotFoundError('sign-in delay', `${key.secret} ${key.scope} ${key.subject}`);
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'auth.sign_in_delay_lifted',
        targetType: 'sign_in_throttle',
        targetId: `${key.secret}:${key.scope}:${key.subject}`,
        details: {
          secret: lifted.secret,
          scope: lifted.scope,
          ...(lifted.name ? { name: lifted.name } : {}),
          ...(lifted.address ? { address: lifted.address } : {}),
          failures: lifted.failures,
          delayedUntil: lifted.nextAt.toISOString(),
        },
        correlationId: actor.correlationId ?? null,
        at: this.ctx.clock.now(),
      });
      return lifted;
    });
  }
}
