// Word between two servers on one PostgreSQL (issue #20): an agent connected to server A is listed
// with its readers on server B, B's watchers hear its card go in and out, a job's progress said on
// A is heard on B (LISTEN/NOTIFY), and a card in A's agent is issued by a client talking only to B:
// B reads the card through A, queues the job for A, A runs it, B's event stream follows it to the
// end. B knows the card by the serial A's agent read when the card came (card-serial), so its start
// opens no card through A: the run on A is the card's only connection. Without a serial (an older
// holder's row) B checks the card through A as before; a serial that is not the card's is refused by
// A when it opens the card. No timed assertion: the test waits for each state.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { AgentClient } from '../../src/agent/agent-client.js';
import { VirtualPivCard } from '../../src/cards/emulator/virtual-piv-card.js';
import { newCardState } from '../../src/cards/emulator/card-state.js';
import { PivSession } from '../../src/cards/piv/piv-session.js';
import { permissionsOf } from '../../src/domain/permissions.js';
import { MemoryReaderSet } from '../../src/cards/transport/memory.js';
import type { ReaderSet } from '../../src/cards/transport/types.js';
import { dropSchema, postgresAvailable, testSchemaName } from '../support/db.js';
import { startTestServer, type ApiClient, type TestServer } from '../support/server.js';
import { pairAgent, signIn, until } from '../agent/support.js';

const pg = await postgresAvailable();
if (!pg) console.warn('SKIPPED test/cluster/events.test.ts: no PostgreSQL at 127.0.0.1:5432');

describe.skipIf(!pg)(
  'several servers on one PostgreSQL: readers and job progress',
  { timeout: 120_000 },
  () => {
    const schema = testSchemaName('evt');
    let a: TestServer;
    let b: TestServer;
    let onB: ApiClient;
    let agentId: string;
    let client: AgentClient;
    const readers = new MemoryReaderSet();
    /** Every connection the agent opens to a card, by reader (its own serial reads included). */
    const connects: string[] = [];
    const counted: ReaderSet = {
      list: () => readers.list(),
      watch: (l) => readers.watch(l),
      connect: (reader) => (connects.push(reader), readers.connect(reader)),
      close: () => readers.close(),
    };

    beforeAll(async () => {
      // Every server of one database has the same master key (it seals card traffic between them).
      const config = { masterKey: randomBytes(32).toString('base64') };
      a = await startTestServer({ engine: 'postgres', schema, demo: true, config });
      b = await startTestServer({ engine: 'postgres', schema, config });
      a.rt.instance.startHeartbeat(() => undefined);
      b.rt.instance.startHeartbeat(() => undefined);
      const onA = await signIn(a.url, a.admin.username, a.admin.password);
      onB = await signIn(b.url, a.admin.username, a.admin.password);
      const identity = await pairAgent(onA, 'Desk 7');
      agentId = identity.agentId;
      readers.addReader('Reader 0');
      readers.insert('Reader 0', new VirtualPivCard(undefined));
      client = new AgentClient({
        server: a.url,
        token: identity.token,
        readers: counted,
        backoff: { initialMs: 50, maxMs: 200 },
      });
      client.start();
      await client.waitConnected();
    });
    afterAll(async () => {
      await client?.stop();
      await b?.close();
      await a?.close();
      await dropSchema(schema);
    });

    it('B lists the readers of the agent connected to A, and says it is connected', async () => {
      const listed = await until('B lists Reader 0', async () => {
        const r = await onB.json<
          { agentId: string; agentName: string; reader: string; cardPresent: boolean }[]
        >('GET', '/api/agents/readers');
        return r.body.find((x) => x.reader === 'Reader 0' && x.cardPresent);
      });
      expect(listed).toMatchObject({ agentId, agentName: 'Desk 7', cardPresent: true });
      expect(b.rt.agentHub.isConnected(agentId)).toBe(false);
      // …and says it is connected (to A), with its readers.
      const agents = await onB.json<{
        items: { id: string; connected: boolean; readers: { name: string }[] }[];
      }>('GET', '/api/agents');
      expect(agents.body.items.find((x) => x.id === agentId)).toMatchObject({
        connected: true,
        readers: [{ name: 'Reader 0' }],
      });
    });

    it('B’s watchers hear the card taken out of and put back into A’s agent’s reader', async () => {
      const heard: string[] = [];
      const connectEvents = ['reader-added Reader 0', 'card-inserted Reader 0'];
      const ownerId = (await a.rt.services.users.search({ q: 'admin', limit: 1, offset: 0 })).items[0]!.id;
      const stop = b.rt.cardAccess.watch(ownerId, (e) => heard.push(`${e.type} ${e.reader}`));
      try {
        readers.remove('Reader 0');
        await until('card-removed heard on B', () => heard.includes('card-removed Reader 0'));
        // B may list the reader (from the database) before the bus has brought it the events of the
        // agent's connection; those may still arrive after the watcher starts, before the removal.
        const from = heard.indexOf('card-removed Reader 0');
        expect(heard.slice(0, from).filter((e) => !connectEvents.includes(e))).toEqual([]);
        readers.insert('Reader 0', new VirtualPivCard(undefined));
        await until('card-inserted heard on B', () => heard.slice(from).includes('card-inserted Reader 0'));
        expect(heard.slice(from)).toEqual(['card-removed Reader 0', 'card-inserted Reader 0']);
      } finally {
        stop();
      }
    });

    it('a job’s progress said on A is heard on B', async () => {
      const jobId = '22222222-2222-4222-8222-222222222222';
      let heard = 0;
      const stop = b.rt.services.issuance.progress.watch(jobId, () => heard++);
      try {
        a.rt.services.issuance.progress.publish(jobId);
        await until('B hears the job change', () => heard > 0);
      } finally {
        stop();
      }
    });

    it('a client talking only to B issues the card in A’s agent, following the job over SSE on B', async () => {
      readers.addReader('Reader 1');
      readers.insert('Reader 1', new VirtualPivCard(newCardState({ serial: 41000001 })));
      const cards = await until('B lists the card with its serial', async () => {
        const r = await onB.json<{ items: { reader: string; serial: string | null; status: string }[] }>(
          'GET',
          '/api/issuance/cards',
        );
        return r.body.items.some((c) => c.reader === 'Reader 1' && c.serial === '41000001') && r.body.items;
      });
      expect(cards.find((c) => c.reader === 'Reader 1')).toMatchObject({
        serial: '41000001',
        status: 'blank',
      });
      const u = (await a.rt.services.users.search({ q: 'admin', limit: 1, offset: 0 })).items[0]!;
      const admin = { id: u.id, name: u.username, roles: u.roles, permissions: permissionsOf(u.roles) };
      const alice = await a.rt.services.users.create(admin, {
        username: 'alice.b',
        displayName: 'Alice B',
        roles: ['user'],
      });
      const policy = (await b.rt.services.policies.list()).find((p) => p.name.startsWith('PIV ECC'))!;
      // Each word B hears of a job, with the job's status B reads on hearing it: the end's word is
      // said by A's success statement itself, so it arrives only once the job's end is committed.
      const heard: Promise<string>[] = [];
      const stopHearing = b.rt.services.issuance.progress.watchAll((jobId) =>
        heard.push(b.rt.services.issuance.jobs.get(jobId).then((j) => `${jobId} ${j.status}`)),
      );
      onTestFinished(stopHearing);
      const started = await onB.json<{ job: { id: string; status: string } }>('POST', '/api/issuance', {
        userId: alice.id,
        agentId,
        reader: 'Reader 1',
        action: 'issue',
        policyId: policy.id,
        pin: '482913',
        pinConfirmation: '482913',
      });
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      const res = await onB.call('GET', `/api/issuance/jobs/${started.body.job.id}/events`);
      const events = (await res.text())
        .split('\n\n')
        .filter((x) => x.startsWith('event: job'))
        .map((x) => JSON.parse(x.split('\ndata: ')[1]!) as { status: string; progress: number });
      expect(events.at(-1)).toMatchObject({ status: 'succeeded', progress: 100 });
      // B was told of the end (not only by its stream's slow poll), and never before the commit: a
      // word heard while the job still ran reads it running, the end's reads it ended.
      const jobId = started.body.job.id;
      await until('B hears the job’s end', async () =>
        (await Promise.all(heard)).includes(`${jobId} succeeded`),
      );
      // Progress between start and end was heard on B, not only the end.
      expect(events.some((e) => e.status === 'running' && e.progress > 0)).toBe(true);
      const job = await b.rt.services.issuance.jobs.get(started.body.job.id);
      expect(job.ownerInstance).toBe(a.rt.instance.id);
      // The card holds the PIN set through A's agent.
      const s = await PivSession.open(await readers.connect('Reader 1'));
      await s.verifyPin('482913');
    });

    it('the new PIN at the end, set through B, reaches the card in A’s agent (the relay)', async () => {
      const settings = await onB.json<Record<string, unknown>>('GET', '/api/settings');
      const put = await onB.json('PUT', '/api/settings', {
        ...settings.body,
        initialPinDisplayMode: 'not_displayed',
        changePinDuringIssuance: true,
      });
      expect(put.status).toBe(200);
      readers.addReader('Reader 2');
      readers.insert('Reader 2', new VirtualPivCard(newCardState({ serial: 41000002 })));
      await until('B lists the second card', async () => {
        const r = await onB.json<{ items: { reader: string; serial: string | null }[] }>(
          'GET',
          '/api/issuance/cards',
        );
        return r.body.items.some((c) => c.reader === 'Reader 2' && c.serial === '41000002');
      });
      const users = await onB.json<{ items: { id: string; username: string }[] }>(
        'GET',
        '/api/users?q=alice.b',
      );
      const policy = (await b.rt.services.policies.list()).find((p) => p.name.startsWith('PIV ECC'))!;
      const started = await onB.json<{ job: { id: string } }>('POST', '/api/issuance', {
        userId: users.body.items[0]!.id,
        agentId,
        reader: 'Reader 2',
        action: 'issue',
        policyId: policy.id,
      });
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      const done = await until('the job waits for the new PIN', async () => {
        const j = await onB.json<{ status: string; pinChangePending: boolean }>(
          'GET',
          `/api/issuance/jobs/${started.body.job.id}`,
        );
        return j.body.status !== 'running' && j.body;
      });
      expect(done).toMatchObject({ status: 'succeeded', pinChangePending: true });
      const changed = await onB.json('POST', `/api/issuance/jobs/${started.body.job.id}/pin`, {
        pin: '716295',
        confirmation: '716295',
      });
      expect(changed.status, JSON.stringify(changed.body)).toBe(200);
      const s = await PivSession.open(await readers.connect('Reader 2'));
      await s.verifyPin('716295');
    });

    it('a job failed on A is retried through B, and runs on A again', async () => {
      const card = new VirtualPivCard(newCardState({ serial: 41000003 }));
      readers.addReader('Reader 3');
      readers.insert('Reader 3', card);
      await until('B lists the third card', async () => {
        const r = await onB.json<{ items: { reader: string; serial: string | null }[] }>(
          'GET',
          '/api/issuance/cards',
        );
        return r.body.items.some((c) => c.reader === 'Reader 3' && c.serial === '41000003');
      });
      // The card is pulled as soon as A starts the job (A's first progress word, heard in A).
      let pulled = false;
      const stop = a.rt.services.issuance.progress.watchAll(() => {
        if (pulled) return;
        pulled = true;
        readers.remove('Reader 3');
      });
      const users = await onB.json<{ items: { id: string }[] }>('GET', '/api/users?q=alice.b');
      const policy = (await b.rt.services.policies.list()).find((p) => p.name.startsWith('PIV ECC'))!;
      const started = await onB.json<{ job: { id: string } }>('POST', '/api/issuance', {
        userId: users.body.items[0]!.id,
        agentId,
        reader: 'Reader 3',
        action: 'issue',
        policyId: policy.id,
      });
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      const id = started.body.job.id;
      const jobOnB = async () =>
        (
          await onB.json<{ status: string; error: { code: string } | null }>(
            'GET',
            `/api/issuance/jobs/${id}`,
          )
        ).body;
      const failed = await until('the job fails on A', async () => {
        const j = await jobOnB();
        return j.status !== 'running' && j;
      });
      stop();
      expect(failed).toMatchObject({ status: 'failed', error: { code: 'card_removed' } });
      readers.insert('Reader 3', card);
      await until('B sees the card back', async () => {
        const r = await onB.json<{ reader: string; cardPresent: boolean }[]>('GET', '/api/agents/readers');
        return r.body.some((x) => x.reader === 'Reader 3' && x.cardPresent);
      });
      const retried = await onB.json('POST', `/api/issuance/jobs/${id}/retry`, {});
      expect(retried.status, JSON.stringify(retried.body)).toBe(200);
      const done = await until('the retried job ends', async () => {
        const j = await jobOnB();
        return j.status !== 'running' && j;
      });
      expect(done).toMatchObject({ status: 'succeeded' });
      expect((await b.rt.services.issuance.jobs.get(id)).ownerInstance).toBe(a.rt.instance.id);
    });

    describe('B’s start knows the card by the serial A published', () => {
      let userId: string;
      let policyId: string;
      beforeAll(async () => {
        userId = (await onB.json<{ items: { id: string }[] }>('GET', '/api/users?q=alice.b')).body.items[0]!
          .id;
        policyId = (await b.rt.services.policies.list()).find((p) => p.name.startsWith('PIV ECC'))!.id;
      });
      /** Inserts a card and waits for A's presence row to name it with `serial` (as A wrote it). */
      const insert = async (reader: string, serial: number) => {
        readers.addReader(reader);
        readers.insert(reader, new VirtualPivCard(newCardState({ serial })));
        await until(`A publishes ${reader}'s serial`, async () => {
          const r = await a.rt.db.query<{ readers: { name: string; serial?: string }[] }>(
            'SELECT readers FROM agent_presence WHERE agent_id = $1',
            [agentId],
          );
          return r[0]?.readers.some((x) => x.name === reader && x.serial === String(serial));
        });
      };
      /** Rewrites A's published serial of a reader's card (absent: removes it, as an older server's row). */
      const publish = (reader: string, serial?: string) =>
        a.rt.db.query(
          `UPDATE agent_presence SET readers = (
             SELECT jsonb_agg(CASE WHEN r->>'name' = $2
                                   THEN (r - 'serial') || COALESCE(jsonb_build_object('serial', $3::text), '{}')
                                   ELSE r END ORDER BY n)
             FROM jsonb_array_elements(readers) WITH ORDINALITY AS x(r, n))
           WHERE agent_id = $1`,
          [agentId, reader, serial ?? null],
        );
      const issueOnB = async (reader: string) => {
        const started = await onB.json<{ job: { id: string } }>('POST', '/api/issuance', {
          userId,
          agentId,
          reader,
          action: 'issue',
          policyId,
          // The settings of the test before: Tessera chooses the PIN.
        });
        expect(started.status, JSON.stringify(started.body)).toBe(202);
        return until(`${reader}'s job ends`, async () => {
          const j = (
            await onB.json<{ status: string; error: { code: string; message: string } | null }>(
              'GET',
              `/api/issuance/jobs/${started.body.job.id}`,
            )
          ).body;
          return j.status !== 'running' && j;
        });
      };

      it('no card exchange through A for B’s start: A’s run is the card’s one connection', async () => {
        await insert('Reader 5', 41000005);
        connects.length = 0;
        expect(await issueOnB('Reader 5')).toMatchObject({ status: 'succeeded' });
        expect(connects.filter((r) => r === 'Reader 5')).toHaveLength(1);
      });

      it('a row without the serial (an older holder): B checks the card through A, and it is issued', async () => {
        await insert('Reader 6', 41000006);
        await publish('Reader 6');
        connects.length = 0;
        expect(await issueOnB('Reader 6')).toMatchObject({ status: 'succeeded' });
        // B's check through A, then A's run.
        expect(connects.filter((r) => r === 'Reader 6')).toHaveLength(2);
      });

      it('a published serial that is not the card’s: A refuses to run the card in the reader', async () => {
        await insert('Reader 7', 41000007);
        await publish('Reader 7', '41000099');
        const failed = await issueOnB('Reader 7');
        expect(failed).toMatchObject({ status: 'failed' });
        expect(failed.error!.message).toContain('The reader holds card 41000007, not 41000099');
        // The card was not touched: its PIN is still the emulator's default.
        const s = await PivSession.open(await readers.connect('Reader 7'));
        await s.verifyPin('123456');
      });
    });
  },
);
