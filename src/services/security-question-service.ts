// Security questions for the user portal (reference 000): an administrator keeps the list; each
// person answers `securityQuestionCount` of them; answers are compared ignoring case and spaces
// (domain normalizeAnswer) and kept only as salted scrypt hashes of that normal form.
import { ConflictError, UnauthenticatedError, ValidationError, must } from '../domain/errors.js';
import { normalizeAnswer, validateAnswers } from '../domain/security-questions.js';
import { hashPassword, verifyPassword } from '../secrets/password.js';
import { appendAudit } from '../store/audit-repo.js';
import type { Queryable } from '../store/db.js';
import {
  answeredQuestionIds,
  deleteQuestion,
  insertQuestion,
  listAnswers,
  listQuestions,
  parkQuestions,
  replaceAnswers,
  updateQuestion,
  type SecurityQuestion,
} from '../store/portal-auth-repo.js';
import { getUser } from '../store/users-repo.js';
import { clearNameDelays } from '../store/sign-in-throttle-repo.js';
import { auditActor, type Actor, type SelfSetUpDone, type ServiceContext } from './context.js';
import { throttleName } from './sign-in-throttle.js';
import type { SettingsService } from './settings-service.js';

export const QUESTIONS_METHOD = 'security_questions';

export interface QuestionInput {
  id?: string;
  text: string;
  active: boolean;
}

export interface AnswerInput {
  questionId: string;
  answer: string;
}

export interface QuestionStatus {
  /** How many questions a person must answer (securityQuestionCount). */
  required: number;
  /** The person's answered questions that are still active, in their order (never the answers). */
  answered: { id: string; text: string }[];
  /** True when the person has fewer usable answers than required. */
  mustSet: boolean;
  /** The active questions a person may choose from. */
  available: { id: string; text: string }[];
}

const BAD_ANSWERS = 'The answers do not match';

export class SecurityQuestionService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly settings: SettingsService,
    /** A person who sets their own answers has finished their first sign-in's set-up. */
    private readonly onOwnAnswersSet?: SelfSetUpDone,
  ) {}

  list(db: Queryable = this.ctx.db): Promise<SecurityQuestion[]> {
    return listQuestions(db);
  }

  /**
   * Replaces the list. Entries with an id edit that question; entries without one are new. A
   * question left out is deleted, unless someone answered it: then it must be kept (deactivate it
   * instead), or people would silently lose a way to sign in.
   */
  async replace(actor: Actor, items: readonly QuestionInput[]): Promise<SecurityQuestion[]> {
    const texts = new Map<string, number>();
    items.forEach((q, i) => {
      const t = q.text.trim();
      if (t.length < 5) throw new ValidationError(`Question ${i + 1} is too short (5 characters at least)`);
      const key = normalizeAnswer(t);
      if (texts.has(key))
        throw new ValidationError(`Question ${i + 1} is the same as question ${texts.get(key)! + 1}`);
      texts.set(key, i);
    });
    const ids = items.flatMap((q) => (q.id ? [q.id] : []));
    if (new Set(ids).size !== ids.length) throw new ValidationError('A question id is listed twice');
    return this.ctx.db.transaction(async (tx) => {
      const before = await listQuestions(tx);
      const known = new Set(before.map((q) => q.id));
      const unknown = ids.filter((id) => !known.has(id));
      if (unknown.length)
        throw new ValidationError(`Unknown question id(s): ${unknown.join(', ')}`, { ids: unknown });
      const answered = await answeredQuestionIds(tx);
      const dropped = before.filter((q) => !ids.includes(q.id));
      const blocked = dropped.filter((q) => answered.has(q.id));
      if (blocked.length)
        throw new ConflictError(
          'People have answered these questions, so they cannot be removed: mark them inactive instead',
          { ids: blocked.map((q) => q.id) },
        );
      const at = this.ctx.clock.now();
      for (const q of dropped) await deleteQuestion(tx, q.id);
      await parkQuestions(tx);
      let position = 0;
      for (const q of items) {
        const row = { text: q.text.trim(), active: q.active, position: position++ };
        if (q.id) await updateQuestion(tx, { id: q.id, ...row }, at);
        else await insertQuestion(tx, row, at);
      }
      const after = await listQuestions(tx);
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'security_questions.updated',
        targetType: 'settings',
        targetId: 'security_questions',
        details: {
          count: after.length,
          active: after.filter((q) => q.active).length,
          removed: dropped.map((q) => q.id),
        },
        correlationId: actor.correlationId ?? null,
        at,
      });
      return after;
    });
  }

  async status(userId: string, db: Queryable = this.ctx.db): Promise<QuestionStatus> {
    const { securityQuestionCount } = await this.settings.getSecurity(db);
    const questions = await listQuestions(db);
    const byId = new Map(questions.map((q) => [q.id, q]));
    const answered = (await listAnswers(db, userId))
      .map((a) => byId.get(a.questionId))
      .filter((q): q is SecurityQuestion => !!q && q.active)
      .map((q) => ({ id: q.id, text: q.text }));
    const available = questions.filter((q) => q.active).map((q) => ({ id: q.id, text: q.text }));
    return {
      required: securityQuestionCount,
      answered,
      // Nobody is held at the door by a list the administrator has left too short to answer.
      mustSet: answered.length < securityQuestionCount && available.length >= securityQuestionCount,
      available,
    };
  }

  /** Sets or replaces a person's answers: exactly securityQuestionCount distinct active questions. */
  async setAnswers(actor: Actor, userId: string, answers: readonly AnswerInput[]): Promise<QuestionStatus> {
    const { securityQuestionCount } = await this.settings.getSecurity();
    const questions = new Map((await listQuestions(this.ctx.db)).map((q) => [q.id, q]));
    const bad = answers.filter((a) => !questions.get(a.questionId)?.active);
    if (bad.length)
      throw new ValidationError('Choose among the active security questions', {
        questionIds: bad.map((a) => a.questionId),
      });
    const checked = must(
      validateAnswers(
        answers.map((a) => ({ question: questions.get(a.questionId)!.text, answer: a.answer })),
        securityQuestionCount,
      ),
    );
    const hashes = await Promise.all(checked.map((c) => hashPassword(c.normalizedAnswer)));
    const at = this.ctx.clock.now();
    await this.ctx.db.transaction(async (tx) => {
      await replaceAnswers(
        tx,
        userId,
        answers.map((a, i) => ({ questionId: a.questionId, answerHash: hashes[i]!, position: i })),
        at,
      );
      // New answers end the delays earned guessing at the old ones (decision 0022).
      const person = await getUser(tx, userId);
      if (person) await clearNameDelays(tx, QUESTIONS_METHOD, throttleName(person.username));
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'security_answers.set',
        targetType: 'user',
        targetId: userId,
        details: { questionIds: answers.map((a) => a.questionId) },
        correlationId: actor.correlationId ?? null,
        at,
      });
      if (actor.id === userId) await this.onOwnAnswersSet?.(tx, actor, userId);
    });
    return this.status(userId);
  }

  /**
   * Checks a sign-in: the person must answer every one of their answered active questions, and
   * all must match. Throttling is the caller's (PortalAuthService, decision 0022).
   */
  async verify(userId: string, answers: readonly AnswerInput[]): Promise<void> {
    const st = await this.status(userId);
    const stored = new Map((await listAnswers(this.ctx.db, userId)).map((a) => [a.questionId, a.answerHash]));
    const expected = st.answered.map((q) => q.id);
    const given = new Map(answers.map((a) => [a.questionId, a.answer]));
    let good =
      expected.length > 0 &&
      given.size === answers.length &&
      answers.length === expected.length &&
      expected.every((id) => given.has(id));
    // Always run every hash comparison, so timing says nothing about which answer was wrong.
    for (const id of expected) {
      const ok = await verifyPassword(normalizeAnswer(given.get(id) ?? ''), stored.get(id));
      good &&= ok;
    }
    if (!good) throw new UnauthenticatedError(BAD_ANSWERS);
  }
}
