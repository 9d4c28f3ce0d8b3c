// Suspend, reinstate, revoke. Each change follows the credential state machine (domain/
// credential.ts), and in one transaction sets the certificate's status, mirrors it onto the
// credential (DESIGN.md: credential status mirrors the CA), marks the CA's CRL stale and appends
// its audit event; right after the commit, word of the change goes to the OCSP responders (they
// drop the answer they kept about the certificate, so the next answer is read anew) and the CRL
// is re-signed.
// Who may do which is the route's declared permission (docs/decisions/0011).
import { credentialTransition, isRevocationReason, type RevocationReason } from '../../domain/credential.js';
import { NotFoundError, ValidationError, must } from '../../domain/errors.js';
import { truncateToSeconds } from '../../pki/leaf.js';
import type { CrlReason } from '../../pki/reasons.js';
import { appendAudit } from '../../store/audit-repo.js';
import { markCrlStale } from '../../store/ca-repo.js';
import { getCertificate, setCredentialStatus, setStatus } from '../../store/certificate-repo.js';
import type { Db } from '../../store/db.js';
import { auditActor, type Actor, type Clock } from '../context.js';
import { certificateSummary, type CertificateSummary } from './certificate-views.js';
import type { StatusChanges } from './status-changes.js';

/** Re-signs a CA's CRL. */
export interface CrlSigning {
  publish(caId: string): Promise<unknown>;
}

type StatusAction = 'suspend' | 'reinstate' | 'revoke';

const AUDIT_ACTION: Record<StatusAction, string> = {
  suspend: 'certificate.suspended',
  reinstate: 'certificate.reinstated',
  revoke: 'certificate.revoked',
};

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
      const revokedAt = action === 'reinstate' ? null : now;
      await setStatus(tx, cert.id, { status: to, revocationReason: reason, revokedAt, at: now });
      if (cert.credentialId) await setCredentialStatus(tx, cert.credentialId, to, now);
      await markCrlStale(tx, cert.caId);
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: AUDIT_ACTION[action],
        targetType: 'certificate',
        targetId: cert.id,
        details: {
          serial: cert.serial,
          caId: cert.caId,
          from: cert.status,
          to,
          reason,
          credentialId: cert.credentialId,
        },
        correlationId: actor.correlationId ?? null,
        at: now,
      });
      return { ...cert, status: to, revocationReason: reason, revokedAt, updatedAt: now };
    });
    await this.deps.statusChanges.announce({ caId: updated.caId, serial: updated.serial });
    await this.deps.crls.publish(updated.caId);
    return certificateSummary(updated);
  }
}
