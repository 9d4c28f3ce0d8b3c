// Suspend, reinstate, revoke. Each change follows the credential state machine (domain/
// credential.ts), and in one transaction sets the certificate's status, mirrors it onto the
// credential (DESIGN.md: credential status mirrors the CA), marks the CA's CRL stale and appends
// its audit event; right after the commit, word of the change goes to the OCSP responders (they
// drop the answer they kept about the certificate, so the next answer is read anew) and the CRL
// is re-signed.
// Who may do which is the route's declared permission (docs/decisions/0011).
import { credentialTransition, isRevocationReason, type RevocationReason } from '../../domain/credential.js';
import { ConflictError, NotFoundError, ValidationError, must } from '../../domain/errors.js';
import { truncateToSeconds } from '../../pki/leaf.js';
import type { CrlReason } from '../../pki/reasons.js';
import { appendAudit } from '../../store/audit-repo.js';
import { markCrlStale } from '../../store/ca-repo.js';
import {
  getCertificate,
  liveCertificatesOfCredentials,
  setCredentialStatus,
  setStatus,
  type CertificateStatus,
} from '../../store/certificate-repo.js';
import { lockCredentials } from '../../store/credentials-repo.js';
import type { Db, Queryable } from '../../store/db.js';
import { activeHolds, type ActiveHold } from '../../store/holds-repo.js';
import { auditActor, type Actor, type Clock } from '../context.js';
import { certificateSummary, type CertificateSummary } from './certificate-views.js';
import type { StatusChanges } from './status-changes.js';

/** Re-signs a CA's CRL. */
export interface CrlSigning {
  publish(caId: string): Promise<unknown>;
}

type StatusAction = 'suspend' | 'reinstate' | 'revoke';

/** The certificates a workflow changed: announced to the OCSP responders and their CRLs re-signed after its commit. */
export type ChangedCertificates = readonly { caId: string; serial: string }[];

/** One credential's status change, made by a workflow (a replacement, a device suspension). */
export interface CredentialChange {
  credentialId: string;
  action: StatusAction;
  /** For revoke: the RFC 5280 reason. */
  reason?: RevocationReason;
}

/** Says which causes hold a certificate, for the refusal of a hand-made reinstatement. */
function holdText(holds: readonly ActiveHold[]): string {
  return holds
    .map((h) =>
      h.requestNumber !== null ? `replacement request #${h.requestNumber}` : 'a device suspension',
    )
    .join(' and ');
}

const AUDIT_ACTION: Record<StatusAction, string> = {
  suspend: 'certificate.suspended',
  reinstate: 'certificate.reinstated',
  revoke: 'certificate.revoked',
};

/** One certificate's status moves, with its audit event: the step every status change takes. */
async function moveCertificate(
  tx: Queryable,
  actor: Actor,
  cert: { id: string; caId: string; serial: string; status: CertificateStatus },
  action: StatusAction,
  to: CertificateStatus,
  reason: CrlReason | null,
  now: Date,
  details: Record<string, unknown>,
): Promise<void> {
  const revokedAt = action === 'reinstate' ? null : now;
  await setStatus(tx, cert.id, { status: to, revocationReason: reason, revokedAt, at: now });
  await appendAudit(tx, {
    actor: auditActor(actor),
    action: AUDIT_ACTION[action],
    targetType: 'certificate',
    targetId: cert.id,
    details: { serial: cert.serial, caId: cert.caId, from: cert.status, to, reason, ...details },
    correlationId: actor.correlationId ?? null,
    at: now,
  });
}

export class Revocation {
  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      crls: CrlSigning;
      statusChanges: Pick<StatusChanges, 'announce'>;
    },
  ) {}

  /** On hold: certificateHold on the CRL and in OCSP, until reinstated. */
  suspend(actor: Actor, certificateId: string): Promise<CertificateSummary> {
    return this.#change(actor, certificateId, 'suspend', 'certificateHold');
  }

  reinstate(actor: Actor, certificateId: string): Promise<CertificateSummary> {
    return this.#change(actor, certificateId, 'reinstate', null);
  }

  /** Final, with an RFC 5280 reason. */
  async revoke(actor: Actor, certificateId: string, reason: RevocationReason): Promise<CertificateSummary> {
    if (!isRevocationReason(reason))
      throw new ValidationError(`Unknown revocation reason "${String(reason)}"`, { reason });
    return this.#change(actor, certificateId, 'revoke', reason);
  }

  /**
   * Moves credentials and their certificates within the caller's transaction, so the CA status,
   * the credential status and the caller's own change (a device's state, its audit event) commit
   * together or not at all. Returns the certificates changed, to hand to publishAfterCommit once
   * the caller has committed (the OCSP responders drop their kept answers, the CRLs are re-signed).
   */
  async changeCredentials(
    tx: Queryable,
    actor: Actor,
    changes: readonly CredentialChange[],
    at: Date,
    context: Record<string, unknown> = {},
  ): Promise<ChangedCertificates> {
    if (changes.length === 0) return [];
    const now = truncateToSeconds(at);
    const byId = new Map(changes.map((c) => [c.credentialId, c]));
    const ids = [...byId.keys()].sort();
    const credentials = await lockCredentials(tx, ids);
    if (credentials.length !== ids.length) {
      const missing = ids.find((id) => !credentials.some((c) => c.id === id))!;
      throw new NotFoundError('credential', missing);
    }
    const certs = await liveCertificatesOfCredentials(tx, ids);
    const caIds = new Set<string>();
    const changed: { caId: string; serial: string }[] = [];
    for (const credential of credentials) {
      const change = byId.get(credential.id)!;
      if (change.action === 'revoke' && !isRevocationReason(change.reason))
        throw new ValidationError(`Unknown revocation reason "${String(change.reason)}"`);
      const to = must(credentialTransition(credential.status, change.action));
      const reason: CrlReason | null =
        change.action === 'suspend' ? 'certificateHold' : change.action === 'revoke' ? change.reason! : null;
      for (const cert of certs.filter((c) => c.credentialId === credential.id)) {
        if (!credentialTransition(cert.status, change.action).ok) continue;
        caIds.add(cert.caId);
        changed.push({ caId: cert.caId, serial: cert.serial });
        await moveCertificate(tx, actor, cert, change.action, to, reason, now, {
          credentialId: credential.id,
          ...context,
        });
      }
      await setCredentialStatus(tx, credential.id, to, now);
    }
    for (const caId of caIds) await markCrlStale(tx, caId);
    return changed;
  }

  /**
   * After the workflow committed: the OCSP responders drop their kept answers for the changed
   * certificates, and the CRLs marked stale are re-signed (a failure leaves them stale for the
   * scheduler).
   */
  async publishAfterCommit(changed: ChangedCertificates): Promise<void> {
    for (const c of changed) await this.deps.statusChanges.announce(c);
    for (const caId of new Set(changed.map((c) => c.caId)))
      await this.deps.crls.publish(caId).catch(() => undefined);
  }

  async #change(
    actor: Actor,
    certificateId: string,
    action: StatusAction,
    reason: CrlReason | null,
  ): Promise<CertificateSummary> {
    const now = truncateToSeconds(this.deps.clock.now());
    const updated = await this.deps.db.transaction(async (tx) => {
      const cert = await getCertificate(tx, certificateId, { forUpdate: true });
      if (!cert) throw new NotFoundError('certificate', certificateId);
      const to = must(credentialTransition(cert.status, action));
      // A hold placed by a replacement request or a device suspension is lifted by ending that
      // cause (cancel, reject, resume), never around it: the request would otherwise show a
      // device under replacement whose certificates are good again.
      if (action === 'reinstate' && cert.credentialId) {
        const holds = await activeHolds(tx, [cert.credentialId]);
        if (holds.length)
          throw new ConflictError(
            `This certificate is on hold for ${holdText(holds)}: cancel or reject the request, or resume the device, to release it`,
            { holds: holds.map((h) => ({ requestId: h.requestId, suspendedDeviceId: h.suspendedDeviceId })) },
          );
      }
      await moveCertificate(tx, actor, cert, action, to, reason, now, { credentialId: cert.credentialId });
      if (cert.credentialId) await setCredentialStatus(tx, cert.credentialId, to, now);
      await markCrlStale(tx, cert.caId);
      return {
        ...cert,
        status: to,
        revocationReason: reason,
        revokedAt: action === 'reinstate' ? null : now,
        updatedAt: now,
      };
    });
    await this.deps.statusChanges.announce({ caId: updated.caId, serial: updated.serial });
    await this.deps.crls.publish(updated.caId);
    return certificateSummary(updated);
  }
}
