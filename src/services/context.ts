// What every service is handed: the database and a clock. Services name the other dependencies
// they use explicitly in their constructors.
import type { Role } from '../domain/permissions.js';
import type { Db } from '../store/db.js';

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Who is acting: an operator, a user in the portal, or the system itself (start-up, schedulers). */
export interface Actor {
  id: string | null;
  name: string;
  roles: readonly Role[];
  correlationId?: string;
}

export const systemActor = (name = 'system'): Actor => ({ id: null, name, roles: ['admin'] });

export interface ServiceContext {
  db: Db;
  clock: Clock;
}

export const auditActor = (a: Actor) => ({ id: a.id, name: a.name });
