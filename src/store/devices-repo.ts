import type { DeviceState, DeviceType } from '../domain/device.js';
import type { Queryable } from './db.js';
import { Where, iso, likeTerm, joinedRow } from './sql.js';

export interface Device {
  id: string;
  serial: string;
  type: DeviceType;
  model: string;
  state: DeviceState;
  userId: string | null;
  policyId: string | null;
  notes: string;
  issuedAt: string | null;
  expiresAt: string | null;
  demo: boolean;
  createdAt: string;
  updatedAt: string;
}

export type DeviceRow = {
  id: string;
  serial: string;
  type: DeviceType;
  model: string;
  state: DeviceState;
  user_id: string | null;
  policy_id: string | null;
  notes: string;
  issued_at: Date | null;
  expires_at: Date | null;
  demo: boolean;
  created_at: Date;
  updated_at: Date;
};

export const toDevice = (r: DeviceRow): Device => ({
  id: r.id,
  serial: r.serial,
  type: r.type,
  model: r.model,
  state: r.state,
  userId: r.user_id,
  policyId: r.policy_id,
  notes: r.notes,
  issuedAt: iso(r.issued_at),
  expiresAt: iso(r.expires_at),
  demo: r.demo,
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
});

/** The columns a DeviceRow maps, for reading a device beside another table's row (joinedDevice). */
const DEVICE_COLUMNS =
  'id, serial, type, model, state, user_id, policy_id, notes, issued_at, expires_at, demo, created_at, updated_at';

const joinedDeviceRow = joinedRow<DeviceRow, Device>(DEVICE_COLUMNS, toDevice);
/** A device's columns read through a join under `alias`, each named `<prefix><column>`. */
export const joinedDeviceColumns = joinedDeviceRow.columns;
/** The device of a row read with joinedDeviceColumns, or null when the join found none. */
export const joinedDevice = joinedDeviceRow.read;

export interface NewDevice {
  /** Chosen by the caller (to name it in the same statement or transaction); else PostgreSQL's. */
  id?: string;
  serial: string;
  type: DeviceType;
  model?: string;
  notes?: string;
  demo?: boolean;
  at: Date;
  /**
   * Where a card registered and moved in one transaction starts (the state the machine's move from
   * inventory leads to, and that move's person and policy); inventory, nobody's, by default.
   */
  moved?: { state: DeviceState; userId: string | null; policyId: string | null };
}

export async function insertDevice(tx: Queryable, d: NewDevice): Promise<Device> {
  const [row] = await tx.query<DeviceRow>(
    `INSERT INTO devices (id, serial, type, model, notes, demo, created_at, updated_at, state, user_id, policy_id)
     VALUES (COALESCE($10::uuid, gen_random_uuid()), $1, $2, $3, $4, $5, $6, $6, $7, $8, $9) RETURNING *`,
    [
      d.serial,
      d.type,
      d.model ?? '',
      d.notes ?? '',
      d.demo ?? false,
      d.at,
      d.moved?.state ?? 'inventory',
      d.moved?.userId ?? null,
      d.moved?.policyId ?? null,
      d.id ?? null,
    ],
  );
  return toDevice(row!);
}

export async function getDevice(db: Queryable, id: string, forUpdate = false): Promise<Device | null> {
  const rows = await db.query<DeviceRow>(
    `SELECT * FROM devices WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return rows[0] ? toDevice(rows[0]) : null;
}

export async function getDeviceBySerial(db: Queryable, serial: string): Promise<Device | null> {
  const rows = await db.query<DeviceRow>('SELECT * FROM devices WHERE upper(serial) = upper($1)', [serial]);
  return rows[0] ? toDevice(rows[0]) : null;
}

/**
 * Claims a device for recycling (migrations/051): true unless another recycle holds a claim made
 * after `staleBefore`. One UPDATE, so of two concurrent claims exactly one wins (PostgreSQL re-checks
 * the condition after the first commits).
 */
export async function claimDeviceForRecycle(
  db: Queryable,
  id: string,
  at: Date,
  staleBefore: Date,
): Promise<boolean> {
  const rows = await db.query<{ id: string }>(
    `UPDATE devices SET recycle_claimed_at = $2
      WHERE id = $1 AND (recycle_claimed_at IS NULL OR recycle_claimed_at < $3) RETURNING id`,
    [id, at, staleBefore],
  );
  return rows.length === 1;
}

/** Gives up a recycle claim (done, or failed on the card). */
export async function releaseRecycleClaim(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE devices SET recycle_claimed_at = NULL WHERE id = $1', [id]);
}

export interface DevicePatch {
  state?: DeviceState;
  userId?: string | null;
  policyId?: string | null;
  model?: string;
  notes?: string;
  issuedAt?: Date | null;
  expiresAt?: Date | null;
}

export async function updateDevice(tx: Queryable, id: string, patch: DevicePatch, at: Date): Promise<Device> {
  return (await updateDeviceIf(tx, id, null, patch, at))!;
}

/**
 * Updates the device only while its state is one of `from` (null: whatever it is): the UPDATE
 * takes the row's lock and checks in one statement. Null when the device is in another state or gone.
 */
export async function updateDeviceIf(
  tx: Queryable,
  id: string,
  from: readonly DeviceState[] | null,
  patch: DevicePatch,
  at: Date,
): Promise<Device | null> {
  const sets: string[] = [];
  const params: unknown[] = [];
  const set = (col: string, v: unknown) => {
    params.push(v);
    sets.push(`${col} = $${params.length}`);
  };
  if (patch.state !== undefined) set('state', patch.state);
  if (patch.userId !== undefined) set('user_id', patch.userId);
  if (patch.policyId !== undefined) set('policy_id', patch.policyId);
  if (patch.model !== undefined) set('model', patch.model);
  if (patch.notes !== undefined) set('notes', patch.notes);
  if (patch.issuedAt !== undefined) set('issued_at', patch.issuedAt);
  if (patch.expiresAt !== undefined) set('expires_at', patch.expiresAt);
  set('updated_at', at);
  params.push(id);
  let where = `id = $${params.length}`;
  if (from) {
    params.push(from);
    where += ` AND state = ANY($${params.length}::text[])`;
  }
  const [row] = await tx.query<DeviceRow>(
    `UPDATE devices SET ${sets.join(', ')} WHERE ${where} RETURNING *`,
    params,
  );
  return row ? toDevice(row) : null;
}

export interface DeviceSearch {
  q?: string;
  state?: DeviceState;
  type?: DeviceType;
  userId?: string;
  limit: number;
  offset: number;
}

/** A device in a search's list, with the name of the person it is assigned to. */
export type DeviceListItem = Device & { holder: { username: string; displayName: string } | null };

export async function searchDevices(
  db: Queryable,
  s: DeviceSearch,
): Promise<{ items: DeviceListItem[]; total: number }> {
  const w = new Where();
  if (s.q) {
    const t = likeTerm(s.q.toLowerCase());
    w.add('(lower(serial) LIKE ? OR lower(model) LIKE ? OR lower(notes) LIKE ?)', t, t, t);
  }
  if (s.state) w.add('state = ?', s.state);
  if (s.type) w.add('type = ?', s.type);
  if (s.userId) w.add('user_id = ?', s.userId);
  const [c] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM devices ${w}`, w.params);
  // The holder's name by sub-select, so the filters' bare column names stay the device's own.
  const rows = await db.query<DeviceRow & { holder_username: string | null; holder_name: string | null }>(
    `SELECT devices.*,
            (SELECT username FROM users WHERE users.id = devices.user_id) AS holder_username,
            (SELECT display_name FROM users WHERE users.id = devices.user_id) AS holder_name
     FROM devices ${w} ORDER BY created_at DESC, serial LIMIT ${w.next(s.limit)} OFFSET ${w.next(s.offset)}`,
    w.params,
  );
  return {
    items: rows.map((r) => ({
      ...toDevice(r),
      holder: r.holder_username ? { username: r.holder_username, displayName: r.holder_name ?? '' } : null,
    })),
    total: c?.n ?? 0,
  };
}

export async function listUserDevices(db: Queryable, userId: string): Promise<Device[]> {
  const rows = await db.query<DeviceRow>(
    'SELECT * FROM devices WHERE user_id = $1 ORDER BY created_at DESC, serial',
    [userId],
  );
  return rows.map(toDevice);
}
