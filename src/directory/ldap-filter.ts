// LDAP search filters built from untrusted values. RFC 4515 §3: in an assertion value the
// characters '*', '(', ')', '\' and NUL must be written as a backslash and two hex digits, so a
// username like "*)(uid=*" becomes the literal value "\2a\29\28uid=\2a" and matches nobody.
import { FilterParser } from 'ldapts';

// eslint-disable-next-line no-control-regex -- NUL is one of the characters RFC 4515 requires escaping
const SPECIAL = /[*()\\\u0000]/g;

/** Escapes one assertion value (RFC 4515 §3, "valueencoding"). */
export function escapeFilterValue(value: string): string {
  return value.replace(SPECIAL, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** An attribute description as RFC 4512 §2.5 allows it (name or OID, with options). */
const ATTRIBUTE = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)(?:;[A-Za-z0-9-]+)*$/;

export function isAttributeName(name: string): boolean {
  return ATTRIBUTE.test(name);
}

/** `(attr=value)` with the value escaped; the attribute name comes from configuration, checked. */
export function equalityFilter(attribute: string, value: string): string {
  if (!isAttributeName(attribute)) throw new Error(`Not an LDAP attribute name: ${attribute}`);
  return `(${attribute}=${escapeFilterValue(value)})`;
}

/** `(&a b …)`; a single filter is returned as is. */
export function andFilter(...filters: string[]): string {
  return filters.length === 1 ? filters[0]! : `(&${filters.join('')})`;
}

/** Whether a configured filter parses (administrators type these; a typo should fail on save). */
export function isValidFilter(filter: string): boolean {
  if (!/^\(.*\)$/s.test(filter.trim())) return false;
  try {
    FilterParser.parseString(filter.trim());
    return true;
  } catch {
    return false;
  }
}

/** DNs compared case-insensitively and without the optional spaces around separators. */
export function normalizeDn(dn: string): string {
  return dn
    .split(/(?<!\\),/)
    .map((rdn) =>
      rdn
        .split(/(?<!\\)=/)
        .map((p) => p.trim())
        .join('='),
    )
    .join(',')
    .toLowerCase();
}
