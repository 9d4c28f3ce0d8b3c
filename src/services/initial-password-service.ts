// One-time initial passwords for the user portal (reference 000: "enter the Initial Password").
// An operator issues one; it is shown once (or handed to a mailer when one is plugged in), kept
// only as a scrypt hash, valid for a limited time, burnt after too many wrong tries, consumed by
// its first successful use, and superseded by the next one issued.
import { NotFoundError, ValidationError } from '../domain/errors.js';
import { hashPassword, randomPassword, verifyPassword } from '../secrets/password.js';
import { appendAudit } from '../store/audit-repo.js';
import {
  finishOutstandingInitialPasswords,
  getOutstandingInitialPassword,
  insertInitialPassword,
  updateInitialPassword,
} from '../store/portal-auth-repo.js';
import { getUser, type User } from '../store/users-repo.js';
import { auditActor, type Actor, type ServiceContext } from './context.js';

export interface InitialPasswordOptions {
  /** How long an initial password stays valid (default 72 h). */
  ttlHours: number;
  /** Wrong tries before it is burnt (default 5). */
  maxAttempts: number;
}

export const DEFAULT_INITIAL_PASSWORD_OPTIONS: InitialPasswordOptions = { ttlHours: 72, maxAttempts: 5 };

/**
 * Delivers an initial password to its owner (e-mail arrives with the notification service). When
 * deliver() resolves true the password was sent and is not returned to the operator.
 */
export interface InitialPasswordMailer {
  deliver(user: User, password: string, expiresAt: Date): Promise<boolean>;
}

export interface IssuedInitialPassword {
  /** Present only when shown to the operator (not when e-mailed). */
  password?: string;
  expiresAt: string;
  delivery: 'displayed' | 'email';
}

export type InitialPasswordCheck =
  { ok: true } | { ok: false; reason: 'none' | 'expired' | 'wrong' | 'burnt' };

export class InitialPasswordService {
  private mailer: InitialPasswordMailer | null = null;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly opts: InitialPasswordOptions = DEFAULT_INITIAL_PASSWORD_OPTIONS,
  ) {}

  /** Plugs in e-mail delivery (the notification service, when mail is configured). */
  useMailer(mailer: InitialPasswordMailer | null): void {
    this.mailer = mailer;
  }

  async issue(actor: Actor, userId: string): Promise<IssuedInitialPassword> {
    const user = await getUser(this.ctx.db, userId);
    if (!user) throw new NotFoundError('user', userId);
    if (user.state !== 'active')
      throw new ValidationError(
        `This person is ${user.state}: reactivate them before issuing an initial password`,
      );
    const password = randomPassword();
    const hash = await hashPassword(password);
    const at = this.ctx.clock.now();
    const expiresAt = new Date(at.getTime() + this.opts.ttlHours * 3_600_000);
    const emailed = this.mailer && user.email ? await this.mailer.deliver(user, password, expiresAt) : false;
    const delivery = emailed ? 'email' : 'displayed';
    await this.ctx.db.transaction(async (tx) => {
      const superseded = await finishOutstandingInitialPasswords(tx, userId, 'superseded', at);
      const rec = await insertInitialPassword(tx, {
        userId,
        passwordHash: hash,
        maxAttempts: this.opts.maxAttempts,
        issuedBy: actor.id,
        issuedAt: at,
        expiresAt,
      });
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'initial_password.issued',
        targetType: 'user',
        targetId: userId,
        details: { initialPasswordId: rec.id, expiresAt: expiresAt.toISOString(), delivery, superseded },
        correlationId: actor.correlationId ?? null,
        at,
      });
    });
    return { ...(emailed ? {} : { password }), expiresAt: expiresAt.toISOString(), delivery };
  }

  /** Whether the person holds a usable (outstanding, unexpired) initial password right now. */
  async hasOutstanding(userId: string): Promise<boolean> {
    const rec = await getOutstandingInitialPassword(this.ctx.db, userId);
    return !!rec && new Date(rec.expiresAt) > this.ctx.clock.now();
  }

  /** Checks (and on success consumes) a person's initial password; every outcome is audited. */
  async check(userId: string, password: string): Promise<InitialPasswordCheck> {
    return this.ctx.db.transaction(async (tx): Promise<InitialPasswordCheck> => {
      const now = this.ctx.clock.now();
      const rec = await getOutstandingInitialPassword(tx, userId, true);
      const audit = (action: string, details: Record<string, unknown>) =>
        appendAudit(tx, {
          actor: { id: null, name: 'anonymous' },
          action,
          targetType: 'user',
          targetId: userId,
          details,
          at: now,
        });
      if (!rec) {
        await verifyPassword(password, null);
        return { ok: false, reason: 'none' };
      }
      if (new Date(rec.expiresAt) <= now) {
        await verifyPassword(password, null);
        await updateInitialPassword(tx, rec.id, {
          attempts: rec.attempts,
          status: 'expired',
          finishedAt: now,
        });
        await audit('initial_password.expired', { initialPasswordId: rec.id });
        return { ok: false, reason: 'expired' };
      }
      if (await verifyPassword(password, rec.passwordHash)) {
        await updateInitialPassword(tx, rec.id, {
          attempts: rec.attempts,
          status: 'consumed',
          finishedAt: now,
        });
        await audit('initial_password.consumed', { initialPasswordId: rec.id });
        return { ok: true };
      }
      const attempts = rec.attempts + 1;
      const burnt = attempts >= rec.maxAttempts;
      await updateInitialPassword(tx, rec.id, {
        attempts,
        status: burnt ? 'burnt' : 'outstanding',
        finishedAt: burnt ? now : null,
      });
      await audit(burnt ? 'initial_password.burnt' : 'initial_password.failed', {
        initialPasswordId: rec.id,
        attempts,
        maxAttempts: rec.maxAttempts,
      });
      return { ok: false, reason: burnt ? 'burnt' : 'wrong' };
    });
  }
}
