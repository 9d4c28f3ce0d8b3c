import type { Command } from 'commander';
import { buildApp, loggerOptions } from '../http/app.js';
import { migrateStore, openRuntime, startBackground, type Runtime } from '../runtime.js';
import type { DemoAgents } from '../services/demo-agent.js';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { configFrom, withStoreFlags, type CommonFlags } from './options.js';

interface ServeFlags extends CommonFlags {
  demo?: boolean;
}

const line = (s = '') => process.stdout.write(`${s}\n`);

async function run(flags: ServeFlags, embedded: boolean): Promise<void> {
  const config = configFrom(flags);
  if (!embedded && !config.databaseUrl && !process.env.TESSERA_ALLOW_EMBEDDED)
    line(
      'Note: no DATABASE_URL is set, so `tessera serve` uses the embedded database in ' +
        join(config.dataDir, 'db'),
    );
  // Stopping is wired before anything starts, so Ctrl-C or SIGTERM at any moment of start-up (a slow
  // migration or demo agent, a supervisor giving up) closes what is open instead of killing the
  // process mid-write. Each piece is stopped only if it got that far.
  let opening: Promise<Runtime> | null = null;
  let rt: Runtime | null = null;
  let app: Awaited<ReturnType<typeof buildApp>> | null = null;
  let stopBackground: (() => void) | null = null;
  let demoAgents: DemoAgents | null = null;
  let stopping = false;
  const stop = async (signal: string) => {
    // A second Ctrl-C means "now": leave without waiting for the rest to close.
    if (stopping) process.exit(1);
    stopping = true;
    line(`\n${signal}: stopping Tessera…`);
    // Each piece is closed even when an earlier one fails; the store always last. A runtime still
    // opening (migrations) is let finish, then closed, rather than cut mid-write.
    const steps: [string, () => unknown][] = [
      ['background tasks', () => stopBackground?.()],
      ['demo agents', () => demoAgents?.stop()],
      ['HTTP server', () => app?.close()],
      ['store', async () => (rt ?? (await opening?.catch(() => null)))?.close()],
    ];
    let code = 0;
    for (const [what, step] of steps) {
      try {
        await step();
      } catch (e) {
        code = 1;
        line(`Could not close the ${what} cleanly: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  line(`Starting Tessera (data in ${config.dataDir})…`);

  try {
    opening = openRuntime(config);
    rt = await opening;
    const admin = await rt.services.bootstrap.ensureFirstAdmin();
    const demo = embedded && flags.demo !== false ? await rt.services.bootstrap.seedDemo() : null;
    const logLevel = process.env.LOG_LEVEL ?? (embedded ? 'warn' : 'info');
    app = await buildApp(rt, {
      logger: loggerOptions(logLevel),
      sourceMaps: embedded, // `tessera start` only, for debugging the demo
    });
    stopBackground = await startBackground(rt, (err) => app?.log.error({ err }, 'background task failed'));
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const base = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
    // The built-in demo agent (start only): virtual readers with emulated cards, over a real socket.
    if (embedded && flags.demo !== false) {
      try {
        // The user portal's demo hand-over reaches them through the runtime (rt.demoAgents).
        demoAgents = await rt.startDemoAgents(base);
      } catch (e) {
        // Tessera is useful without it (real agents still pair); say why the demo cards are missing.
        if (!stopping)
          line(`Note: the built-in demo agent did not start: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    // Stopped while starting: no banner saying it runs.
    if (stopping) return new Promise<void>(() => undefined);
    printBanner(rt, base, admin, demo, embedded, demoAgents);
    collectStartupGarbage();
  } catch (e) {
    // Stopped during start-up: what failed was closed under it; the stop handler exits.
    if (stopping) return new Promise<void>(() => undefined);
    throw e;
  }
}

/**
 * One full garbage collection once start-up is over. Migrations, route schema compilation, the
 * demo seed and a first start's initdb leave tens of MB of garbage (and PGlite's discarded WASM
 * memory) that V8 only collects under allocation pressure, which an idle server never has; until
 * then it is resident memory (`npm run bench -- memory`). Node offers no call for this without
 * --expose-gc, so the flag is set for a fresh context that hands out gc().
 */
function collectStartupGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

function printDemoAgents(d: DemoAgents) {
  line();
  line('  Demo cards are waiting in virtual readers (built-in demo agent), ready to issue in the browser:');
  for (const a of d.agents)
    line(
      `    for ${a.ownerUsername.padEnd(12)} ${a.cards.map((c) => `${c.reader} (card ${c.serial})`).join(', ')}`,
    );
  line('  A card bound to someone moves to a demo reader of their own when they ask in the user portal.');
  const printer = d.agents.find((a) => a.printer)?.printer;
  if (printer && d.printerFolder) {
    line(
      `  Card printing is on: "${printer.name}" (its encoder is ${printer.encoder}) writes each printed card as a PDF to`,
    );
    line(`    ${d.printerFolder}`);
  }
}

function printBanner(
  rt: Runtime,
  base: string,
  admin: Awaited<ReturnType<Runtime['services']['bootstrap']['ensureFirstAdmin']>>,
  demo: Awaited<ReturnType<Runtime['services']['bootstrap']['seedDemo']>>,
  embedded: boolean,
  demoAgents: DemoAgents | null,
) {
  line();
  line(`Tessera is running${embedded ? ' (embedded: PGlite in ' + join(rt.config.dataDir, 'db') + ')' : ''}`);
  line();
  line(`  Operator portal  ${base}/operator`);
  line(`  User portal      ${base}/portal`);
  line(`  API docs         ${base}/api/docs`);
  // Credentials stay out of the banner: describe is the SMTP URL with user and password masked.
  line(
    rt.mailer
      ? `  E-mail           ${rt.mailer.describe} (initial passwords are e-mailed)`
      : '  E-mail           not configured (TESSERA_SMTP_URL): initial passwords are shown to the operator',
  );
  line();
  if (admin.password) {
    line(`  Sign in as "${admin.username}" with password:  ${admin.password}`);
    line('  (shown only this once; keep it safe. Reset it with `tessera admin reset-password admin`.)');
  } else {
    line(`  Sign in as "${admin.username}" with the password printed at first start`);
    line('  (forgotten? `tessera admin reset-password ' + admin.username + '`).');
  }
  if (demo) {
    line();
    line(
      '  A demo organisation was created (labelled "demo"); its people share the password ' + demo.password,
    );
    for (const p of demo.people) line(`    ${p.username.padEnd(12)} ${p.roles.join(', ')}`);
  }
  if (rt.masterKeyCreated && !rt.config.masterKey)
    line(
      `\n  A new master key was written to ${join(rt.config.dataDir, 'master.key')}: back it up; without it the secrets in the database cannot be read.`,
    );
  if (demoAgents) printDemoAgents(demoAgents);
  line();
  line('  Stop with Ctrl-C; data is kept for the next start.');
}

export function registerServerCommands(program: Command): void {
  withStoreFlags(
    program
      .command('start')
      .description(
        'Start Tessera all-in-one: embedded database in ./data, built-in CA, demo organisation on first start',
      ),
  )
    .option('-p, --port <port>', 'port to listen on (PORT)', process.env.PORT)
    .option('--host <host>', 'address to listen on (HOST)', process.env.HOST)
    .option('--no-demo', 'do not seed the demo organisation')
    .action((flags: ServeFlags) => run(flags, true));

  withStoreFlags(
    program
      .command('serve')
      .description(
        'Start the Tessera server for production: configuration from the environment or --config, PostgreSQL via DATABASE_URL',
      ),
  )
    .option('-p, --port <port>', 'port to listen on (PORT)', process.env.PORT)
    .option('--host <host>', 'address to listen on (HOST)', process.env.HOST)
    .action((flags: ServeFlags) => run({ ...flags, demo: false }, false));

  withStoreFlags(program.command('migrate').description('Apply database migrations and exit')).action(
    async (flags: CommonFlags) => {
      const applied = await migrateStore(configFrom(flags));
      line(
        applied.length
          ? `Applied ${applied.length} migration(s): ${applied.join(', ')}`
          : 'The database is up to date',
      );
    },
  );
}
