// Initial passwords: issued once, hashed at rest, expiring, burnt after 5 wrong tries, consumed
// by use, superseded by the next; audited without the password. On PGlite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InitialPasswordService } from '../../src/services/initial-password-service.js';
import type { User } from '../../src/store/users-repo.js';
import { engines } from '../support/db.js';
import { admin, auditActions, portalFixture, type PortalFixture } from './portal-support.js';

for (const engine of await engines()) {
  describe(`initial passwords on ${engine}`, () => {
    let f: PortalFixture;
    let svc: InitialPasswordService;
    beforeAll(async () => {
      f = await portalFixture(engine);
      svc = new InitialPasswordService(f.ctx);
    });
    afterAll(async () => f?.t.drop());

    it('a good password is accepted once, then consumed', async () => {
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
      expect(await svc.check(u.id, issued.password!)).toEqual({ ok: false, reason: 'none' });
      expect(await svc.hasOutstanding(u.id)).toBe(false);
      const audit = await f.t.db.query<{ d: string }>(
        'SELECT details::text AS d FROM audit_events WHERE target_id = $1',
        [u.id],
      );
      expect(audit.map((r) => r.d).join(' ')).not.toContain(issued.password!);
      expect(await auditActions(f, u.id)).toEqual(['initial_password.issued', 'initial_password.consumed']);
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
      expect(await svc.check(u.id, issued.password!)).toEqual({ ok: false, reason: 'expired' });
      expect(await auditActions(f, u.id)).toContain('initial_password.expired');
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
      expect(statuses.map((s) => s.status).sort()).toEqual(['consumed', 'superseded']);
    });

    it('a plugged-in mailer receives it instead of the operator; unknown or suspended people are refused', async () => {
      const mailed: { user: User; password: string }[] = [];
      const withMail = new InitialPasswordService(f.ctx, { ttlHours: 1, maxAttempts: 3 });
      withMail.useMailer({
        deliver: async (user, password) => {
          mailed.push({ user, password });
          return true;
        },
      });
      const u = await f.user('mia.mail', { email: 'mia@example.org' });
      const issued = await withMail.issue(admin, u.id);
      expect(issued).toEqual({ delivery: 'email', expiresAt: expect.any(String) });
      expect(mailed).toHaveLength(1);
      expect(await withMail.check(u.id, mailed[0]!.password)).toEqual({ ok: true });
      // No e-mail address: shown to the operator.
      const v = await f.user('no.mail');
      expect((await withMail.issue(admin, v.id)).delivery).toBe('displayed');
      await expect(svc.issue(admin, '00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({
        code: 'not_found',
      });
      const s = await f.user('sus.pended', { roles: ['user'] });
      await f.t.db.query("UPDATE users SET state = 'suspended' WHERE id = $1", [s.id]);
      await expect(svc.issue(admin, s.id)).rejects.toMatchObject({ code: 'validation_failed' });
    });
  });
}
