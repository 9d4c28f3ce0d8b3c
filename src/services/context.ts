// What every service is handed: the database and a clock. Services name the other dependencies
// they use explicitly in their constructors.
import { PERMISSIONS, type Permission, type Role } from '../domain/permissions.js';
import type { Db, Queryable } from '../store/db.js';

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Who is acting: an operator, a user in the portal, or the system itself (start-up, schedulers). */
export interface Actor {
  id: string | null;
  name: string;
  roles: readonly Role[];
  /**
   * What this actor may do in this call: the session's permissions (a user-portal session holds
   * only self.*). Use cases read them only for data-dependent rules (docs/decisions/0011). None
   * given means none held.
   */
  permissions?: readonly Permission[];
  correlationId?: string;
}

export const systemActor = (name = 'system'): Actor => ({
  id: null,
  name,
  roles: ['admin'],
  permissions: PERMISSIONS,
});

/**
 * Whether the actor holds a permission, for a rule that depends on the data of the call (the
 * agent is not yours; everyone's agents) — the route's declaration has already decided whether
 * they may make the call at all (docs/decisions/0011).
 */
export const holds = (actor: Actor, permission: Permission): boolean =>
  actor.permissions?.includes(permission) === true;

export interface ServiceContext {
  db: Db;
  clock: Clock;
}

export const auditActor = (a: Actor) => ({ id: a.id, name: a.name });

/**
 * Called in the transaction of a step by which a person finished setting themselves up (their
 * security answers, a card issued to themselves): their initial password is used up then.
 */
export type SelfSetUpDone = (tx: Queryable, actor: Actor, userId: string) => Promise<void>;
