// What `tessera start` promises a newcomer: a blank demo card in a virtual reader is issued through
// the operator API at once, every APDU travelling server → WebSocket → demo agent → card. And the
// failure the reference describes: the card pulled mid-issuance fails the job cleanly (no hang),
// and Retry on the same card succeeds once it is back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoReaderName, type DemoAgents } from '../../src/services/demo-agent.js';
import { startTestServer, type ApiClient, type TestServer } from '../support/server.js';
import { signIn, until } from './support.js';

let server: TestServer;
let demo: DemoAgents;
let admin: ApiClient;

type Job = {
  id: string;
  status: string;
  progress: number;
  step: string;
  error: { code: string; message: string } | null;
};
type Card = { agentId: string; reader: string; serial: string | null; status: string };

beforeAll(async () => {
  server = await startTestServer({ demo: true });
  demo = await server.rt.startDemoAgents(server.url);
  admin = await signIn(server.url, server.admin.username, server.admin.password);
});
afterAll(async () => {
  await demo?.stop();
  await server?.close();
});

async function idOf(username: string): Promise<string> {
  const r = await admin.json<{ items: { id: string; username: string }[] }>(
    'GET',
    `/api/users?q=${username}`,
  );
  return r.body.items.find((u) => u.username === username)!.id;
}

async function eccPolicy(): Promise<string> {
  const r = await admin.json<{ items: { id: string; name: string }[] }>('GET', '/api/policies');
  return r.body.items.find((p) => p.name === 'PIV ECC P-256 (demo)')!.id;
}

async function finished(jobId: string, timeoutMs = 60_000): Promise<Job> {
  return until(
    `job ${jobId} to finish`,
    async () => {
      const j = (await admin.json<Job>('GET', `/api/issuance/jobs/${jobId}`)).body;
      return j.status === 'running' ? undefined : j;
    },
    timeoutMs,
  );
}

describe('issuing a demo card through the demo agent', () => {
  it('lists the blank demo cards and issues one for alice', async () => {
    const cards = await admin.json<{ items: Card[] }>('GET', '/api/issuance/cards');
    expect(cards.status).toBe(200);
    expect(cards.body.items.map((c) => [c.reader, c.serial, c.status])).toEqual([
      [demoReaderName(0), '10000001', 'blank'],
      [demoReaderName(1), '10000002', 'blank'],
      [demoReaderName(2), '10000003', 'blank'],
    ]);
    const card = cards.body.items[0]!;
    const started = await admin.json<{ device: { serial: string }; job: Job }>('POST', '/api/issuance', {
      userId: await idOf('alice'),
      agentId: card.agentId,
      reader: card.reader,
      action: 'issue',
      policyId: await eccPolicy(),
      pin: '482916',
      pinConfirmation: '482916',
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body.device.serial).toBe('10000001');
    const job = await finished(started.body.job.id);
    expect(job.error).toBeNull();
    expect(job.status).toBe('succeeded');
    const after = await admin.json<{ items: Card[] }>('GET', '/api/issuance/cards');
    expect(after.body.items.find((c) => c.serial === '10000001')!.status).toBe('in_use');
  });

  it('fails cleanly when the card is pulled mid-issuance, and retry succeeds once it is back', async () => {
    const agent = demo.of('admin')!;
    const reader = demoReaderName(1);
    const started = await admin.json<{ job: Job }>('POST', '/api/issuance', {
      userId: await idOf('bob'),
      agentId: agent.agentId,
      reader,
      action: 'issue',
      policyId: await eccPolicy(),
      pin: '395172',
      pinConfirmation: '395172',
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    // Pull the card as soon as personalization has started talking to it.
    const card = await until(
      'the job to start on the card',
      async () => {
        const j = (await admin.json<Job>('GET', `/api/issuance/jobs/${started.body.job.id}`)).body;
        if (j.status !== 'running') return j.status;
        return j.progress > 0 ? agent.readers.remove(reader) : undefined;
      },
      30_000,
    );
    const failed = await finished(started.body.job.id, 30_000);
    if (typeof card === 'string') throw new Error(`the job ended (${card}) before the card could be pulled`);
    expect(failed.status).toBe('failed');
    expect(failed.error?.code).toMatch(/card_removed|card_transport/);
    agent.readers.insert(reader, card);
    await until('card back', async () =>
      (await server.rt.cardAccess.listReaders(agent.ownerUserId)).find(
        (r) => r.reader === reader && r.cardPresent,
      ),
    );
    const retry = await admin.json<Job>('POST', `/api/issuance/jobs/${started.body.job.id}/retry`, {});
    expect(retry.status, JSON.stringify(retry.body)).toBeLessThan(300);
    const done = await finished(started.body.job.id);
    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
  });
});
