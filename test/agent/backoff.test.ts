// The agents' reconnect delay: doubled per failure up to the cap, ±20 % jitter, back to the start
// once connected.
import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/agent/backoff.js';

describe('Backoff', () => {
  it('doubles from the first delay up to the cap, and starts over after a reset', () => {
    const b = new Backoff({ initialMs: 500, maxMs: 4000 }, () => 0.5);
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([500, 1000, 2000, 4000, 4000]);
    b.reset();
    expect(b.next()).toBe(500);
  });

  it('spreads each delay by ±20 %', () => {
    expect(new Backoff({ initialMs: 1000 }, () => 0).next()).toBe(800);
    expect(new Backoff({ initialMs: 1000 }, () => 0.999_999).next()).toBe(1200);
    expect(new Backoff({}, () => 0.5).next()).toBe(500);
  });
});
