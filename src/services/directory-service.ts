// The directory (LDAP) as a source of people: its connection settings (bind password encrypted
// with the master key, never returned), a connection test, a sync that creates, updates and
// suspends Tessera users to match the directory, and password checks by LDAP bind.
import { isEmailAddress } from '../mail/address.js';
import { ValidationError, must } from '../domain/errors.js';
import { ROLES, type Role } from '../domain/permissions.js';
import { userTransition } from '../domain/user.js';
import {
  DEFAULT_DIRECTORY_CONFIG,
  checkDirectoryConfig,
  type DirectoryConfig,
} from '../directory/directory-config.js';
import { normalizeDn } from '../directory/ldap-filter.js';
import { LdapDirectory, type DirectoryGroup, type DirectoryPerson } from '../directory/ldap-directory.js';
import { trustAnchorProblems } from '../pki/trust-anchors.js';
import type { MasterKey } from '../secrets/master-key.js';
import { appendAudit } from '../store/audit-repo.js';
import type { Queryable } from '../store/db.js';
import {
  getDirectoryConfig,
  listDirectoryUsers,
  putDirectoryConfig,
  setDirectoryRemoved,
  setExternalId,
  type DirectoryUserRef,
} from '../store/directory-repo.js';
import { deleteUserSessions } from '../store/sessions-repo.js';
import { getUser, getUserByUsername, updateUser, type User, type UserPatch } from '../store/users-repo.js';
import { auditActor, systemActor, type Actor, type ServiceContext } from './context.js';
import type { PhotoService } from './printing/photo-service.js';
import { USERNAME_PATTERN, type UserService } from './user-service.js';

const PASSWORD_PURPOSE = 'directory-bind-password';

export interface DirectoryView extends DirectoryConfig {
  configured: boolean;
  /** The bind password is write-only: only whether one is set is ever returned. */
  hasBindPassword: boolean;
  updatedAt: string | null;
}

export interface DirectoryInput extends DirectoryConfig {
  /** Omitted: keep the stored one; null or '': remove it; a string: replace it. */
  bindPassword?: string | null;
}

export interface SyncReport {
  created: number;
  updated: number;
  suspended: number;
  unchanged: number;
  errors: string[];
}

export class DirectoryService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly masterKey: MasterKey,
    private readonly users: UserService,
    private readonly photos?: PhotoService,
  ) {}

  async get(db: Queryable = this.ctx.db): Promise<DirectoryView> {
    const stored = await getDirectoryConfig<DirectoryConfig>(db);
    return {
      ...DEFAULT_DIRECTORY_CONFIG,
      ...stored?.config,
      configured: !!stored,
      hasBindPassword: !!stored?.bindPassword,
      updatedAt: stored ? stored.updatedAt.toISOString() : null,
    };
  }

  async put(actor: Actor, input: DirectoryInput): Promise<DirectoryView> {
    const { bindPassword, ...rest } = input;
    const candidate = { ...DEFAULT_DIRECTORY_CONFIG, ...rest };
    const config = checkDirectoryConfig(
      candidate,
      candidate.caCertificatePem?.trim()
        ? trustAnchorProblems(candidate.caCertificatePem, 'caCertificatePem', this.ctx.clock.now())
        : [],
    );
    return this.ctx.db.transaction(async (tx) => {
      const before = await getDirectoryConfig<DirectoryConfig>(tx);
      const secret =
        bindPassword === undefined
          ? (before?.bindPassword ?? null)
          : bindPassword
            ? this.masterKey.encrypt(bindPassword, PASSWORD_PURPOSE)
            : null;
      const at = this.ctx.clock.now();
      await putDirectoryConfig(tx, config, secret, at);
      const prev: Partial<DirectoryConfig> = before?.config ?? {};
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'directory.updated',
        targetType: 'directory',
        targetId: 'ldap',
        details: {
          changed: (Object.keys(config) as (keyof DirectoryConfig)[]).filter(
            (k) => JSON.stringify(prev[k]) !== JSON.stringify(config[k]),
          ),
          bindPassword: bindPassword === undefined ? 'kept' : bindPassword ? 'replaced' : 'removed',
        },
        correlationId: actor.correlationId ?? null,
        at,
      });
      return this.get(tx);
    });
  }

  /** The configured directory, or null when none is configured and enabled. */
  async connection(db: Queryable = this.ctx.db): Promise<LdapDirectory | null> {
    const stored = await getDirectoryConfig<DirectoryConfig>(db);
    if (!stored || !stored.config.enabled) return null;
    const pw = stored.bindPassword ? this.masterKey.decryptText(stored.bindPassword, PASSWORD_PURPOSE) : null;
    return new LdapDirectory({ ...DEFAULT_DIRECTORY_CONFIG, ...stored.config }, pw);
  }

  private async require(): Promise<{ dir: LdapDirectory; cfg: DirectoryConfig }> {
    const dir = await this.connection();
    if (!dir)
      throw new ValidationError('No directory is configured and enabled: save the directory settings first');
    return { dir, cfg: await this.get() };
  }

  /** Connects, binds as the service account and counts the people the filter selects. */
  async test(): Promise<{ ok: true; userCount: number; warnings?: string[] }> {
    const { dir, cfg } = await this.require();
    const result = await dir.test();
    const warnings = connectionWarnings(cfg);
    return { ok: true, ...result, ...(warnings.length ? { warnings } : {}) };
  }

  /**
   * Brings Tessera's directory users in line with the directory. Everything is read first: if the
   * directory cannot be reached, nothing changes. Then, in one transaction: new entries become
   * users (source 'ldap', external id = entryUUID or DN), changed ones are updated, and users
   * whose entry is gone are suspended (and reactivated if it comes back). Every change is audited.
   */
  async sync(actor: Actor): Promise<SyncReport> {
    const { dir, cfg } = await this.require();
    const { people, problems, groups } = await dir.readAll();
    const report: SyncReport = { created: 0, updated: 0, suspended: 0, unchanged: 0, errors: [...problems] };
    return this.ctx.db.transaction(async (tx) => {
      const at = this.ctx.clock.now();
      const existing = await listDirectoryUsers(tx);
      const byExternal = new Map(existing.flatMap((u) => (u.externalId ? [[u.externalId, u] as const] : [])));
      const seen = new Set<string>();
      const usernames = new Set<string>();
      for (const entry of people) {
        // An address that is not exactly one (a list, "Name <addr>", junk) is not stored: initial
        // passwords are e-mailed to it, and a list would send one to more than its owner.
        const p = entry.email && !isEmailAddress(entry.email) ? { ...entry, email: null } : entry;
        if (p !== entry)
          report.errors.push(
            `${p.dn}: the e-mail attribute is not a single e-mail address; stored without one (fix it in the directory)`,
          );
        const key = p.username.toLowerCase();
        if (usernames.has(key)) {
          report.errors.push(
            `${p.dn}: the username "${p.username}" appears on more than one directory entry`,
          );
          continue;
        }
        usernames.add(key);
        if (!USERNAME_PATTERN.test(p.username)) {
          report.errors.push(`${p.dn}: "${p.username}" is not a usable username`);
          continue;
        }
        const roles = cfg.groupRoles.length ? rolesFor(p, groups, cfg) : null;
        let ref: DirectoryUserRef | { id: string } | undefined = byExternal.get(p.externalId);
        if (!ref) {
          const same = await getUserByUsername(tx, p.username);
          if (same && same.source === 'local') {
            report.errors.push(`${p.dn}: the username "${p.username}" belongs to a local user; not imported`);
            continue;
          }
          if (same) {
            // The same person under another external id (the id attribute was changed): adopt it.
            await setExternalId(tx, same.id, p.externalId);
            ref = existing.find((u) => u.id === same.id) ?? same;
          } else {
            const user = await this.users.create(
              actor,
              {
                username: p.username,
                displayName: p.displayName,
                email: p.email,
                roles: roles ?? ['user'],
                properties: p.properties,
                source: 'ldap',
                externalId: p.externalId,
              },
              tx,
            );
            seen.add(user.id);
            report.created++;
            await this.syncPhoto(tx, actor, user.id, p, report);
            continue;
          }
        }
        seen.add(ref.id);
        if ('username' in ref && ref.username.toLowerCase() !== key)
          report.errors.push(
            `${p.dn}: renamed to "${p.username}" in the directory; the Tessera username "${ref.username}" is kept`,
          );
        const removedBySync = 'directoryRemovedAt' in ref && ref.directoryRemovedAt !== null;
        const changed = await this.apply(tx, actor, ref.id, p, roles, cfg, removedBySync, at);
        if (changed === 'error')
          report.errors.push(`${p.dn}: "${p.username}" is terminated in Tessera; skipped`);
        else if (changed) report.updated++;
        else report.unchanged++;
        if (changed !== 'error') await this.syncPhoto(tx, actor, ref.id, p, report);
      }
      const gone = existing.filter((u) => !seen.has(u.id) && u.state === 'active');
      if (people.length === 0 && existing.length > 0) {
        // An empty answer is far more often a wrong base DN or filter than everyone leaving.
        report.errors.push(
          'The directory returned nobody: no one was suspended. Check the base DN and user filter',
        );
      } else {
        for (const u of gone) {
          const state = must(userTransition(u.state, 'suspend'));
          await updateUser(tx, u.id, { state }, at);
          await setDirectoryRemoved(tx, u.id, at);
          await deleteUserSessions(tx, u.id);
          await appendAudit(tx, {
            actor: auditActor(actor),
            action: 'user.suspended',
            targetType: 'user',
            targetId: u.id,
            details: {
              from: 'active',
              to: state,
              reason: 'removed from the directory',
              externalId: u.externalId,
            },
            correlationId: actor.correlationId ?? null,
            at,
          });
          report.suspended++;
        }
      }
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'directory.synced',
        targetType: 'directory',
        targetId: 'ldap',
        details: { ...report, errors: report.errors.length },
        correlationId: actor.correlationId ?? null,
        at,
      });
      return report;
    });
  }

  /**
   * The person's directory photo becomes their photo (stored once; the same picture again changes
   * nothing). No picture in the directory keeps one uploaded in Tessera. A picture that is not a
   * usable JPEG or PNG is reported, not imported, and stops nothing else.
   */
  private async syncPhoto(
    tx: Queryable,
    actor: Actor,
    userId: string,
    p: DirectoryPerson,
    report: SyncReport,
  ) {
    if (!p.photo || !this.photos) return;
    try {
      await this.photos.put(actor, userId, p.photo, tx);
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      report.errors.push(`${p.dn}: the directory photo was not imported: ${e.message}`);
    }
  }

  /** Updates one user from their entry; true when something changed, 'error' when terminated. */
  private async apply(
    tx: Queryable,
    actor: Actor,
    id: string,
    p: DirectoryPerson,
    roles: Role[] | null,
    cfg: DirectoryConfig,
    removedBySync: boolean,
    at: Date,
  ): Promise<boolean | 'error'> {
    const before = (await getUser(tx, id, true))!;
    if (before.state === 'terminated') return 'error';
    const patch: UserPatch = {};
    if (before.displayName !== p.displayName) patch.displayName = p.displayName;
    if (before.email !== p.email) patch.email = p.email;
    const properties = directoryProperties(before.properties, p, cfg);
    if (properties) patch.properties = properties;
    if (roles && JSON.stringify(before.roles) !== JSON.stringify(roles)) patch.roles = roles;
    if (before.state === 'suspended' && removedBySync)
      patch.state = must(userTransition('suspended', 'reactivate'));
    const changed = Object.keys(patch);
    if (changed.length === 0) return false;
    await updateUser(tx, id, patch, at);
    if (patch.state) await setDirectoryRemoved(tx, id, null);
    await appendAudit(tx, {
      actor: auditActor(actor),
      action: patch.state ? 'user.reactivated' : 'user.updated',
      targetType: 'user',
      targetId: id,
      details: {
        changed,
        source: 'directory',
        ...(patch.roles ? { roles: patch.roles, previousRoles: before.roles } : {}),
        ...(patch.state ? { from: 'suspended', to: 'active', reason: 'back in the directory' } : {}),
      },
      correlationId: actor.correlationId ?? null,
      at,
    });
    return true;
  }

  /**
   * Checks a directory user's password by LDAP bind. The entry is found by username (escaped per
   * RFC 4515) and must be the one the user was imported from, so a reused uid cannot take over.
   */
  async checkPassword(user: User, password: string): Promise<boolean> {
    if (user.source !== 'ldap' || !user.externalId) return false;
    const dir = await this.connection();
    if (!dir) return false;
    const person = await dir.findPerson(user.username);
    if (!person || person.externalId !== user.externalId) return false;
    if (!(await dir.checkPassword(person.dn, password))) return false;
    await this.refreshProperties(user.id, person);
    return true;
  }

  /**
   * At directory sign-in the mapped properties are read afresh (the objectSid and UPN a logon
   * certificate carries among them), so a person need not wait for the next sync to get them.
   */
  private async refreshProperties(userId: string, person: DirectoryPerson): Promise<void> {
    const cfg = await this.get();
    await this.ctx.db.transaction(async (tx) => {
      const before = await getUser(tx, userId, true);
      if (!before || before.state === 'terminated') return;
      const properties = directoryProperties(before.properties, person, cfg);
      if (!properties) return;
      const at = this.ctx.clock.now();
      await updateUser(tx, userId, { properties }, at);
      await appendAudit(tx, {
        actor: auditActor(systemActor('directory')),
        action: 'user.updated',
        targetType: 'user',
        targetId: userId,
        details: { changed: ['properties'], source: 'directory', at: 'sign-in' },
        correlationId: null,
        at,
      });
    });
  }

  /**
   * Looks `username` up as checkPassword does (connect, bind as the service account, search) and
   * forgets the answer. The portal calls it for names it does not know, so that they cost the same
   * directory round trip and a directory outage fails them the same way as real people.
   */
  async lookUp(username: string): Promise<void> {
    const dir = await this.connection();
    if (dir) await dir.findPerson(username);
  }

  async enabled(): Promise<boolean> {
    return (await this.connection()) !== null;
  }
}

/**
 * The person's properties with the directory-managed ones (those the settings map) taken from the
 * entry — they follow the directory and vanish with it; others are kept — or null when unchanged.
 */
function directoryProperties(
  current: Record<string, string>,
  p: DirectoryPerson,
  cfg: DirectoryConfig,
): Record<string, string> | null {
  const properties = { ...current };
  for (const prop of Object.keys(cfg.properties)) delete properties[prop];
  Object.assign(properties, p.properties);
  return JSON.stringify(sortKeys(current)) === JSON.stringify(sortKeys(properties)) ? null : properties;
}

/**
 * A connection that works may still be unsafe: passwords in clear across the network, or a
 * certificate nobody checks. Said with every successful test so it is not forgotten.
 */
export function connectionWarnings(cfg: Pick<DirectoryConfig, 'url' | 'startTls' | 'tlsVerify'>): string[] {
  const url = new URL(cfg.url);
  const loopback = ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
  const out: string[] = [];
  if (url.protocol === 'ldap:' && !cfg.startTls && !loopback)
    out.push(
      'The connection is not encrypted: the bind password and people’s directory passwords cross the network in clear. Use ldaps:// or turn on StartTLS',
    );
  if ((url.protocol === 'ldaps:' || cfg.startTls) && !cfg.tlsVerify)
    out.push(
      'The directory’s certificate is not verified, so anyone in between could pose as it: turn verification back on (with its CA certificate) outside a test directory',
    );
  return out;
}

function rolesFor(p: DirectoryPerson, groups: DirectoryGroup[], cfg: DirectoryConfig): Role[] {
  const dn = normalizeDn(p.dn);
  const granted = new Set<Role>(['user']);
  for (const m of cfg.groupRoles) {
    const g = groups.find((x) => normalizeDn(x.dn) === normalizeDn(m.group));
    if (g?.members.has(dn)) for (const r of m.roles) granted.add(r);
  }
  return ROLES.filter((r) => granted.has(r));
}

const sortKeys = (o: Record<string, string>) =>
  Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));

export type { DirectoryConfig };
