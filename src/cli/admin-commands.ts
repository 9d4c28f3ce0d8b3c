import type { Command } from 'commander';
import { ROLES, type Role } from '../domain/permissions.js';
import { openRuntime, type Runtime } from '../runtime.js';
import { hashPassword, randomPassword } from '../secrets/password.js';
import { systemActor } from '../services/context.js';
import { setPasswordHash, getUserByUsername } from '../store/users-repo.js';
import { appendAudit } from '../store/audit-repo.js';
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
      const password = flags.password ? randomPassword() : undefined;
      await withRuntime(flags, async (rt) => {
        const u = await rt.services.users.create(systemActor('cli'), {
          username,
          displayName: flags.name ?? username,
          email: flags.email ?? null,
          roles: roles as Role[],
          passwordHash: password ? await hashPassword(password) : null,
        });
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
      const u = await getUserByUsername(rt.db, username);
      if (!u) throw new Error(`no user named "${username}"`);
      const password = randomPassword();
      const hash = await hashPassword(password);
      await rt.db.transaction(async (tx) => {
        const at = rt.clock.now();
        await setPasswordHash(tx, u.id, hash, at);
        await appendAudit(tx, {
          actor: systemActor('cli'),
          action: 'user.password_reset',
          targetType: 'user',
          targetId: u.id,
          at,
        });
      });
      line(`New password for ${u.username} (shown once): ${password}`);
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
