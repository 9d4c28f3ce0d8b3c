import type { Queryable } from './db.js';

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
