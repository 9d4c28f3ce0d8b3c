// A validation officer's decision on a request the person declared (reference 003: "A Validation
// officer approves the device replacement request"). Four-eyes: the one who decides is neither the
// one who submitted it nor the person whose device it is. Rejecting restores the original as
// cancelling does.
import { ConflictError } from '../../domain/errors.js';
import { requestTransition } from '../../domain/request.js';
import { updateRequest } from '../../store/requests-repo.js';
import type { Actor } from '../context.js';
import {
  auditRequest,
  label,
  lockRequest,
  refuse,
  type ReplacementDeps,
  type RequestRecord,
} from './common.js';
import { releaseOriginal } from './release.js';

export interface Decision {
  /** The version the officer saw; a request changed since is refused (409). */
  version?: number;
  note?: string;
}

export class DecideReplacement {
  constructor(private readonly deps: ReplacementDeps) {}

  async approve(actor: Actor, requestId: string, d: Decision = {}): Promise<RequestRecord> {
    const at = this.deps.clock.now();
    return this.deps.db.transaction(async (tx) => {
      const request = await lockRequest(tx, requestId, 'approve', d.version);
      if (!requestTransition(request.state, 'approve').ok) return refuse(tx, request, 'approve');
      fourEyes(actor, request);
      const approved = await updateRequest(
        tx,
        request.id,
        { state: 'approved', actor: { column: 'approved_by', userId: actor.id }, decisionNote: d.note ?? '' },
        at,
      );
      await auditRequest(tx, actor, approved, 'approved', at, { note: d.note ?? '' });
      return approved;
    });
  }

  async reject(actor: Actor, requestId: string, d: Decision = {}): Promise<RequestRecord> {
    const at = this.deps.clock.now();
    const { rejected, caIds } = await this.deps.db.transaction(async (tx) => {
      const request = await lockRequest(tx, requestId, 'reject', d.version);
      if (!requestTransition(request.state, 'reject').ok) return refuse(tx, request, 'reject');
      fourEyes(actor, request);
      const { caIds } = await releaseOriginal(tx, this.deps, actor, request, at, { why: 'rejected' });
      const rejected = await updateRequest(
        tx,
        request.id,
        { state: 'rejected', actor: { column: 'rejected_by', userId: actor.id }, decisionNote: d.note ?? '' },
        at,
      );
      await auditRequest(tx, actor, rejected, 'rejected', at, { note: d.note ?? '' });
      return { rejected, caIds };
    });
    await this.deps.revocation.publishAfterCommit(caIds);
    return rejected;
  }
}

function fourEyes(actor: Actor, r: RequestRecord): void {
  if (actor.id !== null && actor.id === r.userId)
    throw new ConflictError(`${label(r)} is about your own device: another validation officer must decide`, {
      rule: 'four_eyes',
    });
  if (actor.id !== null && actor.id === r.submittedBy)
    throw new ConflictError(`You submitted ${label(r)}: another validation officer must decide`, {
      rule: 'four_eyes',
    });
}
