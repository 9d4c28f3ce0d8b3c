// The one way a local password is made: UserService gives a new person, or a locked-out one, a
// random password shown once and kept only hashed, with the audit event (the command line's
// `admin create-user --password` and `admin reset-password` call exactly this).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthService } from '../../src/services/auth-service.js';
import { systemActor } from '../../src/services/context.js';
import { DEFAULT_THROTTLE } from '../../src/services/sign-in-throttle.js';
import { UserService } from '../../src/services/user-service.js';
import { engines } from '../support/db.js';
import { portalFixture, type PortalFixture } from './portal-support.js';

const cli = systemActor('cli');

describe.each(await engines())('user passwords on %s', (engine) => {
  let f: PortalFixture;
  let users: UserService;
  let auth: AuthService;

  beforeAll(async () => {
    f = await portalFixture(engine);
    users = new UserService(f.ctx);
    auth = new AuthService(f.ctx, {
      sessionTtlMinutes: 60,
      sessionIdleMinutes: 30,
      throttle: { ...DEFAULT_THROTTLE, freePerNameAddress: 2 },
    });
  });
  afterAll(() => f?.t.drop());

  const audit = (id: string) =>
    f.t.db.query<{ action: string; actor_name: string; details: unknown }>(
      'SELECT action, actor_name, details FROM audit_events WHERE target_id = $1 ORDER BY seq',
      [id],
    );

  it('creates a person with a random password that signs them in', async () => {
    const { user, password } = await users.createWithPassword(cli, {
      username: 'eve',
      displayName: 'Eve',
      roles: ['helpdesk'],
    });
    expect(password).toMatch(/^\S{4}(-\S{4}){3}$/);
    expect(user.roles).toEqual(['helpdesk']);
    expect((await auth.login('eve', password)).user.username).toBe('eve');
    const events = await audit(user.id);
    expect(events.map((e) => e.action)).toContain('user.created');
    expect(JSON.stringify(events)).not.toContain(password);
  });

  it('resets the password of a delayed name, ending the delay: the new one signs in, the old one no longer does', async () => {
    const { user, password: old } = await users.createWithPassword(cli, {
      username: 'lou',
      displayName: 'Lou',
    });
    for (let i = 0; i < 2; i++) await expect(auth.login('lou', 'wrong')).rejects.toThrow(/wrong/);
    // Delayed: even the right password is refused, as a wrong one.
    await expect(auth.login('lou', old)).rejects.toThrow(/wrong/);

    const { user: reset, password } = await users.resetPassword(cli, 'lou');
    expect(reset.id).toBe(user.id);
    expect(password).not.toBe(old);
    expect((await auth.login('lou', password)).user.id).toBe(user.id);
    await expect(auth.login('lou', old)).rejects.toThrow(/wrong/);

    const events = await audit(user.id);
    expect(events.filter((e) => e.action === 'user.password_reset')).toEqual([
      { action: 'user.password_reset', actor_name: 'cli', details: {} },
    ]);
    expect(JSON.stringify(events)).not.toContain(password);
  });

  it('names an unknown username', async () => {
    await expect(users.resetPassword(cli, 'nobody')).rejects.toMatchObject({
      code: 'not_found',
      message: 'No user named "nobody" exists: check the username',
    });
  });
});
