// Requests (issuance, replacement, mobile ID): the workflow objects of DESIGN.md "Domain" →
// Request. A request's row is the lock every step of its workflow takes first (FOR UPDATE), so two
// operators acting at once are serialized here and the second sees what the first did.
import type { RequestKind, RequestState, RequestWorkflow } from '../domain/request.js';
import type { Queryable } from './db.js';
import { Where, iso } from './sql.js';

export interface RequestRecord {
  id: string;
  /** What people call it: "request #12". */
  number: number;
  /** Bumped by every change: a decision sent for an older version is refused. */
  version: number;
  kind: RequestKind;
  reason: string | null;
  type: string | null;
  workflow: RequestWorkflow;
  state: RequestState;
  userId: string;
  targetDeviceId: string | null;
  replacementDeviceId: string | null;
  policyId: string | null;
  submittedBy: string | null;
  approvedBy: string | null;
  rejectedBy: string | null;
  boundBy: string | null;
  completedBy: string | null;
  cancelledBy: string | null;
  note: string;
  decisionNote: string;
  dueAt: string | null;
  overRequestId: string | null;
  createdAt: string;
  updatedAt: string;
}

type RequestRow = {
  id: string;
  number: number | string;
  version: number;
  kind: RequestKind;
  reason: string | null;
  type: string | null;
  workflow: RequestWorkflow;
  state: RequestState;
  user_id: string;
  target_device_id: string | null;
  replacement_device_id: string | null;
  policy_id: string | null;
  submitted_by: string | null;
  approved_by: string | null;
  rejected_by: string | null;
  bound_by: string | null;
  completed_by: string | null;
  cancelled_by: string | null;
  note: string;
  decision_note: string;
  due_at: Date | null;
  over_request_id: string | null;
  created_at: Date;
  updated_at: Date;
};

const toRequest = (r: RequestRow): RequestRecord => ({
  id: r.id,
  number: Number(r.number),
  version: r.version,
  kind: r.kind,
  reason: r.reason,
  type: r.type,
  workflow: r.workflow,
  state: r.state,
  userId: r.user_id,
  targetDeviceId: r.target_device_id,
  replacementDeviceId: r.replacement_device_id,
  policyId: r.policy_id,
  submittedBy: r.submitted_by,
  approvedBy: r.approved_by,
  rejectedBy: r.rejected_by,
  boundBy: r.bound_by,
  completedBy: r.completed_by,
  cancelledBy: r.cancelled_by,
  note: r.note,
  decisionNote: r.decision_note,
  dueAt: iso(r.due_at),
  overRequestId: r.over_request_id,
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
});

export interface NewRequest {
  kind: RequestKind;
  reason?: string | null;
  type?: string | null;
  workflow: RequestWorkflow;
  state: RequestState;
  userId: string;
  targetDeviceId?: string | null;
  policyId?: string | null;
  submittedBy: string | null;
  approvedBy?: string | null;
  overRequestId?: string | null;
  note?: string;
  at: Date;
}

export async function insertRequest(tx: Queryable, r: NewRequest): Promise<RequestRecord> {
  const [row] = await tx.query<RequestRow>(
    `INSERT INTO requests (kind, reason, type, workflow, state, user_id, target_device_id, policy_id,
                           submitted_by, approved_by, over_request_id, note, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING *`,
    [
      r.kind,
      r.reason ?? null,
      r.type ?? null,
      r.workflow,
      r.state,
      r.userId,
      r.targetDeviceId ?? null,
      r.policyId ?? null,
      r.submittedBy,
      r.approvedBy ?? null,
      r.overRequestId ?? null,
      r.note ?? '',
      r.at,
    ],
  );
  return toRequest(row!);
}

export async function getRequest(
  db: Queryable,
  id: string,
  forUpdate = false,
): Promise<RequestRecord | null> {
  const rows = await db.query<RequestRow>(
    `SELECT * FROM requests WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return rows[0] ? toRequest(rows[0]) : null;
}

export type RequestActorColumn = 'approved_by' | 'rejected_by' | 'bound_by' | 'completed_by' | 'cancelled_by';

export interface RequestChange {
  state?: RequestState;
  actor?: { column: RequestActorColumn; userId: string | null };
  replacementDeviceId?: string | null;
  dueAt?: Date | null;
  decisionNote?: string;
}

/** Applies a change and bumps the version. */
export async function updateRequest(
  tx: Queryable,
  id: string,
  change: RequestChange,
  at: Date,
): Promise<RequestRecord> {
  const params: unknown[] = [at, id];
  const sets = ['updated_at = $1', 'version = version + 1'];
  const set = (col: string, v: unknown) => {
    params.push(v);
    sets.push(`${col} = $${params.length}`);
  };
  if (change.state !== undefined) set('state', change.state);
  if (change.actor) set(change.actor.column, change.actor.userId);
  if (change.replacementDeviceId !== undefined) set('replacement_device_id', change.replacementDeviceId);
  if (change.dueAt !== undefined) set('due_at', change.dueAt);
  if (change.decisionNote !== undefined) set('decision_note', change.decisionNote);
  const [row] = await tx.query<RequestRow>(
    `UPDATE requests SET ${sets.join(', ')} WHERE id = $2 RETURNING *`,
    params,
  );
  return toRequest(row!);
}

/** Kept for the callers of the foundation's signature. */
export async function updateRequestState(
  tx: Queryable,
  id: string,
  state: RequestState,
  actor: { column: RequestActorColumn; userId: string | null } | null,
  at: Date,
  replacementDeviceId?: string | null,
): Promise<RequestRecord> {
  return updateRequest(
    tx,
    id,
    {
      state,
      ...(actor ? { actor } : {}),
      ...(replacementDeviceId !== undefined ? { replacementDeviceId } : {}),
    },
    at,
  );
}

const OPEN = `state IN ('submitted', 'approved', 'bound')`;

/** SQL: an open request names the device `deviceId` (an SQL expression) as its replacement. */
export const openRequestForReplacementDeviceSql = (deviceId: string): string =>
  `EXISTS (SELECT 1 FROM requests WHERE replacement_device_id = ${deviceId} AND ${OPEN})`;

/** Open replacement requests naming the device as the one replaced, oldest first. */
export async function openRequestsForTarget(
  db: Queryable,
  deviceId: string,
  forUpdate = false,
): Promise<RequestRecord[]> {
  const rows = await db.query<RequestRow>(
    `SELECT * FROM requests WHERE target_device_id = $1 AND kind = 'replacement' AND ${OPEN}
      ORDER BY created_at, number${forUpdate ? ' FOR UPDATE' : ''}`,
    [deviceId],
  );
  return rows.map(toRequest);
}

/** The open request a device is the replacement device of, if any. */
export async function openRequestForReplacementDevice(
  db: Queryable,
  deviceId: string,
  forUpdate = false,
): Promise<RequestRecord | null> {
  const rows = await db.query<RequestRow>(
    `SELECT * FROM requests WHERE replacement_device_id = $1 AND ${OPEN}
      ORDER BY created_at DESC LIMIT 1${forUpdate ? ' FOR UPDATE' : ''}`,
    [deviceId],
  );
  return rows[0] ? toRequest(rows[0]) : null;
}

/** Every request naming the device, either way, newest first (the device's "why"). */
export async function requestsNamingDevice(db: Queryable, deviceId: string): Promise<RequestRecord[]> {
  const rows = await db.query<RequestRow>(
    `SELECT * FROM requests WHERE target_device_id = $1 OR replacement_device_id = $1
      ORDER BY created_at DESC, number DESC LIMIT 50`,
    [deviceId],
  );
  return rows.map(toRequest);
}

/**
 * Claims open requests whose temporary device is due to end, locking them so another server's
 * job skips them; the claim lasts until the caller's transaction ends.
 */
export async function claimDueRequests(tx: Queryable, now: Date, limit: number): Promise<RequestRecord[]> {
  const rows = await tx.query<RequestRow>(
    `SELECT * FROM requests WHERE due_at IS NOT NULL AND due_at <= $1 AND ${OPEN}
      ORDER BY due_at, number LIMIT $2 FOR UPDATE SKIP LOCKED`,
    [now, limit],
  );
  return rows.map(toRequest);
}

export async function listRequests(
  db: Queryable,
  s: {
    userId?: string;
    state?: RequestState;
    states?: readonly RequestState[];
    kind?: RequestKind;
    workflow?: RequestWorkflow;
    limit: number;
    offset: number;
  },
): Promise<{ items: RequestRecord[]; total: number }> {
  const w = new Where();
  if (s.userId) w.add('user_id = ?', s.userId);
  if (s.state) w.add('state = ?', s.state);
  if (s.states) w.add('state = ANY(?::text[])', [...s.states]);
  if (s.kind) w.add('kind = ?', s.kind);
  if (s.workflow) w.add('workflow = ?', s.workflow);
  const [c] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM requests ${w}`, w.params);
  const rows = await db.query<RequestRow>(
    `SELECT * FROM requests ${w} ORDER BY created_at DESC, number DESC LIMIT ${w.next(s.limit)} OFFSET ${w.next(s.offset)}`,
    w.params,
  );
  return { items: rows.map(toRequest), total: c?.n ?? 0 };
}
