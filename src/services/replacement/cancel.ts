// Cancelling a replacement request (reference 003: "the original device (now invalid) is restored
// and the replacement device is unbound if assigned"). A replacement device whose personalization
// failed waits for recycling; one already personalized is refused (terminate it instead).
import { requestTransition } from '../../domain/request.js';
import { updateRequest } from '../../store/requests-repo.js';
import type { Actor } from '../context.js';
import { auditRequest, lockRequest, refuse, type ReplacementDeps, type RequestRecord } from './common.js';
import { releaseOriginal } from './release.js';

export class CancelReplacement {
  constructor(private readonly deps: ReplacementDeps) {}

  async cancel(
    actor: Actor,
    requestId: string,
    o: { version?: number; note?: string } = {},
  ): Promise<RequestRecord> {
    const at = this.deps.clock.now();
    const { cancelled, caIds } = await this.deps.db.transaction(async (tx) => {
      const request = await lockRequest(tx, requestId, 'cancel', o.version);
      if (!requestTransition(request.state, 'cancel').ok) return refuse(tx, request, 'cancel');
      const { plan, caIds } = await releaseOriginal(tx, this.deps, actor, request, at, { why: 'cancelled' });
      const cancelled = await updateRequest(
        tx,
        request.id,
        {
          state: 'cancelled',
          actor: { column: 'cancelled_by', userId: actor.id },
          decisionNote: o.note ?? '',
        },
        at,
      );
      await auditRequest(tx, actor, cancelled, 'cancelled', at, {
        reinstated: plan.reinstateCredentialIds.length,
        unboundDeviceIds: plan.unbindDeviceIds,
        note: o.note ?? '',
      });
      return { cancelled, caIds };
    });
    await this.deps.revocation.publishAfterCommit(caIds);
    return cancelled;
  }
}
