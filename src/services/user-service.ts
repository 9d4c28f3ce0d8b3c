import { ConflictError, DomainError, NotFoundError, ValidationError, must } from '../domain/errors.js';
import { ROLES, type Role } from '../domain/permissions.js';
import { userTransition, type UserAction, type UserState } from '../domain/user.js';
import { hashPassword, randomPassword } from '../secrets/password.js';
import { appendAudit } from '../store/audit-repo.js';
import type { Queryable } from '../store/db.js';
import { listUserDevices, type Device } from '../store/devices-repo.js';
import { isUniqueViolation } from '../store/sql.js';
import { deleteUserSessions } from '../store/sessions-repo.js';
import { clearNameDelays } from '../store/sign-in-throttle-repo.js';
import {
  getUser,
  getUserByUsername,
  insertUser,
  searchUsers,
  setPasswordHash,
  updateUser,
  type User,
  type UserPatch,
} from '../store/users-repo.js';
import { auditActor, type Actor, type ServiceContext } from './context.js';
import { throttleName } from './sign-in-throttle.js';

export const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$/;

export interface CreateUserInput {
  username: string;
  displayName: string;
  email?: string | null;
  roles?: Role[];
  properties?: Record<string, string>;
  passwordHash?: string | null;
  source?: 'local' | 'ldap';
  externalId?: string | null;
  demo?: boolean;
}

function checkRoles(roles: readonly string[]): Role[] {
  const bad = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (bad.length)
    throw new ValidationError(`Unknown role(s): ${bad.join(', ')}. Known roles: ${ROLES.join(', ')}`);
  return [...new Set(roles as Role[])];
}

export class UserService {
  constructor(private readonly ctx: ServiceContext) {}

  async create(actor: Actor, input: CreateUserInput, tx?: Queryable): Promise<User> {
    if (!USERNAME_PATTERN.test(input.username))
      throw new ValidationError(
        'A username is 2-64 characters: letters, digits, and . _ @ - (not starting with a symbol)',
        { field: 'username' },
      );
    const roles = checkRoles(input.roles?.length ? input.roles : ['user']);
    const run = async (t: Queryable) => {
      if (await getUserByUsername(t, input.username))
        throw new ConflictError(`The username "${input.username}" is already taken`, { field: 'username' });
      const at = this.ctx.clock.now();
      let user: User;
      try {
        user = await insertUser(t, { ...input, roles, at });
      } catch (e) {
        if (isUniqueViolation(e))
          throw new ConflictError(`The username "${input.username}" is already taken`, { field: 'username' });
        throw e;
      }
      await appendAudit(t, {
        actor: auditActor(actor),
        action: 'user.created',
        targetType: 'user',
        targetId: user.id,
        details: { username: user.username, roles: user.roles, source: user.source },
        correlationId: actor.correlationId ?? null,
        at,
      });
      return user;
    };
    return tx ? run(tx) : this.ctx.db.transaction(run);
  }

  /** Creates a person with a new random password, which is returned here once and kept only hashed. */
  async createWithPassword(
    actor: Actor,
    input: Omit<CreateUserInput, 'passwordHash'>,
  ): Promise<{ user: User; password: string }> {
    const password = randomPassword();
    const user = await this.create(actor, { ...input, passwordHash: await hashPassword(password) });
    return { user, password };
  }

  /**
   * Gives a person a new random password (returned here once, kept only hashed) and ends the
   * sign-in delays of their name (`tessera admin reset-password`: the way back in for a locked-out administrator).
   */
  async resetPassword(actor: Actor, username: string): Promise<{ user: User; password: string }> {
    const password = randomPassword();
    const hash = await hashPassword(password);
    const user = await this.ctx.db.transaction(async (tx) => {
      const u = await getUserByUsername(tx, username);
      if (!u)
        throw new DomainError('not_found', `No user named "${username}" exists: check the username`, {
          entity: 'user',
          username,
        });
      const at = this.ctx.clock.now();
      await setPasswordHash(tx, u.id, hash, at);
      // The way back in: the name's sign-in delays end with the old password (decision 0022).
      await clearNameDelays(tx, 'password', throttleName(u.username));
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'user.password_reset',
        targetType: 'user',
        targetId: u.id,
        correlationId: actor.correlationId ?? null,
        at,
      });
      return u;
    });
    return { user, password };
  }

  async get(id: string): Promise<User> {
    const u = await getUser(this.ctx.db, id);
    if (!u) throw new NotFoundError('user', id);
    return u;
  }

  search(s: Parameters<typeof searchUsers>[1]) {
    return searchUsers(this.ctx.db, s);
  }

  async devices(id: string): Promise<Device[]> {
    await this.get(id);
    return listUserDevices(this.ctx.db, id);
  }

  async update(
    actor: Actor,
    id: string,
    patch: Pick<UserPatch, 'displayName' | 'email' | 'roles' | 'properties'>,
  ): Promise<User> {
    const clean: UserPatch = { ...patch };
    if (patch.roles) clean.roles = checkRoles(patch.roles);
    return this.ctx.db.transaction(async (tx) => {
      const before = await getUser(tx, id, true);
      if (!before) throw new NotFoundError('user', id);
      // A conflict, not bad input: the same edit was fine a moment ago, before someone terminated
      // the person (the row lock above makes an edit racing a termination land here).
      if (before.state === 'terminated')
        throw new ConflictError(
          `${before.username} has been terminated: a terminated person is kept for history and cannot be edited`,
          { state: before.state },
        );
      if (clean.roles && actor.id === id && before.roles.includes('admin') && !clean.roles.includes('admin'))
        throw new ValidationError('You cannot remove your own administrator role; ask another administrator');
      const at = this.ctx.clock.now();
      const user = await updateUser(tx, id, clean, at);
      const changed = Object.keys(clean).filter(
        (k) => JSON.stringify(before[k as keyof User]) !== JSON.stringify(user[k as keyof User]),
      );
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'user.updated',
        targetType: 'user',
        targetId: id,
        details: {
          changed,
          ...(changed.includes('roles') ? { roles: user.roles, previousRoles: before.roles } : {}),
        },
        correlationId: actor.correlationId ?? null,
        at,
      });
      return user;
    });
  }

  /** suspend | reactivate | terminate, through the domain state machine, with the audit event. */
  async changeState(actor: Actor, id: string, action: UserAction, reason?: string): Promise<User> {
    return this.ctx.db.transaction(async (tx) => {
      const before = await getUser(tx, id, true);
      if (!before) throw new NotFoundError('user', id);
      if (actor.id === id && action !== 'reactivate')
        throw new ValidationError(`You cannot ${action} your own account`);
      const state: UserState = must(userTransition(before.state, action));
      const at = this.ctx.clock.now();
      const user = await updateUser(tx, id, { state }, at);
      // A suspended or terminated person is signed out everywhere at once.
      if (state !== 'active') await deleteUserSessions(tx, id);
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: `user.${action === 'reactivate' ? 'reactivated' : action === 'suspend' ? 'suspended' : 'terminated'}`,
        targetType: 'user',
        targetId: id,
        details: { from: before.state, to: state, ...(reason ? { reason } : {}) },
        correlationId: actor.correlationId ?? null,
        at,
      });
      return user;
    });
  }
}
