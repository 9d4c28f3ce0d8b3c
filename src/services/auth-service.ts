// Password sign-in with lockout, and cookie sessions. The cookie carries a random token; only its
// SHA-256 is stored, so a database leak does not hand out live sessions. Each session has a CSRF
// token that state-changing requests must echo in a header.
import { createHash, randomBytes } from 'node:crypto';
import { UnauthenticatedError } from '../domain/errors.js';
import { permissionsOf, type Permission } from '../domain/permissions.js';
import { verifyPassword } from '../secrets/password.js';
import { appendAudit } from '../store/audit-repo.js';
import type { Queryable } from '../store/db.js';
import {
  deleteExpiredSessions,
  deleteSession,
  getSession,
  getSessionWithUser,
  insertSession,
  touchSession,
  type SessionRecord,
} from '../store/sessions-repo.js';
import { getUserByUsername, getUserCredentials, type User } from '../store/users-repo.js';
import type { ServiceContext } from './context.js';
import {
  DEFAULT_THROTTLE,
  admitAttempt,
  attemptSucceeded,
  auditFailure,
  type ThrottleLimits,
} from './sign-in-throttle.js';

export interface AuthPolicy {
  sessionTtlMinutes: number;
  sessionIdleMinutes: number;
  /** Sign-in throttling (decision 0022); the defaults when omitted. */
  throttle?: ThrottleLimits;
}

export interface Me {
  id: string;
  username: string;
  displayName: string;
  roles: User['roles'];
  permissions: Permission[];
}

export interface SignedIn {
  token: string;
  csrfToken: string;
  expiresAt: Date;
  user: Me;
}

export interface ResolvedSession {
  session: SessionRecord;
  user: User;
  me: Me;
}

/**
 * What a session may do. A portal session (the user portal, signed in with an initial password,
 * the directory password or security answers) carries only the self-service permissions, whatever
 * roles the person holds: operator work needs an operator sign-in.
 */
export const toMe = (u: User, kind: SessionRecord['kind'] = 'operator'): Me => ({
  id: u.id,
  username: u.username,
  displayName: u.displayName,
  roles: u.roles,
  permissions: permissionsOf(u.roles).filter((p) => kind === 'operator' || p.startsWith('self.')),
});

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

const BAD_CREDENTIALS = 'The username or password is wrong';
const NIL_ID = '00000000-0000-0000-0000-000000000000';

export class AuthService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly policy: AuthPolicy,
  ) {}

  /**
   * Signs in with a username and password from `from` (the client's address). Every refusal —
   * unknown name, wrong password, an attempt made while a delay is in force — is the same error
   * after the same slow hash (decision 0022).
   */
  async login(
    username: string,
    password: string,
    kind: 'operator' | 'portal' = 'operator',
    from?: string,
  ): Promise<SignedIn> {
    const attempt = await admitAttempt(
      this.ctx,
      this.policy.throttle ?? DEFAULT_THROTTLE,
      'password',
      username,
      from,
    );
    const user = await getUserByUsername(this.ctx.db, username);
    // The same queries for an unknown name (the nil id finds nothing), so timing tells nothing.
    const creds = await getUserCredentials(this.ctx.db, user?.id ?? NIL_ID);
    const good = await verifyPassword(password, creds?.passwordHash ?? null);
    if (!attempt.admitted || !good || !user) {
      if (user && attempt.admitted) await auditFailure(this.ctx, attempt, user.id, 'auth.sign_in_failed');
      throw new UnauthenticatedError(BAD_CREDENTIALS);
    }
    if (user.state !== 'active')
      throw new UnauthenticatedError(`This account is ${user.state}: ask an administrator to reactivate it`);
    return this.startSession(user, kind, 'password', (tx) => attemptSucceeded(tx, attempt));
  }

  /**
   * Opens a session for a person whose credentials were checked by the caller (a password here,
   * or a user-portal method), records how they signed in, and audits it. `also` runs in the same
   * transaction (e.g. clearing failure counters).
   */
  async startSession(
    user: User,
    kind: SessionRecord['kind'],
    authMethod: string,
    also?: (tx: Queryable) => Promise<void>,
  ): Promise<SignedIn> {
    const now = this.ctx.clock.now();
    const token = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(24).toString('base64url');
    const expiresAt = new Date(now.getTime() + this.policy.sessionTtlMinutes * 60_000);
    await this.ctx.db.transaction(async (tx) => {
      if (also) await also(tx);
      await insertSession(tx, {
        id: hashToken(token),
        userId: user.id,
        kind,
        csrfToken,
        authMethod,
        createdAt: now,
        lastSeenAt: now,
        expiresAt,
        data: {},
      });
      await appendAudit(tx, {
        actor: { id: user.id, name: user.username },
        action: 'auth.signed_in',
        targetType: 'user',
        targetId: user.id,
        details: { kind, method: authMethod },
        at: now,
      });
    });
    return { token, csrfToken, expiresAt, user: toMe(user, kind) };
  }

  /** The live session for a cookie token, or null: expired (absolute or idle) sessions are removed. */
  async resolve(token: string | undefined): Promise<ResolvedSession | null> {
    if (!token || token.length > 200) return null;
    const id = hashToken(token);
    // The person comes with the session, in one statement.
    const found = await getSessionWithUser(this.ctx.db, id);
    if (!found) return null;
    const { session, user } = found;
    const now = this.ctx.clock.now();
    const idleLimit = new Date(session.lastSeenAt.getTime() + this.policy.sessionIdleMinutes * 60_000);
    if (session.expiresAt <= now || idleLimit <= now) {
      await deleteSession(this.ctx.db, id);
      return null;
    }
    if (!user || user.state !== 'active') {
      await deleteSession(this.ctx.db, id);
      return null;
    }
    // Writing last_seen on every request is wasted I/O; a minute's granularity is enough for idling.
    if (now.getTime() - session.lastSeenAt.getTime() > 60_000) await touchSession(this.ctx.db, id, now);
    return { session, user, me: toMe(user, session.kind) };
  }

  async logout(token: string | undefined): Promise<void> {
    if (!token) return;
    const session = await getSession(this.ctx.db, hashToken(token));
    if (!session) return;
    await this.ctx.db.transaction(async (tx) => {
      await deleteSession(tx, session.id);
      await appendAudit(tx, {
        actor: { id: session.userId, name: 'self' },
        action: 'auth.signed_out',
        targetType: 'user',
        targetId: session.userId,
        at: this.ctx.clock.now(),
      });
    });
  }

  purgeExpired(): Promise<number> {
    return deleteExpiredSessions(this.ctx.db, this.ctx.clock.now());
  }
}
