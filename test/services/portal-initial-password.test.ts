// Initial passwords: issued once, hashed at rest, expiring, burnt after 5 wrong tries, good until
// the person has finished setting up (then consumed), superseded by the next; audited without the password. Validity and attempts come from
// the security settings at issue time. An e-mailed one is queued in the mail outbox in the same
// transaction (a mail server that is down delays the mail, not the issue). On PGlite and
// PostgreSQL. (Real SMTP delivery: test/http/initial-password-mail.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailError, type Mailer, type MailMessage } from '../../src/mail/mailer.js';
import { MasterKey } from '../../src/secrets/master-key.js';
import { InitialPasswordEmail } from '../../src/services/initial-password-mail.js';
import { InitialPasswordService } from '../../src/services/initial-password-service.js';
import { MailOutbox } from '../../src/services/notify/mail-outbox.js';
import { DEFAULT_SECURITY_SETTINGS } from '../../src/services/settings-service.js';
import { engines } from '../support/db.js';
import { admin, auditActions, portalFixture, type PortalFixture } from './portal-support.js';

for (const engine of await engines()) {
  describe(`initial passwords on ${engine}`, () => {
    let f: PortalFixture;
    let svc: InitialPasswordService;
    beforeAll(async () => {
      f = await portalFixture(engine);
      svc = new InitialPasswordService(f.ctx, { settings: f.settings });
    });
    afterAll(async () => f?.t.drop());

    it('a good password stays good until the person finishes setting up, then is used up', async () => {
      const u = await f.user('ian.initial');
      const issued = await svc.issue(admin, u.id);
      expect(issued.delivery).toBe('displayed');
      expect(issued.password).toMatch(/^[A-Za-z2-9]{4}(-[A-Za-z2-9]{4}){3}$/);
      expect(new Date(issued.expiresAt).getTime() - f.clock.now().getTime()).toBe(72 * 3_600_000);
      expect(await svc.hasOutstanding(u.id)).toBe(true);
      const rows = await f.t.db.query<{ password_hash: string }>(
        'SELECT password_hash FROM initial_passwords WHERE user_id = $1',
        [u.id],
      );
      expect(rows[0]!.password_hash).toMatch(/^scrypt\$/);
      expect(rows[0]!.password_hash).not.toContain(issued.password);
      expect(await svc.check(u.id, issued.password!)).toEqual({ ok: true });
      // The browser closed before the answers were set: the same password works again.
      expect(await svc.check(u.id, issued.password!)).toEqual({ ok: true });
      expect(await svc.hasOutstanding(u.id)).toBe(true);
      await f.t.db.transaction((tx) =>
        svc.finish(tx, { id: u.id, name: u.username, roles: ['user'] }, u.id, 'answers_set'),
      );
      expect(await svc.hasOutstanding(u.id)).toBe(false);
      // Now it says what happened to the one who knows it, and nothing to a guesser.
      expect(await svc.check(u.id, issued.password!)).toEqual({
        ok: false,
        reason: 'used',
        rightPassword: true,
      });
      expect(await svc.check(u.id, 'Abcd-Efgh-Jkmn-Pqrs')).toEqual({ ok: false, reason: 'none' });
      const audit = await f.t.db.query<{ d: string }>(
        'SELECT details::text AS d FROM audit_events WHERE target_id = $1',
        [u.id],
      );
      expect(audit.map((r) => r.d).join(' ')).not.toContain(issued.password!);
      expect(await auditActions(f, u.id)).toEqual([
        'initial_password.issued',
        'initial_password.used',
        'initial_password.used',
        'initial_password.consumed',
      ]);
    });

    it('finishing set-up uses up only a password that was used to sign in', async () => {
      const u = await f.user('una.unused');
      const issued = await svc.issue(admin, u.id);
      await f.t.db.transaction((tx) =>
        svc.finish(tx, { id: u.id, name: u.username, roles: ['user'] }, u.id, 'card_issued'),
      );
      expect(await svc.hasOutstanding(u.id)).toBe(true);
      expect(await svc.check(u.id, issued.password!)).toEqual({ ok: true });
    });

    it('five wrong tries burn it; a new one must be issued', async () => {
      const u = await f.user('wanda.wrong');
      const issued = await svc.issue(admin, u.id);
      for (let i = 1; i < 5; i++)
        expect(await svc.check(u.id, `nope-${i}`)).toEqual({ ok: false, reason: 'wrong' });
      expect(await svc.check(u.id, 'nope-5')).toEqual({ ok: false, reason: 'burnt' });
      expect(await svc.check(u.id, issued.password!)).toEqual({ ok: false, reason: 'none' });
      const next = await svc.issue(admin, u.id);
      expect(await svc.check(u.id, next.password!)).toEqual({ ok: true });
    });

    it('expires after its validity', async () => {
      const u = await f.user('ed.expired');
      const issued = await svc.issue(admin, u.id);
      f.clock.advance(72 * 3_600_000);
      expect(await svc.hasOutstanding(u.id)).toBe(false);
      expect(await svc.check(u.id, issued.password!)).toEqual({
        ok: false,
        reason: 'expired',
        rightPassword: true,
      });
      expect(await auditActions(f, u.id)).toContain('initial_password.expired');
      // Asked again: the same answer to the one who knows it; a wrong one learns nothing.
      expect(await svc.check(u.id, issued.password!)).toEqual({
        ok: false,
        reason: 'expired',
        rightPassword: true,
      });
      expect(await svc.check(u.id, 'Abcd-Efgh-Jkmn-Pqrs')).toEqual({ ok: false, reason: 'none' });
    });

    it('issuing again supersedes the previous one', async () => {
      const u = await f.user('sam.super');
      const first = await svc.issue(admin, u.id);
      const second = await svc.issue(admin, u.id);
      expect(await svc.check(u.id, first.password!)).toEqual({ ok: false, reason: 'wrong' });
      expect(await svc.check(u.id, second.password!)).toEqual({ ok: true });
      const statuses = await f.t.db.query<{ status: string }>(
        'SELECT status FROM initial_passwords WHERE user_id = $1 ORDER BY issued_at, status',
        [u.id],
      );
      expect(statuses.map((s) => s.status).sort()).toEqual(['outstanding', 'superseded']);
    });

    /** An outbox over a mailer that records what it is handed (or fails as told). */
    function outboxWith(fail: () => Error | null = () => null) {
      const mailed: MailMessage[] = [];
      const mailer: Mailer = {
        describe: 'recording mailer',
        send: async (m) => {
          const err = fail();
          if (err) throw err;
          mailed.push(m);
        },
      };
      const outbox = new MailOutbox(f.ctx, { masterKey: MasterKey.generate(), mailer });
      const svc2 = new InitialPasswordService(f.ctx, {
        settings: f.settings,
        mailer: new InitialPasswordEmail(outbox, 'http://tessera.test/portal'),
      });
      return { mailed, outbox, svc: svc2 };
    }
    const passwordIn = (m: MailMessage) => /Password:\s+(\S+)/.exec(m.text)![1]!;

    it('e-mailed through the outbox instead of shown; unknown or suspended people are refused', async () => {
      const { mailed, outbox, svc: withMail } = outboxWith();
      const u = await f.user('mia.mail', { email: 'mia@example.org' });
      const issued = await withMail.issue(admin, u.id);
      expect(issued).toEqual({
        delivery: 'email',
        email: 'mia@example.org',
        mailId: expect.any(String),
        expiresAt: expect.any(String),
      });
      // Queued in the issue's transaction, sent by the worker; the stored content is encrypted.
      expect((await outbox.get(issued.mailId!)).status).toBe('queued');
      const [row] = await f.t.db.query<{ payload: Uint8Array }>(
        'SELECT payload FROM mail_outbox WHERE id = $1',
        [issued.mailId],
      );
      expect(Buffer.from(row!.payload).toString('latin1')).not.toContain('Password:');
      expect(await outbox.sendDue()).toEqual({ sent: 1, retried: 0, failed: 0 });
      expect(mailed).toHaveLength(1);
      expect(mailed[0]!.messageId).toBe(issued.mailId);
      expect((await outbox.get(issued.mailId!)).status).toBe('sent');
      expect(await withMail.check(u.id, passwordIn(mailed[0]!))).toEqual({ ok: true });
      // The operator may choose to show it instead (the person is at the desk, or mail is down).
      const shown = await withMail.issue(admin, u.id, 'displayed');
      expect(shown.delivery).toBe('displayed');
      expect(await outbox.sendDue()).toEqual({ sent: 0, retried: 0, failed: 0 });
      expect(await withMail.check(u.id, shown.password!)).toEqual({ ok: true });
      // No e-mail address: shown to the operator, unless e-mail was insisted on.
      const v = await f.user('no.mail');
      expect((await withMail.issue(admin, v.id)).delivery).toBe('displayed');
      await expect(withMail.issue(admin, v.id, 'email')).rejects.toMatchObject({ code: 'validation_failed' });
      await expect(svc.issue(admin, u.id, 'email')).rejects.toThrow(/E-mail is not configured/);
      await expect(svc.issue(admin, '00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({
        code: 'not_found',
      });
      const s = await f.user('sus.pended', { roles: ['user'] });
      await f.t.db.query("UPDATE users SET state = 'suspended' WHERE id = $1", [s.id]);
      await expect(svc.issue(admin, s.id)).rejects.toMatchObject({ code: 'validation_failed' });
    });

    it('a mail server that is down delays the mail, not the password: retried, then sent once', async () => {
      let down = true;
      const {
        mailed,
        outbox,
        svc: withMail,
      } = outboxWith(() =>
        down ? new MailError('the mail server could not be reached: connect ECONNREFUSED') : null,
      );
      const u = await f.user('fay.fail', { email: 'fay@example.org' });
      const issued = await withMail.issue(admin, u.id);
      expect(await outbox.sendDue()).toEqual({ sent: 0, retried: 1, failed: 0 });
      const waiting = await outbox.get(issued.mailId!);
      expect(waiting).toMatchObject({
        status: 'queued',
        attempts: 1,
        lastError: expect.stringMatching(/ECONNREFUSED/),
      });
      // Not due yet: nothing is tried before the back-off has passed.
      down = false;
      expect(await outbox.sendDue()).toEqual({ sent: 0, retried: 0, failed: 0 });
      f.clock.advance(outbox.backoffMs(1));
      expect(await outbox.sendDue()).toEqual({ sent: 1, retried: 0, failed: 0 });
      expect(await outbox.sendDue()).toEqual({ sent: 0, retried: 0, failed: 0 });
      expect(mailed).toHaveLength(1);
      expect(await withMail.check(u.id, passwordIn(mailed[0]!))).toEqual({ ok: true });
    });

    it('two operators issuing at once: both succeed, the later one supersedes the earlier', async () => {
      // Without the lock on the person's row, PostgreSQL's second insert collides with the first
      // on the one-outstanding index (23505).
      const { mailed, outbox, svc: racing } = outboxWith();
      const u = await f.user('cora.current', { email: 'cora@example.org' });
      const results = await Promise.allSettled([racing.issue(admin, u.id), racing.issue(admin, u.id)]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
      const rows = await f.t.db.query<{ id: string; status: string }>(
        'SELECT id, status FROM initial_passwords WHERE user_id = $1',
        [u.id],
      );
      expect(rows.map((r) => r.status).sort()).toEqual(['outstanding', 'superseded']);
      // The one outstanding is the one stored last: its issue audit names the other as superseded.
      const audit = await f.t.db.query<{ details: { initialPasswordId: string; superseded: number } }>(
        "SELECT details FROM audit_events WHERE target_id = $1 AND action = 'initial_password.issued' ORDER BY seq",
        [u.id],
      );
      const details = audit.map((a) =>
        typeof a.details === 'string'
          ? (JSON.parse(a.details) as { initialPasswordId: string; superseded: number })
          : a.details,
      );
      expect(details.map((d) => d.superseded)).toEqual([0, 1]);
      expect(rows.find((r) => r.status === 'outstanding')!.id).toBe(details[1]!.initialPasswordId);
      await outbox.sendDue();
      expect(mailed).toHaveLength(2);
      const outcomes = await Promise.all(mailed.map((m) => racing.check(u.id, passwordIn(m))));
      expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
    });

    it('storing the password fails: no mail is queued, nothing changed', async () => {
      const { mailed, outbox, svc: breaking } = outboxWith();
      const u = await f.user('vic.void', { email: 'vic@example.org' });
      await f.t.db.query(
        'ALTER TABLE initial_passwords ADD CONSTRAINT test_refuse_all CHECK (false) NOT VALID',
      );
      try {
        await expect(breaking.issue(admin, u.id)).rejects.toThrow();
      } finally {
        await f.t.db.query('ALTER TABLE initial_passwords DROP CONSTRAINT test_refuse_all');
      }
      expect(await svc.hasOutstanding(u.id)).toBe(false);
      expect((await outbox.list({ userId: u.id })).total).toBe(0);
      await outbox.sendDue();
      expect(mailed).toHaveLength(0);
    });

    it('takes its validity and attempts from the security settings at issue time', async () => {
      await f.settings.putSecurity(admin, {
        ...DEFAULT_SECURITY_SETTINGS,
        initialPasswordValidityHours: 1,
        initialPasswordMaxAttempts: 2,
      });
      try {
        const u = await f.user('val.idity');
        const issued = await svc.issue(admin, u.id);
        expect(new Date(issued.expiresAt).getTime() - f.clock.now().getTime()).toBe(3_600_000);
        f.clock.advance(3_600_000 - 1);
        expect(await svc.hasOutstanding(u.id)).toBe(true);
        f.clock.advance(1);
        expect(await svc.hasOutstanding(u.id)).toBe(false);
        expect(await svc.check(u.id, issued.password!)).toEqual({
          ok: false,
          reason: 'expired',
          rightPassword: true,
        });

        const a = await f.user('two.tries');
        const two = await svc.issue(admin, a.id);
        expect(await svc.check(a.id, 'nope-1')).toEqual({ ok: false, reason: 'wrong' });
        expect(await svc.check(a.id, 'nope-2')).toEqual({ ok: false, reason: 'burnt' });
        expect(await svc.check(a.id, two.password!)).toEqual({ ok: false, reason: 'none' });

        // A record keeps the limits it was issued with when the settings change afterwards.
        const k = await f.user('kept.limits');
        const kept = await svc.issue(admin, k.id);
        await f.settings.putSecurity(admin, DEFAULT_SECURITY_SETTINGS);
        expect(await svc.check(k.id, 'nope-1')).toEqual({ ok: false, reason: 'wrong' });
        expect(await svc.check(k.id, 'nope-2')).toEqual({ ok: false, reason: 'burnt' });
        expect(kept.expiresAt).toBe(new Date(f.clock.now().getTime() + 3_600_000).toISOString());
      } finally {
        await f.settings.putSecurity(admin, DEFAULT_SECURITY_SETTINGS);
      }
    });

    it('refuses validity and attempts out of range', async () => {
      for (const bad of [
        { initialPasswordValidityHours: 0 },
        { initialPasswordValidityHours: 721 },
        { initialPasswordValidityHours: 1.5 },
        { initialPasswordMaxAttempts: 0 },
        { initialPasswordMaxAttempts: 21 },
      ])
        await expect(
          f.settings.putSecurity(admin, { ...DEFAULT_SECURITY_SETTINGS, ...bad }),
        ).rejects.toMatchObject({ code: 'validation_failed' });
    });
  });
}
