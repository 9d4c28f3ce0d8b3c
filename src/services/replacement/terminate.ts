// Ending a device (reference 003: "If a temporary replacement device is terminated, the original
// device (now invalid) is restored and the temporary device is terminated"). A temporary
// replacement device is ended by the help desk when the forgotten card turns up, or by the expiry
// job when its validity runs out; any other device only by an administrator (device.lifecycle),
// its certificates revoked (cessationOfOperation).
import { ConflictError, must } from '../../domain/errors.js';
import { deviceTransition } from '../../domain/device.js';
import { TEMPORARY_END_REASON } from '../../domain/replacement.js';
import { requestTransition } from '../../domain/request.js';
import type { Queryable } from '../../store/db.js';
import { listDeviceCredentials, uninstallCredential } from '../../store/credentials-repo.js';
import { deleteDeviceSuspension, releaseHolds } from '../../store/holds-repo.js';
import {
  openRequestForReplacementDevice,
  openRequestsForTarget,
  updateRequest,
} from '../../store/requests-repo.js';
import { holds, type Actor } from '../context.js';
import type { ChangedCertificates } from '../pki/revocation.js';
import {
  auditRequest,
  followCard,
  label,
  lockDevice,
  lockRequest,
  moveDevice,
  refuse,
  type Device,
  type ReplacementDeps,
  type RequestRecord,
} from './common.js';
import { releaseOriginal } from './release.js';

export interface TerminationOutcome {
  device: Device;
  /** The temporary replacement request this ended, if it was one. */
  request: RequestRecord | null;
}

/** Ends a temporary replacement inside the caller's transaction (request locked by the caller). */
export async function endTemporary(
  tx: Queryable,
  deps: ReplacementDeps,
  actor: Actor,
  request: RequestRecord,
  at: Date,
  why: 'terminated' | 'expired',
): Promise<{ request: RequestRecord; caIds: ChangedCertificates }> {
  if (!requestTransition(request.state, 'complete').ok) return refuse(tx, request, 'complete');
  const { caIds } = await releaseOriginal(tx, deps, actor, request, at, {
    temporaryDeviceId: request.replacementDeviceId!,
    why: `temporary device ${why}`,
  });
  const done = await updateRequest(
    tx,
    request.id,
    { state: 'completed', actor: { column: 'completed_by', userId: actor.id }, dueAt: null },
    at,
  );
  await auditRequest(tx, actor, done, why === 'expired' ? 'temporary_expired' : 'temporary_terminated', at, {
    deviceId: request.replacementDeviceId,
  });
  return { request: done, caIds };
}

export class TerminateDevice {
  constructor(private readonly deps: ReplacementDeps) {}

  async terminate(actor: Actor, deviceId: string): Promise<TerminationOutcome> {
    const at = this.deps.clock.now();
    const out = await this.deps.db.transaction(async (tx) => {
      // The request's lock comes before the device's (common.ts): find it, lock it, check again.
      const found = await openRequestForReplacementDevice(tx, deviceId);
      if (found && found.type === 'temporary') {
        const request = await lockRequest(tx, found.id, 'terminate');
        if (request.replacementDeviceId === deviceId) {
          const device = await lockDevice(tx, deviceId);
          if (!deviceTransition(device.state, 'terminate').ok)
            throw new ConflictError(
              `The temporary device ${device.serial} is ${device.state.replace(/_/g, ' ')}: ` +
                `cancel ${label(request)} instead`,
              { requestId: request.id, state: device.state },
            );
          const ended = await endTemporary(tx, this.deps, actor, request, at, 'terminated');
          return { device: await lockDevice(tx, deviceId), request: ended.request, caIds: ended.caIds };
        }
      }
      if (!holds(actor, 'device.lifecycle'))
        throw new ConflictError(
          'Only a temporary replacement device can be terminated here; ending any other device is an administrator’s decision',
          { deviceId },
        );
      return { ...(await this.terminateIn(tx, actor, deviceId, at)), request: null };
    });
    await this.deps.revocation.publishAfterCommit(out.caIds);
    return { device: out.device, request: out.request };
  }

  /**
   * An administrator ends any device: its own certificates revoked, shared ones taken off it. In
   * the caller's transaction; the caller publishes the changed certificates.
   */
  async terminateIn(
    tx: Queryable,
    actor: Actor,
    deviceId: string,
    at: Date,
  ): Promise<{ device: Device; caIds: ChangedCertificates }> {
    const open = await openRequestsForTarget(tx, deviceId);
    if (open.length)
      throw new ConflictError(
        `The device is being replaced (${label(open[0]!)}): cancel the request or issue the replacement, which ends it`,
        { requestId: open[0]!.id },
      );
    const device = await lockDevice(tx, deviceId);
    must(deviceTransition(device.state, 'terminate'));
    const credentials = await listDeviceCredentials(tx, deviceId);
    const revoke: string[] = [];
    for (const c of credentials) {
      // A credential also on another device that is still in use (a recovered key on a phone)
      // lives on there: this device gives it back instead of revoking it.
      if (c.deviceIds.some((d) => d !== deviceId)) await uninstallCredential(tx, c.id, deviceId);
      else if (c.status !== 'revoked') revoke.push(c.id);
    }
    await deleteDeviceSuspension(tx, deviceId);
    await releaseHolds(tx, { suspendedDeviceId: deviceId }, at);
    const moved = await moveDevice(
      tx,
      actor,
      device,
      'terminate',
      at,
      { by: 'administrator' },
      {},
      this.deps,
    );
    const caIds = await this.deps.revocation.changeCredentials(
      tx,
      actor,
      revoke.map((credentialId) => ({
        credentialId,
        action: 'revoke' as const,
        reason: TEMPORARY_END_REASON,
      })),
      at,
      { deviceId, why: 'device terminated' },
    );
    const followed = await followCard(tx, this.deps, actor, device, moved, at);
    return { device: moved, caIds: [...caIds, ...followed] };
  }
}
