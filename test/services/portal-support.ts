// Shared set-up for the portal-authentication service tests: a migrated database on one engine, a
// clock the test moves, and a few people.
import { SettingsService } from '../../src/services/settings-service.js';
import { systemActor, type Clock, type ServiceContext } from '../../src/services/context.js';
import { insertUser, type User } from '../../src/store/users-repo.js';
import { openTestDb, type TestDb } from '../support/db.js';

export class TestClock implements Clock {
  constructor(public t = new Date('2026-11-01T10:00:00.000Z')) {}
  now(): Date {
    return new Date(this.t);
  }
  advance(ms: number): void {
    this.t = new Date(this.t.getTime() + ms);
  }
}

export interface PortalFixture {
  t: TestDb;
  clock: TestClock;
  ctx: ServiceContext;
  settings: SettingsService;
  user(username: string, extra?: Partial<Parameters<typeof insertUser>[1]>): Promise<User>;
}

export const admin = systemActor('test-admin');

export async function portalFixture(engine: 'pglite' | 'postgres'): Promise<PortalFixture> {
  const t = await openTestDb(engine);
  const clock = new TestClock();
  const ctx: ServiceContext = { db: t.db, clock };
  return {
    t,
    clock,
    ctx,
    settings: new SettingsService(ctx),
    user: (username, extra = {}) =>
      insertUser(t.db, { username, displayName: username, roles: ['user'], at: clock.now(), ...extra }),
  };
}

export async function auditActions(f: PortalFixture, targetId: string): Promise<string[]> {
  const rows = await f.t.db.query<{ action: string; details: unknown }>(
    'SELECT action, details FROM audit_events WHERE target_id = $1 ORDER BY seq',
    [targetId],
  );
  return rows.map((r) => r.action);
}
