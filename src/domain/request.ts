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

export const REQUEST_ACTIONS = ['approve', 'reject', 'bind', 'complete', 'cancel'] as const;
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
