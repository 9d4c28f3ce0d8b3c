// Recycle (reference 001): a card left by a failed issuance (or a terminated one) is wiped back to
// its transport state, its certificates revoked, its secrets and credentials deleted, and it
// returns to the inventory, free for anyone.
import { deviceTransition } from '../../domain/device.js';
import { NotFoundError, must } from '../../domain/errors.js';
import { resetToTransport } from '../../cards/piv/reset.js';
import { appendAudit } from '../../store/audit-repo.js';
import { deleteDeviceCredentials } from '../../store/credentials-repo.js';
import type { Db } from '../../store/db.js';
import { deleteAllDeviceSecrets } from '../../store/device-secrets-repo.js';
import { getDevice, type Device } from '../../store/devices-repo.js';
import { finishJob, latestJobForDevice } from '../../store/jobs-repo.js';
import { auditActor, type Actor, type Clock } from '../context.js';
import type { AttemptRevocation } from './attempt-revocation.js';
import { closeQuietly, type CardReader, type CardRef } from './card-reader.js';
import { moveDevice } from './device-move.js';

export class Recycle {
  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      cards: CardReader;
      attempts: Pick<AttemptRevocation, 'revoke'>;
    },
  ) {}

  /** Wipes a card left by a failed issuance (or a terminated one) and returns it to the inventory. */
  async recycle(actor: Actor, deviceId: string, card: CardRef): Promise<Device> {
    const { db, clock } = this.deps;
    const device = await getDevice(db, deviceId);
    if (!device) throw new NotFoundError('device', deviceId);
    must(deviceTransition(device.state, 'recycle'));
    const { conn, session } = await this.deps.cards.openDevice(actor.id!, card, device);
    try {
      await resetToTransport(session);
    } finally {
      await closeQuietly(conn);
    }
    await this.deps.attempts.revoke(actor, deviceId);
    return db.transaction(async (tx) => {
      const at = clock.now();
      const d = (await getDevice(tx, deviceId, true))!;
      const recycled = await moveDevice(
        tx,
        d,
        'recycle',
        { userId: null, policyId: null, issuedAt: null, expiresAt: null },
        at,
      );
      await deleteAllDeviceSecrets(tx, d.id);
      await deleteDeviceCredentials(tx, d.id);
      const job = await latestJobForDevice(tx, d.id);
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
