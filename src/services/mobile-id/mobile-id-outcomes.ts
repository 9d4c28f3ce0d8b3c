// How a mobile ID's issuance ends, in the job's own transactions (the issuance runner's
// MobileIdJobOutcome): active with its phone, or failed; the notification the policy asks for
// queued in the same transaction; the archived encryption key restored onto the phone when the
// policy says so; and, after a failure, no certificate of a failed or cancelled order left valid.
import { ConflictError, must } from '../../domain/errors.js';
import { mobileIdTransition, notifies } from '../../domain/mobile-id.js';
import type { RevocationReason } from '../../domain/credential.js';
import { isEmailAddress } from '../../mail/address.js';
import { appendAudit } from '../../store/audit-repo.js';
import { archivedCertificateOfCredential } from '../../store/certificate-repo.js';
import { listUserCredentials } from '../../store/credentials-repo.js';
import type { Queryable } from '../../store/db.js';
import { getDevice, type Device } from '../../store/devices-repo.js';
import {
  getMobileId,
  getMobileIdPolicy,
  lockMobileIdOfJob,
  updateMobileId,
  type MobileIdRecord,
} from '../../store/mobile-id-repo.js';
import type { Policy } from '../../store/policies-repo.js';
import { getUser } from '../../store/users-repo.js';
import type { Actor, ServiceContext } from '../context.js';
import type { IssuanceJob, JobError, JobOptions } from '../issuance/job-view.js';
import type { MobileIdJobOutcome } from '../issuance/issuance-runner.js';
import type { RestoredKey } from '../issuance/request-link.js';
import type { MailOutbox } from '../notify/mail-outbox.js';
import type { KeyRecovery } from '../pki/key-recovery.js';
import { mobileIdResultMessage } from './mobile-id-mail.js';

/** The CA as the mobile ID needs it: the device's certificates, revoking one. */
export interface MobileIdCertificates {
  search(q: { deviceId?: string; limit: number; offset: number }): Promise<{
    items: {
      id: string;
      serial: string;
      profile: string;
      slot: string | null;
      status: string;
      notAfter: string;
    }[];
  }>;
  revoke(actor: Actor, certificateId: string, reason: RevocationReason): Promise<unknown>;
}

/** Revokes every certificate of the device not revoked yet, with the reason. */
export async function revokeDeviceCertificates(
  certificates: MobileIdCertificates,
  actor: Actor,
  deviceId: string,
  reason: RevocationReason,
): Promise<void> {
  const certs = await certificates.search({ deviceId, limit: 200, offset: 0 });
  for (const c of certs.items) if (c.status !== 'revoked') await certificates.revoke(actor, c.id, reason);
}

/** What the person is told when their mobile ID is made or could not be. */
export type MobileIdOutcome =
  { ok: true; validUntil: Date; certificates: number } | { ok: false; reason: string };

export class MobileIdOutcomes implements MobileIdJobOutcome {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly deps: {
      outbox: MailOutbox;
      certificates: MobileIdCertificates;
      /** The audited recovery of an archived key (certificate.recover-key, decision 0025). */
      keyRecovery?: Pick<KeyRecovery, 'recover'>;
      /** Where the person reaches the portal (config.externalUrl). */
      externalUrl: string;
    },
  ) {}

  async succeeded(tx: Queryable, _actor: Actor, job: IssuanceJob, device: Device, at: Date): Promise<void> {
    const m = await lockMobileIdOfJob(tx, job.id);
    if (!m) return;
    if (m.state !== 'issuing')
      // Cancelled meanwhile: the job must not make the device active; it fails instead.
      throw new ConflictError('This mobile ID was cancelled while it was being created', { mobileId: m.id });
    if (m.derivedFrom) {
      // Its card ended or was put on hold while the phone was set up: nothing derived from it starts.
      const card = await getDevice(tx, m.derivedFrom);
      if (card?.state !== 'active')
        throw new ConflictError(
          `Card ${card?.serial ?? m.derivedFrom} is ${card?.state ?? 'gone'}: a mobile ID is derived from an active card only`,
          { mobileId: m.id, derivedFrom: m.derivedFrom },
        );
    }
    const validUntil = device.expiresAt ? new Date(device.expiresAt) : null;
    await updateMobileId(
      tx,
      m.id,
      { state: must(mobileIdTransition(m.state, 'succeed')), deviceId: device.id, validUntil },
      at,
    );
    const profiles = (job.options as JobOptions).profiles?.length ?? 0;
    await this.tell(tx, m, { ok: true, validUntil: validUntil ?? at, certificates: profiles });
    await appendAudit(tx, {
      actor: { id: m.userId, name: 'mobile ID' },
      action: 'mobile_id.activated',
      targetType: 'mobile_id',
      targetId: m.id,
      details: { deviceId: device.id, jobId: job.id, validUntil: validUntil?.toISOString() ?? null },
      at,
    });
    setTimeout(() => this.deps.outbox.wake(), 50).unref();
  }

  async failed(tx: Queryable, _actor: Actor, job: IssuanceJob, error: JobError, at: Date): Promise<void> {
    const m = await lockMobileIdOfJob(tx, job.id);
    if (!m || m.state !== 'issuing') return;
    await updateMobileId(
      tx,
      m.id,
      { state: must(mobileIdTransition(m.state, 'fail')), error: error.message },
      at,
    );
    await this.tell(tx, m, { ok: false, reason: error.message });
    await appendAudit(tx, {
      actor: { id: m.userId, name: 'mobile ID' },
      action: 'mobile_id.failed',
      targetType: 'mobile_id',
      targetId: m.id,
      details: { jobId: job.id, error: { code: error.code, message: error.message } },
      at,
    });
    setTimeout(() => this.deps.outbox.wake(), 50).unref();
  }

  /**
   * "Recover encryption certificates" (reference 004 options): the person's newest key-management
   * credential whose key is archived goes onto the phone through the audited recovery
   * (`certificate.key_recovered`, naming the phone): its key and certificate in 9D when the mobile ID
   * issues a key-management profile, else in a retired slot to decrypt. The credential is then
   * installed on the phone as well (one credential, several devices).
   */
  async keysToRestore(
    actor: Actor,
    job: IssuanceJob,
    deviceId: string,
    policy: Policy,
  ): Promise<RestoredKey[]> {
    const db = this.ctx.db;
    const mobileId = (job.options as JobOptions).mobileId;
    const keyRecovery = this.deps.keyRecovery;
    if (!mobileId || !keyRecovery) return [];
    const m = await getMobileId(db, mobileId);
    const p = m ? await getMobileIdPolicy(db, m.policyId) : null;
    if (!m || !p?.recoverKey) return [];
    const candidates = (await listUserCredentials(db, job.userId))
      .filter((c) => c.slot === '9d' && c.status !== 'revoked' && !c.deviceIds.includes(deviceId))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
    for (const c of candidates) {
      const cert = await archivedCertificateOfCredential(db, c.id);
      if (!cert) continue;
      const recovered = await keyRecovery.recover(actor, cert.id, {
        format: 'pkcs8',
        targetDeviceId: deviceId,
        reason: `mobile ID ${m.id}`,
      });
      if (recovered.format !== 'pkcs8') return [];
      const into = policy.credentialProfiles.some((x) => x.slot === '9d') ? 'slot' : 'retired';
      return [{ credentialId: c.id, certificateId: cert.id, der: cert.der, pkcs8: recovered.pkcs8, into }];
    }
    return [];
  }

  /** After a failed job: no certificate of a failed or cancelled mobile ID stays valid. */
  async afterFailure(actor: Actor, job: IssuanceJob): Promise<void> {
    const m = await getMobileId(this.ctx.db, (job.options as JobOptions).mobileId!);
    if (m && (m.state === 'failed' || m.state === 'cancelled'))
      await revokeDeviceCertificates(this.deps.certificates, actor, job.deviceId, 'cessationOfOperation');
  }

  /** The notification the policy asks for, queued in the caller's transaction. */
  async tell(tx: Queryable, m: MobileIdRecord, outcome: MobileIdOutcome): Promise<void> {
    const policy = await getMobileIdPolicy(tx, m.policyId);
    if (!policy || !notifies(policy.notify, outcome.ok ? 'success' : 'failure')) return;
    if (!this.deps.outbox.configured) return;
    const user = await getUser(tx, m.userId);
    if (!user?.email || !isEmailAddress(user.email)) return;
    await this.deps.outbox.enqueue(tx, {
      kind: 'mobile_id_result',
      userId: user.id,
      message: mobileIdResultMessage(
        { displayName: user.displayName, email: user.email },
        outcome,
        `${this.deps.externalUrl.replace(/\/$/, '')}/portal`,
      ),
    });
  }
}
