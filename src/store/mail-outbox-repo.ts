// The mail outbox (migration 056): messages waiting to be sent, being sent, sent or failed. A worker
// claims one due message at a time with FOR UPDATE SKIP LOCKED inside one UPDATE, so two workers
// (two servers on one PostgreSQL, or two ticks of one) never claim the same row; every outcome is
// written only by the claimant that still holds the claim.
import type { Queryable } from './db.js';
import { Where, iso } from './sql.js';

export type MailStatus = 'queued' | 'sending' | 'sent' | 'failed';

export interface OutboxMail {
  id: string;
  kind: string;
  recipient: string;
  subject: string;
  userId: string | null;
  status: MailStatus;
  attempts: number;
  maxAttempts: number;
  createdAt: string;
  nextAttemptAt: string;
  sentAt: string | null;
  failedAt: string | null;
  /** The mail server's answer (or why it could not be reached) at the last failed attempt. */
  lastError: string | null;
}

/** A claimed message with its (encrypted) content. */
export interface ClaimedMail extends OutboxMail {
  payload: Uint8Array;
}

type Row = {
  id: string;
  kind: string;
  recipient: string;
  subject: string;
  user_id: string | null;
  status: MailStatus;
  attempts: number;
  max_attempts: number;
  created_at: Date;
  next_attempt_at: Date;
  sent_at: Date | null;
  failed_at: Date | null;
  last_error: string | null;
  payload?: Uint8Array | null;
};

const COLUMNS =
  'id, kind, recipient, subject, user_id, status, attempts, max_attempts, created_at, next_attempt_at, sent_at, failed_at, last_error';

const toMail = (r: Row): OutboxMail => ({
  id: r.id,
  kind: r.kind,
  recipient: r.recipient,
  subject: r.subject,
  userId: r.user_id,
  status: r.status,
  attempts: r.attempts,
  maxAttempts: r.max_attempts,
  createdAt: iso(r.created_at)!,
  nextAttemptAt: iso(r.next_attempt_at)!,
  sentAt: iso(r.sent_at),
  failedAt: iso(r.failed_at),
  lastError: r.last_error,
});

export interface NewOutboxMail {
  kind: string;
  recipient: string;
  subject: string;
  userId: string | null;
  payload: Uint8Array;
  maxAttempts: number;
  at: Date;
}

export async function insertOutboxMail(tx: Queryable, m: NewOutboxMail): Promise<OutboxMail> {
  const [row] = await tx.query<Row>(
    `INSERT INTO mail_outbox (kind, recipient, subject, user_id, payload, max_attempts, created_at, next_attempt_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING ${COLUMNS}`,
    [m.kind, m.recipient, m.subject, m.userId, m.payload, m.maxAttempts, m.at],
  );
  return toMail(row!);
}

/**
 * Claims the next due message for `claimant` until `until` (its attempt counted), or null. The
 * inner SELECT skips rows another transaction holds, so concurrent claimants take different rows.
 */
export async function claimDueOutboxMail(
  db: Queryable,
  now: Date,
  claimant: string,
  until: Date,
): Promise<ClaimedMail | null> {
  const [row] = await db.query<Row>(
    `UPDATE mail_outbox SET status = 'sending', claimed_by = $2, claimed_until = $3, attempts = attempts + 1
     WHERE id = (
       SELECT id FROM mail_outbox
       WHERE status = 'queued' AND next_attempt_at <= $1 AND payload IS NOT NULL
       ORDER BY next_attempt_at, id LIMIT 1
       FOR UPDATE SKIP LOCKED)
     AND status = 'queued'
     RETURNING ${COLUMNS}, payload`,
    [now, claimant, until],
  );
  if (!row) return null;
  return { ...toMail(row), payload: row.payload! };
}

/** The claimant's message was taken by the server: sent, its content dropped. False if no longer its claim. */
export async function markOutboxMailSent(
  db: Queryable,
  id: string,
  claimant: string,
  at: Date,
): Promise<boolean> {
  const rows = await db.query(
    `UPDATE mail_outbox SET status = 'sent', sent_at = $3, payload = NULL, claimed_by = NULL, claimed_until = NULL
     WHERE id = $1 AND status = 'sending' AND claimed_by = $2 RETURNING id`,
    [id, claimant, at],
  );
  return rows.length > 0;
}

/** A failed attempt to try again at `next`. */
export async function markOutboxMailRetry(
  db: Queryable,
  id: string,
  claimant: string,
  next: Date,
  error: string,
): Promise<boolean> {
  const rows = await db.query(
    `UPDATE mail_outbox SET status = 'queued', next_attempt_at = $3, last_error = $4, claimed_by = NULL, claimed_until = NULL
     WHERE id = $1 AND status = 'sending' AND claimed_by = $2 RETURNING id`,
    [id, claimant, next, error],
  );
  return rows.length > 0;
}

/** Given up for good (refused, or out of attempts); the content is kept for a resend. */
export async function markOutboxMailFailed(
  db: Queryable,
  id: string,
  claimant: string,
  at: Date,
  error: string,
): Promise<boolean> {
  const rows = await db.query(
    `UPDATE mail_outbox SET status = 'failed', failed_at = $3, last_error = $4, claimed_by = NULL, claimed_until = NULL
     WHERE id = $1 AND status = 'sending' AND claimed_by = $2 RETURNING id`,
    [id, claimant, at, error],
  );
  return rows.length > 0;
}

/**
 * Claims whose lease ran out without an outcome (the sending server stopped mid-send): failed, with
 * why. Not queued again, since the mail server may have taken the message. Returns their ids.
 */
export async function failStaleOutboxClaims(db: Queryable, now: Date, error: string): Promise<string[]> {
  const rows = await db.query<{ id: string }>(
    `UPDATE mail_outbox SET status = 'failed', failed_at = $1, last_error = $2, claimed_by = NULL, claimed_until = NULL
     WHERE id IN (SELECT id FROM mail_outbox WHERE status = 'sending' AND claimed_until < $1 FOR UPDATE SKIP LOCKED)
     RETURNING id`,
    [now, error],
  );
  return rows.map((r) => r.id);
}

/** A failed message queued again by an administrator (its content still held), or null. */
export async function requeueOutboxMail(tx: Queryable, id: string, at: Date): Promise<OutboxMail | null> {
  const [row] = await tx.query<Row>(
    `UPDATE mail_outbox SET status = 'queued', next_attempt_at = $2, failed_at = NULL, max_attempts = attempts + max_attempts
     WHERE id = $1 AND status = 'failed' AND payload IS NOT NULL RETURNING ${COLUMNS}`,
    [id, at],
  );
  return row ? toMail(row) : null;
}

export async function getOutboxMail(db: Queryable, id: string): Promise<OutboxMail | null> {
  const [row] = await db.query<Row>(`SELECT ${COLUMNS} FROM mail_outbox WHERE id = $1`, [id]);
  return row ? toMail(row) : null;
}

export interface OutboxQuery {
  status?: MailStatus | undefined;
  userId?: string | undefined;
  limit: number;
  offset: number;
}

/** Newest first (ties by id, so a page is stable), with the total and the count per status. */
export async function listOutboxMail(
  db: Queryable,
  q: OutboxQuery,
): Promise<{ items: OutboxMail[]; total: number; counts: Record<MailStatus, number> }> {
  const where = new Where();
  if (q.status) where.add('status = ?', q.status);
  if (q.userId) where.add('user_id = ?', q.userId);
  const rows = await db.query<Row>(
    `SELECT ${COLUMNS} FROM mail_outbox ${where} ORDER BY created_at DESC, id DESC LIMIT ${where.next(q.limit)} OFFSET ${where.next(q.offset)}`,
    where.params,
  );
  const countWhere = new Where();
  if (q.userId) countWhere.add('user_id = ?', q.userId);
  const counts = await db.query<{ status: MailStatus; n: number }>(
    `SELECT status, count(*)::int AS n FROM mail_outbox ${countWhere} GROUP BY status ORDER BY status`,
    countWhere.params,
  );
  const byStatus: Record<MailStatus, number> = { queued: 0, sending: 0, sent: 0, failed: 0 };
  for (const c of counts) byStatus[c.status] = Number(c.n);
  const total = q.status ? byStatus[q.status] : Object.values(byStatus).reduce((a, b) => a + b, 0);
  return { items: rows.map(toMail), total, counts: byStatus };
}
