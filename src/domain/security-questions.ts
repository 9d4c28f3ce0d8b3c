// Security questions for the user portal (reference 000: answers "are case insensitive" — TOTO, toto,
// ToTo, TotO are one answer — and "Spaces between letters in the answers … are ignored").
// Answers are normalized here, then hashed by the service; an answer never appears in an error.

import { fail, ok, ValidationError, type Result } from './errors.js';

/** Minimum length of a normalized answer, in characters. */
export const ANSWER_MIN_LENGTH = 2;

/**
 * The form an answer is compared (and hashed) in: Unicode NFKC (so full-width "ＴＯＴＯ" and the
 * ligature "ﬁ" read as "TOTO" and "fi"), lower-cased without locale, then every white-space
 * character removed (spaces, tabs, no-break and ideographic spaces).
 */
export function normalizeAnswer(answer: string): string {
  return answer.normalize('NFKC').toLowerCase().replace(/\s/gu, '');
}

export interface SecurityAnswerInput {
  readonly question: string;
  readonly answer: string;
}

export interface NormalizedSecurityAnswer {
  readonly question: string;
  /** normalizeAnswer(answer): hash this, never store it as is. */
  readonly normalizedAnswer: string;
}

export type SecurityAnswerRule =
  | 'count'
  | 'question_empty'
  | 'question_duplicate'
  | 'answer_empty'
  | 'answer_too_short'
  | 'answer_duplicate';

export interface SecurityAnswerProblem {
  /** Index of the entry concerned; null for the count. */
  readonly index: number | null;
  readonly rule: SecurityAnswerRule;
  readonly message: string;
}

/**
 * Checks the answers a person sets: `count` of them when given (the security settings'
 * securityQuestionCount), each to a different question, each non-empty and at least
 * ANSWER_MIN_LENGTH characters once normalized, and no two answers alike once normalized (one guess
 * must not open several questions). Every problem is reported in details.problems.
 */
export function validateAnswers(
  answers: readonly SecurityAnswerInput[],
  count?: number,
): Result<NormalizedSecurityAnswer[], ValidationError> {
  const problems: SecurityAnswerProblem[] = [];
  if (count !== undefined && answers.length !== count) {
    problems.push({
      index: null,
      rule: 'count',
      message: `Answer exactly ${count} security ${count === 1 ? 'question' : 'questions'}`,
    });
  }
  const questions = new Map<string, number>();
  const seenAnswers = new Map<string, number>();
  const normalized = answers.map((a, index) => {
    const question = a.question.trim();
    const qKey = normalizeAnswer(question);
    if (qKey === '') {
      problems.push({ index, rule: 'question_empty', message: `Question ${index + 1} is empty` });
    } else if (questions.has(qKey)) {
      problems.push({
        index,
        rule: 'question_duplicate',
        message: `Question ${index + 1} is the same as question ${questions.get(qKey)! + 1}`,
      });
    } else {
      questions.set(qKey, index);
    }
    const normalizedAnswer = normalizeAnswer(a.answer);
    if (normalizedAnswer === '') {
      problems.push({ index, rule: 'answer_empty', message: `Answer question ${index + 1}` });
    } else if (Array.from(normalizedAnswer).length < ANSWER_MIN_LENGTH) {
      problems.push({
        index,
        rule: 'answer_too_short',
        message: `The answer to question ${index + 1} needs at least ${ANSWER_MIN_LENGTH} characters`,
      });
    } else if (seenAnswers.has(normalizedAnswer)) {
      problems.push({
        index,
        rule: 'answer_duplicate',
        message: `The answer to question ${index + 1} is the same as the answer to question ${seenAnswers.get(normalizedAnswer)! + 1}; give a different answer to each question`,
      });
    } else {
      seenAnswers.set(normalizedAnswer, index);
    }
    return { question, normalizedAnswer };
  });
  if (problems.length) {
    return fail(new ValidationError(problems.map((p) => p.message).join('; '), { problems }));
  }
  return ok(normalized);
}
