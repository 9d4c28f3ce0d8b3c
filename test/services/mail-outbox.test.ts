// The mail outbox on PGlite and PostgreSQL, with a mailer that records what it is handed: several
// workers (two servers on one PostgreSQL, each with its own connection pool) sending the same
// queue send every message exactly once; a 5xx refusal fails a message at once, an unreachable
// server is retried with a doubling wait until attempts run out; a claim whose server stopped
// mid-send is failed as "outcome unknown", never sent again on its own; queuing happens in the
// caller's transaction (rolled back: nothing queued). Real SMTP: test/http/initial-password-mail.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailError, type Mailer, type MailMessage } from '../../src/mail/mailer.js';
import { MasterKey } from '../../src/secrets/master-key.js';
import { MailOutbox } from '../../src/services/notify/mail-outbox.js';
import { openDb } from '../../src/store/db.js';
import { PG_URL, engines } from '../support/db.js';
import { portalFixture, type PortalFixture } from './portal-support.js';

const key = MasterKey.generate();

function recording(fail: (m: MailMessage) => Error | null = () => null) {
  const sent: MailMessage[] = [];
  const mailer: Mailer = {
    describe: 'recording',
    send: async (m) => {
      // Yield, so that concurrent workers interleave their claims with the sends.
      await new Promise((r) => setImmediate(r));
      const err = fail(m);
      if (err) throw err;
      sent.push(m);
    },
  };
  return { sent, mailer };
}

const message = (i: number): MailMessage => ({
  to: `p${i}@example.org`,
  subject: `Message ${i}`,
  text: `Body ${i} with secret S3cr3t-${i}`,
  html: `<p>Body ${i}</p>`,
  secrets: [`S3cr3t-${i}`],
});

for (const engine of await engines()) {
  describe(`mail outbox on ${engine}`, () => {
    let f: PortalFixture;
    beforeAll(async () => {
      f = await portalFixture(engine);
    });
    afterAll(async () => f?.t.drop());

    const clear = () => f.t.db.query('DELETE FROM mail_outbox');

    it('queues in the caller transaction: a rollback leaves nothing; a bad address is refused', async () => {
      await clear();
      const { sent, mailer } = recording();
      const outbox = new MailOutbox(f.ctx, { masterKey: key, mailer });
      await expect(
        f.t.db.transaction(async (tx) => {
          await outbox.enqueue(tx, { kind: 'mobile_id_result', userId: null, message: message(1) });
          throw new Error('the change failed');
        }),
      ).rejects.toThrow('the change failed');
      expect((await outbox.list({})).total).toBe(0);
      await expect(
        f.t.db.transaction((tx) =>
          outbox.enqueue(tx, {
            kind: 'mobile_id_result',
            userId: null,
            message: { ...message(2), to: 'a@example.org, b@evil.test' },
          }),
        ),
      ).rejects.toMatchObject({ code: 'validation_failed' });
      await outbox.sendDue();
      expect(sent).toHaveLength(0);
    });

    it('several workers on one queue: every message sent exactly once', async () => {
      await clear();
      const N = 30;
      await f.t.db.transaction(async (tx) => {
        const q = new MailOutbox(f.ctx, { masterKey: key, mailer: null });
        for (let i = 0; i < N; i++)
          await q.enqueue(tx, { kind: 'mobile_id_result', userId: null, message: message(i) });
      });
      // On PostgreSQL each worker has its own pool, as separate servers would.
      const [{ schema } = { schema: '' }] = await f.t.db.query<{ schema: string }>(
        'SELECT current_schema() AS schema',
      );
      const extra =
        engine === 'postgres'
          ? await Promise.all([0, 1].map(() => openDb({ databaseUrl: PG_URL, schema, poolSize: 2 })))
          : [];
      try {
        const dbs = engine === 'postgres' ? [f.t.db, ...extra] : [f.t.db, f.t.db, f.t.db];
        const workers = dbs.map((db) => {
          const r = recording();
          return {
            ...r,
            outbox: new MailOutbox({ db, clock: f.clock }, { masterKey: key, mailer: r.mailer }),
          };
        });
        const reports = await Promise.all(workers.map((w) => w.outbox.sendDue()));
        const all = workers.flatMap((w) => w.sent.map((m) => m.subject)).sort();
        expect(all).toEqual(Array.from({ length: N }, (_, i) => `Message ${i}`).sort());
        expect(reports.reduce((a, r) => a + r.sent, 0)).toBe(N);
        const list = await workers[0]!.outbox.list({ limit: 100 });
        expect(list.counts).toEqual({ queued: 0, sending: 0, sent: N, failed: 0 });
        // Sent content is dropped.
        const kept = await f.t.db.query('SELECT id FROM mail_outbox WHERE payload IS NOT NULL');
        expect(kept).toHaveLength(0);
      } finally {
        await Promise.all(extra.map((d) => d.close()));
      }
    });

    it('refused (5xx): failed at once with the answer, secrets scrubbed; unreachable: retried, doubling, then given up', async () => {
      await clear();
      const { mailer } = recording((m) =>
        m.to === 'p1@example.org'
          ? new MailError(
              'the mail server answered 550 5.1.1 <p1@example.org>: no such user',
              undefined,
              true,
            )
          : new MailError('the mail server could not be reached: connect ECONNREFUSED 127.0.0.1:1'),
      );
      const outbox = new MailOutbox(f.ctx, {
        masterKey: key,
        mailer,
        options: { retrySeconds: 10, maxAttempts: 3 },
      });
      const [a, b] = await f.t.db.transaction(async (tx) => [
        await outbox.enqueue(tx, { kind: 'mobile_id_link', userId: null, message: message(1) }),
        await outbox.enqueue(tx, { kind: 'mobile_id_link', userId: null, message: message(2) }),
      ]);
      expect(await outbox.sendDue()).toEqual({ sent: 0, retried: 1, failed: 1 });
      expect(await outbox.get(a!.id)).toMatchObject({
        status: 'failed',
        attempts: 1,
        lastError: expect.stringMatching(/550 5\.1\.1/),
      });
      const waiting = await outbox.get(b!.id);
      expect(waiting.status).toBe('queued');
      expect(new Date(waiting.nextAttemptAt).getTime() - f.clock.now().getTime()).toBe(10_000);
      f.clock.advance(10_000);
      expect(await outbox.sendDue()).toEqual({ sent: 0, retried: 1, failed: 0 });
      expect(new Date((await outbox.get(b!.id)).nextAttemptAt).getTime() - f.clock.now().getTime()).toBe(
        20_000,
      );
      f.clock.advance(20_000);
      expect(await outbox.sendDue()).toEqual({ sent: 0, retried: 0, failed: 1 });
      expect(await outbox.get(b!.id)).toMatchObject({ status: 'failed', attempts: 3 });
      expect(outbox.backoffMs(20)).toBe(3_600_000);
    });

    it('a claim whose server stopped mid-send: failed as outcome unknown, not sent again unless asked', async () => {
      await clear();
      const stopped = new MailOutbox(f.ctx, {
        masterKey: key,
        mailer: { describe: 'hangs', send: () => new Promise<void>(() => undefined) },
        options: { claimSeconds: 60 },
      });
      const m = await f.t.db.transaction((tx) =>
        stopped.enqueue(tx, { kind: 'initial_password', userId: null, message: message(7) }),
      );
      void stopped.sendDue(); // claims, then never hears back (the process "died")
      for (;;) {
        if ((await stopped.get(m.id)).status === 'sending') break;
        await new Promise((r) => setTimeout(r, 10));
      }
      const { sent, mailer } = recording();
      const other = new MailOutbox(f.ctx, { masterKey: key, mailer });
      expect(await other.sendDue()).toEqual({ sent: 0, retried: 0, failed: 0 });
      f.clock.advance(61_000);
      expect(await other.sendDue()).toEqual({ sent: 0, retried: 0, failed: 1 });
      expect(await other.get(m.id)).toMatchObject({
        status: 'failed',
        lastError: expect.stringMatching(/^outcome unknown/),
      });
      expect(sent).toHaveLength(0);
      await other.resend({ id: null, name: 'admin', roles: ['admin'] }, m.id);
      expect(await other.sendDue()).toEqual({ sent: 1, retried: 0, failed: 0 });
      expect(sent.map((x) => x.subject)).toEqual(['Message 7']);
    });
  });
}
