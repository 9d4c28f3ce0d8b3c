// The names of what a page of audit events refers to — people, devices, certificates, agents,
// policies, requests, CAs, layouts — in ONE statement for the whole page (a UNION ALL of one
// indexed primary-key lookup per kind), never a query per event or per id.
import type { AuditRefId, AuditRefType } from '../domain/audit-refs.js';
import type { Queryable } from './db.js';

export interface AuditRefName {
  type: AuditRefType;
  id: string;
  /** What people call it: a person's display name, a device's serial, a request's #number… */
  name: string;
  /** A second word where one helps: a person's username, a device's type, a certificate's profile. */
  detail: string | null;
}

type Row = {
  type: AuditRefType;
  id: string;
  name: string;
  detail: string | null;
};

const SQL = `
SELECT 'user' AS type, id::text AS id, display_name AS name, username AS detail
  FROM users WHERE id = ANY($1::uuid[])
UNION ALL
SELECT 'device', id::text, serial, type FROM devices WHERE id = ANY($2::uuid[])
UNION ALL
SELECT 'certificate', id::text, subject, profile FROM certificates WHERE id = ANY($3::uuid[])
UNION ALL
SELECT 'agent', id::text, name, NULL FROM agents WHERE id = ANY($4::uuid[])
UNION ALL
SELECT 'policy', id::text, name, NULL FROM device_policies WHERE id = ANY($5::uuid[])
UNION ALL
SELECT 'request', id::text, '#' || number::text, reason FROM requests WHERE id = ANY($6::uuid[])
UNION ALL
SELECT 'ca', id::text, name, NULL FROM cas WHERE id = ANY($7::uuid[])
UNION ALL
SELECT 'layout', id::text, name, NULL FROM card_layouts WHERE id = ANY($8::uuid[])`;

const ORDER: readonly AuditRefType[] = [
  'user',
  'device',
  'certificate',
  'agent',
  'policy',
  'request',
  'ca',
  'layout',
];

/** Looks up the names of these ids (of any kinds) at once; ids of things gone are simply absent. */
export async function auditRefNames(db: Queryable, ids: readonly AuditRefId[]): Promise<AuditRefName[]> {
  if (ids.length === 0) return [];
  const byType = new Map<AuditRefType, Set<string>>(ORDER.map((t) => [t, new Set<string>()]));
  for (const r of ids) byType.get(r.type)!.add(r.id.toLowerCase());
  const rows = await db.query<Row>(
    SQL,
    ORDER.map((t) => [...byType.get(t)!]),
  );
  return rows.map((r) => ({ type: r.type, id: r.id, name: r.name, detail: r.detail }));
}
