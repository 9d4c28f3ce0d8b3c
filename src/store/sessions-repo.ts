import type { Queryable } from './db.js';
import { joinedUser, joinedUserColumns, type User } from './users-repo.js';

export interface SessionRecord {
  id: string;
  userId: string;
  kind: 'operator' | 'portal';
  csrfToken: string;
  authMethod: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  data: Record<string, unknown>;
}

type SessionRow = {
  id: string;
  user_id: string;
  kind: 'operator' | 'portal';
  csrf_token: string;
  auth_method: string;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
  data: Record<string, unknown>;
};

const toSession = (r: SessionRow): SessionRecord => ({
  id: r.id,
  userId: r.user_id,
  kind: r.kind,
  csrfToken: r.csrf_token,
  authMethod: r.auth_method,
  createdAt: new Date(r.created_at),
  lastSeenAt: new Date(r.last_seen_at),
  expiresAt: new Date(r.expires_at),
  data: r.data,
});

export async function insertSession(tx: Queryable, s: SessionRecord): Promise<void> {
  await tx.query(
    `INSERT INTO sessions (id, user_id, kind, csrf_token, auth_method, created_at, last_seen_at, expires_at, data)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      s.id,
      s.userId,
      s.kind,
      s.csrfToken,
      s.authMethod,
      s.createdAt,
      s.lastSeenAt,
      s.expiresAt,
      JSON.stringify(s.data),
    ],
  );
}

export async function getSession(db: Queryable, id: string): Promise<SessionRecord | null> {
  const rows = await db.query<SessionRow>('SELECT * FROM sessions WHERE id = $1', [id]);
  return rows[0] ? toSession(rows[0]) : null;
}

/**
 * A session with its person, in one statement: every signed-in request resolves both (a round
 * trip each was two of an issued card's ~38 statements). The person is null when gone.
 */
export async function getSessionWithUser(
  db: Queryable,
  id: string,
): Promise<{ session: SessionRecord; user: User | null } | null> {
  const rows = await db.query<SessionRow & Record<string, unknown>>(
    `SELECT s.*, ${joinedUserColumns('u', 'u__')} FROM sessions s LEFT JOIN users u ON u.id = s.user_id WHERE s.id = $1`,
    [id],
  );
  const r = rows[0];
  return r ? { session: toSession(r), user: joinedUser(r, 'u__') } : null;
}

export async function touchSession(db: Queryable, id: string, at: Date): Promise<void> {
  await db.query('UPDATE sessions SET last_seen_at = $1 WHERE id = $2', [at, id]);
}

export async function deleteSession(db: Queryable, id: string): Promise<void> {
  await db.query('DELETE FROM sessions WHERE id = $1', [id]);
}

export async function deleteUserSessions(db: Queryable, userId: string): Promise<void> {
  await db.query('DELETE FROM sessions WHERE user_id = $1', [userId]);
}

export async function deleteExpiredSessions(db: Queryable, now: Date): Promise<number> {
  const rows = await db.query('DELETE FROM sessions WHERE expires_at < $1 RETURNING id', [now]);
  return rows.length;
}
