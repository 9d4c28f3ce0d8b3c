// An issuance's start in few statements (docs/decisions/0039-issuance-start-in-one-statement.md):
// the job, the card's initial PIN and new PUK, and the `issuance.started` audit event are one
// statement, and so is a card's registration (its row already issuing, with its
// `device.registered` event) or a blank card's guarded move with them: then that one statement is
// the whole transaction. Each row comes back through its own repository's mapper.
import { auditChain, type AuditInput, type AuditParent } from './audit-repo.js';
import type { DeviceState, DeviceType } from '../domain/device.js';
import type { Queryable } from './db.js';
import type { DeviceSecretKind } from './device-secrets-repo.js';
import { toDevice, type Device, type DeviceRow, type NewDevice } from './devices-repo.js';
import { printerPreferenceUpsert } from './prints-repo.js';
import { openRequestForReplacementDeviceSql } from './requests-repo.js';
import {
  joinedJob,
  joinedJobColumns,
  toJob,
  type IssuanceJob,
  type JobRow,
  type NewJob,
} from './jobs-repo.js';

/** What every start writes: chosen (ids included) before the statement, so it names them all. */
export interface IssuanceStart {
  job: NewJob & { id: string };
  /** Already sealed by the master key for this device (the job's). */
  secrets: readonly { kind: DeviceSecretKind; encrypted: Uint8Array }[];
  /** `issuance.started`. */
  audit: AuditInput;
  /** A printing start's printer and encoder, proposed to this operator next time (reference 002). */
  printer?: { userId: string; agentId: string; printer: string; encoder: string };
}

/** A card registered on the way: its row (already where the start moves it) and its audit event. */
export interface Registration {
  device: NewDevice & { id: string; moved: NonNullable<NewDevice['moved']> };
  /** `device.registered`, appended before the start's event. */
  audit: AuditInput;
}

/** Writes the start of an issuance on a card already in hand (locked and moved by the caller). */
export async function writeStart(tx: Queryable, start: IssuanceStart): Promise<IssuanceJob> {
  const params: unknown[] = [];
  const ctes = [
    ...startCtes(start, params),
    auditChain([start.audit], params, { parents: startParents(start) }).ctes,
  ];
  const [row] = await tx.query<JobRow>(`WITH ${ctes.join(',\n')} SELECT * FROM start_j`, params);
  return toJob(row!);
}

/**
 * Registers the card with the serial and starts its issuance, in one statement (atomic on its
 * own: no transaction around it) — unless a card with that serial is in the inventory: then
 * nothing is written and that card's row is returned as read (unlocked), for the caller to lock,
 * check and move. `known: null`: the serial was registered by another transaction while this one
 * ran (its row is not visible to it); the caller reads again.
 */
export async function registerAndStart(
  db: Queryable,
  registration: Registration,
  start: IssuanceStart,
): Promise<{ device: Device; job: IssuanceJob } | { known: Device | null }> {
  const { device: d } = registration;
  const params: unknown[] = [];
  const p = (v: unknown) => `$${params.push(v)}`;
  const serial = p(d.serial);
  const at = p(d.at);
  const inserted = 'EXISTS (SELECT 1 FROM start_d)';
  const ctes = [
    // ON CONFLICT: a known serial inserts nothing, and then nothing below happens either.
    `start_d AS (INSERT INTO devices (id, serial, type, model, notes, demo, created_at, updated_at, state, user_id, policy_id)
       VALUES (${p(d.id)}::uuid, ${serial}::text, ${p(d.type)}::text, ${p(d.model ?? '')}::text, ${p(d.notes ?? '')}::text,
               ${p(d.demo ?? false)}::boolean, ${at}::timestamptz, ${at}::timestamptz,
               ${p(d.moved.state)}::text, ${p(d.moved.userId)}::uuid, ${p(d.moved.policyId)}::uuid)
       ON CONFLICT ((upper(serial))) DO NOTHING RETURNING *)`,
    ...startCtes(start, params, inserted),
    auditChain([registration.audit, start.audit], params, {
      when: inserted,
      parents: startParents(start, d.moved),
    }).ctes,
  ];
  // The new row, or the known one: the statement's snapshot cannot see the row it inserts, and a
  // row it can see makes the INSERT a conflict, so at most one of the two is there.
  const rows = await db.query<DeviceRow & Record<string, unknown>>(
    `WITH ${ctes.join(',\n')}
     SELECT k.*, ${joinedJobColumns('j', 'j__')}
       FROM (SELECT * FROM start_d UNION ALL SELECT * FROM devices WHERE upper(serial) = upper(${serial}::text)) AS k
       LEFT JOIN start_j j ON true`,
    params,
  );
  const row = rows[0];
  if (!row) return { known: null };
  const job = joinedJob(row, 'j__');
  return job ? { device: toDevice(row), job } : { known: toDevice(row) };
}

/**
 * A blank card's move to where the start leaves it (`move.to`), under a guard, and its start.
 * The device's UPDATE takes its lock and moves it only while it is blank for this start: in one of
 * `move.from` (a self start's: `bound` only, so bound to `move.userId`, with `move.policyId`:
 * `boundWithPolicy`), of one of `move.types`,
 * bound to nobody but `move.userId`, and (`unlessRequested`) named by no open request as its
 * replacement. The job, the secrets and the event are written only when it moved; one statement,
 * atomic on its own. Null when it did not move (nothing written): the caller locks, checks and
 * refuses or moves it in a transaction.
 */
export async function moveAndStart(
  db: Queryable,
  move: {
    deviceId: string;
    from: readonly DeviceState[];
    to: DeviceState;
    types: readonly DeviceType[];
    userId: string;
    policyId: string;
    unlessRequested: boolean;
    /** Only while the card is bound with `policyId` already (a self start's: not rebound since). */
    boundWithPolicy?: boolean;
  },
  start: IssuanceStart,
): Promise<{ device: Device; job: IssuanceJob } | null> {
  const params: unknown[] = [];
  const p = (v: unknown) => `$${params.push(v)}`;
  const id = p(move.deviceId);
  const user = p(move.userId);
  const policy = p(move.policyId);
  const moved = 'EXISTS (SELECT 1 FROM start_m)';
  // The requests are read in the statement's snapshot, which cannot see one that a transaction
  // names the card in while this UPDATE waits for the card's lock (a bind locks and moves the card,
  // then names it; PostgreSQL re-checks only the card's newest row). So the row moved must also be
  // the version this snapshot read (its xmin): else nothing moves, and the caller's transaction
  // reads it again, locked, and finds the request.
  const unrequested = move.unlessRequested
    ? `AND NOT ${openRequestForReplacementDeviceSql(`${id}::uuid`)}
         AND xmin = (SELECT s.xmin FROM devices s WHERE s.id = ${id}::uuid)`
    : '';
  const ctes = [
    `start_m AS (UPDATE devices SET state = ${p(move.to)}::text, user_id = ${user}::uuid,
                   policy_id = ${policy}::uuid, updated_at = ${p(start.job.at)}::timestamptz
       WHERE id = ${id}::uuid AND state = ANY(${p(move.from)}::text[]) AND type = ANY(${p(move.types)}::text[])
         AND (state <> 'bound' OR user_id = ${user}::uuid)
         ${move.boundWithPolicy ? `AND policy_id = ${policy}::uuid` : ''}
         ${unrequested}
       RETURNING *)`,
    ...startCtes(start, params, moved),
    auditChain([start.audit], params, { when: moved, parents: startParents(start, move) }).ctes,
  ];
  const [row] = await db.query<DeviceRow & Record<string, unknown>>(
    `WITH ${ctes.join(',\n')}
     SELECT m.*, ${joinedJobColumns('j', 'j__')} FROM start_m m JOIN start_j j ON true`,
    params,
  );
  return row ? { device: toDevice(row), job: joinedJob(row, 'j__')! } : null;
}

/**
 * The rows a start's statement refers to by foreign key (the person, the starter, the policy, the
 * request, the printer's agent; the device is the statement's own), locked before the audit head
 * (AuditChainOptions.parents says why).
 */
function startParents(
  start: IssuanceStart,
  device?: { userId: string | null; policyId: string | null },
): AuditParent[] {
  const { job: j, printer } = start;
  return [
    { table: 'users', ids: [j.userId, j.startedBy, device?.userId, printer?.userId] },
    { table: 'device_policies', ids: [j.policyId, device?.policyId] },
    { table: 'requests', ids: [j.requestId] },
    { table: 'agents', ids: [printer?.agentId] },
  ];
}

/**
 * The job, the device's secrets (replacing any it had: a known card's earlier PUK) and the printer
 * preference, written only when `when` holds (a condition on the statement's other CTEs).
 */
function startCtes(start: IssuanceStart, params: unknown[], when?: string): string[] {
  const p = (v: unknown) => `$${params.push(v)}`;
  const { job: j } = start;
  const where = when ? `WHERE ${when}` : '';
  const deviceId = p(j.deviceId);
  const at = p(j.at);
  const secrets = start.secrets
    .map((s) => `(${p(s.kind)}::text, ${p(Buffer.from(s.encrypted))}::bytea)`)
    .join(', ');
  return [
    `start_j AS (INSERT INTO issuance_jobs (id, device_id, user_id, policy_id, request_id, started_by, status, options,
                                            created_at, updated_at, owner_instance, awaiting_owner)
       SELECT ${p(j.id)}::uuid, ${deviceId}::uuid, ${p(j.userId)}::uuid, ${p(j.policyId)}::uuid, ${p(j.requestId ?? null)}::uuid,
              ${p(j.startedBy)}::uuid, 'running', ${p(JSON.stringify(j.options))}::jsonb, ${at}::timestamptz,
              ${at}::timestamptz, ${p(j.owner)}::uuid, ${p(j.awaitingOwner === true)}::boolean ${where}
       RETURNING *)`,
    `start_s AS (INSERT INTO device_secrets (device_id, kind, value, created_at)
       SELECT ${deviceId}::uuid, v.kind, v.value, ${at}::timestamptz FROM (VALUES ${secrets}) AS v (kind, value) ${where}
       ON CONFLICT (device_id, kind) DO UPDATE SET value = EXCLUDED.value, created_at = EXCLUDED.created_at)`,
    ...(start.printer
      ? [`start_p AS (${printerPreferenceUpsert(params, start.printer.userId, start.printer, j.at, when)})`]
      : []),
  ];
}
