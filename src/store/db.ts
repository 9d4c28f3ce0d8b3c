// One small database interface over the two engines Tessera runs on: PGlite (PostgreSQL in WASM,
// the embedded default) and a PostgreSQL server (DATABASE_URL). Repositories speak plain SQL with
// $1-style parameters through it and never learn which engine is underneath.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import v8 from 'node:v8';
import pg from 'pg';

export type Row = Record<string, unknown>;

export interface Queryable {
  /** Runs one statement and returns its rows (an empty array for statements without rows). */
  query<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Runs fn in one transaction: committed when fn resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** PGlite only: the data directory as a tarball (a template for fast test databases). */
  dumpDataDir?(): Promise<Blob>;
  /**
   * PostgreSQL only: the servers sharing this database and schema talk on one NOTIFY channel
   * (services/cluster/bus.ts). PGlite is one process: it has none, and the bus stays in memory.
   */
  notifications?: Notifications;
}

/** Work queued by afterCommit, per open transaction (the Queryable handed to its function). */
const committed = new WeakMap<Queryable, (() => void)[]>();

/**
 * Runs `fn` once the transaction `tx` commits, and never if it rolls back: what the change makes
 * happen outside the database (a word on the bus) waits for the change to be true. `tx` that is no
 * transaction (the pool, an autocommitted statement already run) runs it at once. A failing `fn`
 * is its own: the commit and the others stand.
 */
export function afterCommit(tx: Queryable, fn: () => void): void {
  const queued = committed.get(tx);
  if (queued) queued.push(fn);
  else runQuietly(fn);
}

function runQuietly(fn: () => void): void {
  try {
    fn();
  } catch {
    // The transaction committed; what follows it must not turn that into a failure.
  }
}

/** LISTEN/NOTIFY on the channel of this database's schema (channels are database-wide). */
export interface Notifications {
  /**
   * The channel this database's servers LISTEN on: a statement may pg_notify on it itself (an
   * issuance's end, store/issuance-success-writer.ts), heard at its commit like notify's.
   */
  readonly channel: string;
  /**
   * NOTIFYs each payload, in order, in one statement (one transaction: PostgreSQL delivers a
   * payload repeated within it only once, so callers send distinct ones). A payload is at most
   * 8000 bytes.
   */
  notify(payloads: readonly string[]): Promise<void>;
  /**
   * LISTENs on a connection of its own, reconnecting when it drops; `onReconnect` is called after
   * a reconnection, since what was said meanwhile was lost (listeners re-read). Returns stop.
   */
  listen(onPayload: (payload: string) => void, onReconnect: () => void): Promise<() => Promise<void>>;
}

export interface OpenDbOptions {
  /** postgres://… selects a PostgreSQL server; otherwise PGlite is used. */
  databaseUrl?: string;
  /** PGlite data directory; omitted means in memory (tests). */
  dataDir?: string;
  /** PostgreSQL schema to use (created if absent): lets test runs share one database. */
  schema?: string;
  /** Pool size for PostgreSQL. */
  poolSize?: number;
  /** In-memory PGlite started from a dumped data directory instead of a fresh initdb (tests). */
  pgliteTemplate?: Blob;
}

/**
 * A failed statement, as it may be logged and shown to an operator: PostgreSQL's error code, the
 * names it points at (constraint, table, column) and the statement's text with its placeholders —
 * never the parameters bound to them. Both drivers attach the parameters, the details ("Key
 * (username)=(alice)") and sometimes the value itself to their errors, and a logged error once
 * printed a directory's encrypted bind password that way.
 */
export class QueryError extends Error {
  override readonly name = 'QueryError';
  /** PostgreSQL's SQLSTATE, e.g. 23505 for a unique violation. */
  readonly code: string | undefined;
  readonly constraint: string | undefined;
  readonly table: string | undefined;
  readonly column: string | undefined;
  /** The statement with its $n placeholders, whitespace collapsed, cut at 300 characters. */
  readonly statement: string;

  constructor(raw: unknown, sql: string) {
    const e = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const text = (k: string) => (typeof e[k] === 'string' ? (e[k] as string) : undefined);
    super(withoutValues(text('message') ?? String(raw)));
    this.code = text('code');
    this.constraint = text('constraint');
    this.table = text('table');
    this.column = text('column');
    const flat = sql.replace(/\s+/g, ' ').trim();
    this.statement = flat.length > 300 ? `${flat.slice(0, 300)}…` : flat;
  }
}

/**
 * PostgreSQL quotes the offending value at the end of a message ('invalid input syntax for type
 * uuid: "…"') and names the bytes it could not decode; identifiers it quotes mid-sentence stay.
 */
const withoutValues = (message: string) =>
  message.replace(/: ".*"$/s, ': "[value]"').replace(/(0x[0-9a-f]{2}\s*)+$/i, '[bytes]');

/** Runs one driver call; its failure becomes a QueryError. */
async function guarded<T>(sql: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw new QueryError(err, sql);
  }
}

export async function openDb(opts: OpenDbOptions = {}): Promise<Db> {
  if (opts.databaseUrl) return openPostgres(opts.databaseUrl, opts.schema, opts.poolSize ?? 10);
  return openPglite(opts.dataDir, opts.pgliteTemplate);
}

async function openPglite(dataDir?: string, template?: Blob): Promise<Db> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  // PostgreSQL compiled to WebAssembly is a large module: by default V8 keeps a baseline
  // (Liftoff) and an optimised (TurboFan) copy of its machine code, ~80 MB together at rest.
  // Baseline only keeps `tessera start` near 230 MB instead of 310 MB, and was not slower on the
  // migrations and queries measured (the optimising compiler's own work is saved).
  // docs/pki.md "Idle memory" has the figures.
  v8.setFlagsFromString('--liftoff-only');
  // Loaded only for the embedded engine: `tessera serve` on PostgreSQL never pays for it.
  const { PGlite } = await import('@electric-sql/pglite');
  // PostgreSQL's default 128 MB of shared buffers are sized for a server shared by many backends;
  // here one WASM backend serves a small database from the OS's file cache, and WASM memory, once
  // grown, is never given back: 16 MB keep `tessera start` ~100 MB smaller at rest.
  const startParams = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'];
  const open = () =>
    template && !dataDir
      ? PGlite.create({ loadDataDir: template, startParams })
      : PGlite.create(dataDir, { startParams });
  const fresh = !!dataDir && !existsSync(join(dataDir, 'PG_VERSION'));
  let lite = await open();
  if (fresh) {
    // initdb ran in this instance and left its memory grown (~150 MB held for good): reopen the
    // new data directory so the process keeps only what serving needs.
    await lite.close();
    lite = await open();
  }
  const wrap = (q: Pick<PGlite, 'query' | 'exec'>): Queryable => ({
    async query<T extends Row>(sql: string, params: readonly unknown[] = []) {
      const res = await guarded(sql, () => q.query<T>(sql, params as unknown[]));
      return res.rows;
    },
    async exec(sql: string) {
      await guarded(sql, () => q.exec(sql));
    },
  });
  const base = wrap(lite);
  return {
    kind: 'pglite',
    ...base,
    transaction: async (fn) => {
      const queued: (() => void)[] = [];
      const out = await lite.transaction((raw) => {
        const tx = wrap(raw);
        committed.set(tx, queued);
        return fn(tx);
      });
      for (const q of queued) runQuietly(q);
      return out;
    },
    close: () => lite.close(),
    dumpDataDir: () => lite.dumpDataDir('none'),
  };
}

// int8 (bigint, count(*)) arrives as text from node-postgres; PGlite gives numbers. Tessera's
// 64-bit values (sequence numbers, counts) stay far below 2^53, so both engines return numbers.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => v);

async function openPostgres(url: string, schema: string | undefined, max: number): Promise<Db> {
  if (schema && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema name: ${schema}`);
  if (schema) {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } finally {
      await admin.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: url,
    max,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  // A pool error (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  const channel = `tessera_${schema ?? (await currentSchema(pool))}`.slice(0, 63);
  const wrap = (c: pg.Pool | pg.PoolClient): Queryable => ({
    async query<T extends Row>(sql: string, params: readonly unknown[] = []) {
      const res = await guarded(sql, () => c.query(sql, params as unknown[]));
      return res.rows as T[];
    },
    async exec(sql: string) {
      await guarded(sql, () => c.query(sql));
    },
  });
  return {
    kind: 'postgres',
    ...wrap(pool),
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await guarded('BEGIN', () => client.query('BEGIN'));
        const tx = wrap(client);
        const queued: (() => void)[] = [];
        committed.set(tx, queued);
        const out = await fn(tx);
        await guarded('COMMIT', () => client.query('COMMIT'));
        for (const q of queued) runQuietly(q);
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
    notifications: {
      channel,
      notify: async (payloads) => {
        // unnest yields the array in order, and each row's pg_notify is called as it is produced.
        await guarded('NOTIFY', () =>
          pool.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [channel, payloads]),
        );
      },
      listen: (onPayload, onReconnect) => listenOn(url, channel, onPayload, onReconnect),
    },
  };
}

async function currentSchema(pool: pg.Pool): Promise<string> {
  const r = await pool.query<{ s: string }>('SELECT current_schema() AS s');
  return r.rows[0]?.s ?? 'public';
}

/** A LISTEN connection that comes back after a drop (PostgreSQL restarted, the network blinked). */
async function listenOn(
  url: string,
  channel: string,
  onPayload: (payload: string) => void,
  onReconnect: () => void,
): Promise<() => Promise<void>> {
  let client: pg.Client | null = null;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  const open = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url });
    c.on('notification', (m) => {
      if (m.channel === channel && m.payload !== undefined) onPayload(m.payload);
    });
    c.on('error', () => undefined);
    c.on('end', () => {
      if (stopped || client !== c) return;
      client = null;
      schedule();
    });
    await c.connect();
    // The channel is an identifier made of the schema name (checked by openPostgres).
    await c.query(`LISTEN "${channel}"`);
    client = c;
  };
  const schedule = () => {
    retry = setTimeout(() => {
      open().then(onReconnect, () => (stopped ? undefined : schedule()));
    }, 1000);
    retry.unref();
  };
  await open();
  return async () => {
    stopped = true;
    clearTimeout(retry);
    await client?.end().catch(() => undefined);
  };
}

/** Resolves when the database answers a trivial query; rejects with the driver's error otherwise. */
export async function ping(db: Queryable): Promise<void> {
  await db.query('SELECT 1');
}
