// The services that read the clock, at the calendar's edges: the 1st and the 9th of a month,
// 29 February 2028 and 31 December 23:59:59 UTC. Each deadline (initial password validity, session
// lifetime, sign-in lockout, pairing code) is written out by hand here, not recomputed with the
// service's own arithmetic, and checked one millisecond before it and at it. Nothing may depend on
// the process's time zone (CI runs in America/St_Johns, UTC−03:30). On PGlite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/secrets/password.js';
import { AgentHub } from '../../src/services/agent-hub.js';
import { AuthService } from '../../src/services/auth-service.js';
import { initialPasswordMessage } from '../../src/services/initial-password-mail.js';
import { InitialPasswordService } from '../../src/services/initial-password-service.js';
import { PairingService } from '../../src/services/pairing-service.js';
import { DEFAULT_THROTTLE, SignInThrottleService } from '../../src/services/sign-in-throttle.js';
import { engines } from '../support/db.js';
import { admin, portalFixture, type PortalFixture } from './portal-support.js';

/** A deadline that falls on or across an edge: `from` plus the service's span is `until`. */
interface Span {
  label: string;
  from: string;
  until: string;
}

// 72 hours: the default initial password validity.
const THREE_DAYS: Span[] = [
  { label: 'into the 1st of a month', from: '2027-02-26T12:00:00.000Z', until: '2027-03-01T12:00:00.000Z' },
  { label: 'onto the 9th of a month', from: '2027-03-06T09:30:00.000Z', until: '2027-03-09T09:30:00.000Z' },
  { label: 'across 29 February 2028', from: '2028-02-27T18:00:00.000Z', until: '2028-03-01T18:00:00.000Z' },
  { label: 'from 31 December 23:59:59', from: '2026-12-31T23:59:59.000Z', until: '2027-01-03T23:59:59.000Z' },
];

// 8 hours: the session lifetime below.
const EIGHT_HOURS: Span[] = [
  { label: 'into the 1st of a month', from: '2027-02-28T20:00:00.000Z', until: '2027-03-01T04:00:00.000Z' },
  { label: 'onto the 9th of a month', from: '2027-03-08T20:00:00.000Z', until: '2027-03-09T04:00:00.000Z' },
  { label: 'onto 29 February 2028', from: '2028-02-28T20:00:00.000Z', until: '2028-02-29T04:00:00.000Z' },
  { label: 'from 31 December 23:59:59', from: '2026-12-31T23:59:59.000Z', until: '2027-01-01T07:59:59.000Z' },
];

// 15 minutes: the sign-in lockout below. 10 minutes: a pairing code.
const FIFTEEN_MINUTES: Span[] = [
  { label: 'into the 1st of a month', from: '2027-02-28T23:50:00.000Z', until: '2027-03-01T00:05:00.000Z' },
  { label: 'onto the 9th of a month', from: '2027-03-08T23:55:00.000Z', until: '2027-03-09T00:10:00.000Z' },
  { label: 'onto 29 February 2028', from: '2028-02-28T23:59:00.000Z', until: '2028-02-29T00:14:00.000Z' },
  { label: 'from 31 December 23:59:59', from: '2026-12-31T23:59:59.000Z', until: '2027-01-01T00:14:59.000Z' },
];
const TEN_MINUTES: Span[] = [
  { label: 'into the 1st of a month', from: '2027-02-28T23:55:00.000Z', until: '2027-03-01T00:05:00.000Z' },
  { label: 'onto the 9th of a month', from: '2027-03-08T23:59:30.000Z', until: '2027-03-09T00:09:30.000Z' },
  { label: 'onto 29 February 2028', from: '2028-02-28T23:59:59.000Z', until: '2028-02-29T00:09:59.000Z' },
  { label: 'from 31 December 23:59:59', from: '2026-12-31T23:59:59.000Z', until: '2027-01-01T00:09:59.000Z' },
];

const PASSWORD = 'Edge-Case-Pass-1';

for (const engine of await engines()) {
  describe(`clocked services at the calendar's edges on ${engine}`, () => {
    let f: PortalFixture;
    let n = 0;
    const at = (iso: string, deltaMs = 0) => (f.clock.t = new Date(new Date(iso).getTime() + deltaMs));
    let passwordHash: string;
    const person = () => f.user(`edge.${++n}`, { roles: ['admin'], passwordHash });

    beforeAll(async () => {
      f = await portalFixture(engine);
      passwordHash = await hashPassword(PASSWORD);
    });
    afterAll(async () => f?.t.drop());

    describe('initial password: valid 72 hours', () => {
      for (const span of THREE_DAYS)
        it(`${span.label}: ${span.from} → ${span.until}`, async () => {
          const svc = new InitialPasswordService(f.ctx, { settings: f.settings });
          const u = await person();
          at(span.from);
          expect((await svc.issue(admin, u.id)).expiresAt).toBe(span.until);
          at(span.until, -1);
          expect(await svc.hasOutstanding(u.id)).toBe(true);
          at(span.until);
          expect(await svc.hasOutstanding(u.id)).toBe(false);
        });
    });

    describe('operator session: lives 8 hours', () => {
      for (const span of EIGHT_HOURS)
        it(`${span.label}: ${span.from} → ${span.until}`, async () => {
          const auth = new AuthService(f.ctx, {
            sessionTtlMinutes: 8 * 60,
            sessionIdleMinutes: 24 * 60,
          });
          const u = await person();
          at(span.from);
          const s = await auth.login(u.username, PASSWORD);
          expect(s.expiresAt.toISOString()).toBe(span.until);
          at(span.until, -1);
          expect((await auth.resolve(s.token))?.user.id).toBe(u.id);
          at(span.until);
          expect(await auth.resolve(s.token)).toBeNull();
        });
    });

    describe('sign-in delay: 15 minutes after the 5th failure (a first delay set to 15 minutes)', () => {
      for (const span of FIFTEEN_MINUTES)
        it(`${span.label}: ${span.from} → ${span.until}`, async () => {
          const auth = new AuthService(f.ctx, {
            sessionTtlMinutes: 60,
            sessionIdleMinutes: 30,
            throttle: { ...DEFAULT_THROTTLE, firstDelaySeconds: 15 * 60 },
          });
          const u = await person();
          at(span.from);
          for (let i = 0; i < 5; i++) await expect(auth.login(u.username, 'wrong')).rejects.toThrow();
          const delays = (await new SignInThrottleService(f.ctx).list({ username: u.username })).filter(
            (d) => d.scope === 'name_address',
          );
          expect(delays.map((d) => d.nextAt.toISOString())).toEqual([span.until]);
          // Refused like a wrong password, and (refused unseen) without pushing the delay further.
          await expect(auth.login(u.username, PASSWORD)).rejects.toMatchObject({ code: 'unauthenticated' });
          at(span.until, -1);
          await expect(auth.login(u.username, PASSWORD)).rejects.toMatchObject({ code: 'unauthenticated' });
          at(span.until);
          await expect(auth.login(u.username, PASSWORD)).resolves.toMatchObject({ user: { id: u.id } });
        });
    });

    describe('agent pairing code: valid 10 minutes', () => {
      let hub: AgentHub;
      beforeAll(() => {
        hub = new AgentHub(f.ctx);
      });
      afterAll(() => hub?.close());

      for (const span of TEN_MINUTES)
        it(`${span.label}: ${span.from} → ${span.until}`, async () => {
          const pairing = new PairingService(f.ctx, hub);
          const u = await person();
          const actor = { ...admin, id: u.id };
          at(span.from);
          const late = await pairing.createCode(actor, 'operator');
          const inTime = await pairing.createCode(actor, 'operator');
          expect([late.expiresAt, inTime.expiresAt]).toEqual([span.until, span.until]);
          at(span.until, -1);
          await expect(
            pairing.pair({ code: inTime.code, name: 'In time', hostname: 'h' }),
          ).resolves.toMatchObject({ name: 'In time' });
          at(span.until);
          await expect(pairing.pair({ code: late.code, name: 'Late', hostname: 'h' })).rejects.toThrow(
            /unknown, used or expired/,
          );
        });
    });
  });
}

describe("the initial password e-mail states the expiry in UTC, whatever the server's zone", () => {
  const person = { displayName: 'Eve Edge', username: 'eve.edge', email: 'eve@example.test' };
  for (const [expiresAt, stated] of [
    ['2027-03-01T00:00:30.000Z', '2027-03-01 00:00 UTC'],
    ['2027-03-09T09:09:09.000Z', '2027-03-09 09:09 UTC'],
    ['2028-02-29T12:34:56.000Z', '2028-02-29 12:34 UTC'],
    ['2026-12-31T23:59:59.000Z', '2026-12-31 23:59 UTC'],
  ] as const)
    it(`${expiresAt} → ${stated}`, () => {
      const m = initialPasswordMessage(person, 'pw', new Date(expiresAt), 'https://cms.example.test/portal');
      expect(m.text).toContain(`valid until ${stated}.`);
      expect(m.html).toContain(stated);
    });
});
