import type { Role } from '../domain/permissions.js';
import type { UserState } from '../domain/user.js';
import type { Queryable } from './db.js';
import { Where, iso, likeTerm, joinedRow } from './sql.js';

export interface User {
  id: string;
  username: string;
  displayName: string;
  email: string | null;
  source: 'local' | 'ldap';
  externalId: string | null;
  state: UserState;
  roles: Role[];
  properties: Record<string, string>;
  demo: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface UserCredentials {
  id: string;
  passwordHash: string | null;
}

type UserRow = {
  id: string;
  username: string;
  display_name: string;
  email: string | null;
  source: 'local' | 'ldap';
  external_id: string | null;
  state: UserState;
  roles: Role[];
  properties: Record<string, string>;
  demo: boolean;
  created_at: Date;
  updated_at: Date;
  password_hash?: string | null;
};

const COLUMNS =
  'id, username, display_name, email, source, external_id, state, roles, properties, demo, created_at, updated_at';

const toUser = (r: UserRow): User => ({
  id: r.id,
  username: r.username,
  displayName: r.display_name,
  email: r.email,
  source: r.source,
  externalId: r.external_id,
  state: r.state,
  roles: r.roles,
  properties: r.properties,
  demo: r.demo,
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
});

const joinedUserRow = joinedRow<UserRow, User>(COLUMNS, toUser);
/** A user's columns read through a join under `alias`, each named `<prefix><column>`. */
export const joinedUserColumns = joinedUserRow.columns;
/** The user of a row read with joinedUserColumns, or null when the join found none. */
export const joinedUser = joinedUserRow.read;

export interface NewUser {
  username: string;
  displayName: string;
  email?: string | null;
  source?: 'local' | 'ldap';
  externalId?: string | null;
  roles: Role[];
  properties?: Record<string, string>;
  passwordHash?: string | null;
  demo?: boolean;
  at: Date;
}

export async function insertUser(tx: Queryable, u: NewUser): Promise<User> {
  const [row] = await tx.query<UserRow>(
    `INSERT INTO users (username, display_name, email, source, external_id, roles, properties, password_hash, demo, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING ${COLUMNS}`,
    [
      u.username,
      u.displayName,
      u.email ?? null,
      u.source ?? 'local',
      u.externalId ?? null,
      u.roles,
      JSON.stringify(u.properties ?? {}),
      u.passwordHash ?? null,
      u.demo ?? false,
      u.at,
    ],
  );
  return toUser(row!);
}

export async function getUser(db: Queryable, id: string, forUpdate = false): Promise<User | null> {
  const rows = await db.query<UserRow>(
    `SELECT ${COLUMNS} FROM users WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return rows[0] ? toUser(rows[0]) : null;
}

export async function getUserByUsername(db: Queryable, username: string): Promise<User | null> {
  const rows = await db.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE lower(username) = lower($1)`, [
    username,
  ]);
  return rows[0] ? toUser(rows[0]) : null;
}

export async function getUserCredentials(
  db: Queryable,
  id: string,
  forUpdate = false,
): Promise<UserCredentials | null> {
  const rows = await db.query<{ id: string; password_hash: string | null }>(
    `SELECT id, password_hash FROM users WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    [id],
  );
  const r = rows[0];
  return r ? { id: r.id, passwordHash: r.password_hash } : null;
}

export interface UserPatch {
  displayName?: string;
  email?: string | null;
  roles?: Role[];
  properties?: Record<string, string>;
  state?: UserState;
}

export async function updateUser(tx: Queryable, id: string, patch: UserPatch, at: Date): Promise<User> {
  const sets: string[] = [];
  const params: unknown[] = [];
  const set = (col: string, v: unknown) => {
    params.push(v);
    sets.push(`${col} = $${params.length}`);
  };
  if (patch.displayName !== undefined) set('display_name', patch.displayName);
  if (patch.email !== undefined) set('email', patch.email);
  if (patch.roles !== undefined) set('roles', patch.roles);
  if (patch.properties !== undefined) set('properties', JSON.stringify(patch.properties));
  if (patch.state !== undefined) set('state', patch.state);
  set('updated_at', at);
  params.push(id);
  const [row] = await tx.query<UserRow>(
    `UPDATE users SET ${sets.join(', ')} WHERE id = $${params.length} RETURNING ${COLUMNS}`,
    params,
  );
  return toUser(row!);
}

export async function setPasswordHash(
  tx: Queryable,
  id: string,
  hash: string | null,
  at: Date,
): Promise<void> {
  await tx.query('UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3', [hash, at, id]);
}

export interface UserSearch {
  q?: string;
  state?: UserState;
  role?: Role;
  limit: number;
  offset: number;
}

export async function searchUsers(db: Queryable, s: UserSearch): Promise<{ items: User[]; total: number }> {
  const w = new Where();
  if (s.q) {
    const t = likeTerm(s.q.toLowerCase());
    w.add(
      "(lower(username) LIKE ? OR lower(display_name) LIKE ? OR lower(coalesce(email, '')) LIKE ?)",
      t,
      t,
      t,
    );
  }
  if (s.state) w.add('state = ?', s.state);
  if (s.role) w.add('? = ANY(roles)', s.role);
  const [c] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users ${w}`, w.params);
  const rows = await db.query<UserRow>(
    `SELECT ${COLUMNS} FROM users ${w} ORDER BY lower(display_name), id LIMIT ${w.next(s.limit)} OFFSET ${w.next(s.offset)}`,
    w.params,
  );
  return { items: rows.map(toUser), total: c?.n ?? 0 };
}

export async function countUsers(db: Queryable): Promise<number> {
  const [c] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
  return c?.n ?? 0;
}
