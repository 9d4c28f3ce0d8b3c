import { auditRefIds, type AuditRefType } from '../domain/audit-refs.js';
import { listAudit, verifyAudit, type AuditEvent, type AuditQuery } from '../store/audit-repo.js';
import { auditRefNames } from '../store/audit-names-repo.js';
import type { ServiceContext } from './context.js';

/** A thing an event refers to, by name: what the operator portal shows instead of a raw id. */
export interface AuditRef {
  type: AuditRefType;
  id: string;
  name: string;
  detail: string | null;
}

/** The common name of a certificate's subject ("CN=Bob Baker,O=…" → "Bob Baker"), else all of it. */
function subjectName(subject: string): string {
  return /(?:^|,\s*)CN=((?:\\,|[^,])+)/.exec(subject)?.[1]?.replace(/\\,/g, ',') ?? subject;
}

export class AuditService {
  constructor(private readonly ctx: ServiceContext) {}

  /**
   * A page of events, each with the names of what it refers to (refs): every name of the page is
   * looked up in one statement, whatever the number of events or ids.
   */
  async list(q: AuditQuery): Promise<{ items: (AuditEvent & { refs: AuditRef[] })[]; total: number }> {
    const page = await listAudit(this.ctx.db, q);
    const perEvent = page.items.map((e) => auditRefIds(e));
    const names = await auditRefNames(this.ctx.db, perEvent.flat());
    const byKey = new Map(names.map((n) => [`${n.type}:${n.id}`, n]));
    const items = page.items.map((e, i) => ({
      ...e,
      refs: perEvent[i]!.flatMap((r): AuditRef[] => {
        const n = byKey.get(`${r.type}:${r.id.toLowerCase()}`);
        if (!n) return [];
        return [{ ...n, id: r.id, name: n.type === 'certificate' ? subjectName(n.name) : n.name }];
      }),
    }));
    return { items, total: page.total };
  }

  verify() {
    return verifyAudit(this.ctx.db);
  }
}
