import { describe, expect, it } from 'vitest';
import { normalizeAnswer, validateAnswers } from '../../src/domain/security-questions.js';

describe('normalizeAnswer (reference 000)', () => {
  it('treats TOTO, toto, ToTo, Toto, TotO and T o t o as one answer', () => {
    const forms = ['TOTO', 'toto', 'ToTo', 'Toto', 'TotO', 'T o t o', ' to  to ', 'to\tto\n'];
    for (const f of forms) expect(normalizeAnswer(f)).toBe('toto');
  });

  it('is Unicode-aware', () => {
    expect(normalizeAnswer('ＴＯＴＯ')).toBe('toto'); // full-width, by NFKC
    expect(normalizeAnswer('to\u00a0to\u3000')).toBe('toto'); // no-break and ideographic spaces
    expect(normalizeAnswer('Cafe\u0301')).toBe(normalizeAnswer('CAFÉ')); // combining accent composes
    expect(normalizeAnswer('Ǆ')).toBe('d\u017e'); // a compatibility digraph splits into its letters
    expect(normalizeAnswer('Straße')).toBe('straße');
  });

  it('keeps what is not case or space', () => {
    expect(normalizeAnswer('toto')).not.toBe(normalizeAnswer('totó'));
    expect(normalizeAnswer('to-to')).toBe('to-to');
  });
});

describe('validateAnswers', () => {
  const good = [
    { question: 'First pet?', answer: 'Rex' },
    { question: 'Town of birth?', answer: 'Lyon sur Mer' },
  ];

  it('returns the normalized answers', () => {
    expect(validateAnswers(good, 2)).toEqual({
      ok: true,
      value: [
        { question: 'First pet?', normalizedAnswer: 'rex' },
        { question: 'Town of birth?', normalizedAnswer: 'lyonsurmer' },
      ],
    });
  });

  it.each([
    [[{ question: 'Q1', answer: '   ' }], ['answer_empty']],
    [[{ question: 'Q1', answer: 'a' }], ['answer_too_short']],
    [[{ question: 'Q1', answer: ' a ' }], ['answer_too_short']],
    [[{ question: ' ', answer: 'abc' }], ['question_empty']],
    [
      [
        { question: 'Q1', answer: 'Rex' },
        { question: 'Q2', answer: 'r E x' },
      ],
      ['answer_duplicate'],
    ],
    [
      [
        { question: 'Q1', answer: 'Rex' },
        { question: 'q 1', answer: 'Max' },
      ],
      ['question_duplicate'],
    ],
  ])('refuses %j', (answers, rules) => {
    const r = validateAnswers(answers);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('validation_failed');
      expect((r.error.details!['problems'] as { rule: string }[]).map((p) => p.rule)).toEqual(rules);
    }
  });

  it('checks the count the security settings ask for', () => {
    const r = validateAnswers(good, 3);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toBe('Answer exactly 3 security questions');
    expect(validateAnswers(good).ok).toBe(true);
  });

  it('reports every problem, and never an answer', () => {
    const answers = [
      { question: 'Q1', answer: 'Secretive' },
      { question: 'Q2', answer: 'SECRETIVE' },
      { question: 'Q3', answer: 'x' },
    ];
    const r = validateAnswers(answers, 4);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const problems = r.error.details!['problems'] as { index: number | null; rule: string }[];
    expect(problems.map((p) => [p.index, p.rule])).toEqual([
      [null, 'count'],
      [1, 'answer_duplicate'],
      [2, 'answer_too_short'],
    ]);
    expect(JSON.stringify({ m: r.error.message, d: r.error.details }).toLowerCase()).not.toContain(
      'secretive',
    );
  });
});
