// The layer rule of DESIGN.md ("Layout") and docs/decisions/0011, as a checker over a source tree.
// It reads every import with TypeScript's own parser (static, `export … from`, `import type`,
// `import()` calls and types, `require`), so no spelling of an import slips past a regular
// expression. It works on a map of path → source text, so a test can run it on the real src/ and on
// a planted tree alike.
import ts from 'typescript';
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';

/**
 * What each layer of src/ may import (besides itself). A layer is a top-level folder, or a
 * top-level file without its extension (`runtime`). `import type` counts: a type names the layer it
 * comes from, and a route typed by a repository's row changes its API when a column changes; a
 * layer that hands a type outward declares (or re-exports) it.
 */
export const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  // Pure rules: nothing of ours (test/domain/purity.test.ts checks the rest of its purity).
  domain: [],
  // Leaves that implement what services use.
  config: ['domain'],
  secrets: ['domain'],
  store: ['domain'],
  pki: ['domain'],
  cards: ['domain'],
  directory: ['domain'],
  // Card rendering (pdfkit) and the IPP client: the server renders, the agent prints.
  print: ['domain'],
  mail: ['domain', 'config'],
  // Use cases: orchestrate the leaves; they reach agents only through cards/transport.
  services: ['domain', 'config', 'secrets', 'store', 'pki', 'cards', 'directory', 'mail', 'print'],
  // The workstation agent relays APDUs between the server and its readers: it needs cards only.
  agent: ['domain', 'config', 'cards', 'print'],
  // The REST API: services, and the runtime's handle on them; never a repository or pki/.
  http: ['domain', 'config', 'services', 'runtime'],
  // The `tessera` command: starts the server (http/app.ts only) and the agent, runs the card tools.
  cli: ['domain', 'config', 'services', 'runtime', 'http', 'agent', 'cards'],
  // The composition root wires every inner layer (not http or cli: those are its callers).
  runtime: [
    'domain',
    'config',
    'secrets',
    'store',
    'pki',
    'cards',
    'directory',
    'mail',
    'print',
    'services',
    'agent',
  ],
};

/** Where an allowed edge into a layer is narrower than the whole layer: cli starts http/app.ts only. */
const ENTRIES: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {
  cli: { http: ['http/app.ts'] },
};

/** Only the guard turns roles into "may make this call" (docs/decisions/0011). */
const ROLE_CHECK_ALLOWED = new Set(['http/auth-guard.ts']);

/** Layers that never hold the database handle: they reach data through services. */
const NO_DB_HANDLE = new Set(['http', 'cli', 'agent']);

export type Rule = 'layer' | 'cycle' | 'sql' | 'db-handle' | 'role-check' | 'unresolved' | 'unknown-layer';

export interface Violation {
  rule: Rule;
  /** The file (path relative to src/) the violation stands in; for a cycle, its first member. */
  file: string;
  /** What it reaches: the imported file, the cycle's members, the SQL text, the call. */
  target: string;
  line: number;
  message: string;
}

/**
 * SQL as this codebase writes it (keywords in upper case, as every query in src/store): statements
 * that read or change tables, row locks, advisory locks, a bare probe like `SELECT 1`.
 */
const SQL: readonly RegExp[] = [
  /\bSELECT\b[\s\S]*\bFROM\b/,
  /\bINSERT\s+INTO\b/,
  /\bUPDATE\s+[\w."]+\s+SET\b/,
  /\bDELETE\s+FROM\b/,
  /\bFOR\s+(NO\s+KEY\s+)?UPDATE\b/,
  /\bFOR\s+(KEY\s+)?SHARE\b/,
  /\bpg_(try_)?advisory\w*/i,
  /\bpg_notify\b/i,
  /^\s*SELECT\s+\d/,
  /^\s*(LISTEN|UNLISTEN|NOTIFY|TRUNCATE|LOCK\s+TABLE)\s+\w/,
];

export const isSql = (text: string): boolean => SQL.some((re) => re.test(text));

/** The layer a src-relative path belongs to. */
export function layerOf(file: string): string {
  const [first, ...rest] = file.split('/');
  return rest.length === 0 ? first!.replace(/\.tsx?$/, '') : first!;
}

interface ImportRef {
  specifier: string;
  line: number;
}

interface Parsed {
  imports: ImportRef[];
  sql: { text: string; line: number }[];
  dbHandles: number[];
  roleChecks: number[];
}

function parse(file: string, text: string): Parsed {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const lineOf = (n: ts.Node) => sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
  const out: Parsed = { imports: [], sql: [], dbHandles: [], roleChecks: [] };
  const canNames = new Set<string>();
  const literal = (n: ts.Node | undefined) =>
    n && (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) ? n.text : undefined;
  const addImport = (spec: string | undefined, at: ts.Node) => {
    if (spec !== undefined) out.imports.push({ specifier: spec, line: lineOf(at) });
  };
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) {
      addImport(literal(n.moduleSpecifier), n);
      // `import { can } from '…/domain/permissions.js'`: remember the local name of `can`.
      const spec = literal(n.moduleSpecifier);
      const named = ts.isImportDeclaration(n) ? n.importClause?.namedBindings : undefined;
      if (spec?.endsWith('domain/permissions.js') && named && ts.isNamedImports(named))
        for (const el of named.elements)
          if ((el.propertyName ?? el.name).text === 'can') canNames.add(el.name.text);
    } else if (ts.isImportEqualsDeclaration(n) && ts.isExternalModuleReference(n.moduleReference)) {
      addImport(literal(n.moduleReference.expression), n);
    } else if (ts.isCallExpression(n)) {
      const callee = n.expression;
      const isImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(callee) && callee.text === 'require';
      if (isImport || isRequire) {
        const spec = literal(n.arguments[0]);
        // A computed specifier cannot be checked: say so rather than pass it.
        addImport(spec ?? '<computed>', n);
      }
      if (ts.isIdentifier(callee) && canNames.has(callee.text)) out.roleChecks.push(lineOf(n));
    } else if (ts.isImportTypeNode(n)) {
      const arg = n.argument;
      if (ts.isLiteralTypeNode(arg)) addImport(literal(arg.literal), n);
    } else if (ts.isPropertyAccessExpression(n) && n.name.text === 'db') {
      out.dbHandles.push(lineOf(n));
    }
    if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) {
      if (isSql(n.text)) out.sql.push({ text: n.text, line: lineOf(n) });
    } else if (ts.isTemplateExpression(n)) {
      const text = n.head.text + n.templateSpans.map((s) => ` $x ${s.literal.text}`).join('');
      if (isSql(text)) out.sql.push({ text, line: lineOf(n) });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

/** The src-relative file a relative specifier names, or null when the tree has no such file. */
function resolve(from: string, spec: string, files: ReadonlyMap<string, string>): string | null {
  const base = posix.normalize(posix.join(posix.dirname(from), spec));
  const candidates = [
    base.replace(/\.js$/, '.ts'),
    base.replace(/\.js$/, '.tsx'),
    base,
    `${base}.ts`,
    `${base}/index.ts`,
  ];
  return candidates.find((c) => files.has(c)) ?? null;
}

/** The strongly connected components with more than one file (or a file importing itself). */
function cycles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const found: string[][] = [];
  const strong = (v: string) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of [...(graph.get(v) ?? [])].sort()) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || graph.get(v)?.has(v)) found.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) strong(v);
  return found.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** Checks a tree (src-relative path → source text) against the layer rule; [] when it holds. */
export function checkLayers(files: ReadonlyMap<string, string>): Violation[] {
  const out: Violation[] = [];
  const graph = new Map<string, Set<string>>();
  for (const [file, text] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const from = layerOf(file);
    const allowed = ALLOWED[from];
    if (!allowed)
      out.push({
        rule: 'unknown-layer',
        file,
        target: from,
        line: 1,
        message: `${file}: the folder "${from}" has no place in the layer rule: add it to ALLOWED (test/architecture/layer-rule.ts) and to docs/decisions/0011`,
      });
    const parsed = parse(file, text);
    const edges = new Set<string>();
    graph.set(file, edges);
    for (const { specifier, line } of parsed.imports) {
      if (specifier === '<computed>') {
        out.push({
          rule: 'unresolved',
          file,
          target: specifier,
          line,
          message: `${file}:${line} imports a computed specifier, which no one can check: name the module`,
        });
        continue;
      }
      if (!specifier.startsWith('.')) continue;
      const target = resolve(file, specifier, files);
      if (!target) {
        out.push({
          rule: 'unresolved',
          file,
          target: specifier,
          line,
          message: `${file}:${line} imports "${specifier}", which is no file of the tree`,
        });
        continue;
      }
      edges.add(target);
      const to = layerOf(target);
      if (to === from || !allowed) continue;
      const entries = ENTRIES[from]?.[to];
      if (!allowed.includes(to) || (entries && !entries.includes(target)))
        out.push({
          rule: 'layer',
          file,
          target,
          line,
          message: `${file}:${line} imports ${target}: ${from}/ may import ${
            entries
              ? `${to}/ only through ${entries.join(', ')}`
              : `only ${allowed.join(', ') || 'nothing of ours'}`
          }${whyNot(from, to)}`,
        });
    }
    if (layerOf(file) !== 'store')
      for (const s of parsed.sql)
        out.push({
          rule: 'sql',
          file,
          target: s.text.replace(/\s+/g, ' ').trim(),
          line: s.line,
          message: `${file}:${s.line} holds SQL ("${s.text.replace(/\s+/g, ' ').trim().slice(0, 60)}"): only store/ writes SQL; add a repository function`,
        });
    if (NO_DB_HANDLE.has(from))
      for (const line of parsed.dbHandles)
        out.push({
          rule: 'db-handle',
          file,
          target: '.db',
          line,
          message: `${file}:${line} reaches the database handle (.db): ${from}/ reaches data through a service`,
        });
    if (!ROLE_CHECK_ALLOWED.has(file) && from !== 'domain')
      for (const line of parsed.roleChecks)
        out.push({
          rule: 'role-check',
          file,
          target: 'can()',
          line,
          message: `${file}:${line} decides a permission from roles (can): the route's declared permission does that; a use case checks data-dependent rules with holds(actor, …) (docs/decisions/0011)`,
        });
  }
  for (const members of cycles(graph))
    out.push({
      rule: 'cycle',
      file: members[0]!,
      target: members.join(' ↔ '),
      line: 1,
      message: `import circle: ${members.join(' ↔ ')}`,
    });
  return out;
}

function whyNot(from: string, to: string): string {
  if (to === 'http' || to === 'cli')
    return ' (nothing imports http or cli but the command that starts the server)';
  if (from === 'http' && to === 'store') return ' (routes reach no repository: go through a service)';
  if (from === 'http' && to === 'pki') return ' (routes reach no pki/ module: go through a service)';
  if (from === 'services' && to === 'agent')
    return ' (services import no agent/: the shared protocol lives in cards/transport; an agent is wired in by the composition root)';
  return '';
}

/** Reads every .ts file below `dir` into a map of `dir`-relative path → text, in name order. */
export function readTree(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (rel: string) => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path);
      else if (/\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts'))
        files.set(path, readFileSync(join(dir, path), 'utf8'));
    }
  };
  walk('');
  return files;
}
