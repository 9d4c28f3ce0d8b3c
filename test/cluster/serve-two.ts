// Two real `tessera serve` processes (the built CLI, dist/) on one PostgreSQL schema of their own,
// with short leases, for the tests that prove what crosses between servers. The caller talks to
// each through its URL; `stop` ends both (and any process it registered) and drops the schema.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startProcess, type RunningCli } from '../support/cli.js';
import { PG_URL, dropSchema, testSchemaName } from '../support/db.js';
import { freePort } from '../support/server.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
export const MAIN = join(root, 'dist/cli/main.js');

export type ServerName = 'a' | 'b';

export interface TwoServers {
  dir: string;
  sql: pg.Client;
  adminPassword: string;
  url(name: ServerName): string;
  /** A process to stop with the servers (an agent). */
  keep(p: RunningCli): RunningCli;
  /** The server's output so far (for a failing assertion's message). */
  output(name: ServerName): string;
  /** Kills the server as a crash would, then (once `whileDown` is done) starts it again on its port. */
  restart(name: ServerName, whileDown?: () => Promise<void>): Promise<void>;
  /** Sends `signal` to the server process (SIGSTOP: it hangs, its sockets stay open; SIGCONT). */
  signal(name: ServerName, signal: NodeJS.Signals): void;
  stop(): Promise<void>;
}

/**
 * `only: ['a']` starts server A alone, for the tests that need one real server to restart; `env`
 * adds variables to one server's environment (TESSERA_AGENT_HEARTBEAT_SECONDS).
 */
export async function startTwoServers(
  prefix: string,
  opts: { only?: ServerName[]; env?: Partial<Record<ServerName, Record<string, string>>> } = {},
): Promise<TwoServers> {
  if (!existsSync(MAIN)) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  const schema = testSchemaName(prefix);
  const dir = mkdtempSync(join(tmpdir(), `tessera-${prefix}-`));
  const masterKey = randomBytes(32).toString('base64');
  const dbUrl = `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const sql = new pg.Client({ connectionString: dbUrl });
  await sql.connect();
  await sql.query(`CREATE SCHEMA ${schema}`);
  const ports = { a: await freePort(), b: await freePort() };
  const url = (name: ServerName) => `http://127.0.0.1:${ports[name]}`;
  const procs: RunningCli[] = [];
  const servers: Partial<Record<ServerName, RunningCli>> = {};
  const serve = (name: ServerName): RunningCli => {
    const p = startProcess(process.execPath, [MAIN, 'serve'], {
      env: {
        ...process.env,
        DATABASE_URL: dbUrl,
        TESSERA_MASTER_KEY: masterKey,
        TESSERA_DATA_DIR: join(dir, name),
        TESSERA_INSTANCE_LEASE_SECONDS: '5',
        TESSERA_INSTANCE_NAME: `server-${name}`,
        HOST: '127.0.0.1',
        PORT: String(ports[name]),
        TESSERA_EXTERNAL_URL: url('a'),
        LOG_LEVEL: 'warn',
        ...opts.env?.[name],
      },
    });
    servers[name] = p;
    procs.push(p);
    return p;
  };
  const stop = async () => {
    // A stopped server would not end on SIGTERM until continued.
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGCONT');
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.stop()));
    await sql.end().catch(() => undefined);
    await dropSchema(schema);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const a = serve('a');
    const [, password] = await a.waitFor(/with password:\s+(\S+)/);
    await a.waitFor(/Tessera is running/);
    if (!opts.only || opts.only.includes('b')) await serve('b').waitFor(/Tessera is running/);
    return {
      dir,
      sql,
      adminPassword: password!,
      url,
      keep: (p) => (procs.push(p), p),
      output: (name) => servers[name]?.output() ?? '',
      restart: async (name, whileDown) => {
        const old = servers[name]!;
        old.child.kill('SIGKILL');
        await old.stop();
        await whileDown?.();
        await serve(name).waitFor(/Tessera is running/);
      },
      signal: (name, signal) => void servers[name]!.child.kill(signal),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
