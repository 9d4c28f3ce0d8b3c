// The sign-in throttle's rule on its own (decision 0022); the services' tests run it against bursts
// of parallel attempts on both databases, the HTTP tests against real sockets from several addresses.
import { describe, expect, it } from 'vitest';
import {
  decideAttempt,
  sourceKey,
  type ThrottleCount,
  type ThrottleCounts,
  type ThrottleLimits,
} from '../../src/domain/sign-in-throttle.js';

const limits: ThrottleLimits = {
  freePerNameAddress: 3,
  freePerName: 10,
  freePerAddress: 10,
  firstDelaySeconds: 30,
  maxDelaySeconds: 900,
  forgetSeconds: 3600,
};
const now = new Date('2028-02-29T23:59:30Z');
const at = (s: number) => new Date(now.getTime() + s * 1000);
const none: ThrottleCount = { failures: 0, lastFailureAt: null, nextAt: null, trusted: false };
const counts = (c: Partial<ThrottleCounts>): ThrottleCounts => ({
  name: none,
  address: none,
  name_address: none,
  ...c,
});

describe('the sign-in throttle rule', () => {
  it('lets the free failures through, then delays 30 s, doubling up to 15 min', () => {
    let c = counts({});
    const delays: (number | null)[] = [];
    for (let i = 0; i < 10; i++) {
      const d = decideAttempt(c, limits, now);
      expect(d.admitted).toBe(true);
      c = d.after;
      const next = c.name_address.nextAt;
      delays.push(next ? (next.getTime() - now.getTime()) / 1000 : null);
      // Let the delay run out for the next attempt, at the same `now`.
      c = { ...c, name_address: { ...c.name_address, nextAt: null } };
    }
    expect(delays).toEqual([null, null, 30, 60, 120, 240, 480, 900, 900, 900]);
  });

  it('refuses an attempt while a delay is in force, and changes nothing', () => {
    const delayed = counts({
      name_address: { failures: 3, lastFailureAt: now, nextAt: at(30), trusted: false },
    });
    const d = decideAttempt(delayed, limits, at(29.999));
    expect(d).toEqual({ admitted: false, after: delayed });
    expect(decideAttempt(delayed, limits, at(30)).admitted).toBe(true);
  });

  it('refuses while the address is delayed, whatever the name', () => {
    const address = { failures: 10, lastFailureAt: now, nextAt: at(30), trusted: false };
    expect(decideAttempt(counts({ address }), limits, now).admitted).toBe(false);
  });

  it('a name delayed from everywhere is still let in from an address it signed in from', () => {
    const name = { failures: 40, lastFailureAt: now, nextAt: at(900), trusted: false };
    expect(decideAttempt(counts({ name }), limits, now).admitted).toBe(false);
    const trusted = { ...none, trusted: true };
    expect(decideAttempt(counts({ name, name_address: trusted }), limits, now).admitted).toBe(true);
  });

  it('forgets a count left alone for an hour', () => {
    const old = { failures: 7, lastFailureAt: at(-3600), nextAt: null, trusted: false };
    const d = decideAttempt(counts({ name_address: old }), limits, now);
    expect(d.after.name_address).toMatchObject({ failures: 1, nextAt: null });
  });

  it.each([
    ['203.0.113.9', '203.0.113.9'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:DB8:0001:0002::7', '2001:db8:1:2::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    [undefined, 'local'],
  ])('counts %s as %s', (address, key) => {
    expect(sourceKey(address)).toBe(key);
  });
});
