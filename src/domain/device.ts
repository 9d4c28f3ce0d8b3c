// A device's lifecycle: one physical PIV card or token, or one phone's mobile smart card
// (DESIGN.md "Domain" → Device; reference 001 for failed issuance, 002 for pending after a cancelled
// print, 003 for invalid/restore/terminate during replacement).

import { defineMachine } from './state-machine.js';

export const DEVICE_TYPES = ['piv_card', 'piv_token', 'mobile'] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];

export function isDeviceType(value: unknown): value is DeviceType {
  return typeof value === 'string' && (DEVICE_TYPES as readonly string[]).includes(value);
}

/** Device types that are PIV smart cards or tokens (a physical card application, SP 800-73-4). */
export function isPivDevice(type: DeviceType): boolean {
  return type === 'piv_card' || type === 'piv_token';
}

export const DEVICE_STATES = [
  'inventory',
  'bound',
  'issuing',
  'pending',
  'active',
  'suspended',
  'failed',
  'awaiting_recycle',
  'invalid',
  'terminated',
] as const;
export type DeviceState = (typeof DEVICE_STATES)[number];

export const DEVICE_ACTIONS = [
  'bind',
  'unbind',
  'start_issuance',
  'succeed',
  'hold_pending',
  'activate',
  'fail',
  'retry',
  'cancel',
  'recycle',
  'suspend',
  'resume',
  'invalidate',
  'restore',
  'restore_suspended',
  'terminate',
] as const;
export type DeviceAction = (typeof DEVICE_ACTIONS)[number];

export const deviceMachine = defineMachine<DeviceState, DeviceAction>('device', DEVICE_STATES, {
  // An issuance officer assigns a blank device to a person (self-enrollment workflow, ref. 003).
  bind: { from: ['inventory'], to: 'bound' },
  unbind: { from: ['bound'], to: 'inventory' },
  // Local issuance may take a blank device straight from inventory (ref. 001 "Add Device").
  start_issuance: { from: ['inventory', 'bound'], to: 'issuing' },
  succeed: { from: ['issuing'], to: 'active' },
  // Personalized but not activated: the print was cancelled (ref. 002) or activation is awaited.
  // From failed too: a card encoded but not printed (the printer failed) whose operator cancels.
  hold_pending: { from: ['issuing', 'failed'], to: 'pending' },
  activate: { from: ['pending'], to: 'active' },
  // Also how a job found running at server start is marked interrupted (DESIGN.md "Issuance job").
  fail: { from: ['issuing'], to: 'failed' },
  retry: { from: ['failed'], to: 'issuing' },
  // "The device is no longer assigned to the user" (ref. 001) but is half-personalized: it must be
  // wiped before reuse, so it waits for recycling rather than returning to inventory.
  cancel: { from: ['failed'], to: 'awaiting_recycle' },
  // The only way back to inventory for a device that has held keys: the card is wiped (ref. 001:
  // a failed device "can still be recycled" even if nobody chose retry or cancel).
  // A pending card (printed but never handed out, ref. 002) may be recycled instead of activated.
  recycle: { from: ['failed', 'awaiting_recycle', 'terminated', 'pending'], to: 'inventory' },
  // The help desk puts every credential of an active device on hold at once (a card reported
  // missing before anyone decides on a replacement), and releases them again.
  suspend: { from: ['active'], to: 'suspended' },
  resume: { from: ['suspended'], to: 'active' },
  // A replacement request names it (ref. 003); a suspended device may be the one replaced.
  invalidate: { from: ['active', 'suspended'], to: 'invalid' },
  // The replacement request was cancelled or rejected, or the temporary replacement terminated
  // (ref. 003): back to active, or back to suspended when a device suspension still holds it.
  restore: { from: ['invalid'], to: 'active' },
  restore_suspended: { from: ['invalid'], to: 'suspended' },
  terminate: { from: ['active', 'suspended', 'invalid', 'pending'], to: 'terminated' },
});

export const deviceTransition = deviceMachine.transition;
export const allowedDeviceActions = deviceMachine.allowedActions;

const DEVICE_USER_STATES: ReadonlySet<DeviceState> = new Set<DeviceState>([
  'bound',
  'issuing',
  'pending',
  'active',
  'suspended',
  'failed',
  'invalid',
  'terminated',
]);

/**
 * Whether a device in `state` stays linked to its person, i.e. keeps its `userId`.
 *
 * - bound, issuing, pending, active, suspended, failed, invalid: yes, it is that person's device (a failed one
 *   until retried or cancelled; an invalid one until its replacement is settled).
 * - terminated: yes, decided so for history: the user page and reports keep showing "terminated
 *   device of Alice", and audit stays readable. The link ends only when the card is recycled.
 * - inventory, awaiting_recycle: no. Ref. 001: after a cancelled issuance "the device is no longer
 *   assigned to the user".
 *
 * Services apply this after every transition: when the new state does not hold a user, clear
 * `userId`; when it does and none is set (start_issuance from inventory), one must be given.
 */
export function deviceHoldsUser(state: DeviceState): boolean {
  return DEVICE_USER_STATES.has(state);
}
