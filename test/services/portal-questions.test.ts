// Security questions: the administrator's list, a person's answers (normalized, hashed), sign-in
// checks with lockout, on PGlite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecurityQuestionService } from '../../src/services/security-question-service.js';
import { engines } from '../support/db.js';
import { admin, auditActions, portalFixture, type PortalFixture } from './portal-support.js';

const Q = [
  'What was the name of your first pet?',
  'In which town were you born?',
  'What is your favourite meal?',
];

for (const engine of await engines()) {
  describe(`security questions on ${engine}`, () => {
    let f: PortalFixture;
    let svc: SecurityQuestionService;
    let ids: string[];
    beforeAll(async () => {
      f = await portalFixture(engine);
      svc = new SecurityQuestionService(f.ctx, f.settings);
      const s = await f.settings.getSecurity();
      await f.settings.putSecurity(admin, { ...s, securityQuestionCount: 2 });
      const list = await svc.replace(admin, [
        ...Q.map((text) => ({ text, active: true })),
        { text: 'Retired question?', active: false },
      ]);
      ids = list.map((q) => q.id);
    });
    afterAll(async () => f?.t.drop());

    it('keeps the list in order, refuses duplicates, and will not delete an answered question', async () => {
      expect((await svc.list()).map((q) => [q.text, q.active])).toEqual([
        [Q[0], true],
        [Q[1], true],
        [Q[2], true],
        ['Retired question?', false],
      ]);
      await expect(
        svc.replace(admin, [
          { text: 'Same  question', active: true },
          { text: 'same question', active: true },
        ]),
      ).rejects.toMatchObject({ code: 'validation_failed' });
      const u = await f.user('dora');
      await svc.setAnswers(admin, u.id, [
        { questionId: ids[0]!, answer: 'Rex' },
        { questionId: ids[1]!, answer: 'Lyon' },
      ]);
      await expect(svc.replace(admin, [{ id: ids[1]!, text: Q[1]!, active: true }])).rejects.toMatchObject({
        code: 'conflict',
      });
      // Reordering and renaming keeps ids; nothing is lost.
      const again = await svc.replace(admin, [
        { id: ids[1]!, text: Q[1]!, active: true },
        { id: ids[0]!, text: Q[0]!, active: true },
        { id: ids[2]!, text: Q[2]!, active: true },
        { id: ids[3]!, text: 'Retired question?', active: false },
      ]);
      expect(again.map((q) => q.id)).toEqual([ids[1], ids[0], ids[2], ids[3]]);
      await svc.replace(admin, [
        { id: ids[0]!, text: Q[0]!, active: true },
        { id: ids[1]!, text: Q[1]!, active: true },
        { id: ids[2]!, text: Q[2]!, active: true },
        { id: ids[3]!, text: 'Retired question?', active: false },
      ]);
    });

    it('answers are compared ignoring case and spaces: TOTO, toto, T o t o, TotO all match', async () => {
      const u = await f.user('toto.fan');
      await svc.setAnswers(admin, u.id, [
        { questionId: ids[0]!, answer: 'Toto' },
        { questionId: ids[2]!, answer: 'Pot au feu' },
      ]);
      for (const a of ['TOTO', 'toto', 'T o t o', 'TotO', ' to\ttO '])
        await expect(
          svc.verify(u.id, [
            { questionId: ids[0]!, answer: a },
            { questionId: ids[2]!, answer: 'POTAUFEU' },
          ]),
        ).resolves.toBeUndefined();
      // Stored only as a salted hash of the normal form.
      const rows = await f.t.db.query<{ answer_hash: string }>(
        'SELECT answer_hash FROM security_answers WHERE user_id = $1',
        [u.id],
      );
      expect(rows).toHaveLength(2);
      for (const r of rows) {
        expect(r.answer_hash).toMatch(/^scrypt\$/);
        expect(r.answer_hash.toLowerCase()).not.toContain('toto');
      }
      const st = await svc.status(u.id);
      expect(st).toMatchObject({ required: 2, mustSet: false });
      expect(st.answered.map((q) => q.id)).toEqual([ids[0], ids[2]]);
    });

    it('refuses a wrong count, inactive or unknown questions, repeated or too-short answers', async () => {
      const u = await f.user('eve.setter');
      const set = (answers: { questionId: string; answer: string }[]) => svc.setAnswers(admin, u.id, answers);
      await expect(set([{ questionId: ids[0]!, answer: 'Rex' }])).rejects.toMatchObject({
        code: 'validation_failed',
      });
      await expect(
        set([
          { questionId: ids[0]!, answer: 'Rex' },
          { questionId: ids[3]!, answer: 'Paris' },
        ]),
      ).rejects.toMatchObject({ code: 'validation_failed' });
      await expect(
        set([
          { questionId: ids[0]!, answer: 'Rex' },
          { questionId: '00000000-0000-4000-8000-000000000000', answer: 'Paris' },
        ]),
      ).rejects.toMatchObject({ code: 'validation_failed' });
      await expect(
        set([
          { questionId: ids[0]!, answer: 'Rex' },
          { questionId: ids[0]!, answer: 'Paris' },
        ]),
      ).rejects.toMatchObject({ code: 'validation_failed' });
      await expect(
        set([
          { questionId: ids[0]!, answer: 'R E X' },
          { questionId: ids[1]!, answer: 'rex' },
        ]),
      ).rejects.toMatchObject({ code: 'validation_failed' });
      await expect(
        set([
          { questionId: ids[0]!, answer: 'x' },
          { questionId: ids[1]!, answer: 'Paris' },
        ]),
      ).rejects.toMatchObject({ code: 'validation_failed' });
      expect((await svc.status(u.id)).mustSet).toBe(true);
    });

    it("checks every answer, accepting only all of them (throttling is the sign-in's), and audits no answer", async () => {
      const u = await f.user('mallory.guess');
      await svc.setAnswers(admin, u.id, [
        { questionId: ids[0]!, answer: 'Felix' },
        { questionId: ids[1]!, answer: 'Nantes' },
      ]);
      const good = [
        { questionId: ids[0]!, answer: 'felix' },
        { questionId: ids[1]!, answer: 'nantes' },
      ];
      const wrong = [
        { questionId: ids[0]!, answer: 'felix' },
        { questionId: ids[1]!, answer: 'Paris' },
      ];
      // Answering only some of the questions, or other questions, is wrong too.
      await expect(svc.verify(u.id, [good[0]!])).rejects.toMatchObject({ code: 'unauthenticated' });
      await expect(svc.verify(u.id, wrong)).rejects.toMatchObject({ code: 'unauthenticated' });
      await expect(svc.verify(u.id, [...good].reverse())).resolves.toBeUndefined();
      await expect(svc.verify(u.id, [good[0]!, good[0]!])).rejects.toMatchObject({ code: 'unauthenticated' });
      await expect(svc.verify(u.id, good)).resolves.toBeUndefined();
      expect(await auditActions(f, u.id)).toContain('security_answers.set');
      const details = await f.t.db.query<{ d: string }>(
        'SELECT details::text AS d FROM audit_events WHERE target_id = $1',
        [u.id],
      );
      expect(
        details
          .map((r) => r.d)
          .join(' ')
          .toLowerCase(),
      ).not.toMatch(/felix|nantes|paris/);
    });

    it('a person without answers cannot sign in with questions', async () => {
      const u = await f.user('nobody.answers');
      await expect(svc.verify(u.id, [])).rejects.toMatchObject({ code: 'unauthenticated' });
    });
  });
}
