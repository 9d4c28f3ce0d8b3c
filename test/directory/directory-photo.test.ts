// People's photos from the directory: jpegPhoto, mapped in the directory settings, is synced into
// Tessera's photo (stored once; the same picture again changes nothing), a damaged one is reported
// and not imported, and the photo is what the layout preview prints. Real slapd, real server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeJpeg, makePng } from '../support/images.js';
import { ApiClient, startTestServer, type TestServer } from '../support/server.js';
import {
  directoryConfig,
  personLdif,
  ROOT_PW,
  slapdAvailable,
  startSlapd,
  SUFFIX,
  type Slapd,
} from '../support/slapd.js';

type User = { id: string; username: string };

describe.skipIf(!slapdAvailable)('directory photos (slapd)', () => {
  let slapd: Slapd;
  let srv: TestServer;
  let admin: ApiClient;
  let jpeg: Buffer;

  beforeAll(async () => {
    jpeg = await makeJpeg(90, 120, '#2040C0');
    slapd = await startSlapd();
    slapd.add(`dn: ou=people,${SUFFIX}\nobjectClass: organizationalUnit\nou: people\n`);
    slapd.add(
      [
        personLdif({ uid: 'pia.photo', cn: 'Pia Photo', employeeNumber: 'E1', jpegPhoto: jpeg }),
        personLdif({ uid: 'dan.damaged', cn: 'Dan Damaged', jpegPhoto: Buffer.from('JFIF? no, only text') }),
        personLdif({ uid: 'nina.none', cn: 'Nina None' }),
      ].join('\n'),
    );
    srv = await startTestServer();
    admin = new ApiClient(srv.url);
    expect((await admin.login(srv.admin.username, srv.admin.password)).status).toBe(200);
  });
  afterAll(async () => {
    await srv?.close();
    await slapd?.stop();
  });

  const sync = async () =>
    (await admin.json<{ created: number; errors: string[] }>('POST', '/api/directory/sync')).body;
  const user = async (username: string) =>
    (await admin.json<{ items: User[] }>('GET', `/api/users?q=${username}`)).body.items.find(
      (u) => u.username === username,
    )!;
  const photoOf = async (id: string) => {
    const r = await admin.call('GET', `/api/users/${id}/photo`);
    return r.status === 200 ? Buffer.from(await r.arrayBuffer()) : r.status;
  };

  it('imports jpegPhoto once mapped, reports a damaged one, and keeps an uploaded photo when the directory has none', async () => {
    const cfg = directoryConfig(slapd.url, {
      attributes: { username: 'uid', displayName: 'cn', email: 'mail', photo: 'jpegPhoto' },
    });
    const put = await admin.json('PUT', '/api/directory', { ...cfg, bindPassword: ROOT_PW });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ attributes: { photo: 'jpegPhoto' } });
    const report = await sync();
    expect(report.created).toBe(3);
    expect(report.errors).toEqual([
      expect.stringMatching(
        /^uid=dan\.damaged,.*: the directory photo was not imported: The photo must be a JPEG or PNG/,
      ),
    ]);
    const pia = await user('pia.photo');
    expect(await photoOf(pia.id)).toEqual(jpeg);
    expect(await photoOf((await user('dan.damaged')).id)).toBe(404);
    const nina = await user('nina.none');
    const png = makePng(64, 64, () => [0, 128, 0]);
    expect(
      (await admin.json('PUT', `/api/users/${nina.id}/photo`, { data: png.toString('base64') })).status,
    ).toBe(200);

    // Again: nothing new is stored or audited for the same picture; Nina keeps hers.
    const events = async () =>
      (
        await admin.json<{ items: { action: string }[] }>('GET', `/api/audit?targetId=${pia.id}&limit=50`)
      ).body.items.filter((e) => e.action === 'user.photo_set').length;
    expect(await events()).toBe(1);
    await sync();
    expect(await events()).toBe(1);
    expect(await photoOf(nina.id)).toEqual(png);

    // A new picture in the directory replaces the old one.
    const newer = await makeJpeg(90, 120, '#20C040');
    slapd.modify(
      `dn: uid=pia.photo,ou=people,${SUFFIX}\nchangetype: modify\nreplace: jpegPhoto\njpegPhoto:: ${newer.toString('base64')}\n`,
    );
    await sync();
    expect(await photoOf(pia.id)).toEqual(newer);
    expect(await events()).toBe(2);
  });
});
