// Card layouts and people's photos (migration 040).
import type { LayoutDefinition } from '../domain/card-layout.js';
import type { PhotoType } from '../domain/photo.js';
import type { Queryable } from './db.js';
import { iso } from './sql.js';

export interface LayoutInput {
  name: string;
  description: string;
  definition: LayoutDefinition;
}

export interface Layout extends LayoutInput {
  id: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

type LayoutRow = {
  id: string;
  name: string;
  description: string;
  definition: LayoutDefinition;
  version: number;
  created_at: Date;
  updated_at: Date;
};

const COLUMNS = 'id, name, description, definition, version, created_at, updated_at';

const toLayout = (r: LayoutRow): Layout => ({
  id: r.id,
  name: r.name,
  description: r.description,
  definition: r.definition,
  version: r.version,
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
});

export async function listLayouts(db: Queryable): Promise<Layout[]> {
  const rows = await db.query<LayoutRow>(`SELECT ${COLUMNS} FROM card_layouts ORDER BY lower(name), id`);
  return rows.map(toLayout);
}

export async function countLayouts(db: Queryable): Promise<number> {
  const [r] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM card_layouts');
  return r!.n;
}

export async function getLayout(db: Queryable, id: string, forUpdate = false): Promise<Layout | null> {
  const rows = await db.query<LayoutRow>(
    `SELECT ${COLUMNS} FROM card_layouts WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return rows[0] ? toLayout(rows[0]) : null;
}

export async function getLayoutByName(db: Queryable, name: string): Promise<Layout | null> {
  const rows = await db.query<LayoutRow>(
    `SELECT ${COLUMNS} FROM card_layouts WHERE lower(name) = lower($1)`,
    [name],
  );
  return rows[0] ? toLayout(rows[0]) : null;
}

export async function insertLayout(tx: Queryable, l: LayoutInput, at: Date): Promise<Layout> {
  const [row] = await tx.query<LayoutRow>(
    `INSERT INTO card_layouts (name, description, definition, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $4) RETURNING ${COLUMNS}`,
    [l.name, l.description, JSON.stringify(l.definition), at],
  );
  return toLayout(row!);
}

export async function updateLayout(tx: Queryable, id: string, l: LayoutInput, at: Date): Promise<Layout> {
  const [row] = await tx.query<LayoutRow>(
    `UPDATE card_layouts SET name = $2, description = $3, definition = $4, version = version + 1, updated_at = $5
     WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, l.name, l.description, JSON.stringify(l.definition), at],
  );
  return toLayout(row!);
}

export async function deleteLayout(tx: Queryable, id: string): Promise<void> {
  await tx.query('DELETE FROM card_layouts WHERE id = $1', [id]);
}

/** Every property name some person has (a layout may print those). */
export async function personPropertyNames(db: Queryable): Promise<string[]> {
  const rows = await db.query<{ k: string }>(
    'SELECT DISTINCT jsonb_object_keys(properties) AS k FROM users ORDER BY k',
  );
  return rows.map((r) => r.k);
}

export interface Photo {
  sha256: string;
  contentType: PhotoType;
  width: number;
  height: number;
  data: Buffer;
}

/** Stores a photo unless the same bytes are stored already. */
export async function putPhoto(tx: Queryable, p: Photo, at: Date): Promise<void> {
  await tx.query(
    `INSERT INTO photos (sha256, content_type, width, height, data, created_at) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (sha256) DO NOTHING`,
    [p.sha256, p.contentType, p.width, p.height, p.data, at],
  );
}

export async function setUserPhoto(
  tx: Queryable,
  userId: string,
  sha256: string | null,
  at: Date,
): Promise<void> {
  await tx.query('UPDATE users SET photo_sha256 = $2, updated_at = $3 WHERE id = $1', [userId, sha256, at]);
}

/** The person's photo, or null when they have none (or no such person). */
export async function getUserPhoto(db: Queryable, userId: string): Promise<Photo | null> {
  const rows = await db.query<{
    sha256: string;
    content_type: PhotoType;
    width: number;
    height: number;
    data: Uint8Array;
  }>(
    `SELECT p.sha256, p.content_type, p.width, p.height, p.data
       FROM users u JOIN photos p ON p.sha256 = u.photo_sha256 WHERE u.id = $1`,
    [userId],
  );
  const r = rows[0];
  return r
    ? {
        sha256: r.sha256,
        contentType: r.content_type,
        width: r.width,
        height: r.height,
        data: Buffer.from(r.data),
      }
    : null;
}

/** Removes a photo once no person points at it (the one a new upload replaced). */
export async function deletePhotoIfUnused(tx: Queryable, sha256: string): Promise<void> {
  await tx.query(
    'DELETE FROM photos p WHERE p.sha256 = $1 AND NOT EXISTS (SELECT 1 FROM users u WHERE u.photo_sha256 = p.sha256)',
    [sha256],
  );
}

export async function getUserPhotoHash(db: Queryable, userId: string): Promise<string | null> {
  const rows = await db.query<{ photo_sha256: string | null }>(
    'SELECT photo_sha256 FROM users WHERE id = $1',
    [userId],
  );
  return rows[0]?.photo_sha256 ?? null;
}
