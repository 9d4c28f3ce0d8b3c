// Issuing the replacement device of a request (reference 003), through the ordinary issuance: an
// issuance officer's local issuance, or the person's self-enrollment in the user portal. This
// checks that the issuance may serve the request, and when the card is done completes the request
// in the issuance's own transaction: a permanent replacement terminates the invalid device(s) and
// revokes their certificates (revocationReasonFor); a temporary device gets its due time, when the
// expiry job ends it. Implements the issuance's RequestLink port.
import { ConflictError, NotFoundError, ValidationError, must } from '../../domain/errors.js';
import { isReplacementReason, keyRecoveryFor, planPermanentIssued } from '../../domain/replacement.js';
import { requestTransition } from '../../domain/request.js';
import type { Queryable } from '../../store/db.js';
import { archivedCertificateOfCredential } from '../../store/certificate-repo.js';
import { listDeviceCredentials } from '../../store/credentials-repo.js';
import { getDevice, type Device } from '../../store/devices-repo.js';
import { deleteDeviceSuspension, releaseHolds } from '../../store/holds-repo.js';
import { openJobForRequest } from '../../store/jobs-repo.js';
import type { Policy } from '../../store/policies-repo.js';
import {
  getRequest,
  openRequestForReplacementDevice,
  openRequestsForTarget,
  updateRequest,
} from '../../store/requests-repo.js';
import type { Actor } from '../context.js';
import type { IssuanceVia, RequestLink, RestoredKey } from '../issuance/request-link.js';
import type { ChangedCertificates } from '../pki/revocation.js';
import {
  auditRequest,
  label,
  lockDevice,
  lockRequest,
  moveDevice,
  refuse,
  whatHappened,
  type ReplacementDeps,
  type RequestRecord,
} from './common.js';
import { applyPlan, credentialFacts } from './effects.js';
import { bindWithin } from './bind.js';

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export class ReplacementIssuance implements RequestLink {
  constructor(private readonly deps: ReplacementDeps) {}

  async peek(db: Queryable, requestId: string): Promise<RequestRecord> {
    const r = await getRequest(db, requestId);
    if (!r || r.kind !== 'replacement') throw new NotFoundError('replacement request', requestId);
    return r;
  }

  findForDevice(db: Queryable, deviceId: string): Promise<RequestRecord | null> {
    return openRequestForReplacementDevice(db, deviceId);
  }

  async lockForStart(
    tx: Queryable,
    actor: Actor,
    requestId: string,
    via: IssuanceVia,
    userId: string,
  ): Promise<RequestRecord> {
    const r = await lockRequest(tx, requestId, 'complete');
    if (r.userId !== userId)
      throw new ValidationError(
        `${capital(label(r))} is for another person: issue it to the person it names`,
        {
          requestId: r.id,
        },
      );
    if (r.state === 'submitted')
      throw new ConflictError(
        `${capital(label(r))} waits for a validation officer’s approval: its replacement cannot be issued yet`,
        { requestId: r.id, state: r.state },
      );
    if (!requestTransition(r.state, 'complete').ok)
      throw new ConflictError(`${capital(await whatHappened(tx, r))}: there is nothing left to issue`, {
        requestId: r.id,
        state: r.state,
      });
    if (via === 'wallet' && r.workflow !== 'remote_issuance')
      throw new ConflictError(
        `${capital(label(r))} is not a remote issuance: it cannot be enrolled on a phone's wallet`,
        { requestId: r.id, workflow: r.workflow },
      );
    if (via !== 'wallet' && r.workflow === 'remote_issuance')
      throw new ConflictError(
        `${capital(label(r))} is issued remotely: the person enrolls the new credentials on their phone, ` +
          'and the request waits for that enrolment',
        { requestId: r.id, workflow: r.workflow },
      );
    if (via === 'operator' && r.workflow !== 'local_issuance')
      throw new ConflictError(
        `${capital(label(r))} is for self-enrollment: bind a device to the person, who personalizes it ` +
          'in the user portal',
        { requestId: r.id, workflow: r.workflow },
      );
    if (via === 'portal' && r.workflow !== 'self_enrollment')
      throw new ConflictError(
        `${capital(label(r))} is issued by an issuance officer (local issuance), not in the user portal`,
        { requestId: r.id, workflow: r.workflow },
      );
    if (via === 'operator' && actor.id !== null && actor.id === r.userId)
      throw new ConflictError(
        `${capital(label(r))} is about your own device: another issuance officer must issue its replacement`,
        { requestId: r.id, rule: 'four_eyes' },
      );
    if (r.type === 'temporary' && r.dueAt)
      throw new ConflictError(
        `${capital(label(r))} already has its temporary device: terminate it when the card is found`,
        { requestId: r.id },
      );
    // A card printed for it and held back at the print step is its replacement until activated
    // (which completes the request) or recycled (which lets the request go of it).
    const held = r.replacementDeviceId ? await getDevice(tx, r.replacementDeviceId) : null;
    if (held?.state === 'pending')
      throw new ConflictError(
        `${capital(label(r))} has its replacement card ${held.serial}, printed and not activated (pending): ` +
          'activate it on the person’s User page to complete the request, or recycle it to issue another card',
        { requestId: r.id, deviceId: held.id, state: held.state },
      );
    const job = await openJobForRequest(tx, r.id);
    if (job)
      throw new ConflictError(
        job.status === 'running'
          ? `${capital(label(r))} is being issued now`
          : `The last issuance for ${label(r)} failed: retry it or cancel it first`,
        { requestId: r.id, jobId: job.id, status: job.status },
      );
    return r;
  }

  async bind(
    tx: Queryable,
    actor: Actor,
    requestId: string,
    device: () => Promise<Device>,
    at: Date,
  ): Promise<Device> {
    const request = await lockRequest(tx, requestId, 'bind');
    const card = await device();
    if (card.state === 'bound' && request.replacementDeviceId === card.id)
      throw new ConflictError(`The card ${card.serial} is already bound for ${label(request)}`);
    await bindWithin(tx, actor, request, card.id, at);
    return lockDevice(tx, card.id);
  }

  async checkDevice(tx: Queryable, request: RequestRecord, device: Device): Promise<void> {
    if (device.id === request.targetDeviceId)
      throw new ValidationError('The replacement must be another device than the one replaced', {
        deviceId: device.id,
      });
    if (request.state === 'bound' && request.replacementDeviceId !== device.id) {
      const bound = request.replacementDeviceId ? await lockDevice(tx, request.replacementDeviceId) : null;
      throw new ConflictError(
        `${capital(label(request))} is bound to the device ${bound?.serial ?? '?'}: issue that card, ` +
          `not ${device.serial}`,
        { requestId: request.id, deviceId: bound?.id ?? null },
      );
    }
    const other = await openRequestForReplacementDevice(tx, device.id);
    if (other && other.id !== request.id)
      throw new ConflictError(`The card ${device.serial} is the replacement device of ${label(other)}`, {
        requestId: other.id,
      });
  }

  validityDays(request: RequestRecord, policy: Policy): number | null {
    return request.type === 'temporary' ? policy.temporaryValidityDays : null;
  }

  async started(
    tx: Queryable,
    actor: Actor,
    request: RequestRecord,
    device: Device,
    jobId: string,
    at: Date,
  ): Promise<void> {
    const r =
      request.replacementDeviceId === device.id
        ? request
        : await updateRequest(tx, request.id, { replacementDeviceId: device.id }, at);
    await auditRequest(tx, actor, r, 'issuance_started', at, {
      jobId,
      deviceId: device.id,
      serial: device.serial,
    });
  }

  async keysToRestore(
    actor: Actor,
    requestId: string,
    deviceId: string,
    policy: Policy,
  ): Promise<RestoredKey[]> {
    const { db, keyRecovery } = this.deps;
    // Only when the replacement's policy archives its key-management key.
    if (!keyRecovery || !policy.credentialProfiles.some((p) => p.slot === '9d' && p.archiveKey)) return [];
    const r = await getRequest(db, requestId);
    if (!r?.targetDeviceId || !isReplacementReason(r.reason)) return [];
    const km = (await listDeviceCredentials(db, r.targetDeviceId)).find(
      (c) => c.slot === '9d' && c.status !== 'revoked',
    );
    const cert = km ? await archivedCertificateOfCredential(db, km.id) : null;
    if (!km || !cert) return [];
    const rule = keyRecoveryFor(r.reason);
    const recovered = await keyRecovery.recover(actor, cert.id, {
      format: 'pkcs8',
      targetDeviceId: deviceId,
      reason: `${label(r)} (${r.reason})`,
    });
    if (recovered.format !== 'pkcs8') return [];
    return [
      {
        credentialId: km.id,
        certificateId: cert.id,
        der: cert.der,
        pkcs8: recovered.pkcs8,
        // Damaged or expired: the same certificate, carried over into 9D. Otherwise the device gets
        // a key-management key of its own, and the old one only to decrypt (a retired slot).
        into: rule.keepCertificateValid ? 'slot' : 'retired',
      },
    ];
  }

  async lockForCompletion(tx: Queryable, requestId: string): Promise<RequestRecord> {
    // Every open request over the same original, in the order cancel and submit lock them.
    const seen = await getRequest(tx, requestId);
    if (seen?.targetDeviceId) await openRequestsForTarget(tx, seen.targetDeviceId, true);
    return lockRequest(tx, requestId, 'complete');
  }

  async complete(
    tx: Queryable,
    actor: Actor,
    request: RequestRecord,
    device: Device,
    at: Date,
  ): Promise<ChangedCertificates> {
    if (!requestTransition(request.state, 'complete').ok) return refuse(tx, request, 'complete');
    if (request.type === 'temporary') {
      // The temporary device lives until its due time; then the expiry job (or the help desk,
      // when the card is found) ends it and gives the original back.
      const dueAt = device.expiresAt ? new Date(device.expiresAt) : at;
      const r = await updateRequest(tx, request.id, { replacementDeviceId: device.id, dueAt }, at);
      await auditRequest(tx, actor, r, 'temporary_issued', at, {
        deviceId: device.id,
        serial: device.serial,
        dueAt: dueAt.toISOString(),
      });
      return [];
    }
    return this.#completePermanent(tx, actor, request, device, at);
  }

  async #completePermanent(
    tx: Queryable,
    actor: Actor,
    request: RequestRecord,
    device: Device,
    at: Date,
  ): Promise<ChangedCertificates> {
    const original = await lockDevice(tx, request.targetDeviceId!);
    // Permanent over temporary: the temporary request ends with this one, and its device with it.
    const over = request.overRequestId ? await getRequest(tx, request.overRequestId) : null;
    const temporaryOpen = over && requestTransition(over.state, 'complete').ok ? over : null;
    const tempDevice = temporaryOpen?.replacementDeviceId
      ? await lockDevice(tx, temporaryOpen.replacementDeviceId)
      : null;
    const ending = tempDevice && tempDevice.state === 'active' ? tempDevice : null;
    // The original ends: a hand-made suspension of it ends too, and every request's hold on it.
    await deleteDeviceSuspension(tx, original.id);
    await releaseHolds(tx, { suspendedDeviceId: original.id }, at);
    if (temporaryOpen) await releaseHolds(tx, { requestId: temporaryOpen.id }, at);
    const cause = { requestId: request.id };
    const deviceIds = [original.id, ...(ending ? [ending.id] : [])];
    const facts = await credentialFacts(tx, deviceIds, cause);
    const plan = must(
      planPermanentIssued({
        ...facts,
        reason: request.reason as Parameters<typeof planPermanentIssued>[0]['reason'],
        invalidDevices: [original],
        temporaryDevices: ending ? [ending] : [],
      }),
    );
    await releaseHolds(tx, cause, at);
    const details = { requestId: request.id, requestNumber: request.number, why: 'replacement issued' };
    const caIds = await applyPlan(tx, this.deps, actor, plan, { cause, at, details });
    if (temporaryOpen) {
      // A temporary device not issued yet is let go as a cancellation would.
      if (tempDevice?.state === 'bound') await moveDevice(tx, actor, tempDevice, 'unbind', at, details);
      if (tempDevice?.state === 'failed') await moveDevice(tx, actor, tempDevice, 'cancel', at, details);
      const done = await updateRequest(
        tx,
        temporaryOpen.id,
        { state: 'completed', actor: { column: 'completed_by', userId: actor.id }, dueAt: null },
        at,
      );
      await auditRequest(tx, actor, done, 'completed', at, {
        by: 'permanent replacement',
        permanentRequestId: request.id,
        permanentRequestNumber: request.number,
        temporaryDeviceId: tempDevice?.id ?? null,
      });
    }
    const done = await updateRequest(
      tx,
      request.id,
      {
        state: 'completed',
        actor: { column: 'completed_by', userId: actor.id },
        replacementDeviceId: device.id,
        dueAt: null,
      },
      at,
    );
    await auditRequest(tx, actor, done, 'completed', at, {
      deviceId: device.id,
      serial: device.serial,
      terminatedDeviceIds: plan.terminateDeviceIds,
      revoked: plan.revokeCredentials.length,
      kept: plan.reinstateCredentialIds.length,
    });
    return caIds;
  }

  async heldPending(tx: Queryable, actor: Actor, requestId: string, device: Device, at: Date): Promise<void> {
    const r = await lockRequest(tx, requestId, 'complete');
    // The request keeps naming the card (set when its issuance started): activating it completes
    // the request; recycling it lets the request go of it (abandoned).
    const named =
      r.replacementDeviceId === device.id
        ? r
        : await updateRequest(tx, r.id, { replacementDeviceId: device.id }, at);
    await auditRequest(tx, actor, named, 'replacement_pending', at, {
      deviceId: device.id,
      serial: device.serial,
      why: 'printed and held back at the print step; waits for its activation',
    });
  }

  async abandoned(tx: Queryable, actor: Actor, deviceId: string, at: Date): Promise<void> {
    const found = await openRequestForReplacementDevice(tx, deviceId);
    if (!found) return;
    const r = await lockRequest(tx, found.id, 'unbind');
    if (r.replacementDeviceId !== deviceId) return;
    const state = r.state === 'bound' ? must(requestTransition(r.state, 'unbind')) : undefined;
    const next = await updateRequest(
      tx,
      r.id,
      { ...(state ? { state } : {}), replacementDeviceId: null },
      at,
    );
    await auditRequest(tx, actor, next, 'device_released', at, {
      deviceId,
      why: 'its issuance failed and was given up',
    });
  }

  publishAfterCommit(changed: ChangedCertificates): Promise<void> {
    return this.deps.revocation.publishAfterCommit(changed);
  }
}
