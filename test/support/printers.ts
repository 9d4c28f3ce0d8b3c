// Real printers for printing tests, on loopback, on free ports, stopped by their PIDs after:
// a private CUPS (file-backed queue, docs in /work/shared/RECIPES.md: a pass-through filter, since a
// raw queue writes nothing) and ippeveprinter (an IPP Everywhere printer keeping its jobs with -k;
// it needs Avahi and a system D-Bus, started here when none runs and stopped after).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cupsQueues, printerStatus } from '../../src/print/ipp-client.js';
import { freePort } from './server.js';

export const cupsAvailable = existsSync('/usr/sbin/cupsd') && existsSync('/usr/sbin/lpadmin');
export const ippeveAvailable =
  existsSync('/usr/sbin/ippeveprinter') &&
  existsSync('/usr/sbin/avahi-daemon') &&
  existsSync('/usr/bin/dbus-daemon');

async function waitReady(
  uri: string,
  proc: ChildProcess,
  log: () => string,
  probe: (uri: string) => Promise<unknown> = (u) => printerStatus(u, 1000),
): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${uri}: the printer exited (${proc.exitCode}): ${log()}`);
    try {
      await probe(uri);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`${uri} did not answer IPP within 20 s: ${log()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function stopProc(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
  if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
}

export interface CupsPrinter {
  /** ipp://127.0.0.1:PORT/printers/card */
  uri: string;
  server: string;
  /** Where the queue's file device writes each job (overwritten per job). */
  output: string;
  disable(): void;
  enable(): void;
  stop(): Promise<void>;
}

export async function startCups(queue = 'card'): Promise<CupsPrinter> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-cups-'));
  const port = await freePort();
  for (const d of ['spool', 'cache', 'state', 'log', 'ppd', 'tmp']) mkdirSync(join(dir, d));
  const filter = join(dir, 'passthru');
  writeFileSync(filter, '#!/bin/sh\nif [ -n "$6" ]; then exec cat "$6"; else exec cat; fi\n');
  chmodSync(filter, 0o755);
  chmodSync(dir, 0o755);
  writeFileSync(
    join(dir, 'cupsd.conf'),
    [
      `Listen 127.0.0.1:${port}`,
      `Listen ${dir}/cups.sock`,
      'Browsing No',
      'WebInterface No',
      'LogLevel warn',
      'DefaultAuthType None',
      '<Location />',
      '  Order allow,deny',
      '  Allow localhost',
      '  Allow 127.0.0.1',
      '</Location>',
      '<Policy default>',
      '  <Limit All>',
      '    Order deny,allow',
      '  </Limit>',
      '</Policy>',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'cups-files.conf'),
    [
      'FileDevice Yes',
      `ServerRoot ${dir}`,
      `RequestRoot ${dir}/spool`,
      `TempDir ${dir}/tmp`,
      `CacheDir ${dir}/cache`,
      `StateDir ${dir}/state`,
      `ErrorLog ${dir}/log/error_log`,
      `AccessLog ${dir}/log/access_log`,
      `PageLog ${dir}/log/page_log`,
      'SystemGroup root lpadmin',
      '',
    ].join('\n'),
  );
  const ppd = join(dir, 'card.ppd');
  writeFileSync(
    ppd,
    [
      '*PPD-Adobe: "4.3"',
      '*FormatVersion: "4.3"',
      '*FileVersion: "1.0"',
      '*LanguageVersion: English',
      '*LanguageEncoding: ISOLatin1',
      '*PCFileName: "CARD.PPD"',
      '*Manufacturer: "Tessera"',
      '*Product: "(Test card printer)"',
      '*ModelName: "Tessera test card printer"',
      '*ShortNickName: "Tessera card"',
      '*NickName: "Tessera test card printer"',
      '*PSVersion: "(3010.000) 0"',
      '*LanguageLevel: "3"',
      '*ColorDevice: True',
      '*DefaultColorSpace: RGB',
      '*FileSystem: False',
      '*Throughput: "1"',
      '*LandscapeOrientation: Plus90',
      '*TTRasterizer: Type42',
      `*cupsFilter2: "application/pdf application/pdf 0 ${filter}"`,
      '*OpenUI *PageSize: PickOne',
      '*DefaultPageSize: CR80',
      '*PageSize CR80/CR80: "<</PageSize[153 243]>>setpagedevice"',
      '*CloseUI: *PageSize',
      '*DefaultImageableArea: CR80',
      '*ImageableArea CR80/CR80: "0 0 153 243"',
      '*DefaultPaperDimension: CR80',
      '*PaperDimension CR80/CR80: "153 243"',
      '',
    ].join('\n'),
  );
  const output = join(dir, 'printed.pdf');
  let log = '';
  const proc = spawn(
    '/usr/sbin/cupsd',
    ['-f', '-c', join(dir, 'cupsd.conf'), '-s', join(dir, 'cups-files.conf')],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const server = `ipp://127.0.0.1:${port}`;
  const env = { ...process.env, CUPS_SERVER: `${dir}/cups.sock` };
  const uri = `${server}/printers/${queue}`;
  try {
    // An empty CUPS answers CUPS-Get-Printers with not-found: any IPP answer means it is up.
    await waitReady(
      server,
      proc,
      () => log + readLog(dir),
      (u) =>
        cupsQueues(u, 1000).catch((e: { code?: string }) => {
          if (e.code !== 'printer_refused') throw e;
        }),
    );
    execFileSync('/usr/sbin/lpadmin', ['-p', queue, '-E', '-v', `file://${output}`, '-P', ppd], { env });
    await waitReady(uri, proc, () => log + readLog(dir));
  } catch (e) {
    await stopProc(proc);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    uri,
    server,
    output,
    disable: () => void execFileSync('/usr/sbin/cupsdisable', [queue], { env }),
    enable: () => void execFileSync('/usr/sbin/cupsenable', [queue], { env }),
    stop: async () => {
      await stopProc(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const readLog = (dir: string) => {
  try {
    return readFileSync(join(dir, 'log', 'error_log'), 'utf8').slice(-2000);
  } catch {
    return '';
  }
};

export interface IppEvePrinter {
  uri: string;
  /** The PDFs it received, oldest first. */
  jobs(): Buffer[];
  kill(): void;
  /** Back on the same port and spool (after kill: the printer came back online). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** D-Bus and Avahi, started once per process when none runs, stopped by stopAvahi (PIDs). */
let started: { dbus: number | null; avahi: number | null } | null = null;

/**
 * Test files run in parallel processes, each maybe with its ippeveprinter: every process that needs
 * Avahi leaves its PID here, and the last one to finish stops what was started (a file that ends
 * first must not take Avahi away from another's printer).
 */
const AVAHI_USERS = join(tmpdir(), 'tessera-avahi-users');
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
function otherAvahiUsers(): number[] {
  let names: string[] = [];
  try {
    names = readdirSync(AVAHI_USERS);
  } catch {
    return [];
  }
  return names
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((pid) => pid !== process.pid && alive(pid));
}

function ensureAvahi(): void {
  mkdirSync(AVAHI_USERS, { recursive: true });
  writeFileSync(join(AVAHI_USERS, String(process.pid)), '');
  if (started) return;
  started = { dbus: null, avahi: null };
  const running = (pidFile: string) => {
    try {
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!running('/run/dbus/pid')) {
    mkdirSync('/run/dbus', { recursive: true });
    rmSync('/run/dbus/pid', { force: true });
    const out = execFileSync('/usr/bin/dbus-daemon', ['--system', '--fork', '--print-pid']).toString().trim();
    started.dbus = Number(out);
  }
  if (!running('/run/avahi-daemon/pid')) {
    rmSync('/run/avahi-daemon/pid', { force: true });
    execFileSync('/usr/sbin/avahi-daemon', ['--no-drop-root', '--no-chroot', '-D']);
    started.avahi = Number(readFileSync('/run/avahi-daemon/pid', 'utf8').trim());
  }
  if (started.dbus || started.avahi)
    writeFileSync(join(AVAHI_USERS, 'started.json'), JSON.stringify(started));
}

/** A process's command name ('' when it is gone). */
function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Stops what ensureAvahi started (nothing someone else runs). */
export function stopAvahi(): void {
  rmSync(join(AVAHI_USERS, String(process.pid)), { force: true });
  // Another test process still prints: it stops them when it ends (they may be its own, too).
  if (otherAvahiUsers().length > 0) return;
  let shared: typeof started = null;
  try {
    shared = JSON.parse(readFileSync(join(AVAHI_USERS, 'started.json'), 'utf8')) as typeof started;
    rmSync(join(AVAHI_USERS, 'started.json'), { force: true });
  } catch {
    // none recorded
  }
  const daemons: [number | null | undefined, string][] = [
    [started?.avahi, 'avahi-daemon'],
    [shared?.avahi, 'avahi-daemon'],
    [started?.dbus, 'dbus-daemon'],
    [shared?.dbus, 'dbus-daemon'],
  ];
  for (const [pid, name] of daemons)
    // Another process may have stopped it already and its PID gone to someone else's process (a
    // test's Chromium was killed that way): only the daemon itself is stopped.
    if (pid && commandOf(pid).startsWith(name))
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
  started = null;
}

export async function startIppEvePrinter(name = 'Tessera Card Printer'): Promise<IppEvePrinter> {
  ensureAvahi();
  const dir = mkdtempSync(join(tmpdir(), 'tessera-ippeve-'));
  const port = await freePort();
  const uri = `ipp://localhost:${port}/ipp/print`;
  let log = '';
  const run = async (): Promise<ChildProcess> => {
    const p = spawn(
      '/usr/sbin/ippeveprinter',
      ['-k', '-d', dir, '-f', 'application/pdf', '-p', String(port), '-n', 'localhost', name],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    p.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    try {
      await waitReady(uri, p, () => log.slice(-2000));
    } catch (e) {
      await stopProc(p);
      throw e;
    }
    return p;
  };
  let proc: ChildProcess;
  try {
    proc = await run();
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    uri,
    jobs: () =>
      readdirSync(dir)
        .filter((f) => f.endsWith('.pdf'))
        .sort((a, b) => parseInt(a, 10) - parseInt(b, 10))
        .map((f) => readFileSync(join(dir, f))),
    kill: () => void proc.kill('SIGKILL'),
    restart: async () => {
      await stopProc(proc);
      proc = await run();
    },
    stop: async () => {
      await stopProc(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts several peers at once and returns them all, or — when one fails — stops those that did
 * start before throwing: a failed beforeAll never assigns its variables, so afterAll could not stop
 * them and their processes would outlive the test run.
 */
export async function startAll<T extends readonly unknown[]>(
  starts: { [K in keyof T]: () => Promise<T[K]> },
  stop: (started: unknown) => Promise<unknown> | unknown,
): Promise<T> {
  const settled = await Promise.allSettled(starts.map((s) => s()));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.allSettled(
      settled.map(async (r) => (r.status === 'fulfilled' ? stop(r.value) : undefined)),
    );
    throw failed.reason;
  }
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** stop() or close() of whatever startAll started (a printer or a test server). */
export async function stopPeer(peer: unknown): Promise<void> {
  const p = peer as { stop?: () => Promise<unknown>; close?: () => Promise<unknown> };
  await (p.stop ?? p.close)?.call(p);
}
