// The layer rule (DESIGN.md "Layout", docs/decisions/0011-layers-and-permissions.md) for every
// folder of src/: which layer may import which, no import circles, SQL only in store/, no database
// handle in http/cli/agent, no role checks outside the guard. test/domain/purity.test.ts checks the
// rest of domain/'s purity (no I/O, clock or randomness).
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ALLOWED, checkLayers, layerOf, readTree, type Rule, type Violation } from './layer-rule.js';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

interface Known {
  rule: Rule;
  file: string;
  target: string;
}

/**
 * Violations other work under way is removing (issue 11); each names who removes it. Whoever fixes
 * one deletes its line here: the test fails on a line that no longer matches anything, so this
 * list only shrinks. The issue is done when it is empty.
 */
const BEING_FIXED: readonly Known[] = [];

const key = (v: Known) => `${v.rule} ${v.file} → ${v.target}`;
const tree = readTree(SRC);
const found = checkLayers(tree);

describe('the layer rule on src/', () => {
  it('reads the whole tree', () => {
    expect(tree.size).toBeGreaterThan(100);
    expect(tree.has('runtime.ts')).toBe(true);
  });

  it('places every folder of src/ in the rule, and names no folder src/ lacks', () => {
    const layers = [...new Set([...tree.keys()].map(layerOf))].sort();
    expect(layers).toEqual(Object.keys(ALLOWED).sort());
  });

  it('holds, but for the violations being fixed', () => {
    const known = new Set(BEING_FIXED.map(key));
    const unexpected = found.filter((v) => !known.has(key(v))).map((v) => v.message);
    expect(unexpected).toEqual([]);
  });

  it('lists no violation that is gone (delete its line from BEING_FIXED)', () => {
    const present = new Set(found.map(key));
    expect(BEING_FIXED.filter((k) => !present.has(key(k))).map(key)).toEqual([]);
  });
});

/** A tiny tree that obeys the rule; each planted case adds one file that breaks it. */
const CLEAN: Record<string, string> = {
  'domain/user.ts': `export type User = { id: string };`,
  'domain/permissions.ts': `export const can = (_r: string[], _p: string) => true;`,
  'store/users-repo.ts': [
    `import type { User } from '../domain/user.js';`,
    `export const getUser = (db: { query(s: string): Promise<User[]> }) => db.query('SELECT id FROM users');`,
  ].join('\n'),
  'pki/ocsp.ts': `export const answer = () => new Uint8Array();`,
  'cards/transport/agent-protocol.ts': `export const PROTOCOL_VERSION = 1;`,
  'agent/agent-client.ts': `import { PROTOCOL_VERSION } from '../cards/transport/agent-protocol.js';\nexport const v = PROTOCOL_VERSION;`,
  'services/context.ts': `export interface Actor { permissions: string[] }`,
  'services/user-service.ts': [
    `import { getUser } from '../store/users-repo.js';`,
    `import type { Actor } from './context.js';`,
    `export class UserService { get = (_a: Actor) => getUser({ query: async () => [] }); }`,
  ].join('\n'),
  'runtime.ts': `import { UserService } from './services/user-service.js';\nexport interface Runtime { users: UserService }`,
  'http/app.ts': `import type { Runtime } from '../runtime.js';\nimport { userRoutes } from './routes/users.js';\nexport const buildApp = (rt: Runtime) => userRoutes(rt);`,
  'http/routes/users.ts': `import type { Runtime } from '../../runtime.js';\nexport const userRoutes = (rt: Runtime) => rt.users;`,
  'cli/main.ts': `import { buildApp } from '../http/app.js';\nexport const main = buildApp;`,
};

const withFiles = (extra: Record<string, string>) => new Map(Object.entries({ ...CLEAN, ...extra }));

/** Each kind of violation, planted: the file, and the violation the checker must report. */
const PLANTED: { what: string; files: Record<string, string>; expected: Known }[] = [
  {
    what: 'a route importing a repository type (import type counts)',
    files: {
      'http/routes/agents.ts': `import type { User } from '../../store/users-repo.js';\nexport type A = User;`,
    },
    expected: { rule: 'layer', file: 'http/routes/agents.ts', target: 'store/users-repo.ts' },
  },
  {
    what: 'a route re-exporting a pki/ module (export … from)',
    files: { 'http/routes/pki.ts': `export { answer } from '../../pki/ocsp.js';` },
    expected: { rule: 'layer', file: 'http/routes/pki.ts', target: 'pki/ocsp.ts' },
  },
  {
    what: 'a service importing agent/ (dynamic import)',
    files: { 'services/agent-hub.ts': `export const load = () => import('../agent/agent-client.js');` },
    expected: { rule: 'layer', file: 'services/agent-hub.ts', target: 'agent/agent-client.ts' },
  },
  {
    what: 'a service importing http (an import() type)',
    files: { 'services/demo.ts': `export type App = typeof import('../http/app.js');` },
    expected: { rule: 'layer', file: 'services/demo.ts', target: 'http/app.ts' },
  },
  {
    what: 'anything importing cli (require)',
    files: { 'agent/run.ts': `const m = require('../cli/main.js');\nexport default m;` },
    expected: { rule: 'layer', file: 'agent/run.ts', target: 'cli/main.ts' },
  },
  {
    what: 'cli reaching into http beyond http/app.ts',
    files: {
      'cli/serve.ts': `import { userRoutes } from '../http/routes/users.js';\nexport const r = userRoutes;`,
    },
    expected: { rule: 'layer', file: 'cli/serve.ts', target: 'http/routes/users.ts' },
  },
  {
    what: 'a leaf importing upward (store → services)',
    files: {
      'store/audit-repo.ts': `import type { Actor } from '../services/context.js';\nexport type A = Actor;`,
    },
    expected: { rule: 'layer', file: 'store/audit-repo.ts', target: 'services/context.ts' },
  },
  {
    what: 'domain importing anything of ours',
    files: {
      'domain/device.ts': `import type { User } from './user.js';\nimport '../store/users-repo.js';\nexport type D = User;`,
    },
    expected: { rule: 'layer', file: 'domain/device.ts', target: 'store/users-repo.ts' },
  },
  {
    what: 'an import circle (through files of one folder)',
    files: {
      'http/job-events.ts': `import { Job } from './routes/issuance.js';\nexport const stream = Job;`,
      'http/routes/issuance.ts': `import { stream } from '../job-events.js';\nexport const Job = 1;\nexport const s = stream;`,
    },
    expected: {
      rule: 'cycle',
      file: 'http/job-events.ts',
      target: 'http/job-events.ts ↔ http/routes/issuance.ts',
    },
  },
  {
    what: 'a circle across three folders, by types only',
    files: {
      'services/a.ts': `import type { B } from '../store/b.js';\nexport type A = B;`,
      'store/b.ts': `import type { C } from '../domain/c.js';\nexport type B = C;`,
      'domain/c.ts': `import type { A } from '../services/a.js';\nexport type C = A | 1;`,
    },
    expected: { rule: 'cycle', file: 'domain/c.ts', target: 'domain/c.ts ↔ services/a.ts ↔ store/b.ts' },
  },
  {
    what: 'SQL in a service (a row lock)',
    files: {
      'services/crl.ts': `export const lock = (db: { query(s: string, p: unknown[]): unknown }, id: string) =>\n  db.query('SELECT crl FROM ca_crls WHERE ca_id = $1 FOR UPDATE', [id]);`,
    },
    expected: {
      rule: 'sql',
      file: 'services/crl.ts',
      target: 'SELECT crl FROM ca_crls WHERE ca_id = $1 FOR UPDATE',
    },
  },
  {
    what: 'SQL in a template literal (an advisory lock)',
    files: { 'services/lock.ts': 'export const sql = (k: number) => `SELECT pg_advisory_xact_lock(${k})`;' },
    expected: { rule: 'sql', file: 'services/lock.ts', target: 'SELECT pg_advisory_xact_lock( $x )' },
  },
  {
    what: 'a route probing the database itself',
    files: {
      'http/routes/meta.ts': `export const ready = (rt: { db: { query(s: string): unknown } }) => rt.db.query('SELECT 1');`,
    },
    expected: { rule: 'db-handle', file: 'http/routes/meta.ts', target: '.db' },
  },
  {
    what: 'a bare SQL probe outside store/',
    files: {
      'http/routes/meta.ts': `export const ready = (q: (s: string) => unknown) => q('SELECT 1');`,
    },
    expected: { rule: 'sql', file: 'http/routes/meta.ts', target: 'SELECT 1' },
  },
  {
    what: 'a use case deciding a permission from roles (renamed import)',
    files: {
      'services/pairing.ts': `import { can as may } from '../domain/permissions.js';\nexport const all = (roles: string[]) => may(roles, 'agent.manage');`,
    },
    expected: { rule: 'role-check', file: 'services/pairing.ts', target: 'can()' },
  },
  {
    what: 'a folder the rule does not place',
    files: { 'printing/layout.ts': `export const CR80 = [85.6, 53.98];` },
    expected: { rule: 'unknown-layer', file: 'printing/layout.ts', target: 'printing' },
  },
  {
    what: 'an import of a file the tree lacks',
    files: { 'services/ghost.ts': `import '../store/nowhere.js';` },
    expected: { rule: 'unresolved', file: 'services/ghost.ts', target: '../store/nowhere.js' },
  },
  {
    what: 'an import whose module is computed',
    files: {
      'services/plugin.ts': `export const load = (name: string) => import(\`../store/\${name}.js\`);`,
    },
    expected: { rule: 'unresolved', file: 'services/plugin.ts', target: '<computed>' },
  },
];

describe('the layer checker', () => {
  it('passes a tree that obeys the rule', () => {
    expect(checkLayers(withFiles({})).map((v) => v.message)).toEqual([]);
  });

  it.each(PLANTED)('fails on $what', ({ files, expected }) => {
    const violations = checkLayers(withFiles(files));
    expect(violations.map(key)).toContain(key(expected));
    // Only what was planted: the rest of the tree stays clean.
    for (const v of violations) expect(Object.keys(files)).toContain(v.file);
  });

  it('plants every kind of violation at least once', () => {
    const kinds: Rule[] = ['layer', 'cycle', 'sql', 'db-handle', 'role-check', 'unresolved', 'unknown-layer'];
    expect([...new Set(PLANTED.map((p) => p.expected.rule))].sort()).toEqual(kinds.sort());
  });

  it('fails on a violation planted into the real src/', () => {
    const planted = new Map(tree);
    const route = 'http/routes/users.ts';
    planted.set(route, `import type { User } from '../../store/users-repo.js';\n${tree.get(route)!}`);
    planted.set(
      'services/audit-service.ts',
      `${tree.get('services/audit-service.ts')!}\nexport const x = (db: { query(s: string): unknown }) => db.query('DELETE FROM audit_events');\n`,
    );
    const added = checkLayers(planted).filter((v) => !found.some((f) => key(f) === key(v)));
    expect(added.map((v: Violation) => `${v.rule} ${v.file}`)).toEqual([
      `layer ${route}`,
      'sql services/audit-service.ts',
    ]);
  });
});
