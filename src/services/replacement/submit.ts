// Submitting a replacement request (reference 003): by the help desk for a person's device
// (approved at once, unless the operator is the person), or by the person declaring an incident in
// the user portal (waits for a validation officer). Submitting invalidates the device and puts every
// valid credential on it on hold — shared ones included — at the CA, in the same transaction.
import { ConflictError, NotFoundError, ValidationError, must } from '../../domain/errors.js';
import {
  planPermanentOverTemporary,
  planSubmission,
  replacementTypeFor,
  type ReplacementReason,
} from '../../domain/replacement.js';
import { validateWorkflow, type RequestWorkflow } from '../../domain/request.js';
import { getPolicy } from '../../store/policies-repo.js';
import { insertRequest, openRequestsForTarget } from '../../store/requests-repo.js';
import { getUser } from '../../store/users-repo.js';
import { holds, type Actor } from '../context.js';
import { bindWithin } from './bind.js';
import { auditRequest, label, lockDevice, type ReplacementDeps, type RequestRecord } from './common.js';
import { applyPlan, credentialFacts } from './effects.js';

export interface ReplacementInput {
  reason: ReplacementReason;
  workflow: RequestWorkflow;
  /** A blank device to bind to the person for the replacement right away. */
  replacementDeviceId?: string;
  /** The replacement device's policy; the original's by default. */
  policyId?: string;
  note?: string;
}

export class SubmitReplacement {
  constructor(private readonly deps: ReplacementDeps) {}

  /** POST /api/devices/{id}/replacement: a help-desk operator's request. */
  request(actor: Actor, deviceId: string, input: ReplacementInput): Promise<RequestRecord> {
    return this.#submit(actor, deviceId, input, 'operator');
  }

  /** POST /api/portal/devices/{id}/incident: the person reports a problem with their own device. */
  declareIncident(
    actor: Actor,
    deviceId: string,
    input: { reason: ReplacementReason; workflow?: RequestWorkflow; note?: string },
  ): Promise<RequestRecord> {
    return this.#submit(
      actor,
      deviceId,
      {
        reason: input.reason,
        workflow: input.workflow ?? 'self_enrollment',
        ...(input.note ? { note: input.note } : {}),
      },
      'user',
    );
  }

  async #submit(
    actor: Actor,
    deviceId: string,
    input: ReplacementInput,
    by: 'operator' | 'user',
  ): Promise<RequestRecord> {
    const at = this.deps.clock.now();
    const { request, caIds } = await this.deps.db.transaction(async (tx) => {
      const device = await lockDevice(tx, deviceId);
      // A person sees only their own devices in the portal: another's is "not found".
      if (by === 'user' && device.userId !== actor.id) throw new NotFoundError('device', deviceId);
      if (!device.userId)
        throw new ConflictError(
          `Device ${device.serial} is not assigned to anyone: there is nothing to replace`,
          {
            deviceId,
            state: device.state,
          },
        );
      const person = (await getUser(tx, device.userId))!;
      if (person.state !== 'active')
        throw new ConflictError(
          `${person.displayName} is ${person.state}: only an active person's device is replaced`,
        );
      must(validateWorkflow(input.workflow, device.type));
      if (input.replacementDeviceId && input.workflow === 'remote_issuance')
        throw new ValidationError('Remote issuance goes to the person’s phone: give no replacement device', {
          field: 'replacementDeviceId',
        });
      const policyId = input.policyId ?? device.policyId;
      if (input.policyId && !(await getPolicy(tx, input.policyId)))
        throw new NotFoundError('device policy', input.policyId);

      const open = await openRequestsForTarget(tx, device.id, true);
      const facts = await credentialFacts(tx, [device.id], null);
      const onTarget = facts.credentialIdsByDevice[device.id] ?? [];
      let overRequest: RequestRecord | null = null;
      if (open.length > 0) {
        const permanent = open.find((r) => r.type !== 'temporary');
        if (permanent)
          throw new ConflictError(
            `Device ${device.serial} is already being replaced (${label(permanent)}, ${permanent.reason}): ` +
              'cancel that request first, or go on with it',
            { requestId: permanent.id },
          );
        overRequest = open[0]!;
      }
      const plan = must(
        overRequest
          ? planPermanentOverTemporary({
              ...facts,
              originalDevice: device,
              reason: input.reason,
              credentialIdsOnTarget: onTarget,
            })
          : planSubmission({ ...facts, targetDevice: device, credentialIdsOnTarget: onTarget }),
      );
      // Four-eyes: a request for your own device waits for someone else's approval.
      const needsApproval = by === 'user' || device.userId === actor.id;
      let request = await insertRequest(tx, {
        kind: 'replacement',
        reason: input.reason,
        type: replacementTypeFor(input.reason),
        workflow: input.workflow,
        state: needsApproval ? 'submitted' : 'approved',
        userId: device.userId,
        targetDeviceId: device.id,
        policyId,
        submittedBy: actor.id,
        approvedBy: needsApproval ? null : actor.id,
        overRequestId: overRequest?.id ?? null,
        note: input.note ?? '',
        at,
      });
      const caIds = await applyPlan(tx, this.deps, actor, plan, {
        cause: { requestId: request.id },
        at,
        details: { requestId: request.id, requestNumber: request.number, reason: input.reason },
      });
      await auditRequest(tx, actor, request, 'submitted', at, {
        reason: input.reason,
        type: request.type,
        workflow: input.workflow,
        deviceId: device.id,
        serial: device.serial,
        declaredBy: by,
        overRequestId: overRequest?.id ?? null,
        suspendedCredentials: plan.suspendCredentialIds.length,
        joinedHolds: plan.joinHoldCredentialIds.length,
        affectedDeviceIds: plan.affectedDeviceIds,
      });
      if (input.replacementDeviceId) {
        if (request.state !== 'approved')
          throw new ConflictError(
            'This request needs a validation officer’s approval first: bind the replacement device after it is approved',
          );
        if (!holds(actor, 'device.bind'))
          throw new ValidationError('Binding a replacement device needs device.bind', {
            field: 'replacementDeviceId',
          });
        request = await bindWithin(tx, actor, request, input.replacementDeviceId, at);
      }
      return { request, caIds };
    });
    await this.deps.revocation.publishAfterCommit(caIds);
    return request;
  }
}
