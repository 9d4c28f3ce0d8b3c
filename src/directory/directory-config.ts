// The directory connection an administrator configures: where the LDAP server is, how to reach
// it safely (StartTLS or ldaps, certificate checks), which account searches it, where people are
// and which of their attributes become Tessera's user fields and properties, and which groups
// grant which roles. The bind password is not part of this object: it is kept encrypted apart.
import { ValidationError } from '../domain/errors.js';
import { ROLES, type Role } from '../domain/permissions.js';
import { isAttributeName, isValidFilter } from './ldap-filter.js';

export interface DirectoryConfig {
  enabled: boolean;
  /** ldap://host:port or ldaps://host:port */
  url: string;
  /** Upgrade an ldap:// connection with StartTLS (RFC 4511 §4.14) before binding. */
  startTls: boolean;
  /** Check the server's certificate (off only for a lab directory with a self-signed certificate). */
  tlsVerify: boolean;
  /** Extra trusted CA certificates (PEM) for the directory's TLS certificate. */
  caCertificatePem: string | null;
  /** The service account that searches the directory; empty means anonymous search. */
  bindDn: string;
  baseDn: string;
  /** Which entries are people, e.g. (objectClass=inetOrgPerson). */
  userFilter: string;
  /** What identifies an entry for good: entryUUID survives renames and moves; the DN does not. */
  externalId: 'entryUUID' | 'dn';
  /** photo: the attribute holding the person's picture (jpegPhoto), printed on cards; none when absent. */
  attributes: { username: string; displayName: string; email: string | null; photo?: string | null };
  /** Tessera property name → LDAP attribute (employeeNumber, departmentNumber…). */
  properties: Record<string, string>;
  groups: { baseDn: string | null; filter: string; memberAttribute: string };
  /** Members of `group` (a DN) get `roles`; everyone imported gets 'user'. Empty: roles are not managed. */
  groupRoles: { group: string; roles: Role[] }[];
  timeoutSeconds: number;
}

export const DEFAULT_DIRECTORY_CONFIG: DirectoryConfig = {
  enabled: false,
  url: 'ldap://localhost:389',
  startTls: false,
  tlsVerify: true,
  caCertificatePem: null,
  bindDn: '',
  baseDn: '',
  userFilter: '(objectClass=inetOrgPerson)',
  externalId: 'entryUUID',
  attributes: { username: 'uid', displayName: 'cn', email: 'mail' },
  properties: {},
  groups: { baseDn: null, filter: '(objectClass=groupOfNames)', memberAttribute: 'member' },
  groupRoles: [],
  timeoutSeconds: 10,
};

/** Checks what the API schema cannot: URL scheme, filters, attribute names, roles. */
/**
 * The settings, checked and normalised. `caProblems` are what the caller found wrong with the
 * trusted CA certificates (reading X.509 is pki/'s job: pki/trust-anchors.ts).
 */
export function checkDirectoryConfig(
  c: DirectoryConfig,
  caProblems: readonly string[] = [],
): DirectoryConfig {
  const problems: string[] = [];
  let url: URL | null = null;
  try {
    url = new URL(c.url);
  } catch {
    problems.push('url is not a URL');
  }
  if (url && url.protocol !== 'ldap:' && url.protocol !== 'ldaps:')
    problems.push('url must start with ldap:// or ldaps://');
  // The URL is shown in errors and to operators; credentials belong in the bind DN and password.
  if (url && (url.username || url.password))
    problems.push('url must not contain a user or password: use the bind DN and bind password fields');
  if (url && url.protocol === 'ldaps:' && c.startTls)
    problems.push('StartTLS is for ldap:// URLs; an ldaps:// connection is already encrypted');
  if (!isValidFilter(c.userFilter)) problems.push('userFilter is not a valid LDAP filter');
  if (!isValidFilter(c.groups.filter)) problems.push('groups.filter is not a valid LDAP filter');
  const attrs = [
    ['attributes.username', c.attributes.username],
    ['attributes.displayName', c.attributes.displayName],
    ['attributes.email', c.attributes.email],
    ['attributes.photo', c.attributes.photo ?? null],
    ['groups.memberAttribute', c.groups.memberAttribute],
    ...Object.entries(c.properties).map(([k, v]) => [`properties.${k}`, v]),
  ] as const;
  for (const [name, v] of attrs)
    if (v !== null && !isAttributeName(v)) problems.push(`${name} is not an attribute name`);
  for (const g of c.groupRoles)
    for (const r of g.roles)
      if (!(ROLES as readonly string[]).includes(r)) problems.push(`unknown role ${r}`);
  if (c.enabled && !c.baseDn) problems.push('baseDn is required');
  const caCertificatePem = c.caCertificatePem?.trim() ? c.caCertificatePem : null;
  if (caCertificatePem) problems.push(...caProblems);
  if (problems.length)
    throw new ValidationError(`The directory settings are not usable: ${problems.join('; ')}`, { problems });
  return { ...c, caCertificatePem };
}
