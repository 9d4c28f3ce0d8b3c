// Recycle (reference 001): a card left by a failed issuance (or a terminated one) is wiped back to
// its transport state, its certificates revoked, its secrets and credentials deleted, and it
// returns to the inventory, free for anyone.
import { deviceTransition } from '../../domain/device.js';
import { ConflictError, NotFoundError, must } from '../../domain/errors.js';
import { resetToTransport } from '../../cards/piv/reset.js';
import { appendAudit } from '../../store/audit-repo.js';
import { deleteDeviceCredentials } from '../../store/credentials-repo.js';
import type { Db } from '../../store/db.js';
import { deleteAllDeviceSecrets } from '../../store/device-secrets-repo.js';
import {
  claimDeviceForRecycle,
  getDevice,
  releaseRecycleClaim,
  type Device,
} from '../../store/devices-repo.js';
import { finishJob, latestJobForDevice } from '../../store/jobs-repo.js';
import { auditActor, type Actor, type Clock } from '../context.js';
import type { AttemptRevocation } from './attempt-revocation.js';
import { closeQuietly, type CardReader, type CardRef } from './card-reader.js';
import { moveDevice } from './device-move.js';
import type { RequestLink } from './request-link.js';

/**
 * How long a recycle claim holds: far longer than a wipe takes over a slow reader (seconds), short
 * enough that a claim left by a server that died mid-recycle does not block the card for long.
 */
const CLAIM_LEASE_MS = 10 * 60_000;

export class Recycle {
  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      cards: CardReader;
      attempts: Pick<AttemptRevocation, 'revoke'>;
      /** A request whose (failed) device this was lets it go. */
      requests?: Pick<RequestLink, 'abandoned'>;
    },
  ) {}

  /** Wipes a card left by a failed issuance (or a terminated one) and returns it to the inventory. */
  async recycle(actor: Actor, deviceId: string, card: CardRef): Promise<Device> {
    const { db, clock } = this.deps;
    const device = await getDevice(db, deviceId);
    if (!device) throw new NotFoundError('device', deviceId);
    must(deviceTransition(device.state, 'recycle'));
    // Claimed in the database before the card is opened: a second recycle of the same device (another
    // tab, another operator, another server) is refused here instead of racing on the card.
    const claimedAt = clock.now();
    const staleBefore = new Date(claimedAt.getTime() - CLAIM_LEASE_MS);
    if (!(await claimDeviceForRecycle(db, deviceId, claimedAt, staleBefore))) {
      throw new ConflictError(
        `Device ${device.serial} is being recycled by another request: wait for it to finish`,
        { deviceId },
      );
    }
    try {
      return await this.wipeAndReturn(actor, device, card);
    } catch (e) {
      await releaseRecycleClaim(db, deviceId).catch(() => undefined);
      throw e;
    }
  }

  private async wipeAndReturn(actor: Actor, device: Device, card: CardRef): Promise<Device> {
    const { db, clock } = this.deps;
    const deviceId = device.id;
    const { conn, session } = await this.deps.cards.openDevice(actor.id!, card, device);
    try {
      await resetToTransport(session);
    } finally {
      await closeQuietly(conn);
    }
    await this.deps.attempts.revoke(actor, deviceId);
    return db.transaction(async (tx) => {
      const at = clock.now();
      // The card's last job first, then its request, then the device: the lock order of Cancel,
      // Retry and the recovery sweep (a Cancel or Retry of that job at once deadlocked with a
      // recycle that locked the device first and the job last).
      const job = await latestJobForDevice(tx, deviceId, true);
      await this.deps.requests?.abandoned(tx, actor, deviceId, at);
      const d = (await getDevice(tx, deviceId, true))!;
      const recycled = await moveDevice(
        tx,
        d,
        'recycle',
        { userId: null, policyId: null, issuedAt: null, expiresAt: null },
        at,
      );
      await releaseRecycleClaim(tx, d.id);
      await deleteAllDeviceSecrets(tx, d.id);
      await deleteDeviceCredentials(tx, d.id);
      if (job?.status === 'failed') await finishJob(tx, job.id, 'cancelled', job.error, at);
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'device.recycled',
        targetType: 'device',
        targetId: d.id,
        details: { serial: d.serial, from: d.state },
        correlationId: actor.correlationId ?? null,
        at,
      });
      return recycled;
    });
  }
}
