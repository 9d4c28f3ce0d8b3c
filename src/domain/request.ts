// A request: the workflow object behind issuance, replacement and mobile-ID orders (DESIGN.md
// "Domain" → Request; reference 003 for who submits and who approves; reference 004 for mobile ID).

import type { DeviceType } from './device.js';
import { fail, ok, ValidationError, type Result } from './errors.js';
import { defineMachine } from './state-machine.js';

export const REQUEST_KINDS = ['issuance', 'replacement', 'mobile_id'] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

export const REQUEST_WORKFLOWS = ['local_issuance', 'self_enrollment', 'remote_issuance'] as const;
export type RequestWorkflow = (typeof REQUEST_WORKFLOWS)[number];

export const REQUEST_STATES = [
  'submitted',
  'approved',
  'bound',
  'completed',
  'rejected',
  'cancelled',
] as const;
export type RequestState = (typeof REQUEST_STATES)[number];

export const REQUEST_ACTIONS = ['approve', 'reject', 'bind', 'unbind', 'complete', 'cancel'] as const;
export type RequestAction = (typeof REQUEST_ACTIONS)[number];

/** Who created the request: a help-desk operator, or the person themself in the user portal. */
export type RequestSubmitter = 'operator' | 'user';

export const requestMachine = defineMachine<RequestState, RequestAction>('request', REQUEST_STATES, {
  // A validation officer's decision on a user-declared incident (ref. 003).
  approve: { from: ['submitted'], to: 'approved' },
  reject: { from: ['submitted'], to: 'rejected' },
  // An issuance officer binds a device to the person (self-enrollment, ref. 003; optional there when
  // the request came from the help desk, hence complete from approved too).
  bind: { from: ['approved'], to: 'bound' },
  // The bound device's issuance failed and was cancelled (or the card recycled): the request waits
  // for another device, so it is not stuck on one that left the person.
  unbind: { from: ['bound'], to: 'approved' },
  complete: { from: ['approved', 'bound'], to: 'completed' },
  cancel: { from: ['submitted', 'approved', 'bound'], to: 'cancelled' },
});

export const requestTransition = requestMachine.transition;
export const allowedRequestActions = requestMachine.allowedActions;

/** States from which a request can no longer move. */
export function isRequestFinal(state: RequestState): boolean {
  return requestMachine.allowedActions(state).length === 0;
}

/**
 * Ref. 003: a help-desk operator's request goes straight to issuance ("The Help Desk operator submits
 * a device replacement request. An Issuance officer personalizes the device"), while a request the
 * user creates by declaring an incident waits for "A Validation officer approves".
 */
export function initialRequestState(submittedBy: RequestSubmitter): RequestState {
  return submittedBy === 'operator' ? 'approved' : 'submitted';
}

/** Ref. 003: "Remote Issuance Workflow (Mobile Smart Cards only)". */
export function validateWorkflow(
  workflow: RequestWorkflow,
  deviceType: DeviceType,
): Result<RequestWorkflow, ValidationError> {
  if (workflow === 'remote_issuance' && deviceType !== 'mobile') {
    return fail(
      new ValidationError(
        'Remote issuance is only available for mobile smart cards; choose local issuance or self-enrollment',
        { workflow, deviceType },
      ),
    );
  }
  return ok(workflow);
}

/** What an open request waits for: who acts next (the operator portal's queues, the user portal). */
export const REQUEST_WAITS = [
  'approval',
  'binding',
  'issuance',
  'self_enrollment',
  'phone_enrolment',
  'temporary_end',
  'activation',
] as const;
export type RequestWait = (typeof REQUEST_WAITS)[number];

/**
 * Ref. 003, per workflow: a request the person declared waits for a validation officer's approval;
 * local issuance for an issuance officer to personalize the replacement; self-enrollment for a
 * device to be bound (optional: the person may enroll a card bound to them) and then for the person;
 * remote issuance for the person's enrolment on their phone (nothing else completes it); a temporary
 * device once issued for its end (terminated when the card is found, or expired); a replacement card
 * printed but held back at the print step for its activation. Final: nothing.
 */
export function waitingFor(r: {
  state: RequestState;
  workflow: RequestWorkflow;
  type: string | null;
  dueAt: string | null;
  /** The state of the replacement device the request names, if any. */
  replacementState?: string | null;
}): RequestWait | null {
  if (isRequestFinal(r.state)) return null;
  if (r.state === 'submitted') return 'approval';
  // Printed and held back at the print step (reference 002): its activation completes the request.
  if (r.replacementState === 'pending') return 'activation';
  if (r.type === 'temporary' && r.dueAt) return 'temporary_end';
  switch (r.workflow) {
    case 'remote_issuance':
      return 'phone_enrolment';
    case 'local_issuance':
      return 'issuance';
    case 'self_enrollment':
      return r.state === 'bound' ? 'self_enrollment' : 'binding';
  }
}
