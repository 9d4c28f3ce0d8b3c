// Letting go of a replaced device (cancel, reject, temporary device ended): the request's holds end,
// the credentials no other cause holds are reinstated at the CA, and the original goes back to
// active — or to suspended when the help desk suspended it before the request, or stays invalid
// while another open request (permanent over temporary) still names it.
import { must } from '../../domain/errors.js';
import {
  planCancellation,
  planTemporaryTermination,
  type ReplacementPlan,
} from '../../domain/replacement.js';
import type { Queryable } from '../../store/db.js';
import { getDeviceSuspension, heldBy, releaseHolds } from '../../store/holds-repo.js';
import { openRequestsForTarget } from '../../store/requests-repo.js';
import type { Actor } from '../context.js';
import type { ChangedCertificates } from '../pki/revocation.js';
import { lockDevice, type ReplacementDeps, type RequestRecord } from './common.js';
import { applyPlan, credentialFacts } from './effects.js';

export interface ReleaseOutcome {
  plan: ReplacementPlan;
  caIds: ChangedCertificates;
}

/**
 * Releases the request's hold on its original; `temporary` also ends the temporary device (ref.
 * 003: "the original device (now invalid) is restored and the temporary device is terminated").
 */
export async function releaseOriginal(
  tx: Queryable,
  deps: ReplacementDeps,
  actor: Actor,
  request: RequestRecord,
  at: Date,
  o: { temporaryDeviceId?: string; why: string },
): Promise<ReleaseOutcome> {
  const cause = { requestId: request.id };
  const original = await lockDevice(tx, request.targetDeviceId!);
  const replacement = request.replacementDeviceId ? await lockDevice(tx, request.replacementDeviceId) : null;
  const others = (await openRequestsForTarget(tx, original.id, true)).filter((r) => r.id !== request.id);
  const suspended = await heldBy(tx, cause);
  const deviceIds = [original.id, ...(o.temporaryDeviceId ? [o.temporaryDeviceId] : [])];
  const facts = await credentialFacts(tx, deviceIds, cause);
  const release = {
    stillHeldByAnotherRequest: others.length > 0,
    deviceSuspended: (await getDeviceSuspension(tx, original.id)) !== null,
  };
  const plan = must(
    o.temporaryDeviceId
      ? planTemporaryTermination({
          ...facts,
          ...release,
          originalDevice: original,
          temporaryDevice: await lockDevice(tx, o.temporaryDeviceId),
          suspendedCredentialIds: suspended,
          temporaryCredentialIds: facts.credentialIdsByDevice[o.temporaryDeviceId] ?? [],
        })
      : planCancellation({
          ...facts,
          ...release,
          originalDevice: original,
          suspendedCredentialIds: suspended,
          replacementDevice: replacement,
        }),
  );
  await releaseHolds(tx, cause, at);
  const caIds = await applyPlan(tx, deps, actor, plan, {
    cause,
    at,
    details: { requestId: request.id, requestNumber: request.number, why: o.why },
  });
  return { plan, caIds };
}
