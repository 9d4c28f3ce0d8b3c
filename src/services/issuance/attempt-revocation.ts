// The certificates a failed (or interrupted, or recycled) attempt left on a device are revoked
// before the device moves on: Retry issues new ones, Cancel and Recycle free the card.
import type { RevocationReason } from '../../domain/credential.js';
import type { Actor } from '../context.js';

/** What this needs from the CA: the device's certificates, and revoking one. */
export interface CertificateRevoking {
  search(q: {
    deviceId?: string;
    limit: number;
    offset: number;
  }): Promise<{ items: { id: string; status: string }[] }>;
  revoke(actor: Actor, certificateId: string, reason: RevocationReason): Promise<unknown>;
}

export class AttemptRevocation {
  constructor(private readonly ca: CertificateRevoking) {}

  /**
   * Revokes every certificate of the device that is not revoked yet (those of a failed attempt).
   * Called outside any transaction of ours: the CA commits each status change in its own (PGlite
   * has one connection, so a nested one would wait forever), and revoking twice is harmless.
   */
  async revoke(
    actor: Actor,
    deviceId: string,
    reason: RevocationReason = 'cessationOfOperation',
  ): Promise<void> {
    const certs = await this.ca.search({ deviceId, limit: 200, offset: 0 });
    for (const c of certs.items) if (c.status !== 'revoked') await this.ca.revoke(actor, c.id, reason);
  }
}
