// The last conformance report of each device's card (migrations/041_piv_content_signers.sql).
import type { Queryable } from './db.js';

export async function putDeviceConformance(
  db: Queryable,
  deviceId: string,
  report: unknown,
  at: Date,
): Promise<void> {
  await db.query(
    `INSERT INTO device_conformance (device_id, report, checked_at) VALUES ($1, $2::jsonb, $3)
     ON CONFLICT (device_id) DO UPDATE SET report = EXCLUDED.report, checked_at = EXCLUDED.checked_at`,
    [deviceId, JSON.stringify(report), at],
  );
}

export async function getDeviceConformance(db: Queryable, deviceId: string): Promise<unknown> {
  const rows = await db.query<{ report: unknown }>(
    `SELECT report FROM device_conformance WHERE device_id = $1`,
    [deviceId],
  );
  return rows[0]?.report ?? null;
}
