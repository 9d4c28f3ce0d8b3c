import { listAudit, verifyAudit, type AuditQuery } from '../store/audit-repo.js';
import type { ServiceContext } from './context.js';

export class AuditService {
  constructor(private readonly ctx: ServiceContext) {}

  list(q: AuditQuery) {
    return listAudit(this.ctx.db, q);
  }

  verify() {
    return verifyAudit(this.ctx.db);
  }
}
