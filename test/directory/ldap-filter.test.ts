// RFC 4515 escaping and DN comparison: table-driven.
import { describe, expect, it } from 'vitest';
import {
  andFilter,
  equalityFilter,
  escapeFilterValue,
  isValidFilter,
  normalizeDn,
} from '../../src/directory/ldap-filter.js';

describe('LDAP filters', () => {
  it.each([
    ['alice', 'alice'],
    ['*', '\\2a'],
    ['*)(uid=*', '\\2a\\29\\28uid=\\2a'],
    ['a\\b', 'a\\5cb'],
    ['nul\u0000byte', 'nul\\00byte'],
    ['Zoë (admin)', 'Zoë \\28admin\\29'],
  ])('escapes %j as %j (RFC 4515 §3)', (value, escaped) => {
    expect(escapeFilterValue(value)).toBe(escaped);
  });

  it('builds equality and AND filters, refusing attribute names that are not names', () => {
    expect(andFilter('(objectClass=person)', equalityFilter('uid', '*)(uid=*'))).toBe(
      '(&(objectClass=person)(uid=\\2a\\29\\28uid=\\2a))',
    );
    expect(isValidFilter(andFilter('(objectClass=person)', equalityFilter('uid', '*)(|(uid=*')))).toBe(true);
    expect(() => equalityFilter('uid)(cn', 'x')).toThrow(/attribute/);
  });

  it('validates configured filters', () => {
    expect(isValidFilter('(objectClass=inetOrgPerson)')).toBe(true);
    expect(isValidFilter('(&(objectClass=person)(!(disabled=TRUE)))')).toBe(true);
    expect(isValidFilter('objectClass=person')).toBe(false);
    expect(isValidFilter('(objectClass=person')).toBe(false);
  });

  it('compares DNs ignoring case and spaces around separators', () => {
    expect(normalizeDn('UID=Alice, OU=People ,dc=Example,dc=org')).toBe(
      'uid=alice,ou=people,dc=example,dc=org',
    );
  });
});
