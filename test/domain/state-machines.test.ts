// Every (state × action) pair of every lifecycle: the legal ones lead where DESIGN.md and the brief
// say, every other one is refused with an IllegalTransitionError naming entity, state and action.
// The expected tables are written out here independently of src/domain, from the specification.

import { describe, expect, it } from 'vitest';
import {
  allowedCredentialActions,
  allowedDeviceActions,
  allowedJobActions,
  allowedRequestActions,
  allowedUserActions,
  applyJobAction,
  credentialTransition,
  CREDENTIAL_ACTIONS,
  CREDENTIAL_STATUSES,
  defineMachine,
  deviceHoldsUser,
  deviceTransition,
  DEVICE_ACTIONS,
  DEVICE_STATES,
  IllegalTransitionError,
  initialRequestState,
  isRequestFinal,
  jobTransition,
  JOB_ACTIONS,
  JOB_STATUSES,
  requestTransition,
  REQUEST_ACTIONS,
  REQUEST_STATES,
  userTransition,
  USER_ACTIONS,
  USER_STATES,
  validateWorkflow,
  waitingFor,
  type RequestState,
  type RequestWorkflow,
  DEVICE_TYPES,
  REQUEST_WORKFLOWS,
  type DomainError,
  type Result,
} from '../../src/domain/index.js';

type Legal = readonly (readonly [from: string, action: string, to: string])[];

interface Case {
  entity: string;
  states: readonly string[];
  actions: readonly string[];
  transition: (from: string, action: string) => Result<string, DomainError>;
  allowed: (state: string) => string[];
  legal: Legal;
}

const cases: Case[] = [
  {
    entity: 'user',
    states: USER_STATES,
    actions: USER_ACTIONS,
    transition: userTransition as Case['transition'],
    allowed: allowedUserActions as Case['allowed'],
    legal: [
      ['active', 'suspend', 'suspended'],
      ['suspended', 'reactivate', 'active'],
      ['active', 'terminate', 'terminated'],
      ['suspended', 'terminate', 'terminated'],
    ],
  },
  {
    entity: 'device',
    states: DEVICE_STATES,
    actions: DEVICE_ACTIONS,
    transition: deviceTransition as Case['transition'],
    allowed: allowedDeviceActions as Case['allowed'],
    legal: [
      ['inventory', 'bind', 'bound'],
      ['bound', 'unbind', 'inventory'],
      ['inventory', 'start_issuance', 'issuing'],
      ['bound', 'start_issuance', 'issuing'],
      ['issuing', 'succeed', 'active'],
      ['issuing', 'hold_pending', 'pending'],
      ['failed', 'hold_pending', 'pending'],
      ['pending', 'activate', 'active'],
      ['issuing', 'fail', 'failed'],
      ['failed', 'retry', 'issuing'],
      ['failed', 'cancel', 'awaiting_recycle'],
      ['failed', 'recycle', 'inventory'],
      ['awaiting_recycle', 'recycle', 'inventory'],
      ['terminated', 'recycle', 'inventory'],
      ['pending', 'recycle', 'inventory'],
      ['active', 'suspend', 'suspended'],
      ['suspended', 'resume', 'active'],
      ['active', 'invalidate', 'invalid'],
      ['suspended', 'invalidate', 'invalid'],
      ['invalid', 'restore', 'active'],
      ['invalid', 'restore_suspended', 'suspended'],
      ['active', 'terminate', 'terminated'],
      ['suspended', 'terminate', 'terminated'],
      ['invalid', 'terminate', 'terminated'],
      ['pending', 'terminate', 'terminated'],
    ],
  },
  {
    entity: 'credential',
    states: CREDENTIAL_STATUSES,
    actions: CREDENTIAL_ACTIONS,
    transition: credentialTransition as Case['transition'],
    allowed: allowedCredentialActions as Case['allowed'],
    legal: [
      ['valid', 'suspend', 'suspended'],
      ['suspended', 'reinstate', 'valid'],
      ['valid', 'revoke', 'revoked'],
      ['suspended', 'revoke', 'revoked'],
    ],
  },
  {
    entity: 'request',
    states: REQUEST_STATES,
    actions: REQUEST_ACTIONS,
    transition: requestTransition as Case['transition'],
    allowed: allowedRequestActions as Case['allowed'],
    legal: [
      ['submitted', 'approve', 'approved'],
      ['submitted', 'reject', 'rejected'],
      ['approved', 'bind', 'bound'],
      ['bound', 'unbind', 'approved'],
      ['approved', 'complete', 'completed'],
      ['bound', 'complete', 'completed'],
      ['submitted', 'cancel', 'cancelled'],
      ['approved', 'cancel', 'cancelled'],
      ['bound', 'cancel', 'cancelled'],
    ],
  },
  {
    entity: 'job',
    states: JOB_STATUSES,
    actions: JOB_ACTIONS,
    transition: jobTransition as Case['transition'],
    allowed: allowedJobActions as Case['allowed'],
    legal: [
      ['running', 'succeed', 'succeeded'],
      ['running', 'printed', 'awaiting_confirmation'],
      ['awaiting_confirmation', 'confirm', 'succeeded'],
      ['awaiting_confirmation', 'hold', 'cancelled'],
      ['running', 'fail', 'failed'],
      ['failed', 'retry', 'running'],
      ['failed', 'cancel', 'cancelled'],
    ],
  },
];

describe.each(cases)('$entity lifecycle', ({ entity, states, actions, transition, allowed, legal }) => {
  const expected = new Map(legal.map(([from, action, to]) => [`${from}|${action}`, to]));
  const pairs = states.flatMap((from) => actions.map((action) => [from, action] as const));

  it('the specification table names only known states and actions', () => {
    for (const [from, action, to] of legal) {
      expect(states).toContain(from);
      expect(actions).toContain(action);
      expect(states).toContain(to);
    }
  });

  it.each(pairs)(`%s --%s-->`, (from, action) => {
    const r = transition(from, action);
    const to = expected.get(`${from}|${action}`);
    if (to !== undefined) {
      expect(r).toEqual({ ok: true, value: to });
      return;
    }
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const e = r.error;
    expect(e).toBeInstanceOf(IllegalTransitionError);
    expect(e.code).toBe('illegal_transition');
    const ite = e as IllegalTransitionError;
    expect(ite.entity).toBe(entity);
    expect(ite.from).toBe(from);
    expect(ite.action).toBe(action);
    expect(e.details).toEqual({ entity, from, action, allowed: allowed(from) });
    expect(e.message).toContain(`"${from}"`);
    expect(e.message).toContain(action.replace(/_/g, ' '));
  });

  it.each(states)('allowed actions from %s are exactly the legal ones', (state) => {
    const want = legal.filter(([from]) => from === state).map(([, action]) => action);
    expect([...allowed(state)].sort()).toEqual([...want].sort());
  });

  it('refuses unknown states and actions met at run time (e.g. read from a database)', () => {
    for (const [from, action] of [
      ['bogus', actions[0]!],
      [states[0]!, 'bogus'],
      [states[0]!, 'constructor'],
      [states[0]!, 'toString'],
    ] as const) {
      const r = transition(from, action);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toBeInstanceOf(IllegalTransitionError);
    }
    expect(allowed('bogus')).toEqual([]);
  });
});

describe('defineMachine', () => {
  const m = defineMachine<'a' | 'b', 'go' | 'back'>('widget', ['a', 'b'], {
    go: { from: ['a'], to: 'b' },
    back: { from: ['b'], to: 'a' },
  });

  it('exposes its table, states and actions, and answers can()', () => {
    expect(m.entity).toBe('widget');
    expect(m.states).toEqual(['a', 'b']);
    expect(m.actions).toEqual(['go', 'back']);
    expect(m.can('a', 'go')).toBe(true);
    expect(m.can('a', 'back')).toBe(false);
  });

  it('words its refusal for a person', () => {
    const r = m.transition('a', 'back');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toBe('A widget in state "a" cannot back (allowed from "a": go)');
  });
});

describe('deviceHoldsUser', () => {
  const holds = ['bound', 'issuing', 'pending', 'active', 'suspended', 'failed', 'invalid', 'terminated'];
  it.each(DEVICE_STATES)('%s', (state) => {
    expect(deviceHoldsUser(state)).toBe(holds.includes(state));
  });

  it('a cancelled issuance leaves the device unassigned (ref. 001)', () => {
    const r = deviceTransition('failed', 'cancel');
    expect(r.ok && deviceHoldsUser(r.value)).toBe(false);
  });

  it('every way back to inventory drops the user', () => {
    for (const from of DEVICE_STATES) {
      for (const action of DEVICE_ACTIONS) {
        const r = deviceTransition(from, action);
        if (r.ok && r.value === 'inventory') expect(deviceHoldsUser(r.value)).toBe(false);
      }
    }
  });
});

describe('requests', () => {
  it('says who acts next, per state and workflow (the queues)', () => {
    const w = (state: RequestState, workflow: RequestWorkflow, temporary = false, due = false) =>
      waitingFor({ state, workflow, type: temporary ? 'temporary' : 'permanent', dueAt: due ? 'x' : null });
    expect(w('submitted', 'self_enrollment')).toBe('approval');
    expect(w('approved', 'local_issuance')).toBe('issuance');
    expect(w('bound', 'local_issuance')).toBe('issuance');
    expect(w('approved', 'self_enrollment')).toBe('binding');
    expect(w('bound', 'self_enrollment')).toBe('self_enrollment');
    expect(w('approved', 'remote_issuance')).toBe('phone_enrolment');
    expect(w('approved', 'local_issuance', true)).toBe('issuance');
    expect(w('approved', 'local_issuance', true, true)).toBe('temporary_end');
    expect(w('bound', 'self_enrollment', true, true)).toBe('temporary_end');
    // A replacement card printed and held back at the print step (ref. 002) waits for its activation.
    const held = { state: 'approved', workflow: 'local_issuance', type: 'permanent', dueAt: null } as const;
    expect(waitingFor({ ...held, replacementState: 'pending' })).toBe('activation');
    expect(waitingFor({ ...held, replacementState: 'issuing' })).toBe('issuance');
    expect(waitingFor({ ...held, state: 'cancelled', replacementState: 'pending' })).toBeNull();
    for (const state of ['completed', 'rejected', 'cancelled'] as const)
      expect(w(state, 'local_issuance')).toBeNull();
  });

  it("a help-desk operator's request starts approved; a user's needs approval (ref. 003)", () => {
    expect(initialRequestState('operator')).toBe('approved');
    expect(initialRequestState('user')).toBe('submitted');
  });

  it('final states are exactly completed, rejected and cancelled', () => {
    expect(REQUEST_STATES.filter(isRequestFinal)).toEqual(['completed', 'rejected', 'cancelled']);
  });

  it.each(REQUEST_WORKFLOWS.flatMap((w) => DEVICE_TYPES.map((t) => [w, t] as const)))(
    'workflow %s for a %s',
    (workflow, type) => {
      const r = validateWorkflow(workflow, type);
      if (workflow === 'remote_issuance' && type !== 'mobile') {
        expect(r.ok).toBe(false);
        if (!r.ok) {
          expect(r.error.code).toBe('validation_failed');
          expect(r.error.message).toMatch(/only available for mobile/);
        }
      } else {
        expect(r).toEqual({ ok: true, value: workflow });
      }
    },
  );
});

describe('issuance job attempts', () => {
  it('retry starts the next attempt; other actions keep the count', () => {
    let job = { status: 'running' as const, attempt: 1 } as Parameters<typeof applyJobAction>[0];
    const step = (action: Parameters<typeof applyJobAction>[1]) => {
      const r = applyJobAction(job, action);
      if (!r.ok) throw r.error;
      job = r.value;
    };
    step('fail');
    expect(job).toEqual({ status: 'failed', attempt: 1 });
    step('retry');
    expect(job).toEqual({ status: 'running', attempt: 2 });
    step('fail');
    step('retry');
    expect(job).toEqual({ status: 'running', attempt: 3 });
    step('succeed');
    expect(job).toEqual({ status: 'succeeded', attempt: 3 });
  });

  it('refuses illegal actions without changing the count', () => {
    const r = applyJobAction({ status: 'running', attempt: 1 }, 'cancel');
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.error).toMatchObject({ code: 'illegal_transition', from: 'running', action: 'cancel' });
  });
});
