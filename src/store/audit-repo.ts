// The audit log: append-only and hash-chained. Each event's hash covers its content and the
// previous event's hash, so altering or deleting any row breaks every link after it. Appends run
// inside the caller's transaction, so an event exists exactly when the change it records does.
import { createHash } from 'node:crypto';
import type { Queryable } from './db.js';

export interface AuditActor {
  id: string | null;
  name: string;
}

export interface AuditInput {
  actor: AuditActor;
  action: string;
  targetType: string;
  targetId?: string | null;
  /** What changed, without secrets (callers never pass PINs, PUKs, passwords, answers or keys). */
  details?: Record<string, unknown>;
  correlationId?: string | null;
  at: Date;
}

export interface AuditEvent {
  seq: number;
  at: Date;
  actorId: string | null;
  actorName: string;
  action: string;
  targetType: string;
  targetId: string | null;
  details: Record<string, unknown>;
  correlationId: string | null;
  prevHash: string;
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);

/** JSON with object keys sorted at every depth, so the same content always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function eventHash(e: Omit<AuditEvent, 'hash'>): string {
  const body = canonicalJson({
    seq: e.seq,
    at: e.at.toISOString(),
    actorId: e.actorId,
    actorName: e.actorName,
    action: e.action,
    targetType: e.targetType,
    targetId: e.targetId,
    details: e.details,
    correlationId: e.correlationId,
    prevHash: e.prevHash,
  });
  return createHash('sha256').update(body).digest('hex');
}

/**
 * Appends one event, in one statement: the chain's head is locked, the event's hash computed by
 * PostgreSQL (sha256 of the same canonical JSON as eventHash, the head's seq and hash spliced in),
 * the event inserted and the head moved — one round trip, so the head's lock is held for less.
 */
export async function appendAudit(tx: Queryable, input: AuditInput): Promise<AuditEvent> {
  const params: unknown[] = [];
  const chain = auditChain([input], params);
  const [row] = await tx.query<{ seq: number; prev: string; hash: string }>(
    `WITH ${chain.ctes} SELECT seq, prev, hash FROM ${chain.events[0]}`,
    params,
  );
  if (!row) throw new Error('audit_head row is missing: the database was not migrated');
  return { ...chain.partials[0]!, seq: Number(row.seq), prevHash: row.prev, hash: row.hash };
}

/** The common table expressions of auditChain, for a statement that writes more than the events. */
export interface AuditChainSql {
  /** `name AS (…), …`, to follow WITH (or a comma). */
  ctes: string;
  /** The CTE of each event, in order: its seq, prev (the previous hash) and hash. */
  events: string[];
  /** Each event as stored and hashed, before its place in the chain is known. */
  partials: Omit<AuditEvent, 'hash'>[];
}

/**
 * A table the caller's statement refers to by foreign key (or updates), with the rows it refers
 * to: auditChain locks them before the chain's head (see there why).
 */
export interface AuditParent {
  table: string;
  ids: readonly (string | null | undefined)[];
  /** The statement updates these rows (FOR NO KEY UPDATE); else it only refers to them (FOR KEY SHARE). */
  update?: boolean;
}

export interface AuditChainOptions {
  /** A SQL condition on the caller's CTEs: nothing is locked or written unless it holds. */
  when?: string;
  /**
   * The rows the rest of the statement refers to by foreign key or updates after the head's lock.
   * PostgreSQL checks a statement's foreign keys at its end (FOR KEY SHARE on each referenced row),
   * after the head is locked, and runs CTEs nothing reads after the main query. A transaction that
   * locks such a row (a content signer's rotation locks its CA, a policy's or a person's edit its
   * row) and then appends its own event would wait for the head while this statement waits for
   * that row: a deadlock, and every audit append in the cluster waits meanwhile. Locked here,
   * first, the head stays the last lock taken, as in a transaction that appends last.
   */
  parents?: readonly AuditParent[];
}

/**
 * Appends `inputs`, in order, as part of one statement of the caller's (its parameters go on
 * `params`): the chain's head is locked, each event's hash computed by PostgreSQL from the one
 * before it (sha256 of the same canonical JSON as eventHash, the seq and previous hash spliced in),
 * the events inserted and the head moved to the last. With `when`, nothing is locked or written
 * unless it holds; `parents` are locked before the head. The CTEs are named audit_*.
 */
export function auditChain(
  inputs: readonly AuditInput[],
  params: unknown[],
  { when, parents = [] }: AuditChainOptions = {},
): AuditChainSql {
  const p = (v: unknown) => `$${params.push(v)}`;
  const ctes: string[] = [];
  const locks = parents.flatMap(({ table, ids, update }) => {
    // In id order, each table once: one lock order for every statement.
    const rows = [...new Set(ids.filter((id): id is string => !!id))].sort();
    if (rows.length === 0) return [];
    return [
      `(SELECT count(*) FROM (SELECT 1 FROM ${table} WHERE id = ANY(${p(rows)}::uuid[])
          ORDER BY id FOR ${update ? 'NO KEY UPDATE' : 'KEY SHARE'}) l)`,
    ];
  });
  let guard = when;
  if (locks.length) {
    // MATERIALIZED: computed whole (every lock taken) before the head's row is read and locked;
    // `when` is its one-time filter, so nothing is locked unless it holds.
    ctes.push(`audit_k AS MATERIALIZED (SELECT ${locks.join(' + ')} AS n${when ? ` WHERE ${when}` : ''})`);
    guard = 'EXISTS (SELECT 1 FROM audit_k)';
  }
  ctes.push(
    `audit_h AS (SELECT seq, hash FROM audit_head WHERE id = 1${guard ? ` AND ${guard}` : ''} FOR UPDATE)`,
  );
  const events: string[] = [];
  const partials = inputs.map((input) => eventOf(input, 0, ''));
  const inserts = partials.map((e, k) => {
    // canonicalJson sorts the keys: prevHash and seq fall between details and targetId.
    const head = canonicalJson({
      action: e.action,
      actorId: e.actorId,
      actorName: e.actorName,
      at: e.at.toISOString(),
      correlationId: e.correlationId,
      details: e.details,
    });
    const tail = canonicalJson({ targetId: e.targetId, targetType: e.targetType });
    const name = `audit_e${k + 1}`;
    ctes.push(
      `${name} AS (SELECT seq + 1 AS seq, hash AS prev, encode(sha256(convert_to(
         ${p(head.slice(0, -1))}::text || ',"prevHash":"' || hash || '","seq":' || (seq + 1)::text || ','
         || ${p(tail.slice(1))}::text, 'UTF8')), 'hex') AS hash
       FROM ${k === 0 ? 'audit_h' : events[k - 1]})`,
    );
    events.push(name);
    return `SELECT seq, ${p(e.at)}::timestamptz, ${p(e.actorId)}::uuid, ${p(e.actorName)}::text, ${p(e.action)}::text,
              ${p(e.targetType)}::text, ${p(e.targetId)}::text, ${p(JSON.stringify(e.details))}::jsonb,
              ${p(e.correlationId)}::text, prev, hash FROM ${name}`;
  });
  ctes.push(
    `audit_i AS (INSERT INTO audit_events (seq, at, actor_id, actor_name, action, target_type, target_id, details,
                                           correlation_id, prev_hash, hash)
                 ${inserts.join(' UNION ALL ')})`,
    `audit_u AS (UPDATE audit_head SET seq = l.seq, hash = l.hash FROM ${events.at(-1)} l WHERE audit_head.id = 1)`,
  );
  return { ctes: ctes.join(',\n'), events, partials };
}

/** The event as stored and hashed, before its place in the chain is known. */
function eventOf(input: AuditInput, seq: number, prevHash: string): Omit<AuditEvent, 'hash'> {
  return {
    seq,
    at: new Date(Math.floor(input.at.getTime())),
    actorId: input.actor.id,
    actorName: input.actor.name,
    action: input.action,
    targetType: input.targetType,
    targetId: input.targetId ?? null,
    // Round-trip details through JSON so the hash covers exactly what jsonb will give back.
    details: JSON.parse(JSON.stringify(input.details ?? {})) as Record<string, unknown>,
    correlationId: input.correlationId ?? null,
    prevHash,
  };
}

type AuditRow = {
  seq: number;
  at: Date;
  actor_id: string | null;
  actor_name: string;
  action: string;
  target_type: string;
  target_id: string | null;
  details: Record<string, unknown>;
  correlation_id: string | null;
  prev_hash: string;
  hash: string;
};

const toEvent = (r: AuditRow): AuditEvent => ({
  seq: Number(r.seq),
  at: new Date(r.at),
  actorId: r.actor_id,
  actorName: r.actor_name,
  action: r.action,
  targetType: r.target_type,
  targetId: r.target_id,
  details: r.details,
  correlationId: r.correlation_id,
  prevHash: r.prev_hash,
  hash: r.hash,
});

export interface AuditQuery {
  targetType?: string;
  targetId?: string;
  actorId?: string;
  action?: string;
  limit: number;
  offset: number;
}

export async function listAudit(
  db: Queryable,
  q: AuditQuery,
): Promise<{ items: AuditEvent[]; total: number }> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, v: unknown) => {
    params.push(v);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (q.targetType) add('target_type = ?', q.targetType);
  if (q.targetId) add('target_id = ?', q.targetId);
  if (q.actorId) add('actor_id = ?', q.actorId);
  if (q.action) add('action = ?', q.action);
  const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const [count] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_events ${w}`, params);
  const rows = await db.query<AuditRow>(
    `SELECT * FROM audit_events ${w} ORDER BY seq DESC LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
    [...params, q.limit, q.offset],
  );
  return { items: rows.map(toEvent), total: count?.n ?? 0 };
}

export type AuditVerification =
  | { ok: true; checked: number; head: string }
  | { ok: false; checked: number; brokenAt: number; reason: string };

/**
 * Walks the chain from the first event: every seq present and consecutive, every prev_hash equal to
 * the hash before it, every hash recomputed from the row, and the head pointing at the last row.
 * Reports the first broken link. Reads in pages so a long history does not sit in memory at once.
 */
export async function verifyAudit(db: Queryable, pageSize = 5000): Promise<AuditVerification> {
  let expectedPrev = GENESIS_HASH;
  let expectedSeq = 1;
  let checked = 0;
  for (;;) {
    const rows = await db.query<AuditRow>(
      'SELECT * FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2',
      [expectedSeq, pageSize],
    );
    for (const r of rows) {
      const e = toEvent(r);
      if (e.seq !== expectedSeq)
        return { ok: false, checked, brokenAt: expectedSeq, reason: `event ${expectedSeq} is missing` };
      if (e.prevHash !== expectedPrev)
        return {
          ok: false,
          checked,
          brokenAt: e.seq,
          reason: `event ${e.seq} does not link to event ${e.seq - 1}`,
        };
      const { hash, ...rest } = e;
      if (eventHash(rest) !== hash)
        return {
          ok: false,
          checked,
          brokenAt: e.seq,
          reason: `event ${e.seq} was altered after it was written`,
        };
      expectedPrev = hash;
      expectedSeq += 1;
      checked += 1;
    }
    if (rows.length < pageSize) break;
  }
  const [head] = await db.query<{ seq: number; hash: string }>(
    'SELECT seq, hash FROM audit_head WHERE id = 1',
  );
  if (!head || Number(head.seq) !== checked || head.hash !== expectedPrev)
    return {
      ok: false,
      checked,
      brokenAt: checked + 1,
      reason: `the chain ends at event ${checked} but the head records event ${head?.seq ?? '?'}: events were removed from the end`,
    };
  return { ok: true, checked, head: expectedPrev };
}
