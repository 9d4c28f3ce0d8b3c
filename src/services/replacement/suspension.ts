// Suspend device / Resume (issue #19 item 7): the help desk puts every credential of an active
// device on hold at once — OCSP answers certificateHold — and releases them again. The hold is
// recorded with its cause (this device's suspension), so resuming lifts exactly what suspending
// placed, and never a hold of a replacement request or one made by hand at the CA.
import { ConflictError, must } from '../../domain/errors.js';
import { deviceTransition } from '../../domain/device.js';
import { planHold, planRelease } from '../../domain/suspension.js';
import {
  deleteDeviceSuspension,
  getDeviceSuspension,
  heldBy,
  insertDeviceSuspension,
  placeHolds,
  releaseHolds,
} from '../../store/holds-repo.js';
import type { Queryable } from '../../store/db.js';
import type { Actor } from '../context.js';
import type { ChangedCertificates } from '../pki/revocation.js';
import { followCard, lockDevice, moveDevice, type Device, type ReplacementDeps } from './common.js';
import { credentialFacts } from './effects.js';

export class DeviceSuspension {
  constructor(private readonly deps: ReplacementDeps) {}

  async suspend(actor: Actor, deviceId: string, note = ''): Promise<Device> {
    const at = this.deps.clock.now();
    const { device, caIds } = await this.deps.db.transaction((tx) =>
      this.suspendIn(tx, actor, deviceId, note, at),
    );
    await this.deps.revocation.publishAfterCommit(caIds);
    return device;
  }

  /** suspend, inside the caller's transaction; the caller publishes the changed certificates. */
  async suspendIn(
    tx: Queryable,
    actor: Actor,
    deviceId: string,
    note: string,
    at: Date,
  ): Promise<{ device: Device; caIds: ChangedCertificates }> {
    const device = await lockDevice(tx, deviceId);
    must(deviceTransition(device.state, 'suspend'));
    const cause = { suspendedDeviceId: device.id };
    const facts = await credentialFacts(tx, [device.id], cause);
    const plan = planHold({
      statusById: facts.credentialStatusById,
      heldElsewhere: facts.heldElsewhereCredentialIds,
    });
    await insertDeviceSuspension(tx, { deviceId: device.id, suspendedBy: actor.id, note, at });
    const moved = await moveDevice(tx, actor, device, 'suspend', at, {
      suspended: plan.suspend.length,
      joinedHolds: plan.join.length,
      note,
    });
    await placeHolds(tx, [...plan.suspend, ...plan.join], cause, at);
    const caIds = await this.deps.revocation.changeCredentials(
      tx,
      actor,
      plan.suspend.map((credentialId) => ({ credentialId, action: 'suspend' as const })),
      at,
      { deviceSuspension: device.id },
    );
    const followed = await followCard(tx, this.deps, actor, device, moved, at);
    return { device: moved, caIds: [...caIds, ...followed] };
  }

  /** Ends the suspension; a device under replacement meanwhile stays invalid, its request's holds kept. */
  async resume(actor: Actor, deviceId: string): Promise<Device> {
    const at = this.deps.clock.now();
    const { device, caIds } = await this.deps.db.transaction((tx) => this.resumeIn(tx, actor, deviceId, at));
    await this.deps.revocation.publishAfterCommit(caIds);
    return device;
  }

  /** resume, inside the caller's transaction; the caller publishes the changed certificates. */
  async resumeIn(
    tx: Queryable,
    actor: Actor,
    deviceId: string,
    at: Date,
  ): Promise<{ device: Device; caIds: ChangedCertificates }> {
    const device = await lockDevice(tx, deviceId);
    if (!(await getDeviceSuspension(tx, device.id)))
      throw new ConflictError(
        `Device ${device.serial} is ${device.state.replace(/_/g, ' ')}, not suspended`,
        {
          deviceId,
          state: device.state,
        },
      );
    const cause = { suspendedDeviceId: device.id };
    const held = await heldBy(tx, cause);
    const facts = await credentialFacts(tx, [device.id], cause);
    const reinstate = planRelease(held, {
      statusById: facts.credentialStatusById,
      heldElsewhere: facts.heldElsewhereCredentialIds,
    });
    await releaseHolds(tx, cause, at);
    await deleteDeviceSuspension(tx, device.id);
    const moved =
      device.state === 'suspended'
        ? await moveDevice(tx, actor, device, 'resume', at, { reinstated: reinstate.length })
        : device;
    const caIds = await this.deps.revocation.changeCredentials(
      tx,
      actor,
      reinstate.map((credentialId) => ({ credentialId, action: 'reinstate' as const })),
      at,
      { deviceSuspension: device.id },
    );
    const followed = await followCard(tx, this.deps, actor, device, moved, at);
    return { device: moved, caIds: [...caIds, ...followed] };
  }
}
