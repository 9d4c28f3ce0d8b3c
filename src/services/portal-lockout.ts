// Failure counting for user-portal sign-in methods that a person can guess at (security answers,
// the directory password): after `maxFailures` consecutive failures the method is locked for
// `lockoutMinutes`, and each failure and lockout is audited. The initial password counts attempts
// on its own record instead, because it is burnt rather than locked.
import { appendAudit } from '../store/audit-repo.js';
import type { Queryable } from '../store/db.js';
import { getFailures, putFailures } from '../store/portal-auth-repo.js';
import { LockedOutError } from './auth-service.js';

export interface LockoutPolicy {
  maxFailures: number;
  lockoutMinutes: number;
}

export const DEFAULT_PORTAL_LOCKOUT: LockoutPolicy = { maxFailures: 5, lockoutMinutes: 15 };

/** Throws LockedOutError while the method is locked for this person. */
export async function assertNotLocked(
  db: Queryable,
  userId: string,
  method: string,
  now: Date,
): Promise<void> {
  const c = await getFailures(db, userId, method);
  if (c.lockedUntil && c.lockedUntil > now) throw new LockedOutError(c.lockedUntil);
}

/** Counts one failure (in tx); returns the lock end when this failure locked the method. */
export async function recordPortalFailure(
  tx: Queryable,
  userId: string,
  method: string,
  policy: LockoutPolicy,
  now: Date,
): Promise<Date | null> {
  const c = await getFailures(tx, userId, method, true);
  // A lockout that has run out starts the count afresh.
  const base = c.lockedUntil && c.lockedUntil <= now ? 0 : c.failures;
  const failures = base + 1;
  const lock =
    failures >= policy.maxFailures ? new Date(now.getTime() + policy.lockoutMinutes * 60_000) : null;
  await putFailures(tx, userId, method, { failures: lock ? 0 : failures, lockedUntil: lock });
  await appendAudit(tx, {
    actor: { id: null, name: 'anonymous' },
    action: lock ? 'portal_auth.locked_out' : 'portal_auth.failed',
    targetType: 'user',
    targetId: userId,
    details: lock ? { method, failures, lockedUntil: lock.toISOString() } : { method, failures },
    at: now,
  });
  return lock;
}

export async function clearPortalFailures(tx: Queryable, userId: string, method: string): Promise<void> {
  await putFailures(tx, userId, method, { failures: 0, lockedUntil: null });
}
