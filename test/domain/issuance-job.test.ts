import { describe, expect, it } from 'vitest';
import {
  ISSUANCE_STEPS,
  ISSUANCE_STEP_IDS,
  planIssuanceSteps,
  progressFor,
} from '../../src/domain/issuance-job.js';

describe('issuance steps', () => {
  it('run in personalization order', () => {
    expect(ISSUANCE_STEP_IDS).toEqual([
      'connect',
      'authenticate',
      'set_management_key',
      'set_retries',
      'generate_key',
      'request_certificate',
      'write_certificate',
      'write_chuid_ccc',
      'set_pin',
      'activate',
    ]);
    expect(ISSUANCE_STEPS.filter((s) => s.perProfile).map((s) => s.id)).toEqual([
      'generate_key',
      'request_certificate',
      'write_certificate',
    ]);
    for (const s of ISSUANCE_STEPS) {
      expect(s.weight).toBeGreaterThan(0);
      expect(s.label).toMatch(/^[A-Z]/);
    }
  });

  it('repeat per credential profile', () => {
    const plan = planIssuanceSteps(2);
    expect(plan.map((s) => (s.profileIndex === null ? s.id : `${s.id}#${s.profileIndex}`))).toEqual([
      'connect',
      'authenticate',
      'set_management_key',
      'set_retries',
      'generate_key#0',
      'generate_key#1',
      'request_certificate#0',
      'request_certificate#1',
      'write_certificate#0',
      'write_certificate#1',
      'write_chuid_ccc',
      'set_pin',
      'activate',
    ]);
    expect(planIssuanceSteps(0).some((s) => s.profileIndex !== null)).toBe(false);
  });
});

describe('progressFor', () => {
  it.each([0, 1, 2, 4])('climbs from 0 to 100 without going back (%i profiles)', (profiles) => {
    const plan = planIssuanceSteps(profiles);
    const done: string[] = [];
    let last = progressFor(done, profiles);
    expect(last).toBe(0);
    for (const [i, step] of plan.entries()) {
      done.push(step.id);
      const p = progressFor(done, profiles);
      expect(Number.isInteger(p)).toBe(true);
      expect(p).toBeGreaterThan(last);
      if (i < plan.length - 1) expect(p).toBeLessThan(100);
      last = p;
    }
    expect(last).toBe(100);
  });

  it('weighs steps: key generation dominates', () => {
    // 1 profile: total = 2+3+3+4+20+8+5+3+3+2 = 53
    expect(progressFor(['generate_key'], 1)).toBe(Math.floor((20 * 100) / 53));
    expect(progressFor(['connect'], 1)).toBe(Math.floor((2 * 100) / 53));
  });

  it('ignores unknown ids and repeats beyond the profile count', () => {
    const all = planIssuanceSteps(1).map((s) => s.id);
    expect(progressFor(['connect', 'connect', 'connect', 'bogus'], 1)).toBe(progressFor(['connect'], 1));
    expect(progressFor([...all, 'generate_key', 'bogus'], 1)).toBe(100);
    expect(progressFor(['generate_key', 'generate_key'], 1)).toBe(progressFor(['generate_key'], 1));
  });

  it('refuses a nonsensical profile count', () => {
    expect(() => progressFor([], -1)).toThrow(RangeError);
    expect(() => progressFor([], 1.5)).toThrow(RangeError);
    expect(() => planIssuanceSteps(-1)).toThrow(RangeError);
  });
});
