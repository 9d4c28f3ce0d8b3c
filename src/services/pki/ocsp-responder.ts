// OCSP (RFC 6960) for every CA whose key is here: the status comes from the certificate's row, so
// it reflects a change at once; each CA signs the answers about what it issued. The answer is
// always an OCSP response: malformedRequest for what does not parse, internalError when answering
// fails (the database is down, a key cannot be opened), never an exception for the route to map.
import { INTERNAL_ERROR, respondOcsp, type OcspStatus } from '../../pki/ocsp.js';
import type { CrlReason } from '../../pki/reasons.js';
import type { SigningCa } from '../../pki/signing-ca.js';
import type { CaRecord } from '../../store/ca-repo.js';
import { findBySerial } from '../../store/certificate-repo.js';
import type { Queryable } from '../../store/db.js';
import type { Clock } from '../context.js';

/** The CAs this responder answers for, and the records of all CAs (subordinate CA certificates). */
export interface OcspCas {
  withKeys(): Promise<SigningCa[]>;
  list(): Promise<{ byId: ReadonlyMap<string, CaRecord> }>;
}

export class OcspResponder {
  constructor(
    private readonly deps: { db: Queryable; cas: OcspCas; clock: Clock; validitySeconds: number },
  ) {}

  /** A DER OCSPResponse for a DER OCSPRequest. Never throws. */
  async respond(request: Uint8Array): Promise<Buffer> {
    let cas: SigningCa[];
    try {
      cas = await this.deps.cas.withKeys();
    } catch {
      // Without a signer the core still answers what needs none (malformedRequest, unauthorized).
      cas = [];
    }
    try {
      return await respondOcsp(request, {
        cas,
        now: this.deps.clock.now(),
        validitySeconds: this.deps.validitySeconds,
        lookup: (caId, serial) => this.#status(caId, serial),
      });
    } catch {
      return INTERNAL_ERROR;
    }
  }

  async #status(caId: string, serial: string): Promise<OcspStatus> {
    const row = await findBySerial(this.deps.db, caId, serial);
    if (row) {
      if (row.status === 'valid') return { status: 'good' };
      return {
        status: 'revoked',
        revokedAt: row.revokedAt ?? new Date(0),
        reason: (row.revocationReason ?? 'unspecified') as CrlReason,
      };
    }
    // A subordinate CA certificate this CA issued (our own issuing CA under our root).
    const sub = [...(await this.deps.cas.list()).byId.values()].find(
      (c) => c.parentId === caId && c.serial === serial,
    );
    return sub ? { status: 'good' } : { status: 'unknown' };
  }
}
