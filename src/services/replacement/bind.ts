// Binding a blank device to the person for their replacement (reference 003, self-enrollment:
// "an Issuance officer binds the device to the user"; then the person self-enrolls it in the user
// portal). The request and the device change together; two officers binding at once: the first
// wins, the second is told which device was bound and by whom.
import { deviceTransition } from '../../domain/device.js';
import { ConflictError, ValidationError } from '../../domain/errors.js';
import { requestTransition } from '../../domain/request.js';
import type { Queryable } from '../../store/db.js';
import { getPolicy } from '../../store/policies-repo.js';
import { updateRequest } from '../../store/requests-repo.js';
import type { Actor } from '../context.js';
import {
  auditRequest,
  label,
  lockDevice,
  lockRequest,
  moveDevice,
  refuse,
  type ReplacementDeps,
  type RequestRecord,
} from './common.js';

/** Binds inside the caller's transaction (the request is locked by the caller). */
export async function bindWithin(
  tx: Queryable,
  actor: Actor,
  request: RequestRecord,
  deviceId: string,
  at: Date,
): Promise<RequestRecord> {
  if (!requestTransition(request.state, 'bind').ok) return refuse(tx, request, 'bind');
  if (request.workflow === 'remote_issuance')
    throw new ConflictError(
      `${label(request)} is issued remotely to the person’s phone: there is no device to bind`,
    );
  if (actor.id !== null && actor.id === request.userId)
    throw new ConflictError('You cannot bind a replacement device to yourself: another operator must do it');
  const device = await lockDevice(tx, deviceId);
  if (device.id === request.targetDeviceId)
    throw new ValidationError('The replacement device must be another device than the one replaced');
  if (!deviceTransition(device.state, 'bind').ok)
    throw new ConflictError(
      `Device ${device.serial} is ${device.state.replace(/_/g, ' ')}: only a blank device from the inventory can be bound`,
      { deviceId, state: device.state },
    );
  const policy = request.policyId ? await getPolicy(tx, request.policyId) : null;
  if (!policy) throw new ValidationError(`${label(request)} has no device policy: submit it again with one`);
  if (!policy.deviceTypes.includes(device.type))
    throw new ValidationError(
      `The policy "${policy.name}" is not for ${device.type.replace('_', ' ')} devices: choose another device`,
      { deviceId, type: device.type },
    );
  await moveDevice(
    tx,
    actor,
    device,
    'bind',
    at,
    { requestId: request.id, requestNumber: request.number, userId: request.userId },
    { userId: request.userId, policyId: policy.id },
  );
  const bound = await updateRequest(
    tx,
    request.id,
    { state: 'bound', actor: { column: 'bound_by', userId: actor.id }, replacementDeviceId: device.id },
    at,
  );
  await auditRequest(tx, actor, bound, 'bound', at, { deviceId: device.id, serial: device.serial });
  return bound;
}

export class BindReplacement {
  constructor(private readonly deps: ReplacementDeps) {}

  async bind(
    actor: Actor,
    requestId: string,
    deviceId: string,
    expectedVersion?: number,
  ): Promise<RequestRecord> {
    const at = this.deps.clock.now();
    return this.deps.db.transaction(async (tx) => {
      const request = await lockRequest(tx, requestId, 'bind', expectedVersion);
      if (request.state === 'bound' && request.replacementDeviceId) {
        const other = await lockDevice(tx, request.replacementDeviceId);
        throw new ConflictError(
          `${label(request)} already has its replacement device ${other.serial}: cancel the request to choose another`,
          { requestId, deviceId: other.id },
        );
      }
      return bindWithin(tx, actor, request, deviceId, at);
    });
  }
}
