// User-portal authentication records: the security question list, each person's hashed answers,
// initial passwords (hashed, with attempts and a status). (Sign-in throttling: sign-in-throttle-repo.ts.)
import type { Queryable } from './db.js';
import { iso } from './sql.js';

export interface SecurityQuestion {
  id: string;
  text: string;
  active: boolean;
  position: number;
}

type QuestionRow = { id: string; text: string; active: boolean; position: number };
const toQuestion = (r: QuestionRow): SecurityQuestion => ({
  id: r.id,
  text: r.text,
  active: r.active,
  position: r.position,
});

export async function listQuestions(db: Queryable): Promise<SecurityQuestion[]> {
  const rows = await db.query<QuestionRow>(
    'SELECT id, text, active, position FROM security_questions ORDER BY position, id',
  );
  return rows.map(toQuestion);
}

export async function insertQuestion(
  tx: Queryable,
  q: { text: string; active: boolean; position: number },
  at: Date,
): Promise<SecurityQuestion> {
  const [row] = await tx.query<QuestionRow>(
    `INSERT INTO security_questions (text, active, position, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
     RETURNING id, text, active, position`,
    [q.text, q.active, q.position, at],
  );
  return toQuestion(row!);
}

export async function updateQuestion(
  tx: Queryable,
  q: { id: string; text: string; active: boolean; position: number },
  at: Date,
): Promise<void> {
  await tx.query(
    'UPDATE security_questions SET text = $1, active = $2, position = $3, updated_at = $4 WHERE id = $5',
    [q.text, q.active, q.position, at, q.id],
  );
}

export async function deleteQuestion(tx: Queryable, id: string): Promise<void> {
  await tx.query('DELETE FROM security_questions WHERE id = $1', [id]);
}

/** Question ids that at least one person has answered (those may be deactivated, not deleted). */
export async function answeredQuestionIds(db: Queryable): Promise<Set<string>> {
  const rows = await db.query<{ question_id: string }>('SELECT DISTINCT question_id FROM security_answers');
  return new Set(rows.map((r) => r.question_id));
}

/** Moves every question out of the way of new positions and texts within one replacement. */
export async function parkQuestions(tx: Queryable): Promise<void> {
  await tx.query("UPDATE security_questions SET position = position + 100000, text = text || ' ' || id");
}

export interface StoredAnswer {
  questionId: string;
  answerHash: string;
  position: number;
}

export async function listAnswers(db: Queryable, userId: string): Promise<StoredAnswer[]> {
  const rows = await db.query<{ question_id: string; answer_hash: string; position: number }>(
    'SELECT question_id, answer_hash, position FROM security_answers WHERE user_id = $1 ORDER BY position',
    [userId],
  );
  return rows.map((r) => ({ questionId: r.question_id, answerHash: r.answer_hash, position: r.position }));
}

export async function replaceAnswers(
  tx: Queryable,
  userId: string,
  answers: readonly StoredAnswer[],
  at: Date,
): Promise<void> {
  await tx.query('DELETE FROM security_answers WHERE user_id = $1', [userId]);
  for (const a of answers)
    await tx.query(
      'INSERT INTO security_answers (user_id, question_id, answer_hash, position, created_at) VALUES ($1, $2, $3, $4, $5)',
      [userId, a.questionId, a.answerHash, a.position, at],
    );
}

export type InitialPasswordStatus = 'outstanding' | 'consumed' | 'burnt' | 'superseded' | 'expired';

export interface InitialPasswordRecord {
  id: string;
  userId: string;
  passwordHash: string;
  status: InitialPasswordStatus;
  attempts: number;
  maxAttempts: number;
  issuedBy: string | null;
  issuedAt: string;
  expiresAt: string;
  finishedAt: string | null;
  /** When it first opened a session; it stays outstanding until the person finishes setting up. */
  firstUsedAt: string | null;
}

type InitialPasswordRow = {
  id: string;
  user_id: string;
  password_hash: string;
  status: InitialPasswordStatus;
  attempts: number;
  max_attempts: number;
  issued_by: string | null;
  issued_at: Date;
  expires_at: Date;
  finished_at: Date | null;
  first_used_at: Date | null;
};

const toInitialPassword = (r: InitialPasswordRow): InitialPasswordRecord => ({
  id: r.id,
  userId: r.user_id,
  passwordHash: r.password_hash,
  status: r.status,
  attempts: r.attempts,
  maxAttempts: r.max_attempts,
  issuedBy: r.issued_by,
  issuedAt: iso(r.issued_at)!,
  expiresAt: iso(r.expires_at)!,
  finishedAt: iso(r.finished_at),
  firstUsedAt: iso(r.first_used_at),
});

/** Ends every outstanding initial password of a person with `status` (superseded, expired…). */
export async function finishOutstandingInitialPasswords(
  tx: Queryable,
  userId: string,
  status: Exclude<InitialPasswordStatus, 'outstanding'>,
  at: Date,
): Promise<number> {
  const rows = await tx.query(
    `UPDATE initial_passwords SET status = $1, finished_at = $2 WHERE user_id = $3 AND status = 'outstanding' RETURNING id`,
    [status, at, userId],
  );
  return rows.length;
}

export async function insertInitialPassword(
  tx: Queryable,
  p: {
    userId: string;
    passwordHash: string;
    maxAttempts: number;
    issuedBy: string | null;
    issuedAt: Date;
    expiresAt: Date;
  },
): Promise<InitialPasswordRecord> {
  const [row] = await tx.query<InitialPasswordRow>(
    `INSERT INTO initial_passwords (user_id, password_hash, max_attempts, issued_by, issued_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
    [p.userId, p.passwordHash, p.maxAttempts, p.issuedBy, p.issuedAt, p.expiresAt],
  );
  return toInitialPassword(row!);
}

export async function getOutstandingInitialPassword(
  db: Queryable,
  userId: string,
  forUpdate = false,
): Promise<InitialPasswordRecord | null> {
  const rows = await db.query<InitialPasswordRow>(
    `SELECT * FROM initial_passwords WHERE user_id = $1 AND status = 'outstanding'${forUpdate ? ' FOR UPDATE' : ''}`,
    [userId],
  );
  return rows[0] ? toInitialPassword(rows[0]) : null;
}

/** The person's most recent initial password that has ended (used up, expired, burnt, superseded). */
export async function getLastFinishedInitialPassword(
  db: Queryable,
  userId: string,
): Promise<InitialPasswordRecord | null> {
  const rows = await db.query<InitialPasswordRow>(
    `SELECT * FROM initial_passwords WHERE user_id = $1 AND status <> 'outstanding'
     ORDER BY issued_at DESC, id DESC LIMIT 1`,
    [userId],
  );
  return rows[0] ? toInitialPassword(rows[0]) : null;
}

/** Records the first successful use of an outstanding initial password (later uses keep it). */
export async function markInitialPasswordUsed(tx: Queryable, id: string, at: Date): Promise<boolean> {
  const rows = await tx.query(
    'UPDATE initial_passwords SET first_used_at = $2 WHERE id = $1 AND first_used_at IS NULL RETURNING id',
    [id, at],
  );
  return rows.length > 0;
}

/**
 * Ends the person's outstanding initial password as consumed, if it has been used to sign in: the
 * person has finished what it was for. Returns its id, or null when there was none to end.
 */
export async function consumeUsedInitialPassword(
  tx: Queryable,
  userId: string,
  at: Date,
): Promise<string | null> {
  const rows = await tx.query<{ id: string }>(
    `UPDATE initial_passwords SET status = 'consumed', finished_at = $2
     WHERE user_id = $1 AND status = 'outstanding' AND first_used_at IS NOT NULL RETURNING id`,
    [userId, at],
  );
  return rows[0]?.id ?? null;
}

export async function getInitialPassword(db: Queryable, id: string): Promise<InitialPasswordRecord | null> {
  const rows = await db.query<InitialPasswordRow>('SELECT * FROM initial_passwords WHERE id = $1', [id]);
  return rows[0] ? toInitialPassword(rows[0]) : null;
}

export async function updateInitialPassword(
  tx: Queryable,
  id: string,
  patch: { attempts: number; status: InitialPasswordStatus; finishedAt: Date | null },
): Promise<void> {
  await tx.query('UPDATE initial_passwords SET attempts = $1, status = $2, finished_at = $3 WHERE id = $4', [
    patch.attempts,
    patch.status,
    patch.finishedAt,
    id,
  ]);
}
