// TESSERA_TRUST_PROXY (decision 0022): the sign-in throttle counts the client's address. Without
// the setting, X-Forwarded-For is ignored and the TCP peer counts (anyone could otherwise pick a
// fresh address per guess); with it, the header is believed only from the proxies it names.
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { startTestServer, type TestServer } from '../support/server.js';

const CLIENT = '203.0.113.50';

/** Signs in wrongly through `srv` claiming to come from CLIENT; returns the addresses counted. */
async function countedAddresses(srv: TestServer, name: string): Promise<string[]> {
  const res = await fetch(`${srv.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': CLIENT },
    body: JSON.stringify({ username: name, password: 'not the password' }),
  });
  expect(res.status).toBe(401);
  const rows = await srv.rt.db.query<{ address: string }>(
    `SELECT address FROM sign_in_throttles WHERE scope = 'name_address' AND name = $1 ORDER BY address`,
    [name],
  );
  return rows.map((r) => r.address);
}

describe('TESSERA_TRUST_PROXY', () => {
  const servers: TestServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.close();
  });
  const start = async (trustProxy?: string) => {
    const s = await startTestServer(trustProxy ? { config: { trustProxy } } : {});
    servers.push(s);
    return s;
  };

  it('is read from the environment', () => {
    expect(loadConfig({}, { TESSERA_TRUST_PROXY: '127.0.0.1,10.0.0.0/8' }).trustProxy).toBe(
      '127.0.0.1,10.0.0.0/8',
    );
    expect(loadConfig({}, {}).trustProxy).toBeUndefined();
  });

  it('unset: X-Forwarded-For is ignored, the TCP peer is counted', async () => {
    expect(await countedAddresses(await start(), 'probe.unset')).toEqual(['127.0.0.1']);
  });

  it('naming this proxy: the client in X-Forwarded-For is counted', async () => {
    expect(await countedAddresses(await start('127.0.0.1'), 'probe.trusted')).toEqual([CLIENT]);
  });

  it('naming another proxy: a request from elsewhere cannot claim an address', async () => {
    expect(await countedAddresses(await start('10.9.9.9'), 'probe.other')).toEqual(['127.0.0.1']);
  });
});
