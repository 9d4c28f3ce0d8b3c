// A person's lifecycle (DESIGN.md "Domain" → User). Suspension is reversible; termination is final:
// a terminated person is kept for history but can never be reactivated.

import { defineMachine } from './state-machine.js';

export { ROLES, isRole, type Role } from './roles.js';

export const USER_STATES = ['active', 'suspended', 'terminated'] as const;
export type UserState = (typeof USER_STATES)[number];

export const USER_ACTIONS = ['suspend', 'reactivate', 'terminate'] as const;
export type UserAction = (typeof USER_ACTIONS)[number];

export const USER_SOURCES = ['local', 'ldap'] as const;
export type UserSource = (typeof USER_SOURCES)[number];

export const userMachine = defineMachine<UserState, UserAction>('user', USER_STATES, {
  suspend: { from: ['active'], to: 'suspended' },
  reactivate: { from: ['suspended'], to: 'active' },
  terminate: { from: ['active', 'suspended'], to: 'terminated' },
});

export const userTransition = userMachine.transition;
export const allowedUserActions = userMachine.allowedActions;
