import type { Command } from 'commander';
import { ROLES, type Role } from '../domain/permissions.js';
import { openRuntime, type Runtime } from '../runtime.js';
import { systemActor } from '../services/context.js';
import { configFrom, withStoreFlags, type CommonFlags } from './options.js';

const line = (s = '') => process.stdout.write(`${s}\n`);

async function withRuntime<T>(flags: CommonFlags, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const rt = await openRuntime(configFrom(flags));
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

interface CreateUserFlags extends CommonFlags {
  name?: string;
  email?: string;
  role: string[];
  password?: boolean;
}

export function registerAdminCommands(program: Command): void {
  const admin = program.command('admin').description('Administration from the command line');

  withStoreFlags(
    admin
      .command('create-user <username>')
      .description('Create a person; with --password a random password is printed once so they can sign in'),
  )
    .option('--name <displayName>', 'display name (defaults to the username)')
    .option('--email <email>', 'e-mail address')
    .option(
      '--role <role>',
      `a role (repeatable): ${ROLES.join(', ')}`,
      (v: string, acc: string[]) => [...acc, v],
      [],
    )
    .option('--password', 'give them a random password, printed once')
    .action(async (username: string, flags: CreateUserFlags) => {
      const roles = flags.role.length ? flags.role : ['user'];
      const bad = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
      if (bad.length) throw new Error(`unknown role(s) ${bad.join(', ')}; use ${ROLES.join(', ')}`);
      await withRuntime(flags, async (rt) => {
        const input = {
          username,
          displayName: flags.name ?? username,
          email: flags.email ?? null,
          roles: roles as Role[],
        };
        const actor = systemActor('cli');
        const { user: u, password } = flags.password
          ? await rt.services.users.createWithPassword(actor, input)
          : { user: await rt.services.users.create(actor, input), password: undefined };
        line(`Created ${u.username} (${u.id}) with role(s) ${u.roles.join(', ')}`);
        if (password) line(`Password (shown once): ${password}`);
      });
    });

  withStoreFlags(
    admin
      .command('reset-password <username>')
      .description('Set a new random password for a person and print it once'),
  ).action(async (username: string, flags: CommonFlags) => {
    await withRuntime(flags, async (rt) => {
      const { user, password } = await rt.services.users.resetPassword(systemActor('cli'), username);
      line(`New password for ${user.username} (shown once): ${password}`);
    });
  });

  const audit = program.command('audit').description('The audit log');
  withStoreFlags(
    audit
      .command('verify')
      .description('Check the audit hash chain; exits 1 and names the first broken link'),
  ).action(async (flags: CommonFlags) => {
    await withRuntime(flags, async (rt) => {
      const r = await rt.services.audit.verify();
      if (r.ok) {
        line(`Audit log intact: ${r.checked} event(s) checked, head ${r.head.slice(0, 16)}…`);
      } else {
        line(
          `Audit log BROKEN at event ${r.brokenAt}: ${r.reason} (${r.checked} event(s) before it are intact)`,
        );
        process.exitCode = 1;
      }
    });
  });
}
