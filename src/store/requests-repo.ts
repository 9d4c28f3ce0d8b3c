import type { RequestKind, RequestState, RequestWorkflow } from '../domain/request.js';
import type { Queryable } from './db.js';
import { Where, iso } from './sql.js';

export interface RequestRecord {
  id: string;
  kind: RequestKind;
  reason: string | null;
  type: string | null;
  workflow: RequestWorkflow;
  state: RequestState;
  userId: string;
  targetDeviceId: string | null;
  replacementDeviceId: string | null;
  submittedBy: string | null;
  approvedBy: string | null;
  boundBy: string | null;
  completedBy: string | null;
  cancelledBy: string | null;
  note: string;
  createdAt: string;
  updatedAt: string;
}

type RequestRow = {
  id: string;
  kind: RequestKind;
  reason: string | null;
  type: string | null;
  workflow: RequestWorkflow;
  state: RequestState;
  user_id: string;
  target_device_id: string | null;
  replacement_device_id: string | null;
  submitted_by: string | null;
  approved_by: string | null;
  bound_by: string | null;
  completed_by: string | null;
  cancelled_by: string | null;
  note: string;
  created_at: Date;
  updated_at: Date;
};

const toRequest = (r: RequestRow): RequestRecord => ({
  id: r.id,
  kind: r.kind,
  reason: r.reason,
  type: r.type,
  workflow: r.workflow,
  state: r.state,
  userId: r.user_id,
  targetDeviceId: r.target_device_id,
  replacementDeviceId: r.replacement_device_id,
  submittedBy: r.submitted_by,
  approvedBy: r.approved_by,
  boundBy: r.bound_by,
  completedBy: r.completed_by,
  cancelledBy: r.cancelled_by,
  note: r.note,
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
  submittedBy: string | null;
  approvedBy?: string | null;
  note?: string;
  at: Date;
}

export async function insertRequest(tx: Queryable, r: NewRequest): Promise<RequestRecord> {
  const [row] = await tx.query<RequestRow>(
    `INSERT INTO requests (kind, reason, type, workflow, state, user_id, target_device_id, submitted_by, approved_by, note, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING *`,
    [
      r.kind,
      r.reason ?? null,
      r.type ?? null,
      r.workflow,
      r.state,
      r.userId,
      r.targetDeviceId ?? null,
      r.submittedBy,
      r.approvedBy ?? null,
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

export type RequestActorColumn = 'approved_by' | 'bound_by' | 'completed_by' | 'cancelled_by';

export async function updateRequestState(
  tx: Queryable,
  id: string,
  state: RequestState,
  actor: { column: RequestActorColumn; userId: string | null } | null,
  at: Date,
  replacementDeviceId?: string | null,
): Promise<RequestRecord> {
  const params: unknown[] = [state, at, id];
  let extra = '';
  if (actor) {
    params.push(actor.userId);
    extra += `, ${actor.column} = $${params.length}`;
  }
  if (replacementDeviceId !== undefined) {
    params.push(replacementDeviceId);
    extra += `, replacement_device_id = $${params.length}`;
  }
  const [row] = await tx.query<RequestRow>(
    `UPDATE requests SET state = $1, updated_at = $2${extra} WHERE id = $3 RETURNING *`,
    params,
  );
  return toRequest(row!);
}

export async function listRequests(
  db: Queryable,
  s: { userId?: string; state?: RequestState; kind?: RequestKind; limit: number; offset: number },
): Promise<{ items: RequestRecord[]; total: number }> {
  const w = new Where();
  if (s.userId) w.add('user_id = ?', s.userId);
  if (s.state) w.add('state = ?', s.state);
  if (s.kind) w.add('kind = ?', s.kind);
  const [c] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM requests ${w}`, w.params);
  const rows = await db.query<RequestRow>(
    `SELECT * FROM requests ${w} ORDER BY created_at DESC, id LIMIT ${w.next(s.limit)} OFFSET ${w.next(s.offset)}`,
    w.params,
  );
  return { items: rows.map(toRequest), total: c?.n ?? 0 };
}
