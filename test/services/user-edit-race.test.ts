// Terminating a person and editing them at the same moment: whichever commits first wins, and the
// edit that comes second is a 409-class conflict (the person is terminated), never a 400 as if the
// edit itself were wrong. On both engines (row lock on PostgreSQL, one connection on PGlite).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { statusFor } from '../../src/http/errors.js';
import { UserService } from '../../src/services/user-service.js';
import { engines } from '../support/db.js';
import { admin, portalFixture, type PortalFixture } from './portal-support.js';

for (const engine of await engines()) {
  describe(`terminate vs edit on ${engine}`, () => {
    let f: PortalFixture;
    let users: UserService;
    beforeAll(async () => {
      f = await portalFixture(engine);
      users = new UserService(f.ctx);
    });
    afterAll(async () => f?.t.drop());

    it('an edit after termination is a conflict naming the state', async () => {
      const u = await f.user('late.edit');
      await users.changeState(admin, u.id, 'terminate');
      const err = await users.update(admin, u.id, { displayName: 'Too late' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DomainError);
      expect((err as DomainError).code).toBe('conflict');
      expect(statusFor((err as DomainError).code)).toBe(409);
      expect((err as DomainError).message).toMatch(/late\.edit has been terminated/);
      expect((await users.get(u.id)).displayName).toBe('late.edit');
    });

    it('racing: the edit either lands before the termination or is a conflict', async () => {
      for (let i = 0; i < 8; i++) {
        const u = await f.user(`race.${i}`);
        const [term, edit] = await Promise.allSettled([
          users.changeState(admin, u.id, 'terminate'),
          users.update(admin, u.id, { displayName: `Edited ${i}` }),
        ]);
        expect(term.status).toBe('fulfilled');
        const final = await users.get(u.id);
        expect(final.state).toBe('terminated');
        // Which one wins is the engine's call; both outcomes are checked, whichever occurred.
        if (edit.status === 'fulfilled') {
          expect(final.displayName).toBe(`Edited ${i}`);
        } else {
          expect((edit.reason as DomainError).code).toBe('conflict');
          expect(final.displayName).toBe(`race.${i}`);
        }
      }
    });
  });
}
