// A device moved by id in one UPDATE (services/issuance/device-move.ts): the state machine's rules
// hold as for a locked read and an UPDATE — moved only from an allowed state, refused with the
// machine's own error otherwise, the device then left as it was.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { IllegalTransitionError, NotFoundError } from '../../src/domain/errors.js';
import { moveDeviceById } from '../../src/services/issuance/device-move.js';
import { getDevice, insertDevice } from '../../src/store/devices-repo.js';
import { engines, openTestDb, type TestDb } from '../support/db.js';

const at = new Date('2026-11-01T10:00:00.000Z');

for (const engine of await engines()) {
  describe(`moveDeviceById on ${engine}`, () => {
    let t: TestDb;
    beforeAll(async () => {
      t = await openTestDb(engine);
    });
    afterAll(async () => t?.drop());

    it('moves from an allowed state, refuses from another with the machine error, unknown is not found', async () => {
      const d = await insertDevice(t.db, { serial: 'MOVE-1', type: 'piv_card', at });
      await expect(
        t.db.transaction((tx) => moveDeviceById(tx, d.id, 'succeed', { issuedAt: at }, at)),
      ).rejects.toBeInstanceOf(IllegalTransitionError);
      expect((await getDevice(t.db, d.id))!.state).toBe('inventory');
      const issuing = await t.db.transaction((tx) => moveDeviceById(tx, d.id, 'start_issuance', {}, at));
      expect(issuing.state).toBe('issuing');
      const later = new Date(at.getTime() + 60_000);
      const active = await t.db.transaction((tx) =>
        moveDeviceById(tx, d.id, 'succeed', { issuedAt: later, expiresAt: later }, later),
      );
      expect(active).toMatchObject({ state: 'active' });
      expect(await getDevice(t.db, d.id)).toEqual(active);
      await expect(
        t.db.transaction((tx) => moveDeviceById(tx, randomUUID(), 'succeed', {}, at)),
      ).rejects.toBeInstanceOf(NotFoundError);
    });
  });
}
