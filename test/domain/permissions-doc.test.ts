// docs/permissions.md is generated from the matrix in src/domain/permissions.ts. This test fails
// when the two differ; regenerate with: TESSERA_WRITE_DOCS=1 npx vitest run test/domain/permissions-doc.test.ts

import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PERMISSIONS, ROLES, ROLE_PERMISSIONS } from '../../src/domain/permissions.js';

const DOC = new URL('../../docs/permissions.md', import.meta.url);

function render(): string {
  const header = `| permission | ${ROLES.join(' | ')} |`;
  const rule = `|---|${ROLES.map(() => ':---:').join('|')}|`;
  const rows = PERMISSIONS.map(
    (p) => `| \`${p}\` | ${ROLES.map((r) => (ROLE_PERMISSIONS[r].includes(p) ? '✓' : '')).join(' | ')} |`,
  );
  return [
    '# Permissions',
    '',
    '<!-- Generated from src/domain/permissions.ts by test/domain/permissions-doc.test.ts; do not edit by hand.',
    '     Regenerate: TESSERA_WRITE_DOCS=1 npx vitest run test/domain/permissions-doc.test.ts -->',
    '',
    'What each role may do. A person may hold several roles and gets the union of their permissions;',
    'anything not granted is denied. Every role includes the `self.*` permissions: every person may use',
    'the user portal. The server returns the permissions in `Me.permissions`; the web app hides what a',
    'person cannot do, and the server refuses it (403 `forbidden`).',
    '',
    header,
    rule,
    ...rows,
    '',
  ].join('\n');
}

describe('docs/permissions.md', () => {
  it('matches the permission matrix', () => {
    const want = render();
    if (process.env['TESSERA_WRITE_DOCS'] === '1') writeFileSync(DOC, want);
    expect(readFileSync(DOC, 'utf8')).toBe(want);
  });
});
