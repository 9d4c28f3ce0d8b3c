// Initial passwords: issued once, hashed at rest, expiring, burnt after 5 wrong tries, good until
// the person has finished setting up (then consumed), superseded by the next; audited without the password. Validity and attempts come from
// the security settings at issue time. A mailer that fails changes nothing. On PGlite and
// PostgreSQL. (Real SMTP delivery: test/http/initial-password-mail.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailError } from '../../src/mail/mailer.js';
import { InitialPasswordService } from '../../src/services/initial-password-service.js';
import { DEFAULT_SECURITY_SETTINGS } from '../../src/services/settings-service.js';
import type { User } from '../../src/store/users-repo.js';
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

    it('a mailer receives it instead of the operator; unknown or suspended people are refused', async () => {
      const mailed: { user: User; password: string }[] = [];
      const withMail = new InitialPasswordService(f.ctx, {
        settings: f.settings,
        mailer: {
          deliver: async (user, password) => {
            mailed.push({ user, password });
          },
        },
      });
      const u = await f.user('mia.mail', { email: 'mia@example.org' });
      const issued = await withMail.issue(admin, u.id);
      expect(issued).toEqual({ delivery: 'email', email: 'mia@example.org', expiresAt: expect.any(String) });
      expect(mailed).toHaveLength(1);
      expect(await withMail.check(u.id, mailed[0]!.password)).toEqual({ ok: true });
      // The operator may choose to show it instead (the person is at the desk, or mail is down).
      const shown = await withMail.issue(admin, u.id, 'displayed');
      expect(shown.delivery).toBe('displayed');
      expect(mailed).toHaveLength(1);
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

    it('a mailer that fails changes nothing: the previous password stays valid, nothing is audited', async () => {
      const failing = new InitialPasswordService(f.ctx, {
        settings: f.settings,
        mailer: {
          deliver: async () => {
            throw new MailError('the mail server answered 550 no');
          },
        },
      });
      const u = await f.user('fay.fail', { email: 'fay@example.org' });
      const first = await svc.issue(admin, u.id);
      const before = await auditActions(f, u.id);
      await expect(failing.issue(admin, u.id)).rejects.toMatchObject({ code: 'mail_failed' });
      expect(await auditActions(f, u.id)).toEqual(before);
      const rows = await f.t.db.query<{ status: string }>(
        'SELECT status FROM initial_passwords WHERE user_id = $1',
        [u.id],
      );
      expect(rows.map((r) => r.status)).toEqual(['outstanding']);
      expect(await svc.check(u.id, first.password!)).toEqual({ ok: true });
    });

    it('two operators issuing at once: both succeed, the later one supersedes the earlier', async () => {
      // Both sends finish together, so both stores start together: without the lock on the
      // person's row, PostgreSQL's second insert collides with the first on the one-outstanding
      // index (23505) after its e-mail went out.
      const mailed: string[] = [];
      let release!: () => void;
      const bothSent = new Promise<void>((r) => (release = r));
      const racing = new InitialPasswordService(f.ctx, {
        settings: f.settings,
        mailer: {
          deliver: async (_user, password) => {
            mailed.push(password);
            if (mailed.length === 2) release();
            await bothSent;
          },
        },
      });
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
      const outcomes = await Promise.all(mailed.map((p) => racing.check(u.id, p)));
      expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
    });

    it('storing fails after the e-mail went out: the error says that e-mail is void, issue again', async () => {
      const u = await f.user('vic.void', { email: 'vic@example.org' });
      const breaking = new InitialPasswordService(f.ctx, {
        settings: f.settings,
        mailer: {
          deliver: async () => {
            await f.t.db.query(
              'ALTER TABLE initial_passwords ADD CONSTRAINT test_refuse_all CHECK (false) NOT VALID',
            );
          },
        },
      });
      try {
        const err = (await breaking.issue(admin, u.id).catch((e: unknown) => e)) as Error & { code: string };
        expect(err.code).toBe('internal');
        expect(err.message).toMatch(
          /^An e-mail with an initial password was sent to vic@example\.org, but storing that password failed, so the e-mailed password is void and will not work: issue it again/,
        );
      } finally {
        await f.t.db.query('ALTER TABLE initial_passwords DROP CONSTRAINT test_refuse_all');
      }
      expect(await svc.hasOutstanding(u.id)).toBe(false);
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
