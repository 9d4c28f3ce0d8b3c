// Layouts, photos and the printing settings over HTTP, against a real server with the demo data:
// CRUD, the chip-zone and unknown-property refusals naming the element, previews rendered for a
// person with her photo (checked on the raster), photos checked and stored once, permissions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PIV_LAYOUT } from '../../src/domain/piv-layout.js';
import { makeJpeg, makePng, rasterize } from '../support/images.js';
import { ApiClient, startTestServer, type TestServer } from '../support/server.js';

type Err = { error: { code: string; message: string; details?: { problems?: string[] } } };
type Layout = { id: string; name: string; version: number; definition: typeof PIV_LAYOUT };
type User = { id: string; username: string };

let srv: TestServer;
let admin: ApiClient;
let ivan: ApiClient;
let alice: User;
let bob: User;
let photo: Buffer;

const DPI = 100;
const px = (mm: number) => Math.round((mm / 25.4) * DPI);
const findUser = async (username: string) =>
  (await admin.json<{ items: User[] }>('GET', `/api/users?q=${username}`)).body.items.find(
    (u) => u.username === username,
  )!;

beforeAll(async () => {
  srv = await startTestServer({ demo: true });
  admin = new ApiClient(srv.url);
  expect((await admin.login(srv.admin.username, srv.admin.password)).status).toBe(200);
  ivan = new ApiClient(srv.url);
  expect((await ivan.login('ivan.issuer', srv.demoPassword!)).status).toBe(200);
  alice = await findUser('alice');
  bob = await findUser('bob');
  photo = await makeJpeg(300, 400, '#C03020');
});
afterAll(async () => srv?.close());

describe('printing settings', () => {
  it('the demo has printing on with the PIV layout; turning it off makes it unavailable', async () => {
    const s = await admin.json('GET', '/api/settings/printing');
    expect(s.body).toEqual({
      enabled: true,
      issuerName: 'Tessera Demo Agency',
      layoutCount: 1,
      available: true,
    });
    const off = await admin.json('PUT', '/api/settings/printing', {
      enabled: false,
      issuerName: 'Tessera Demo Agency',
    });
    expect(off.body).toMatchObject({ enabled: false, available: false });
    expect(
      (await admin.json('PUT', '/api/settings/printing', { enabled: true, issuerName: ' ' })).status,
    ).toBe(400);
    expect(
      (await ivan.json('PUT', '/api/settings/printing', { enabled: true, issuerName: 'x' })).status,
    ).toBe(403);
    await admin.json('PUT', '/api/settings/printing', { enabled: true, issuerName: 'Tessera Demo Agency' });
  });
});

describe('layouts', () => {
  const newLayout = (name: string, elements = PIV_LAYOUT.front.elements) => ({
    name,
    description: 'test',
    definition: { ...PIV_LAYOUT, front: { ...PIV_LAYOUT.front, elements } },
  });

  it('lists the demo PIV layout and the templates; the issuance officer reads but cannot write', async () => {
    const list = await ivan.json<{ items: Layout[] }>('GET', '/api/layouts');
    expect(list.body.items.map((l) => l.name)).toEqual(['PIV (FIPS 201-3)']);
    const t = await admin.json<{ items: { id: string }[] }>('GET', '/api/layouts/templates');
    expect(t.body.items.map((x) => x.id)).toEqual(['piv']);
    expect((await admin.json<{ items: string[] }>('GET', '/api/layouts/properties')).body.items).toEqual(
      expect.arrayContaining(['affiliation', 'department', 'employeeId']),
    );
    expect((await ivan.json('POST', '/api/layouts', newLayout('Ivan’s'))).status).toBe(403);
  });

  it('refuses an element over the chip zone and an unknown property, naming each element', async () => {
    const over = PIV_LAYOUT.front.elements.map((e) => (e.name === '2F name' ? { ...e, x: 25, y: 12 } : e));
    const r = await admin.json<Err>('POST', '/api/layouts', newLayout('Over the chip', over));
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_failed');
    expect(r.body.error.message).toMatch(/front element "2F name": it overlaps the chip zone/);
    const unknown = [
      ...PIV_LAYOUT.front.elements,
      {
        ...PIV_LAYOUT.front.elements[2]!,
        name: 'clearance',
        y: 64,
        value: { from: 'property', name: 'clearance' },
      },
    ];
    const u = await admin.json<Err>(
      'POST',
      '/api/layouts',
      newLayout('Unknown property', unknown as typeof over),
    );
    expect(u.status).toBe(400);
    expect(u.body.error.details?.problems).toEqual([
      'front element "clearance": no person has the property "clearance" and the directory does not map it',
    ]);
    // The shape itself is bounded by the schema.
    const bad = await admin.json<Err>('POST', '/api/layouts', {
      ...newLayout('x'),
      definition: { ...PIV_LAYOUT, orientation: 'diagonal' },
    });
    expect(bad.status).toBe(400);
  });

  it('creates, reads, replaces and deletes a layout, with one name each', async () => {
    const c = await admin.json<Layout>('POST', '/api/layouts', newLayout('Visitors'));
    expect(c.status).toBe(201);
    expect(c.body.version).toBe(1);
    expect((await admin.json<Err>('POST', '/api/layouts', newLayout('visitors'))).status).toBe(409);
    const moved = PIV_LAYOUT.front.elements.map((e) => (e.name === '2F name' ? { ...e, y: 31 } : e));
    const u = await admin.json<Layout>('PUT', `/api/layouts/${c.body.id}`, newLayout('Visitors', moved));
    expect(u.status).toBe(200);
    expect(u.body.version).toBe(2);
    expect(
      (await admin.json<Layout>('GET', `/api/layouts/${c.body.id}`)).body.definition.front.elements[2]!.y,
    ).toBe(31);
    expect((await admin.call('DELETE', `/api/layouts/${c.body.id}`)).status).toBe(204);
    expect((await admin.json<Err>('GET', `/api/layouts/${c.body.id}`)).status).toBe(404);
    const audit = await admin.json<{ items: { action: string }[] }>(
      'GET',
      '/api/audit?targetType=layout&limit=10',
    );
    expect(audit.body.items.map((a) => a.action)).toEqual(
      expect.arrayContaining(['layout.created', 'layout.updated', 'layout.deleted']),
    );
  });
});

describe('photos and previews', () => {
  it('takes a JPEG for alice, gives it back, and refuses what is not a photo', async () => {
    const r = await admin.json('PUT', `/api/users/${alice.id}/photo`, { data: photo.toString('base64') });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ contentType: 'image/jpeg', width: 300, height: 400 });
    const got = await ivan.call('GET', `/api/users/${alice.id}/photo`);
    expect(got.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await got.arrayBuffer()).equals(photo)).toBe(true);
    const notImage = await admin.json<Err>('PUT', `/api/users/${bob.id}/photo`, {
      data: Buffer.from('GIF89a……').toString('base64'),
    });
    expect(notImage.status).toBe(400);
    expect(notImage.body.error.message).toMatch(/JPEG or PNG/);
    const huge = await admin.call('PUT', `/api/users/${bob.id}/photo`, { data: 'A'.repeat(800_000) });
    expect([400, 413]).toContain(huge.status);
    expect(
      (await ivan.json('PUT', `/api/users/${bob.id}/photo`, { data: photo.toString('base64') })).status,
    ).toBe(403);
    expect((await admin.json('GET', `/api/users/${bob.id}/photo`)).status).toBe(404);
  });

  it('stores a photo once, however many people have it, and drops a replaced one', async () => {
    const count = async () =>
      (await srv.rt.db.query<{ n: number }>('SELECT count(*)::int AS n FROM photos'))[0]!.n;
    const before = await count();
    expect(
      (await admin.json('PUT', `/api/users/${bob.id}/photo`, { data: photo.toString('base64') })).status,
    ).toBe(200);
    expect(await count()).toBe(before);
    const png = makePng(60, 80, () => [10, 200, 30]);
    expect(
      (await admin.json('PUT', `/api/users/${bob.id}/photo`, { data: png.toString('base64') })).status,
    ).toBe(200);
    expect(await count()).toBe(before + 1);
    expect((await admin.call('DELETE', `/api/users/${bob.id}/photo`)).status).toBe(204);
    expect(await count()).toBe(before);
  });

  it('previews the PIV layout for alice with her photo, one side or both', async () => {
    const piv = (await admin.json<{ items: Layout[] }>('GET', '/api/layouts')).body.items[0]!;
    const res = await ivan.call('GET', `/api/layouts/${piv.id}/preview?userId=${alice.id}&side=front`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    const pages = rasterize(Buffer.from(await res.arrayBuffer()), DPI);
    expect(pages).toHaveLength(1);
    const [r, g, b] = pages[0]!.at(px(12), px(15));
    expect(r).toBeGreaterThan(150);
    expect(g).toBeLessThan(90);
    expect(b).toBeLessThan(90);
    // A sample person (no user named): both sides.
    const sample = await ivan.call('GET', `/api/layouts/${piv.id}/preview`);
    expect(rasterize(Buffer.from(await sample.arrayBuffer()), 50)).toHaveLength(2);
    // The editor's draft preview renders an unsaved definition.
    const draft = await admin.call('POST', '/api/layouts/preview', {
      definition: PIV_LAYOUT,
      userId: alice.id,
      side: 'back',
    });
    expect(draft.status).toBe(200);
    expect(rasterize(Buffer.from(await draft.arrayBuffer()), 50)).toHaveLength(1);
    expect((await ivan.json('GET', `/api/layouts/${piv.id}/preview?side=middle`)).status).toBe(400);
    expect((await ivan.json('GET', `/api/layouts/${piv.id}/preview?userId=${piv.id}`)).status).toBe(404);
  });
});
