// The permission matrix: what each role may do (DESIGN.md "Domain" → User roles; the API contract's
// "Permissions" list). Deny by default: a role or permission this file does not know grants nothing.
// docs/permissions.md is generated from this file (test/domain/permissions-doc.test.ts checks it).

import { isRole, ROLES, type Role } from './roles.js';

export { ROLES, isRole, type Role } from './roles.js';

/** Exactly the API contract's list, in its order. */
export const PERMISSIONS = [
  'user.read',
  'user.create',
  'user.update',
  'user.lifecycle',
  'device.read',
  'device.register',
  'device.bind',
  'device.issue',
  'device.recycle',
  'device.lifecycle',
  'policy.read',
  'policy.write',
  'settings.read',
  'settings.write',
  'audit.read',
  'audit.verify',
  'certificate.read',
  'certificate.suspend',
  'certificate.revoke',
  'ca.read',
  'ca.manage',
  'key.recover',
  'request.read',
  'request.submit',
  'request.approve',
  'initial_pin.retrieve',
  'initial_password.issue',
  'agent.pair',
  'agent.manage',
  'directory.manage',
  'mail.read',
  'mail.resend',
  'self.read',
  'self.issue',
  'self.incident',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export function isPermission(value: unknown): value is Permission {
  return typeof value === 'string' && (PERMISSIONS as readonly string[]).includes(value);
}

/** The user portal: every person may use it, whatever else they may do (references 000, 003, 004). */
const SELF_SERVICE = ['self.read', 'self.issue', 'self.incident'] as const satisfies readonly Permission[];

export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  user: [...SELF_SERVICE],
  // Ref. 003: the help desk takes incidents and submits replacement requests; it may suspend a
  // certificate at once (a lost card) but revocation is a validation officer's decision.
  helpdesk: [
    'user.read',
    'device.read',
    'device.bind',
    'policy.read',
    'certificate.read',
    'certificate.suspend',
    'ca.read',
    'request.read',
    'request.submit',
    'initial_password.issue',
    'initial_pin.retrieve',
    'agent.pair',
    'audit.read',
    ...SELF_SERVICE,
  ],
  // Ref. 001, 002, 003: registers, binds, personalizes, prints and recycles devices.
  issuance_officer: [
    'user.read',
    'device.read',
    'device.register',
    'device.bind',
    'device.issue',
    'device.recycle',
    'policy.read',
    'settings.read',
    'certificate.read',
    'ca.read',
    'request.read',
    'initial_password.issue',
    'initial_pin.retrieve',
    'agent.pair',
    ...SELF_SERVICE,
  ],
  // Ref. 003: approves user-declared incidents; decides on suspension and revocation.
  validation_officer: [
    'user.read',
    'device.read',
    'request.read',
    'request.approve',
    'certificate.read',
    'certificate.suspend',
    'certificate.revoke',
    'ca.read',
    'audit.read',
    ...SELF_SERVICE,
  ],
  admin: [...PERMISSIONS],
};

/** Every permission the roles grant together, in PERMISSIONS order; unknown roles add nothing. */
export function permissionsOf(roles: readonly string[]): Permission[] {
  const granted = new Set<Permission>(roles.filter(isRole).flatMap((r) => ROLE_PERMISSIONS[r]));
  return PERMISSIONS.filter((p) => granted.has(p));
}

/** Whether any of `roles` grants `permission`. Unknown roles or permissions: no. */
export function can(roles: readonly string[], permission: Permission): boolean {
  return roles.some((r) => isRole(r) && ROLE_PERMISSIONS[r].includes(permission));
}

/** The roles that grant `permission`, in ROLES order. */
export function rolesWith(permission: Permission): Role[] {
  return ROLES.filter((r) => ROLE_PERMISSIONS[r].includes(permission));
}
