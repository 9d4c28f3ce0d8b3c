// The roles a person may hold (DESIGN.md "Domain": a person may hold several). What each role may
// do is the permission matrix in permissions.ts.

export const ROLES = ['user', 'helpdesk', 'issuance_officer', 'validation_officer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
