// One pcscd for the whole machine: its socket (/run/pcscd/pcscd.comm) and the vpcd ports
// (35963/35964) are fixed, while vitest runs test files in parallel processes and other areas'
// tests need pcscd too. acquirePcscd() takes a cross-process lock (an atomic mkdir in the temp
// directory holding the owner's PID; a lock whose owner died is taken over), reuses a pcscd that is
// already running or starts `pcscd -f`, and on release stops the pcscd it started. A pcscd counts
// only once vpcd listens on its port: one started while an earlier pcscd (whose test process died
// while stopping it) still held the port answers on its socket but has no virtual reader.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PCSCD_SOCKET = '/run/pcscd/pcscd.comm';
export const VPCD_DRIVER = '/usr/lib/pcsc/drivers/serial/libifdvpcd.so';
const LOCK_DIR = join(tmpdir(), 'tessera-pcscd.lock');

export interface PcscdLease {
  /** True when this lease started pcscd (and will stop it). */
  started: boolean;
  logFile: string | undefined;
  release(): Promise<void>;
}

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Why pcscd + vpcd tests cannot run here, or undefined when they can. */
export function pcscdMissing(): string | undefined {
  if (!onPath('pcscd'))
    return 'pcscd is not installed (apt-get install pcscd; scripts/install-peers.sh does it)';
  if (!existsSync(VPCD_DRIVER))
    return `the vsmartcard vpcd driver is missing (${VPCD_DRIVER}; apt-get install vsmartcard-vpcd)`;
  if (!existsSync('/etc/reader.conf.d/vpcd')) return '/etc/reader.conf.d/vpcd is missing (vsmartcard-vpcd)';
  return undefined;
}

/** Why a named tool is unusable, or undefined. */
export function toolMissing(...tools: string[]): string | undefined {
  const missing = tools.filter((t) => !onPath(t));
  return missing.length
    ? `${missing.join(', ')} not installed (scripts/install-peers.sh installs them)`
    : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** vpcd's port, from the CHANNELID of /etc/reader.conf.d/vpcd (0x8C7B = 35963 by default). */
function vpcdPort(): number {
  try {
    const m = /^\s*CHANNELID\s+(0x[0-9a-f]+|\d+)/im.exec(readFileSync('/etc/reader.conf.d/vpcd', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    // Not readable: the default.
  }
  return 35963;
}

/** Whether some process listens on the TCP port (read from /proc: connecting would look like a card to vpcd). */
function listening(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[1]?.endsWith(`:${hex}`) && f[3] === '0A') return true;
    }
  }
  return false;
}

async function until(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

async function takeLock(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      writeFileSync(join(LOCK_DIR, 'owner'), String(process.pid));
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let owner = NaN;
    try {
      owner = Number(readFileSync(join(LOCK_DIR, 'owner'), 'utf8'));
    } catch {
      // The owner is between mkdir and writing its PID; give it a moment.
    }
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) {
      // Stale: its owner died without releasing. Take it over.
      rmSync(LOCK_DIR, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out after ${timeoutMs} ms waiting for the pcscd lock ${LOCK_DIR} (held by PID ${owner})`,
      );
    }
    await sleep(200);
  }
}

let held: { count: number; child: ChildProcess | undefined; logFile: string | undefined } | undefined;

/** Takes the machine-wide pcscd lock and makes sure pcscd runs. Hold it for a whole test file. */
export async function acquirePcscd(opts: { timeoutMs?: number } = {}): Promise<PcscdLease> {
  if (held) {
    held.count += 1;
  } else {
    await takeLock(opts.timeoutMs ?? 600_000);
    held = { count: 1, child: undefined, logFile: undefined };
    try {
      await ensurePcscd();
    } catch (e) {
      await releaseLock();
      throw e;
    }
  }
  let released = false;
  return {
    started: held.child !== undefined,
    logFile: held.logFile,
    release: async () => {
      if (released || !held) return;
      released = true;
      held.count -= 1;
      if (held.count === 0) await releaseLock();
    },
  };
}

/** With the lock held: a running pcscd whose vpcd listens, or one started here (tried a few times). */
async function ensurePcscd(): Promise<void> {
  const port = vpcdPort();
  if (await socketAnswers(PCSCD_SOCKET)) {
    if (await until(() => listening(port), 2000)) return;
    // A pcscd without its virtual reader, left by a test process that died: nobody holds the lock,
    // so nobody uses it. Stop it and start a sound one.
    spawnSync('pkill', ['-x', 'pcscd'], { stdio: 'ignore' });
    await until(async () => !(await socketAnswers(PCSCD_SOCKET)) && !listening(port), 10_000);
  }
  const logFile = join(tmpdir(), `tessera-pcscd-${process.pid}.log`);
  held!.logFile = logFile;
  const firstStart = Date.now();
  for (let attempt = 1; ; attempt++) {
    const out = openSync(logFile, 'a');
    const child = spawn('pcscd', ['-f'], { stdio: ['ignore', out, out], detached: false });
    held!.child = child;
    const up = await until(() => child.exitCode !== null || socketAnswers(PCSCD_SOCKET), 15_000);
    if (child.exitCode !== null)
      throw new Error(`pcscd exited with ${child.exitCode} at start; see ${logFile}`);
    if (!up) {
      await stopChild(child);
      throw new Error(`pcscd did not open ${PCSCD_SOCKET} within 15 s; see ${logFile}`);
    }
    // The vpcd driver opens its port just after the socket appears; if the port was still held (a
    // pcscd on its way out, or the last connection's TIME_WAIT, up to 60 s: CI saw "Address already
    // in use" three starts in a row), this one has no reader: stop it and try again, for 75 s.
    if (await until(() => listening(port), 3000)) return;
    await stopChild(child);
    held!.child = undefined;
    if (Date.now() - firstStart > 75_000)
      throw new Error(
        `vpcd did not listen on port ${port} after ${attempt} starts of pcscd in 75 s; see ${logFile}`,
      );
    await sleep(2000);
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(5000)]);
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await exited;
  }
}

async function releaseLock(): Promise<void> {
  const child = held?.child;
  held = undefined;
  if (child) await stopChild(child);
  rmSync(LOCK_DIR, { recursive: true, force: true });
}
