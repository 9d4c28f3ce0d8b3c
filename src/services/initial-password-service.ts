// One-time initial passwords for the user portal (reference 000: "enter the Initial Password").
// An operator issues one; it is e-mailed to its owner when mail is configured and they have an
// address (else shown once to the operator), kept only as a scrypt hash, valid for the configured
// time, burnt after the configured number of wrong tries, and superseded by the next one issued
// (two issued at once take turns on the person's row). It stays good after its first use until the
// person has finished what it was for — their security answers set, or a card issued to themselves
// — so a browser closed half-way through the first sign-in does not lock them out (issue #19).
import { NotFoundError, ValidationError } from '../domain/errors.js';
import { hashPassword, randomPassword, verifyPassword } from '../secrets/password.js';
import { appendAudit } from '../store/audit-repo.js';
import type { Queryable } from '../store/db.js';
import {
  consumeUsedInitialPassword,
  finishOutstandingInitialPasswords,
  getLastFinishedInitialPassword,
  getOutstandingInitialPassword,
  markInitialPasswordUsed,
  insertInitialPassword,
  updateInitialPassword,
} from '../store/portal-auth-repo.js';
import { getUser, type User } from '../store/users-repo.js';
import { auditActor, type Actor, type ServiceContext } from './context.js';
import type { SettingsService } from './settings-service.js';

/**
 * Delivers an initial password to its owner's e-mail address through the mail outbox: `check`
 * refuses an address that is not exactly one (before anything is stored), `queue` writes the
 * message in the caller's transaction, `queued` wakes the sender once that transaction committed.
 */
export interface InitialPasswordMailer {
  check(user: User): void;
  queue(tx: Queryable, user: User, password: string, expiresAt: Date): Promise<{ mailId: string }>;
  queued(): void;
}

export interface InitialPasswordDeps {
  /** Validity and attempts are read from the security settings at each issue. */
  settings: SettingsService;
  /** E-mail delivery; null when no mail server is configured. */
  mailer?: InitialPasswordMailer | null;
}

/** How the operator wants it delivered: e-mail when possible (default), or shown to them. */
export type InitialPasswordDeliveryChoice = 'auto' | 'email' | 'displayed';

export interface IssuedInitialPassword {
  /** Present only when shown to the operator (not when e-mailed). */
  password?: string;
  /** The address it was sent to, when e-mailed. */
  email?: string;
  /** The queued message in the mail outbox, when e-mailed (its state: GET /api/mail/{id}). */
  mailId?: string;
  expiresAt: string;
  delivery: 'displayed' | 'email';
}

/**
 * The outcome of a check. `used` and `expired` are told only to someone who typed the right
 * password (it says nothing to a guesser): the person can be told what happened and what to do.
 */
export type InitialPasswordCheck =
  | { ok: true }
  | { ok: false; reason: 'none' | 'wrong' | 'burnt' }
  | { ok: false; reason: 'used' | 'expired'; rightPassword: boolean };

export class InitialPasswordService {
  private readonly settings: SettingsService;
  private readonly mailer: InitialPasswordMailer | null;

  constructor(
    private readonly ctx: ServiceContext,
    deps: InitialPasswordDeps,
  ) {
    this.settings = deps.settings;
    this.mailer = deps.mailer ?? null;
  }

  async issue(
    actor: Actor,
    userId: string,
    choice: InitialPasswordDeliveryChoice = 'auto',
  ): Promise<IssuedInitialPassword> {
    const user = await getUser(this.ctx.db, userId);
    if (!user) throw new NotFoundError('user', userId);
    if (user.state !== 'active')
      throw new ValidationError(
        `This person is ${user.state}: reactivate them before issuing an initial password`,
      );
    if (choice === 'email' && !this.mailer)
      throw new ValidationError(
        'E-mail is not configured on this server (TESSERA_SMTP_URL): issue it to be shown instead',
      );
    if (choice === 'email' && !user.email)
      throw new ValidationError(
        'This person has no e-mail address: add one on their page, or issue it to be shown instead',
      );
    const mailer = choice !== 'displayed' && user.email ? this.mailer : null;
    const { initialPasswordValidityHours, initialPasswordMaxAttempts } = await this.settings.getSecurity();
    const password = randomPassword();
    const hash = await hashPassword(password);
    const at = this.ctx.clock.now();
    const expiresAt = new Date(at.getTime() + initialPasswordValidityHours * 3_600_000);
    // Refused before anything is stored: an address that is not exactly one is never mailed to.
    mailer?.check(user);
    const delivery = mailer ? 'email' : 'displayed';
    // The message is queued in the transaction that stores the password (the mail outbox): both
    // exist or neither does, and a mail server that is down delays the mail instead of the issue.
    const mailId = await this.ctx.db.transaction(async (tx) => {
      // The person's row first: two operators issuing at once take turns here, so the second
      // sees (and supersedes) the first one's password instead of colliding with it on the
      // one-outstanding-per-person index.
      await getUser(tx, userId, true);
      const superseded = await finishOutstandingInitialPasswords(tx, userId, 'superseded', at);
      const rec = await insertInitialPassword(tx, {
        userId,
        passwordHash: hash,
        maxAttempts: initialPasswordMaxAttempts,
        issuedBy: actor.id,
        issuedAt: at,
        expiresAt,
      });
      const mail = mailer ? await mailer.queue(tx, user, password, expiresAt) : null;
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'initial_password.issued',
        targetType: 'user',
        targetId: userId,
        details: {
          initialPasswordId: rec.id,
          expiresAt: expiresAt.toISOString(),
          maxAttempts: initialPasswordMaxAttempts,
          delivery,
          ...(mail ? { email: user.email, mailId: mail.mailId } : {}),
          superseded,
        },
        correlationId: actor.correlationId ?? null,
        at,
      });
      return mail?.mailId ?? null;
    });
    if (mailer) mailer.queued();
    return {
      ...(mailer ? { email: user.email!, mailId: mailId! } : { password }),
      expiresAt: expiresAt.toISOString(),
      delivery,
    };
  }

  /** Whether the person holds a usable (outstanding, unexpired) initial password right now. */
  async hasOutstanding(userId: string): Promise<boolean> {
    const rec = await getOutstandingInitialPassword(this.ctx.db, userId);
    return !!rec && new Date(rec.expiresAt) > this.ctx.clock.now();
  }

  /**
   * Checks a person's initial password; every outcome is audited. Success keeps it outstanding
   * (the first use is recorded) until `finish` ends it.
   */
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
        // The same slow hash as any check; a match with the one used up says what happened.
        const last = await getLastFinishedInitialPassword(tx, userId);
        const right = await verifyPassword(password, last?.passwordHash ?? null);
        if (right && last?.status === 'consumed') return { ok: false, reason: 'used', rightPassword: true };
        if (right && last?.status === 'expired') return { ok: false, reason: 'expired', rightPassword: true };
        return { ok: false, reason: 'none' };
      }
      if (new Date(rec.expiresAt) <= now) {
        const right = await verifyPassword(password, rec.passwordHash);
        await updateInitialPassword(tx, rec.id, {
          attempts: rec.attempts,
          status: 'expired',
          finishedAt: now,
        });
        await audit('initial_password.expired', { initialPasswordId: rec.id });
        return { ok: false, reason: 'expired', rightPassword: right };
      }
      if (await verifyPassword(password, rec.passwordHash)) {
        const first = await markInitialPasswordUsed(tx, rec.id, now);
        await audit('initial_password.used', { initialPasswordId: rec.id, firstUse: first });
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

  /**
   * The person has finished what their initial password was for (`because`): if it was used to
   * sign in, it is consumed now. Runs in the caller's transaction, beside the step that finished.
   */
  async finish(
    tx: Queryable,
    actor: Actor,
    userId: string,
    because: 'answers_set' | 'card_issued',
  ): Promise<void> {
    const at = this.ctx.clock.now();
    const id = await consumeUsedInitialPassword(tx, userId, at);
    if (!id) return;
    await appendAudit(tx, {
      actor: auditActor(actor),
      action: 'initial_password.consumed',
      targetType: 'user',
      targetId: userId,
      details: { initialPasswordId: id, because },
      correlationId: actor.correlationId ?? null,
      at,
    });
  }
}
