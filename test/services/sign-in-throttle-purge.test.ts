// Old sign-in throttle counts are purged (decision 0022): a count with no delay in force and no
// failure within the forget window stands at nothing, so its row goes; delays in force, recent
// failures and the trust of an address a person signed in from stay. A purge running while a
// burst of attempts counts does not disturb them. On PGlite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthService } from '../../src/services/auth-service.js';
import { DEFAULT_THROTTLE, SignInThrottleService } from '../../src/services/sign-in-throttle.js';
import { UserService } from '../../src/services/user-service.js';
import { engines } from '../support/db.js';
import { admin, portalFixture, type PortalFixture } from './portal-support.js';

const HOME = '198.51.100.20';
const AWAY = '203.0.113.9';

describe.each(await engines())('sign-in throttle purge on %s', (engine) => {
  let f: PortalFixture;
  let auth: AuthService;
  let throttles: SignInThrottleService;
  let password: string;

  beforeAll(async () => {
    f = await portalFixture(engine);
    auth = new AuthService(f.ctx, { sessionTtlMinutes: 60, sessionIdleMinutes: 30 });
    throttles = new SignInThrottleService(f.ctx);
    ({ password } = await new UserService(f.ctx).createWithPassword(admin, {
      username: 'pat.purge',
      displayName: 'Pat',
    }));
  });
  afterAll(() => f?.t.drop());

  const rows = async () =>
    (
      await f.t.db.query<{ scope: string; subject: string }>(
        'SELECT scope, subject FROM sign_in_throttles ORDER BY scope, subject',
      )
    ).map((r) => `${r.scope} ${r.subject}`);
  const fail = (name: string, from: string) =>
    auth.login(name, 'wrong', 'operator', from).catch(() => undefined);

  it('keeps what still counts, deletes what stands at nothing once forgotten', async () => {
    await auth.login('pat.purge', password, 'operator', HOME);
    for (let i = 0; i < DEFAULT_THROTTLE.freePerNameAddress + 1; i++) await fail('nobody.here', AWAY);
    const all = await rows();
    expect(all).toEqual(
      [
        `address ${AWAY}`,
        `address ${HOME}`,
        'name nobody.here',
        'name pat.purge',
        `name_address nobody.here ${AWAY}`,
        `name_address pat.purge ${HOME}`,
      ].sort(),
    );

    // Right now every count holds a recent attempt (a success takes back its count, not its time).
    expect(await throttles.purgeForgotten()).toBe(0);

    // Past the delay but within the forget window: the failures still count.
    f.clock.advance(DEFAULT_THROTTLE.firstDelaySeconds * 1000 + 1000);
    expect(await throttles.purgeForgotten()).toBe(0);

    // Forgotten: only the trust of Pat's home address is left, and it still works as trust.
    f.clock.advance(DEFAULT_THROTTLE.forgetSeconds * 1000);
    expect(await throttles.purgeForgotten()).toBe(5);
    expect(await rows()).toEqual([`name_address pat.purge ${HOME}`]);
    const [trust] = await f.t.db.query<{ trusted: boolean }>('SELECT trusted FROM sign_in_throttles');
    expect(trust!.trusted).toBe(true);
  });

  it('a purge alongside a burst of attempts loses none of their counts', async () => {
    const tries = Array.from({ length: 12 }, () => fail('burst.name', AWAY));
    const purges = Array.from({ length: 4 }, () => throttles.purgeForgotten());
    await Promise.all([...tries, ...purges]);
    const [pair] = await f.t.db.query<{ failures: number }>(
      `SELECT failures FROM sign_in_throttles WHERE scope = 'name_address' AND subject = $1`,
      [`burst.name ${AWAY}`],
    );
    // Exactly the free failures were counted; the rest were refused unseen before counting more.
    expect(pair!.failures).toBe(DEFAULT_THROTTLE.freePerNameAddress);
    expect(await throttles.purgeForgotten()).toBe(0);
  });
});
