import { describe, expect, it } from 'vitest';
import {
  can,
  isPermission,
  permissionsOf,
  PERMISSIONS,
  ROLE_PERMISSIONS,
  ROLES,
  rolesWith,
  type Permission,
  type Role,
} from '../../src/domain/permissions.js';

// The matrix as the brief states it, written out independently of src/domain.
const SELF = ['self.read', 'self.issue', 'self.incident'];
const expected: Record<Role, string[]> = {
  user: SELF,
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
    ...SELF,
  ],
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
    ...SELF,
  ],
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
    ...SELF,
  ],
  admin: [],
};

const CONTRACT_LIST = `user.read user.create user.update user.lifecycle device.read device.register device.bind device.issue
device.recycle device.lifecycle policy.read policy.write settings.read settings.write audit.read audit.verify
certificate.read certificate.suspend certificate.revoke ca.read ca.manage key.recover request.read
request.submit request.approve initial_pin.retrieve initial_password.issue agent.pair agent.manage
directory.manage mail.read mail.resend self.read self.issue self.incident`;

describe('permissions', () => {
  it('are exactly the API contract list', () => {
    expect(PERMISSIONS).toEqual(CONTRACT_LIST.split(/\s+/));
  });

  it('every role is in the matrix, and grants only known permissions, once each', () => {
    expect(Object.keys(ROLE_PERMISSIONS).sort()).toEqual([...ROLES].sort());
    for (const r of ROLES) {
      for (const p of ROLE_PERMISSIONS[r]) expect(PERMISSIONS).toContain(p);
      expect(new Set(ROLE_PERMISSIONS[r]).size).toBe(ROLE_PERMISSIONS[r].length);
    }
  });

  // The full matrix: every role × every permission.
  it.each(ROLES.flatMap((r) => PERMISSIONS.map((p) => [r, p] as const)))('%s × %s', (role, permission) => {
    const granted = role === 'admin' || expected[role].includes(permission);
    expect(can([role], permission)).toBe(granted);
    expect(permissionsOf([role]).includes(permission)).toBe(granted);
    expect(rolesWith(permission).includes(role)).toBe(granted);
  });

  it('every person may use the user portal', () => {
    for (const r of ROLES) for (const p of SELF) expect(can([r], p as Permission)).toBe(true);
  });

  it('combines roles as a union, in contract order', () => {
    const both = permissionsOf(['helpdesk', 'validation_officer']);
    expect(both).toEqual(
      PERMISSIONS.filter((p) => expected.helpdesk.includes(p) || expected.validation_officer.includes(p)),
    );
    expect(can(['user', 'validation_officer'], 'certificate.revoke')).toBe(true);
    expect(permissionsOf(['admin', 'user'])).toEqual([...PERMISSIONS]);
  });

  it('denies by default: no roles, unknown roles, unknown permissions', () => {
    expect(permissionsOf([])).toEqual([]);
    expect(can([], 'self.read')).toBe(false);
    for (const role of ['root', 'Admin', 'ADMIN', '', 'constructor', '__proto__', 'toString']) {
      expect(can([role], 'user.read')).toBe(false);
      expect(permissionsOf([role])).toEqual([]);
    }
    for (const p of ['user.delete', '*', '', 'constructor', 'USER.READ']) {
      expect(can(['admin'], p as Permission)).toBe(false);
      expect(isPermission(p)).toBe(false);
    }
  });

  it('keeps separation of duties: help desk cannot revoke or approve; nobody but admin manages the CA', () => {
    expect(can(['helpdesk'], 'certificate.revoke')).toBe(false);
    expect(can(['helpdesk'], 'request.approve')).toBe(false);
    expect(can(['issuance_officer'], 'request.approve')).toBe(false);
    expect(can(['validation_officer'], 'device.issue')).toBe(false);
    expect(rolesWith('ca.manage')).toEqual(['admin']);
    expect(rolesWith('key.recover')).toEqual(['admin']);
  });
});
