// The kept OCSP answers (services/pki/ocsp-cache.ts): what a status change drops, what is never
// kept (an answer built across a status change, "unknown"), when an answer goes stale, the bounds.
import { describe, expect, it } from 'vitest';
import type { SingleAnswer } from '../../src/pki/ocsp.js';
import { OcspCache } from '../../src/services/pki/ocsp-cache.js';
import { LocalStatusChanges } from '../../src/services/pki/status-changes.js';

const SHA1 = '1.3.14.3.2.26';
const t0 = Date.UTC(2030, 0, 1);
const single = (serial: string, o: Partial<SingleAnswer> = {}): SingleAnswer => ({
  caId: 'ca',
  serial,
  hashOid: SHA1,
  status: 'good',
  producedAt: new Date(t0),
  nextUpdate: new Date(t0 + 3600_000),
  ...o,
});
const der = (s: string) => Buffer.from(s);

describe('OcspCache', () => {
  it('serves a kept answer by request bytes and by certificate until shortly before nextUpdate', () => {
    const c = new OcspCache({ maxEntries: 10 });
    const kept = c.keep('r1', der('A'), single('01'), c.epoch)!;
    expect(kept.etag).toMatch(/^"[\w-]+"$/);
    expect(c.byRequest('r1', t0)?.der.toString()).toBe('A');
    expect(c.byCertificate({ caId: 'ca', serial: '01', hashOid: SHA1 }, 'r2', t0)?.der.toString()).toBe('A');
    expect(c.byRequest('r2', t0)?.der.toString()).toBe('A'); // linked by the lookup above
    expect(c.byRequest('r1', t0 + 3240_000 - 1)).not.toBeNull(); // 90 % of its hour
    expect(c.byRequest('r1', t0 + 3240_000)).toBeNull();
  });

  it('drops the answer at once when word of a status change comes, for every CertID hash', () => {
    const c = new OcspCache({ maxEntries: 10 });
    const bus = new LocalStatusChanges();
    bus.subscribe((ch) => c.invalidate(ch));
    c.keep('a', der('A'), single('01'), c.epoch);
    c.keep('b', der('B'), single('01', { hashOid: '2.16.840.1.101.3.4.2.1' }), c.epoch);
    c.keep('z', der('Z'), single('02'), c.epoch);
    void bus.announce({ caId: 'ca', serial: '01' });
    expect(c.byRequest('a', t0)).toBeNull();
    expect(c.byRequest('b', t0)).toBeNull();
    expect(c.byRequest('z', t0)?.der.toString()).toBe('Z');
    void bus.announce({ caId: 'ca', serial: null });
    expect(c.byRequest('z', t0)).toBeNull();
  });

  it('refuses an answer built across a status change, and never keeps "unknown"', () => {
    const c = new OcspCache({ maxEntries: 10 });
    const before = c.epoch;
    c.invalidate({ caId: 'ca', serial: '01' }); // the change lands while the answer was being built
    expect(c.keep('a', der('A'), single('01'), before)).toBeNull();
    expect(c.byRequest('a', t0)).toBeNull();
    expect(c.keep('u', der('U'), single('03', { status: 'unknown' }), c.epoch)).toBeNull();
  });

  it('holds at most maxEntries answers, the oldest leaving first', () => {
    const c = new OcspCache({ maxEntries: 2 });
    for (const s of ['01', '02', '03']) c.keep(`r${s}`, der(s), single(s), c.epoch);
    expect(c.size).toBe(2);
    expect(c.byRequest('r01', t0)).toBeNull();
    expect(c.byRequest('r03', t0)?.der.toString()).toBe('03');
  });
});
