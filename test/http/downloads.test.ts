// The downloads contract: GET /api/downloads lists only files named as the agent build names them,
// each with the SHA-256 of its bytes (sha256sum is the judge), recomputed when the file is rebuilt;
// GET /downloads/:file serves exactly those bytes and their checksum file, to anyone (no session),
// and nothing else in the directory. With nothing built the list is empty and links answer 404.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { parseAgentFile } from '../../src/services/agent-downloads.js';
import { startTestServer, type TestServer } from '../support/server.js';

let dir: string;
let server: TestServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-downloads-'));
  server = await startTestServer({ config: { downloadsDir: dir } });
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const sha256sum = (file: string) => execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0];
type Listing = { items: { file: string; os: string; arch: string; size: number; sha256: string }[] };
const list = async () => (await (await fetch(`${server.url}/api/downloads`)).json()) as Listing;

describe('agent downloads', () => {
  it('lists nothing and links nowhere while nothing is built', async () => {
    expect(await list()).toEqual({ items: [] });
    const r = await fetch(`${server.url}/downloads/tessera-agent-linux-x64`);
    expect(r.status).toBe(404);
    const body = (await r.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('not_found');
    expect(body.error.message).toMatch(/no download named tessera-agent-linux-x64.*GET \/api\/downloads/);
  });

  it('lists the agent executables with the SHA-256 of their bytes, and nothing else', async () => {
    writeFileSync(join(dir, 'tessera-agent-linux-x64'), randomBytes(300_000));
    writeFileSync(join(dir, 'tessera-agent-windows-x64.exe'), randomBytes(1000));
    // Not agent executables: never listed, never served.
    writeFileSync(join(dir, 'secret.txt'), 'not for download');
    writeFileSync(join(dir, 'tessera-agent-linux-x64.exe'), 'a Linux build is never .exe');
    writeFileSync(join(dir, 'tessera-agent-windows-x64'), 'a Windows build always is');
    mkdirSync(join(dir, 'tessera-agent-macos-arm64'));

    const { items } = await list();
    expect(items.map((i) => [i.file, i.os, i.arch, i.size])).toEqual([
      ['tessera-agent-linux-x64', 'linux', 'x64', 300_000],
      ['tessera-agent-windows-x64.exe', 'windows', 'x64', 1000],
    ]);
    for (const i of items) expect(i.sha256).toBe(sha256sum(join(dir, i.file)));
  });

  it('serves the bytes and a checksum file sha256sum -c accepts, without a session', async () => {
    const r = await fetch(`${server.url}/downloads/tessera-agent-linux-x64`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/octet-stream');
    expect(r.headers.get('content-length')).toBe('300000');
    expect(r.headers.get('content-disposition')).toBe('attachment; filename="tessera-agent-linux-x64"');
    expect(r.headers.get('cache-control')).toBe('no-cache');
    const got = mkdtempSync(join(tmpdir(), 'tessera-downloaded-'));
    try {
      writeFileSync(join(got, 'tessera-agent-linux-x64'), Buffer.from(await r.arrayBuffer()));
      const sum = await fetch(`${server.url}/downloads/tessera-agent-linux-x64.sha256`);
      expect(sum.headers.get('content-type')).toMatch(/^text\/plain/);
      writeFileSync(join(got, 'check.sha256'), await sum.text());
      expect(execFileSync('sha256sum', ['-c', 'check.sha256'], { cwd: got, encoding: 'utf8' })).toBe(
        'tessera-agent-linux-x64: OK\n',
      );
    } finally {
      rmSync(got, { recursive: true, force: true });
    }
    const head = await fetch(`${server.url}/downloads/tessera-agent-windows-x64.exe`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('1000');
  });

  it('refuses every other file, however it is named', async () => {
    for (const path of [
      'secret.txt',
      'tessera-agent-linux-x64.exe',
      'tessera-agent-windows-x64',
      'tessera-agent-macos-arm64',
      'tessera-agent-macos-arm64.sha256',
      '..%2Fsecret.txt',
      'tessera-agent-linux-x64%2F..%2F..%2Fsecret.txt',
      'secret.txt.sha256',
    ]) {
      const r = await fetch(`${server.url}/downloads/${path}`);
      expect(r.status, path).toBe(404);
      expect(await r.text(), path).not.toContain('not for download');
    }
    // Fastify refuses a path parameter over 100 characters before the route sees it.
    expect((await fetch(`${server.url}/downloads/${'x'.repeat(101)}`)).status).toBe(414);
  });

  it('hashes a rebuilt file again', async () => {
    const file = join(dir, 'tessera-agent-linux-x64');
    writeFileSync(file, randomBytes(123_456));
    const item = (await list()).items.find((i) => i.file === 'tessera-agent-linux-x64')!;
    expect(item.size).toBe(123_456);
    expect(item.sha256).toBe(sha256sum(file));
    expect(await (await fetch(`${server.url}/downloads/tessera-agent-linux-x64.sha256`)).text()).toBe(
      `${item.sha256}  tessera-agent-linux-x64\n`,
    );
  });

  it('names builds only as build:agent does', () => {
    expect(parseAgentFile('tessera-agent-macos-arm64')).toEqual({ os: 'macos', arch: 'arm64' });
    expect(parseAgentFile('tessera-agent-windows-arm64.exe')).toEqual({ os: 'windows', arch: 'arm64' });
    for (const bad of [
      'tessera-agent-linux-ia32',
      'tessera-agent-macos-x64.exe',
      'x-tessera-agent-linux-x64',
    ])
      expect(parseAgentFile(bad), bad).toBeNull();
  });

  it('refuses a downloads directory that does not exist', () => {
    expect(() => loadConfig({}, { TESSERA_DOWNLOADS_DIR: join(dir, 'nowhere') })).toThrow(
      /TESSERA_DOWNLOADS_DIR points at .*nowhere, which does not exist/,
    );
  });
});
