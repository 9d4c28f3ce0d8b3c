// Why credentials are on hold: one row per cause — a replacement request, or a device suspended
// by hand — so that ending one cause lifts exactly the holds it placed, and a credential stays on
// hold while any other cause remains. Also the device suspensions themselves.
import type { Queryable } from './db.js';
import { iso } from './sql.js';

/** A cause of holds: a replacement request, or the suspension of a device. */
export type HoldCause = { requestId: string } | { suspendedDeviceId: string };

const causeColumn = (c: HoldCause) => ('requestId' in c ? 'request_id' : 'suspended_device_id');
const causeId = (c: HoldCause) => ('requestId' in c ? c.requestId : c.suspendedDeviceId);

export interface ActiveHold {
  credentialId: string;
  requestId: string | null;
  requestNumber: number | null;
  suspendedDeviceId: string | null;
  createdAt: string;
}

export async function placeHolds(
  tx: Queryable,
  credentialIds: readonly string[],
  cause: HoldCause,
  at: Date,
): Promise<void> {
  if (credentialIds.length === 0) return;
  await tx.query(
    `INSERT INTO credential_holds (credential_id, ${causeColumn(cause)}, created_at)
     SELECT unnest($1::uuid[]), $2, $3 ON CONFLICT DO NOTHING`,
    [[...credentialIds], causeId(cause), at],
  );
}

/** Ends every active hold of the cause; returns the credentials it held. */
export async function releaseHolds(tx: Queryable, cause: HoldCause, at: Date): Promise<string[]> {
  const rows = await tx.query<{ credential_id: string }>(
    `UPDATE credential_holds SET released_at = $2
      WHERE ${causeColumn(cause)} = $1 AND released_at IS NULL RETURNING credential_id`,
    [causeId(cause), at],
  );
  return rows.map((r) => r.credential_id).sort();
}

/** The credentials a cause holds now. */
export async function heldBy(db: Queryable, cause: HoldCause): Promise<string[]> {
  const rows = await db.query<{ credential_id: string }>(
    `SELECT credential_id FROM credential_holds WHERE ${causeColumn(cause)} = $1 AND released_at IS NULL
      ORDER BY credential_id`,
    [causeId(cause)],
  );
  return rows.map((r) => r.credential_id);
}

/** The credentials a cause ever held (its holds, released or not): what a request suspended. */
export async function everHeldBy(db: Queryable, cause: HoldCause): Promise<string[]> {
  const rows = await db.query<{ credential_id: string }>(
    `SELECT DISTINCT credential_id FROM credential_holds WHERE ${causeColumn(cause)} = $1 ORDER BY credential_id`,
    [causeId(cause)],
  );
  return rows.map((r) => r.credential_id);
}

/** Active holds on the given credentials, every cause. */
export async function activeHolds(db: Queryable, credentialIds: readonly string[]): Promise<ActiveHold[]> {
  if (credentialIds.length === 0) return [];
  const rows = await db.query<{
    credential_id: string;
    request_id: string | null;
    number: number | string | null;
    suspended_device_id: string | null;
    created_at: Date;
  }>(
    `SELECT h.credential_id, h.request_id, r.number, h.suspended_device_id, h.created_at
       FROM credential_holds h LEFT JOIN requests r ON r.id = h.request_id
      WHERE h.credential_id = ANY($1::uuid[]) AND h.released_at IS NULL
      ORDER BY h.created_at, h.credential_id`,
    [[...credentialIds]],
  );
  return rows.map((r) => ({
    credentialId: r.credential_id,
    requestId: r.request_id,
    requestNumber: r.number === null ? null : Number(r.number),
    suspendedDeviceId: r.suspended_device_id,
    createdAt: iso(r.created_at)!,
  }));
}

export interface DeviceSuspension {
  deviceId: string;
  suspendedBy: string | null;
  note: string;
  createdAt: string;
}

export async function insertDeviceSuspension(
  tx: Queryable,
  s: { deviceId: string; suspendedBy: string | null; note: string; at: Date },
): Promise<void> {
  await tx.query(
    'INSERT INTO device_suspensions (device_id, suspended_by, note, created_at) VALUES ($1, $2, $3, $4)',
    [s.deviceId, s.suspendedBy, s.note, s.at],
  );
}

export async function getDeviceSuspension(db: Queryable, deviceId: string): Promise<DeviceSuspension | null> {
  const [r] = await db.query<{
    device_id: string;
    suspended_by: string | null;
    note: string;
    created_at: Date;
  }>('SELECT * FROM device_suspensions WHERE device_id = $1', [deviceId]);
  return r
    ? { deviceId: r.device_id, suspendedBy: r.suspended_by, note: r.note, createdAt: iso(r.created_at)! }
    : null;
}

export async function deleteDeviceSuspension(tx: Queryable, deviceId: string): Promise<boolean> {
  const rows = await tx.query('DELETE FROM device_suspensions WHERE device_id = $1 RETURNING device_id', [
    deviceId,
  ]);
  return rows.length > 0;
}
