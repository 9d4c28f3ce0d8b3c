import type { Queryable } from './db.js';

export type DeviceSecretKind = 'puk' | 'initial_pin';

/** Stores an already encrypted secret (the caller encrypts with the master key). */
export async function putDeviceSecret(
  tx: Queryable,
  deviceId: string,
  kind: DeviceSecretKind,
  encrypted: Uint8Array,
  at: Date,
): Promise<void> {
  await tx.query(
    `INSERT INTO device_secrets (device_id, kind, value, created_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (device_id, kind) DO UPDATE SET value = EXCLUDED.value, created_at = EXCLUDED.created_at`,
    [deviceId, kind, Buffer.from(encrypted), at],
  );
}

/** Stores several already encrypted secrets of one device in one statement. */
export async function putDeviceSecrets(
  tx: Queryable,
  deviceId: string,
  secrets: readonly { kind: DeviceSecretKind; encrypted: Uint8Array }[],
  at: Date,
): Promise<void> {
  if (secrets.length === 0) return;
  const params: unknown[] = [deviceId, at];
  const rows = secrets.map((s) => {
    params.push(s.kind, Buffer.from(s.encrypted));
    return `($1, $${params.length - 1}, $${params.length}, $2)`;
  });
  await tx.query(
    `INSERT INTO device_secrets (device_id, kind, value, created_at) VALUES ${rows.join(', ')}
     ON CONFLICT (device_id, kind) DO UPDATE SET value = EXCLUDED.value, created_at = EXCLUDED.created_at`,
    params,
  );
}

export async function getDeviceSecret(
  db: Queryable,
  deviceId: string,
  kind: DeviceSecretKind,
  forUpdate = false,
): Promise<Uint8Array | null> {
  const rows = await db.query<{ value: Uint8Array }>(
    `SELECT value FROM device_secrets WHERE device_id = $1 AND kind = $2${forUpdate ? ' FOR UPDATE' : ''}`,
    [deviceId, kind],
  );
  return rows[0]?.value ?? null;
}

export async function deleteDeviceSecret(
  tx: Queryable,
  deviceId: string,
  kind: DeviceSecretKind,
): Promise<boolean> {
  const rows = await tx.query(
    'DELETE FROM device_secrets WHERE device_id = $1 AND kind = $2 RETURNING device_id',
    [deviceId, kind],
  );
  return rows.length > 0;
}

export async function deleteAllDeviceSecrets(tx: Queryable, deviceId: string): Promise<void> {
  await tx.query('DELETE FROM device_secrets WHERE device_id = $1', [deviceId]);
}
