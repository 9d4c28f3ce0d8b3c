import type { CredentialProfile } from '../domain/credential-profile.js';
import type { DeviceType } from '../domain/device.js';
import type { PinPolicy } from '../domain/pin-policy.js';
import type { Queryable } from './db.js';
import { iso, joinedRow } from './sql.js';
import { joinedUser, joinedUserColumns, type User } from './users-repo.js';

export type { CredentialProfile };

export interface PolicyInput {
  name: string;
  description: string;
  deviceTypes: DeviceType[];
  credentialProfiles: CredentialProfile[];
  pinPolicy: PinPolicy;
  pukRetries: number;
  deviceValidityDays: number;
  /**
   * Days a temporary replacement device (a forgotten card) issued with this policy lives, 1-7; its
   * certificates never outlive it. Kept as it is when an update leaves it out.
   */
  temporaryValidityDays?: number;
  defaultLayout: string | null;
}

export interface Policy extends PolicyInput {
  temporaryValidityDays: number;
  id: string;
  demo: boolean;
  version: number;
  createdAt: string;
  updatedAt: string;
}

type PolicyRow = {
  id: string;
  name: string;
  description: string;
  device_types: DeviceType[];
  credential_profiles: CredentialProfile[];
  pin_policy: PinPolicy;
  puk_retries: number;
  device_validity_days: number;
  temporary_validity_days: number;
  default_layout: string | null;
  demo: boolean;
  version: number;
  created_at: Date;
  updated_at: Date;
};

const toPolicy = (r: PolicyRow): Policy => ({
  id: r.id,
  name: r.name,
  description: r.description,
  deviceTypes: r.device_types,
  credentialProfiles: r.credential_profiles,
  pinPolicy: r.pin_policy,
  pukRetries: r.puk_retries,
  deviceValidityDays: r.device_validity_days,
  temporaryValidityDays: r.temporary_validity_days,
  defaultLayout: r.default_layout,
  demo: r.demo,
  version: r.version,
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
});

/** The columns a PolicyRow maps, for reading a policy beside another table's row (joinedPolicy). */
const POLICY_COLUMNS =
  'id, name, description, device_types, credential_profiles, pin_policy, puk_retries, device_validity_days, ' +
  'temporary_validity_days, default_layout, demo, version, created_at, updated_at';

const joinedPolicyRow = joinedRow<PolicyRow, Policy>(POLICY_COLUMNS, toPolicy);
/** A policy's columns read through a join under `alias`, each named `<prefix><column>`. */
export const joinedPolicyColumns = joinedPolicyRow.columns;
/** The policy of a row read with joinedPolicyColumns, or null when the join found none. */
export const joinedPolicy = joinedPolicyRow.read;

export async function insertPolicy(
  tx: Queryable,
  p: PolicyInput & { demo?: boolean },
  at: Date,
): Promise<Policy> {
  const [row] = await tx.query<PolicyRow>(
    `INSERT INTO device_policies (name, description, device_types, credential_profiles, pin_policy, puk_retries,
       device_validity_days, default_layout, demo, created_at, updated_at, temporary_validity_days)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11) RETURNING *`,
    [
      p.name,
      p.description,
      p.deviceTypes,
      JSON.stringify(p.credentialProfiles),
      JSON.stringify(p.pinPolicy),
      p.pukRetries,
      p.deviceValidityDays,
      p.defaultLayout,
      p.demo ?? false,
      at,
      p.temporaryValidityDays ?? 7,
    ],
  );
  return toPolicy(row!);
}

export async function updatePolicy(tx: Queryable, id: string, p: PolicyInput, at: Date): Promise<Policy> {
  const [row] = await tx.query<PolicyRow>(
    `UPDATE device_policies SET name = $1, description = $2, device_types = $3, credential_profiles = $4,
       pin_policy = $5, puk_retries = $6, device_validity_days = $7, default_layout = $8,
       version = version + 1, updated_at = $9,
       temporary_validity_days = COALESCE($11, temporary_validity_days)
     WHERE id = $10 RETURNING *`,
    [
      p.name,
      p.description,
      p.deviceTypes,
      JSON.stringify(p.credentialProfiles),
      JSON.stringify(p.pinPolicy),
      p.pukRetries,
      p.deviceValidityDays,
      p.defaultLayout,
      at,
      id,
      p.temporaryValidityDays ?? null,
    ],
  );
  return toPolicy(row!);
}

/**
 * A person, a device policy and a setting's value, in one statement (an issuance's start reads the
 * three first); null (the setting: undefined) for each that is not there. `policyId` null reads no
 * policy.
 */
export async function getUserAndPolicy(
  db: Queryable,
  userId: string,
  policyId: string | null,
  settingKey: string,
): Promise<{ user: User | null; policy: Policy | null; setting: unknown }> {
  const [row] = await db.query<PolicyRow & Record<string, unknown>>(
    `SELECT p.*, ${joinedUserColumns('u', 'u__')}, s.value AS s__value, s.key AS s__key
       FROM (SELECT 1) AS one
       LEFT JOIN users u ON u.id = $1
       LEFT JOIN device_policies p ON p.id = $2
       LEFT JOIN settings s ON s.key = $3`,
    [userId, policyId, settingKey],
  );
  return {
    user: row ? joinedUser(row, 'u__') : null,
    policy: row && row.id != null ? toPolicy(row) : null,
    setting: row && row.s__key != null ? row.s__value : undefined,
  };
}

export async function getPolicy(db: Queryable, id: string, forUpdate = false): Promise<Policy | null> {
  const rows = await db.query<PolicyRow>(
    `SELECT * FROM device_policies WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return rows[0] ? toPolicy(rows[0]) : null;
}

export async function listPolicies(db: Queryable): Promise<Policy[]> {
  const rows = await db.query<PolicyRow>('SELECT * FROM device_policies ORDER BY lower(name)');
  return rows.map(toPolicy);
}
