// What an audit event refers to, by kind: its actor (a person), its target, and the ids its details
// carry (userId, ownerUserId, fromAgentId, issuingCaId…). The operator portal shows these as names
// with links instead of raw ids (issue 19 item 11); this module only says which id is of which kind,
// so the store can look every name of a page up in one statement.

export const AUDIT_REF_TYPES = [
  'user',
  'device',
  'certificate',
  'agent',
  'policy',
  'request',
  'ca',
  'layout',
] as const;
export type AuditRefType = (typeof AUDIT_REF_TYPES)[number];

/** One id an event refers to, of a kind that has a name. */
export interface AuditRefId {
  type: AuditRefType;
  id: string;
}

/** The last word of a details key, before Id/Ids: `ownerUserId` → user, `issuingCaId` → ca. */
const KEY_WORDS: Readonly<Record<string, AuditRefType>> = {
  user: 'user',
  person: 'user',
  actor: 'user',
  device: 'device',
  certificate: 'certificate',
  agent: 'agent',
  policy: 'policy',
  request: 'request',
  ca: 'ca',
  layout: 'layout',
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The kind of id a details key holds, or null: `fromAgentId` → agent, `jobId` → null. */
export function refTypeOfKey(key: string): AuditRefType | null {
  const m = /^(?:.*?)([A-Z]?[a-z]+)Ids?$/.exec(key);
  if (!m) return null;
  return KEY_WORDS[m[1]!.toLowerCase()] ?? null;
}

/** Nested details are walked this deep (the hand-over's cards[].fromAgentId is at depth 2). */
const MAX_DEPTH = 3;

/**
 * Every id an event refers to, with its kind, each once: the actor, the target when its type has a
 * name, and ids in the details under keys that say their kind. Values that are not UUIDs are left
 * alone (they are not ids of ours).
 */
export function auditRefIds(e: {
  actorId: string | null;
  targetType: string;
  targetId: string | null;
  details: Record<string, unknown>;
}): AuditRefId[] {
  const out = new Map<string, AuditRefId>();
  const add = (type: AuditRefType, id: unknown) => {
    if (typeof id === 'string' && UUID.test(id)) out.set(`${type}:${id.toLowerCase()}`, { type, id });
  };
  if (e.actorId) add('user', e.actorId);
  if ((AUDIT_REF_TYPES as readonly string[]).includes(e.targetType))
    add(e.targetType as AuditRefType, e.targetId);
  const walk = (value: unknown, depth: number) => {
    if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) return value.forEach((v) => walk(v, depth + 1));
    for (const [k, v] of Object.entries(value)) {
      const type = refTypeOfKey(k);
      if (type) (Array.isArray(v) ? v : [v]).forEach((x) => add(type, x));
      else walk(v, depth + 1);
    }
  };
  walk(e.details, 0);
  return [...out.values()];
}
