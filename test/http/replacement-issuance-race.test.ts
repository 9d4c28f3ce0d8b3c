// Two operators at once on PostgreSQL (real concurrent transactions): an issuance officer starts
// the replacement's issuance while the help desk cancels the request. Every round has exactly one
// winner: the issuance runs and completes the request, or the request is cancelled and the
// issuance is refused — never a cancelled request with a card being personalized for it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCardAccess, TEST_AGENT_ID } from '../support/memory-card-access.js';
import { postgresAvailable } from '../support/db.js';
import { startTestServer, type TestServer } from '../support/server.js';

interface Reply {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}
type Client = (method: string, path: string, body?: unknown) => Promise<Reply>;

const pg = await postgresAvailable();
const ROUNDS = 50;

describe.skipIf(!pg)('issuing a replacement while it is cancelled, on PostgreSQL', () => {
  let srv: TestServer;
  const cards = new MemoryCardAccess();
  const c: Record<string, Client> = {};
  const ids: Record<string, string> = {};
  let policyId: string;
  let serial = 61_000_000;

  const session = async (username: string): Promise<Client> => {
    const user = (await srv.rt.services.users.search({ q: username, limit: 1, offset: 0 })).items[0]!;
    ids[username] = user.id;
    const s = await srv.rt.services.auth.startSession(
      await srv.rt.services.users.get(user.id),
      'operator',
      'test',
    );
    const headers = { cookie: `tessera_session=${s.token}`, 'x-csrf-token': s.csrfToken };
    return async (method, path, body) => {
      const res = await fetch(`${srv.url}${path}`, {
        method,
        headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    };
  };
  const start = (requestId?: string) => {
    const reader = `Reader ${++serial}`;
    cards.addCard(reader, serial);
    return c.ivan!('POST', '/api/issuance', {
      userId: ids.alice,
      agentId: TEST_AGENT_ID,
      reader,
      action: 'issue',
      ...(requestId ? { requestId } : { policyId }),
      pin: '482913',
      pinConfirmation: '482913',
    });
  };
  const settled = async (jobId: string) => {
    await srv.rt.services.issuance.runner.settled(jobId);
    return (await srv.rt.services.issuance.jobs.get(jobId)).status;
  };

  beforeAll(async () => {
    srv = await startTestServer({ demo: true, cardAccess: cards, engine: 'postgres' });
    policyId = (await srv.rt.services.policies.list()).find((p) => p.name.startsWith('PIV ECC'))!.id;
    c.hannah = await session('hannah.help');
    c.ivan = await session('ivan.issuer');
    await session('alice');
  }, 180_000);
  afterAll(async () => srv?.close());

  it(`start issuance vs cancel: one winner in each of ${ROUNDS} rounds`, async () => {
    const wins = { issued: 0, cancelled: 0 };
    for (let i = 0; i < ROUNDS; i++) {
      const first = await start();
      expect(await settled(first.body.job.id)).toBe('succeeded');
      const card = first.body.device.id as string;
      const made = await c.hannah!('POST', `/api/devices/${card}/replacement`, {
        reason: 'damaged',
        workflow: 'local_issuance',
      });
      const [issued, cancelled] = await Promise.all([
        start(made.body.id),
        c.hannah!('POST', `/api/requests/${made.body.id}/cancel`, {}),
      ]);
      const request = (await c.hannah!('GET', `/api/requests/${made.body.id}`)).body;
      if (issued.status === 202) {
        wins.issued++;
        expect(cancelled.status).toBe(409);
        expect(cancelled.body.error.message).toMatch(/replacement device is issuing/);
        expect(await settled(issued.body.job.id)).toBe('succeeded');
        expect((await c.hannah!('GET', `/api/requests/${made.body.id}`)).body.state).toBe('completed');
        expect((await srv.rt.services.devices.get(card)).state).toBe('terminated');
      } else {
        wins.cancelled++;
        expect(cancelled.status).toBe(200);
        expect(issued.status).toBe(409);
        expect(issued.body.error.message).toMatch(/was cancelled by hannah\.help/);
        expect(request.state).toBe('cancelled');
        expect((await srv.rt.services.devices.get(card)).state).toBe('active');
      }
    }
    expect(wins.issued + wins.cancelled).toBe(ROUNDS);
  }, 900_000);
});
