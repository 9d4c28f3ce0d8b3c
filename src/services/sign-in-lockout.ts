// The lockout of sign-in secrets a person can guess at: the operator password, and in the user
// portal the directory password and the security answers. After `maxFailures` consecutive failures
// the secret is locked for `lockoutMinutes`; a success clears the count; a lock that has run out
// starts the count afresh. Each failure and each lockout is audited. This is the one place the rule
// lives: each secret's count is kept by its own store, reached through a FailureTally. (The initial
// password counts attempts on its own record instead, because it is burnt rather than locked.)
import { DomainError } from '../domain/errors.js';
import { appendAudit } from '../store/audit-repo.js';
import type { Queryable } from '../store/db.js';
import { getFailures, putFailures } from '../store/portal-auth-repo.js';
import { getUserCredentials, recordLoginFailure } from '../store/users-repo.js';

export interface LockoutPolicy {
  maxFailures: number;
  lockoutMinutes: number;
}

export const DEFAULT_PORTAL_LOCKOUT: LockoutPolicy = { maxFailures: 5, lockoutMinutes: 15 };

export class LockedOutError extends DomainError {
  constructor(lockedUntil: Date) {
    super(
      'locked_out',
      `Too many failed sign-ins: this account is locked until ${lockedUntil.toISOString()}. Try again later or ask an administrator`,
      { lockedUntil: lockedUntil.toISOString() },
    );
  }
}

export interface FailureCount {
  failures: number;
  lockedUntil: Date | null;
}

/** Where one person's failures with one secret are counted, and how they are audited. */
export interface FailureTally {
  userId: string;
  read(q: Queryable, forUpdate: boolean): Promise<FailureCount>;
  write(tx: Queryable, count: FailureCount): Promise<void>;
  audit: { failed: string; lockedOut: string; details: Record<string, unknown> };
}

/** The operator password: counted on the person's own row. */
export const passwordTally = (userId: string): FailureTally => ({
  userId,
  read: async (q, forUpdate) => {
    const c = await getUserCredentials(q, userId, forUpdate);
    return { failures: c?.failedLogins ?? 0, lockedUntil: c?.lockedUntil ?? null };
  },
  write: (tx, c) => recordLoginFailure(tx, userId, c.failures, c.lockedUntil),
  audit: { failed: 'auth.sign_in_failed', lockedOut: 'auth.locked_out', details: {} },
});

/** A user-portal method (the directory password, the security answers): counted per method. */
export const portalMethodTally = (userId: string, method: string): FailureTally => ({
  userId,
  read: (q, forUpdate) => getFailures(q, userId, method, forUpdate),
  write: (tx, c) => putFailures(tx, userId, method, c),
  audit: { failed: 'portal_auth.failed', lockedOut: 'portal_auth.locked_out', details: { method } },
});

/** Throws LockedOutError while the count says the secret is locked. */
export function assertUnlocked(count: FailureCount, now: Date): void {
  if (count.lockedUntil && count.lockedUntil > now) throw new LockedOutError(count.lockedUntil);
}

/** Throws LockedOutError while the secret is locked for this person. */
export async function assertNotLocked(db: Queryable, tally: FailureTally, now: Date): Promise<void> {
  assertUnlocked(await tally.read(db, false), now);
}

/**
 * The rule: how many consecutive failures one more makes, and until when it locks the secret
 * (null when it does not).
 */
export function afterFailure(
  count: FailureCount,
  policy: LockoutPolicy,
  now: Date,
): { failures: number; lockedUntil: Date | null } {
  const base = count.lockedUntil && count.lockedUntil <= now ? 0 : count.failures;
  const failures = base + 1;
  const lockedUntil =
    failures >= policy.maxFailures ? new Date(now.getTime() + policy.lockoutMinutes * 60_000) : null;
  return { failures, lockedUntil };
}

/** Counts one failure (in tx) and audits it; returns the lock end when this failure locked the secret. */
export async function recordFailure(
  tx: Queryable,
  tally: FailureTally,
  policy: LockoutPolicy,
  now: Date,
): Promise<Date | null> {
  const { failures, lockedUntil } = afterFailure(await tally.read(tx, true), policy, now);
  // A lock starts a fresh count for when it runs out.
  await tally.write(tx, { failures: lockedUntil ? 0 : failures, lockedUntil });
  await appendAudit(tx, {
    actor: { id: null, name: 'anonymous' },
    action: lockedUntil ? tally.audit.lockedOut : tally.audit.failed,
    targetType: 'user',
    targetId: tally.userId,
    details: lockedUntil
      ? { ...tally.audit.details, failures, lockedUntil: lockedUntil.toISOString() }
      : { ...tally.audit.details, failures },
    at: now,
  });
  return lockedUntil;
}

/** A success: the count starts again from nothing. */
export function clearFailures(tx: Queryable, tally: FailureTally): Promise<void> {
  return tally.write(tx, { failures: 0, lockedUntil: null });
}
