// Recovering an archived key-management key: as PKCS#8 (to load onto a new device) or as a
// PKCS#12 with the certificate and its CA chain, protected by a one-time password that is
// returned once and never stored or logged. Every recovery is audited in the same transaction
// that counts it: who recovered it, in which format, for which device and why.
import { createPrivateKey, randomBytes } from 'node:crypto';
import { NotFoundError, ValidationError } from '../../domain/errors.js';
import { exportPkcs12 } from '../../pki/pkcs12.js';
import { appendAudit } from '../../store/audit-repo.js';
import { getCertificate, takeArchivedKey } from '../../store/certificate-repo.js';
import type { Db } from '../../store/db.js';
import { auditActor, type Actor, type Clock } from '../context.js';
import type { KeyArchive } from './key-archive.js';

export type RecoveredKey =
  { format: 'pkcs8'; pkcs8: Buffer } | { format: 'pkcs12'; pkcs12: Buffer; password: string };

/** The CA's certificate and those above it, DER, most specific first. */
export interface CaChains {
  chainDer(caId: string): Promise<Buffer[]>;
}

export class KeyRecovery {
  constructor(
    private readonly deps: { db: Db; clock: Clock; archive: Pick<KeyArchive, 'open'>; chains: CaChains },
  ) {}

  async recover(
    actor: Actor,
    certificateId: string,
    opts: { format: 'pkcs8' | 'pkcs12'; targetDeviceId?: string | null; reason?: string },
  ): Promise<RecoveredKey> {
    const now = this.deps.clock.now();
    const { cert, sealed } = await this.deps.db.transaction(async (tx) => {
      const cert = await getCertificate(tx, certificateId);
      if (!cert) throw new NotFoundError('certificate', certificateId);
      const taken = await takeArchivedKey(tx, certificateId, now);
      if (!taken) throw new ValidationError('No archived key exists for this certificate');
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'certificate.key_recovered',
        targetType: 'certificate',
        targetId: certificateId,
        details: {
          serial: cert.serial,
          recoveredBy: actor.name,
          format: opts.format,
          targetDeviceId: opts.targetDeviceId ?? null,
          reason: opts.reason ?? null,
          recoveryNumber: taken.recoveredCount,
        },
        correlationId: actor.correlationId ?? null,
        at: now,
      });
      return { cert, sealed: taken.encryptedKey };
    });
    const pkcs8 = this.deps.archive.open(certificateId, sealed);
    if (opts.format === 'pkcs8') return { format: 'pkcs8', pkcs8 };
    const password = oneTimePassword();
    const pkcs12 = exportPkcs12({
      privateKey: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }),
      certificates: [cert.der, ...(await this.deps.chains.chainDer(cert.caId))],
      password,
      friendlyName: cert.subject,
    });
    return { format: 'pkcs12', pkcs12, password };
  }
}

/** A one-time PKCS#12 password: 20 characters from an alphabet without look-alikes (~100 bits). */
function oneTimePassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  let out = '';
  while (out.length < 20)
    for (const b of randomBytes(32)) {
      // Rejection sampling keeps every character equally likely.
      if (b < 256 - (256 % alphabet.length) && out.length < 20) out += alphabet[b % alphabet.length];
    }
  return out;
}
