// An issuance with the server's clock on an edge of the calendar (31 December 23:59:59 UTC, 29
// February 2028): the device's issued and expiry instants, the CHUID expiration date written to
// the card (a UTC calendar date) and the validity of the certificates read back from the card, all
// against dates worked out by hand. The process's time zone (CI: America/St_Johns) must not show.
import 'reflect-metadata';
import { X509Certificate } from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PivSession } from '../../src/cards/piv/piv-session.js';
import { permissionsOf } from '../../src/domain/permissions.js';
import type { Actor } from '../../src/services/context.js';
import { MemoryCardAccess, TEST_AGENT_ID } from '../support/memory-card-access.js';
import { startTestServer, type TestServer } from '../support/server.js';

const EDGES = [
  {
    label: '31 December 23:59:59 UTC',
    now: '2026-12-31T23:59:59.000Z',
    deviceExpiresAt: '2029-12-30T23:59:59.000Z', // 1095 days: 2028 has 366
    chuidExpiration: '20291230',
    certificateNotAfter: '2027-12-31T23:59:59.000Z', // 365 days
  },
  {
    label: '29 February 2028',
    now: '2028-02-29T12:00:00.000Z',
    deviceExpiresAt: '2031-02-28T12:00:00.000Z',
    chuidExpiration: '20310228',
    certificateNotAfter: '2029-02-28T12:00:00.000Z',
  },
];

for (const edge of EDGES) {
  describe(`issuance on ${edge.label} (${edge.now})`, () => {
    const cards = new MemoryCardAccess();
    let srv: TestServer;
    let admin: Actor;

    beforeAll(async () => {
      const now = new Date(edge.now);
      srv = await startTestServer({ demo: true, cardAccess: cards, clock: { now: () => new Date(now) } });
      const a = (await srv.rt.services.users.search({ q: 'admin', limit: 1, offset: 0 })).items[0]!;
      admin = { id: a.id, name: a.username, roles: a.roles, permissions: permissionsOf(a.roles) };
      const s = await srv.rt.services.settings.getSecurity();
      await srv.rt.services.settings.putSecurity(admin, { ...s, initialPinDisplayMode: 'displayed' });
    });
    afterAll(async () => srv?.close());

    it('dates the device, the CHUID and the certificates from the clock, in UTC', async () => {
      const alice = (await srv.rt.services.users.search({ q: 'alice', limit: 1, offset: 0 })).items[0]!;
      const policy = (await srv.rt.services.policies.list()).find((p) => p.name.startsWith('PIV ECC'))!;
      cards.addCard('Edge Reader', 40_000_001);
      const { job } = await srv.rt.services.issuance.starter.start(admin, {
        userId: alice.id,
        card: { agentId: TEST_AGENT_ID, reader: 'Edge Reader' },
        action: 'issue',
        policyId: policy.id,
        pin: '482913',
      });
      await srv.rt.services.issuance.runner.settled(job!.id);
      expect(await srv.rt.services.issuance.jobs.get(job!.id)).toMatchObject({
        status: 'succeeded',
        error: null,
      });
      const device = await srv.rt.services.devices.get(job!.deviceId);
      expect(device).toMatchObject({ state: 'active', issuedAt: edge.now, expiresAt: edge.deviceExpiresAt });

      const s = await PivSession.open(await cards.readers.connect('Edge Reader'));
      expect((await s.getChuid())?.expiration).toBe(edge.chuidExpiration);
      for (const p of policy.credentialProfiles) {
        const der = await s.getCertificate(Number.parseInt(p.slot, 16));
        const cert = new X509Certificate(Uint8Array.from(der!));
        expect([cert.notBefore.toISOString(), cert.notAfter.toISOString()], p.slot).toEqual([
          edge.now,
          edge.certificateNotAfter,
        ]);
      }
    });
  });
}
