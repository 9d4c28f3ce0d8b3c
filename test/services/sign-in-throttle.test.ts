// Sign-in throttling under parallel guessing (decision 0022), on PGlite and PostgreSQL: four bursts
// of eight parallel wrong tries, then the right secret, are refused on the operator password, the
// initial password and the security answers — exactly the free tries are checked, however many run
// at once — and the right secret works again once the delay has run out. A delayed name and an
// unknown name get the same refusal; anonymous tries from elsewhere do not keep a person out of an
// address they signed in from; the operator sees the delay and lifts it (audited).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MasterKey } from '../../src/secrets/master-key.js';
import { AuthService } from '../../src/services/auth-service.js';
import { DirectoryService } from '../../src/services/directory-service.js';
import { InitialPasswordService } from '../../src/services/initial-password-service.js';
import { PortalAuthService } from '../../src/services/portal-auth-service.js';
import { SecurityQuestionService } from '../../src/services/security-question-service.js';
import { DEFAULT_THROTTLE, SignInThrottleService } from '../../src/services/sign-in-throttle.js';
import { UserService } from '../../src/services/user-service.js';
import { engines } from '../support/db.js';
import { admin, auditActions, portalFixture, type PortalFixture } from './portal-support.js';

const HERE = '198.51.100.7';
const FREE = DEFAULT_THROTTLE.freePerNameAddress;

/** What a refusal shows the caller: its class, code, message and details (nothing else leaves). */
const shown = (e: unknown) => {
  const err = e as { name: string; code: string; message: string; details?: unknown };
  return { name: err.name, code: err.code, message: err.message, details: err.details };
};
const refusal = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('signed in');
    },
    (e: unknown) => shown(e),
  );

describe.each(await engines())('sign-in throttling on %s', (engine) => {
  let f: PortalFixture;
  let auth: AuthService;
  let portal: PortalAuthService;
  let ip: InitialPasswordService;
  let sq: SecurityQuestionService;
  let users: UserService;
  let throttles: SignInThrottleService;
  let qids: string[];

  beforeAll(async () => {
    f = await portalFixture(engine);
    const key = MasterKey.generate();
    auth = new AuthService(f.ctx, { sessionTtlMinutes: 60, sessionIdleMinutes: 30 });
    users = new UserService(f.ctx);
    ip = new InitialPasswordService(f.ctx, { settings: f.settings });
    sq = new SecurityQuestionService(f.ctx, f.settings);
    throttles = new SignInThrottleService(f.ctx);
    portal = new PortalAuthService(f.ctx, {
      settings: f.settings,
      auth,
      initialPasswords: ip,
      questions: sq,
      directory: new DirectoryService(f.ctx, key, users),
      decoyKey: key.derive('decoy'),
    });
    const s = await f.settings.getSecurity();
    // More tries than the throttle's free ones before an initial password burns, so that what
    // refuses the right one below is the throttle, not the burning.
    await f.settings.putSecurity(admin, {
      ...s,
      portalAuthMethods: ['initial_password', 'security_questions'],
      securityQuestionCount: 2,
      initialPasswordMaxAttempts: 10,
    });
    qids = (
      await sq.replace(admin, [
        { text: 'First pet name?', active: true },
        { text: 'Town of birth?', active: true },
      ])
    ).map((q) => q.id);
  });
  afterAll(() => f?.t.drop());

  /**
   * Four bursts of eight parallel wrong tries a second apart (the right secret runs alongside the
   * last one), then the right secret alone: every one refused alike.
   */
  async function bursts(wrong: (i: number) => Promise<unknown>, right: () => Promise<unknown>) {
    const seen: unknown[] = [];
    for (let b = 0; b < 4; b++) {
      const tries = Array.from({ length: 8 }, (_, i) => refusal(wrong(b * 8 + i)));
      if (b === 3) tries.push(refusal(right()));
      seen.push(...(await Promise.all(tries)));
      f.clock.advance(1000);
    }
    seen.push(await refusal(right()));
    expect(seen).toHaveLength(34);
    expect([...new Set(seen.map((s) => JSON.stringify(s)))]).toEqual([JSON.stringify(seen[0])]);
    return seen[0];
  }

  it('operator password: 4 × 8 parallel wrong tries, then the right one, refused; 5 checked', async () => {
    const { user, password } = await users.createWithPassword(admin, {
      username: 'olga.op',
      displayName: 'Olga',
    });
    const refused = await bursts(
      (i) => auth.login('olga.op', `wrong-${i}`, 'operator', HERE),
      () => auth.login('olga.op', password, 'operator', HERE),
    );
    expect(refused).toMatchObject({ code: 'unauthenticated' });
    const actions = await auditActions(f, user.id);
    expect(actions.filter((a) => a === 'auth.sign_in_failed')).toHaveLength(FREE);
    expect(actions).not.toContain('auth.signed_in');
    // The same refusal as an unknown name's.
    expect(await refusal(auth.login('no.such.person', password, 'operator', HERE))).toEqual(refused);
    // The delays double with each checked failure: 30 s after the fifth, so the right password
    // works once it has run out (the tries refused meanwhile changed nothing).
    f.clock.advance(30_000);
    await expect(auth.login('olga.op', password, 'operator', HERE)).resolves.toMatchObject({
      user: { id: user.id },
    });
  });

  it('initial password: the same bursts are refused without burning it; it works after the delay', async () => {
    const u = await f.user('ian.initial');
    const { password } = await ip.issue(admin, u.id, 'displayed');
    const refused = await bursts(
      (i) => portal.signInWithInitialPassword('ian.initial', `wrong-${i}`, HERE),
      () => portal.signInWithInitialPassword('ian.initial', password!, HERE),
    );
    expect(refused).toMatchObject({ code: 'unauthenticated' });
    const actions = await auditActions(f, u.id);
    expect(actions.filter((a) => a === 'initial_password.failed')).toHaveLength(FREE);
    expect(actions).not.toContain('initial_password.burnt');
    expect(await refusal(portal.signInWithInitialPassword('ghost.user', password!, HERE))).toEqual(refused);
    f.clock.advance(30_000);
    await expect(portal.signInWithInitialPassword('ian.initial', password!, HERE)).resolves.toMatchObject({
      user: { id: u.id },
    });
  });

  it('security answers: the same bursts are refused; they work after the delay', async () => {
    const u = await f.user('sue.answers');
    await sq.setAnswers(admin, u.id, [
      { questionId: qids[0]!, answer: 'Rex' },
      { questionId: qids[1]!, answer: 'Brest' },
    ]);
    const good = [
      { questionId: qids[0]!, answer: 'rex' },
      { questionId: qids[1]!, answer: 'BREST' },
    ];
    const refused = await bursts(
      (i) =>
        portal.signInWithSecurityQuestions(
          'sue.answers',
          [good[0]!, { questionId: qids[1]!, answer: `town ${i}` }],
          HERE,
        ),
      () => portal.signInWithSecurityQuestions('sue.answers', good, HERE),
    );
    expect(refused).toMatchObject({ code: 'unauthenticated' });
    const actions = await auditActions(f, u.id);
    expect(actions.filter((a) => a === 'portal_auth.failed')).toHaveLength(FREE);
    expect(await refusal(portal.signInWithSecurityQuestions('ghost.two', good, HERE))).toEqual(refused);
    f.clock.advance(30_000);
    await expect(portal.signInWithSecurityQuestions('sue.answers', good, HERE)).resolves.toMatchObject({
      user: { id: u.id },
    });
  });

  it('anonymous tries from many addresses do not keep a person out of where they signed in', async () => {
    const { user, password } = await users.createWithPassword(admin, {
      username: 'ada.admin',
      displayName: 'Ada',
      roles: ['admin'],
    });
    await auth.login('ada.admin', password, 'operator', HERE);
    // 40 wrong tries from ten other addresses: the name's free 20 from everywhere are checked, the
    // rest refused unseen.
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        refusal(auth.login('ADA.admin', `guess-${i}`, 'operator', `203.0.113.${i % 10}`)),
      ),
    );
    await expect(auth.login('ada.admin', password, 'operator', HERE)).resolves.toMatchObject({
      user: { id: user.id },
    });
    // From an address it never signed in from, the name's delay holds (an operator may lift it).
    expect(await refusal(auth.login('ada.admin', password, 'operator', '192.0.2.1'))).toMatchObject({
      code: 'unauthenticated',
    });
    const delays = await throttles.list({ username: 'ada.admin' });
    const nameDelay = delays.find((d) => d.scope === 'name' && d.secret === 'password')!;
    expect(nameDelay).toMatchObject({ subject: 'ada.admin', failures: 20 });
    await throttles.lift(admin, { secret: 'password', scope: 'name', subject: 'ada.admin' });
    await expect(auth.login('ada.admin', password, 'operator', '192.0.2.1')).resolves.toMatchObject({
      user: { id: user.id },
    });
    expect(await throttles.list({ username: 'ada.admin' })).toEqual(delays.filter((d) => d !== nameDelay));
    const lifted = await f.t.db.query<{ action: string; details: Record<string, unknown> }>(
      `SELECT action, details FROM audit_events WHERE action = 'auth.sign_in_delay_lifted'`,
    );
    expect(lifted).toEqual([
      {
        action: 'auth.sign_in_delay_lifted',
        details: expect.objectContaining({
          secret: 'password',
          scope: 'name',
          name: 'ada.admin',
          failures: 20,
        }),
      },
    ]);
    await expect(
      throttles.lift(admin, { secret: 'password', scope: 'name', subject: 'ada.admin' }),
    ).rejects.toMatchObject({ code: 'not_found' });
  });

  it('a password reset ends the delays of the name', async () => {
    const { user } = await users.createWithPassword(admin, { username: 'rita.reset', displayName: 'Rita' });
    for (let i = 0; i < FREE; i++) await refusal(auth.login('rita.reset', `no-${i}`, 'operator', HERE));
    expect(await throttles.list({ username: 'rita.reset' })).not.toEqual([]);
    const { password } = await users.resetPassword(admin, 'rita.reset');
    expect(await throttles.list({ username: 'rita.reset' })).toEqual([]);
    await expect(auth.login('rita.reset', password, 'operator', HERE)).resolves.toMatchObject({
      user: { id: user.id },
    });
  });
});
