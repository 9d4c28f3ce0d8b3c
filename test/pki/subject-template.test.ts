// The configured subject template (pki.subjectTemplate) is checked once at start-up: a wrong
// attribute type or an unknown field would otherwise fail every issuance later.
import { describe, expect, it } from 'vitest';
import { checkSubjectTemplate, renderSubject } from '../../src/pki/subject.js';
import { pkiSettings } from '../../src/services/pki/pki-config.js';

const base = { externalUrl: 'http://127.0.0.1:1', crlValidityHours: 24, caAlgorithm: 'ECCP256' };

describe('pki.subjectTemplate', () => {
  it('accepts known types and fields, properties included; renders a property, leaves an empty one out', () => {
    const t = checkSubjectTemplate([
      { type: 'CN', value: '${displayName}' },
      { type: 'UID', value: '${username}' },
      { type: 'OU', value: '${properties.server}' },
    ]);
    expect(pkiSettings({ ...base, subjectTemplate: t }).subjectTemplate).toEqual(t);
    const person = { username: 'alice', displayName: 'Alice', email: null, upn: null };
    expect(renderSubject(t, { ...person, properties: { server: 'https://id.example' } })).toEqual([
      { type: 'CN', value: 'Alice' },
      { type: 'UID', value: 'alice' },
      { type: 'OU', value: 'https://id.example' },
    ]);
    expect(renderSubject(t, { ...person, properties: {} }).map((a) => a.type)).toEqual(['CN', 'UID']);
  });

  it('refuses an unknown type, an unknown field, an empty list and a value that is not text', () => {
    const settings = (subjectTemplate: unknown) =>
      pkiSettings({ ...base, subjectTemplate: subjectTemplate as [] });
    expect(() => settings([{ type: 'XX', value: 'a' }])).toThrow(/type "XX" is not one of C, ST/);
    expect(() => settings([{ type: 'CN', value: '${nickname}' }])).toThrow(/\$\{nickname\} is unknown/);
    expect(() => settings([{ type: 'CN', value: '${properties.}' }])).toThrow(/is unknown/);
    expect(() => settings([])).toThrow(/list of 1 to 16/);
    expect(() => settings({ type: 'CN', value: 'x' })).toThrow(/list of 1 to 16/);
    expect(() => settings([{ type: 'CN', value: 7 }])).toThrow(/must be text/);
    expect(() => settings([{ type: 'toString', value: 'x' }])).toThrow(/is not one of/);
  });
});
