// Two recycles of one card at once (two tabs, two operators): the first claims the device in the
// database before it opens the card and wipes it; the second is refused with a 409 that says the
// device is being recycled, instead of racing on the card (it used to get a 502 card_apdu_error).
// On both engines: PostgreSQL re-checks the claim's condition after the winner commits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../support/db.js';
import { MemoryCardAccess, TEST_AGENT_ID } from '../support/memory-card-access.js';
import { ApiClient, startTestServer, type TestServer } from '../support/server.js';

type Reply = { state?: string; error?: { code: string; message: string } };

for (const engine of await engines()) {
  describe(`two recycles of one card at once on ${engine}`, () => {
    let srv: TestServer;
    // A delay per APDU, as a real reader has, so that the two requests overlap on the card.
    const cards = new MemoryCardAccess(2);
    let admin: ApiClient;
    beforeAll(async () => {
      srv = await startTestServer({ engine, cardAccess: cards });
      admin = new ApiClient(srv.url);
      await admin.login(srv.admin.username, srv.admin.password);
    });
    afterAll(async () => srv?.close());

    it('one 200, one 409 naming the claim; the card is wiped once and the device is free again', async () => {
      for (let round = 0; round < 3; round++) {
        const reader = `Reader ${round}`;
        const serial = 40_000_000 + round;
        cards.addCard(reader, serial);
        const reg = await admin.json<{ id: string }>('POST', '/api/devices', {
          serial: String(serial),
          type: 'piv_card',
        });
        expect(reg.status).toBe(201);
        const id = reg.body.id;
        // As a cancelled issuance leaves it (issuance.test.ts drives that path through the card).
        await srv.rt.db.query(`UPDATE devices SET state = 'awaiting_recycle' WHERE id = $1`, [id]);

        const body = { agentId: TEST_AGENT_ID, reader };
        const replies = await Promise.all([
          admin.json<Reply>('POST', `/api/devices/${id}/recycle`, body),
          admin.json<Reply>('POST', `/api/devices/${id}/recycle`, body),
        ]);
        const statuses = replies.map((r) => r.status).sort();
        expect(statuses).toEqual([200, 409]);
        const won = replies.find((r) => r.status === 200)!;
        const lost = replies.find((r) => r.status === 409)!;
        expect(won.body.state).toBe('inventory');
        expect(lost.body.error?.code).toBe('conflict');
        expect(lost.body.error?.message).toMatch(/being recycled by another request/);

        const [audit] = await srv.rt.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM audit_events WHERE action = 'device.recycled' AND target_id = $1`,
          [id],
        );
        expect(audit!.n).toBe(1);
        // The claim is released: the device is in the inventory and nothing holds it.
        const [row] = await srv.rt.db.query<{ state: string; recycle_claimed_at: Date | null }>(
          'SELECT state, recycle_claimed_at FROM devices WHERE id = $1',
          [id],
        );
        expect(row).toEqual({ state: 'inventory', recycle_claimed_at: null });
      }
    });

    it('a recycle that fails on the card releases its claim, so the next one may proceed', async () => {
      const serial = 40_000_100;
      cards.addCard('Reader X', serial);
      const reg = await admin.json<{ id: string }>('POST', '/api/devices', {
        serial: String(serial),
        type: 'piv_card',
      });
      const id = reg.body.id;
      await srv.rt.db.query(`UPDATE devices SET state = 'awaiting_recycle' WHERE id = $1`, [id]);
      const card = cards.readers.cardIn('Reader X')!;
      cards.readers.remove('Reader X');
      const failed = await admin.json('POST', `/api/devices/${id}/recycle`, {
        agentId: TEST_AGENT_ID,
        reader: 'Reader X',
      });
      expect(failed.status).not.toBe(200);
      expect(failed.status).not.toBe(409);
      cards.readers.insert('Reader X', card);
      const again = await admin.json<{ state: string }>('POST', `/api/devices/${id}/recycle`, {
        agentId: TEST_AGENT_ID,
        reader: 'Reader X',
      });
      expect(again.status).toBe(200);
      expect(again.body.state).toBe('inventory');
    });
  });
}
