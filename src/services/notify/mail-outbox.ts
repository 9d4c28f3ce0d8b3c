// The mail outbox (DESIGN.md notify/): a use case that causes an e-mail calls `enqueue` in its own
// transaction, so the message exists exactly when the change does; the worker sends it later over
// SMTP. While the mail server is down the message waits and is tried again with back-off (the
// first retry after `retrySeconds`, doubling up to an hour); a 5xx refusal of the message itself, or
// running out of attempts, fails it with the server's answer for the administrator to see.
//
// Never sent twice: a worker claims one message at a time (FOR UPDATE SKIP LOCKED, so several
// servers on one PostgreSQL take different rows), sends it, and records the outcome only while it
// still holds the claim. If a server stops between the send and that record, its claim runs out and
// the message is marked failed ("outcome unknown"), not sent again: the server may have taken it.
// An administrator can send a failed message again, knowingly.
//
// The content (it may hold an initial password) is encrypted under the master key and dropped once
// sent; recipient, subject, state and the last answer stay for the administrator's list.
import { randomUUID } from 'node:crypto';
import { NotFoundError, ValidationError } from '../../domain/errors.js';
import { isEmailAddress } from '../../mail/address.js';
import { MailError, type Mailer, type MailMessage } from '../../mail/mailer.js';
import type { MasterKey } from '../../secrets/master-key.js';
import { appendAudit } from '../../store/audit-repo.js';
import type { Queryable } from '../../store/db.js';
import {
  claimDueOutboxMail,
  failStaleOutboxClaims,
  getOutboxMail,
  insertOutboxMail,
  listOutboxMail,
  markOutboxMailFailed,
  markOutboxMailRetry,
  markOutboxMailSent,
  requeueOutboxMail,
  type MailStatus,
  type OutboxMail,
} from '../../store/mail-outbox-repo.js';
import { auditActor, type Actor, type ServiceContext } from '../context.js';

export type { OutboxMail, MailStatus } from '../../store/mail-outbox-repo.js';

/** What kinds of message Tessera sends (the administrator's list shows it). */
export type MailKind = 'initial_password' | 'mobile_id_link' | 'mobile_id_result' | 'wallet_link';

export interface OutboxOptions {
  /** The wait before the first retry; each further one waits twice as long, at most an hour. */
  retrySeconds: number;
  /** Attempts before a message that keeps failing is given up (failed). */
  maxAttempts: number;
  /** How long a claim lasts: longer than the mailer's own timeouts (10 s + 10 s + 30 s). */
  claimSeconds: number;
  /** How often the worker looks for due messages besides being woken. */
  pollMs: number;
}

export const DEFAULT_OUTBOX: OutboxOptions = {
  retrySeconds: 30,
  maxAttempts: 12,
  claimSeconds: 120,
  pollMs: 5_000,
};

const PURPOSE = 'mail-outbox';
const MAX_HOUR = 3_600_000;

/** The message as stored (encrypted): everything but recipient and subject, which are columns. */
type Payload = Omit<MailMessage, 'to' | 'subject'>;

export interface SendReport {
  sent: number;
  retried: number;
  failed: number;
}

export class MailOutbox {
  /** Names this process's claims (a server instance id when several share the database). */
  readonly claimant = `outbox-${randomUUID()}`;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();
  private again = false;
  private busy = false;
  private onError: (err: unknown) => void = () => undefined;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly deps: {
      masterKey: MasterKey;
      /** null: no mail server configured; messages wait (and are listed) until one is. */
      mailer: Mailer | null;
      options?: Partial<OutboxOptions>;
    },
  ) {}

  private get opts(): OutboxOptions {
    return { ...DEFAULT_OUTBOX, ...this.deps.options };
  }

  /** Whether a mail server is configured (else nothing can be e-mailed). */
  get configured(): boolean {
    return this.deps.mailer !== null;
  }

  /**
   * Queues a message in the caller's transaction. The recipient must be one bare address: a value
   * from the directory such as "a@x.org, b@evil.org" would otherwise reach someone else.
   */
  async enqueue(
    tx: Queryable,
    m: { kind: MailKind; userId: string | null; message: MailMessage },
  ): Promise<OutboxMail> {
    if (!isEmailAddress(m.message.to))
      throw new ValidationError('The e-mail address is not a single valid address (name@example.org)', {
        field: 'email',
      });
    const { to, subject, ...rest } = m.message;
    const payload: Payload = rest;
    return insertOutboxMail(tx, {
      kind: m.kind,
      recipient: to,
      subject,
      userId: m.userId,
      payload: this.deps.masterKey.encrypt(JSON.stringify(payload), PURPOSE),
      maxAttempts: this.opts.maxAttempts,
      at: this.ctx.clock.now(),
    });
  }

  /** The wait after attempt `n` (1-based) failed. */
  backoffMs(attempt: number): number {
    return Math.min(MAX_HOUR, this.opts.retrySeconds * 1000 * 2 ** Math.max(0, attempt - 1));
  }

  /** Sends every due message (one claim at a time) and ends stale claims; returns what happened. */
  async sendDue(max = 100): Promise<SendReport> {
    const report: SendReport = { sent: 0, retried: 0, failed: 0 };
    const now = this.ctx.clock.now();
    const stale = await failStaleOutboxClaims(
      this.ctx.db,
      now,
      'outcome unknown: the server sending it stopped before the mail server answered; not sent again so that it cannot arrive twice (send it again if it did not arrive)',
    );
    report.failed += stale.length;
    const mailer = this.deps.mailer;
    if (!mailer) return report;
    for (let i = 0; i < max; i++) {
      const at = this.ctx.clock.now();
      const claim = await claimDueOutboxMail(
        this.ctx.db,
        at,
        this.claimant,
        new Date(at.getTime() + this.opts.claimSeconds * 1000),
      );
      if (!claim) break;
      let payload: Payload;
      try {
        payload = JSON.parse(this.deps.masterKey.decryptText(claim.payload, PURPOSE)) as Payload;
      } catch {
        await markOutboxMailFailed(
          this.ctx.db,
          claim.id,
          this.claimant,
          at,
          'its stored content could not be decrypted (was the master key changed?)',
        );
        report.failed++;
        continue;
      }
      try {
        await mailer.send({ ...payload, to: claim.recipient, subject: claim.subject, messageId: claim.id });
      } catch (e) {
        const reason = e instanceof MailError ? e.reason : 'unexpected failure';
        const end = this.ctx.clock.now();
        if ((e instanceof MailError && e.permanent) || claim.attempts >= claim.maxAttempts) {
          await markOutboxMailFailed(this.ctx.db, claim.id, this.claimant, end, reason);
          report.failed++;
        } else {
          const next = new Date(end.getTime() + this.backoffMs(claim.attempts));
          await markOutboxMailRetry(this.ctx.db, claim.id, this.claimant, next, reason);
          report.retried++;
        }
        continue;
      }
      await markOutboxMailSent(this.ctx.db, claim.id, this.claimant, this.ctx.clock.now());
      report.sent++;
    }
    return report;
  }

  /** Runs the worker: now, every pollMs, and whenever woken. Returns the function that stops it. */
  start(o: { onError: (err: unknown) => void }): () => void {
    this.onError = o.onError;
    this.timer = setInterval(() => this.wake(), this.opts.pollMs);
    this.timer.unref();
    this.wake();
    return () => void this.stop();
  }

  /** Looks for due messages now (after a commit that queued one), at most one pass at a time. */
  wake(): void {
    if (!this.timer) return; // not started: this process does not send (tests call sendDue)
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    this.running = (async () => {
      do {
        this.again = false;
        try {
          // A retry due before the next poll waits for that poll (pollMs is the finest step).
          await this.sendDue();
        } catch (e) {
          this.onError(e);
          break;
        }
      } while (this.again);
    })().finally(() => {
      this.busy = false;
    });
  }

  /** Stops the worker and waits for a pass under way to end. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  async list(q: {
    status?: MailStatus | undefined;
    userId?: string | undefined;
    limit?: number | undefined;
    offset?: number | undefined;
  }) {
    return listOutboxMail(this.ctx.db, {
      status: q.status,
      userId: q.userId,
      limit: q.limit ?? 50,
      offset: q.offset ?? 0,
    });
  }

  async get(id: string): Promise<OutboxMail> {
    const m = await getOutboxMail(this.ctx.db, id);
    if (!m) throw new NotFoundError('mail', id);
    return m;
  }

  /** An administrator sends a failed message again (its content is kept until it is sent). */
  async resend(actor: Actor, id: string): Promise<OutboxMail> {
    const at = this.ctx.clock.now();
    const m = await this.ctx.db.transaction(async (tx) => {
      const current = await getOutboxMail(tx, id);
      if (!current) throw new NotFoundError('mail', id);
      const requeued = await requeueOutboxMail(tx, id, at);
      if (!requeued)
        throw new ValidationError(
          `This message is ${current.status}: only a failed message can be sent again`,
          { status: current.status },
        );
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'mail.resent',
        targetType: 'mail',
        targetId: id,
        details: { kind: current.kind, recipient: current.recipient },
        correlationId: actor.correlationId ?? null,
        at,
      });
      return requeued;
    });
    this.wake();
    return m;
  }
}
