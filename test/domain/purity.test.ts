// src/domain is pure and runs in the browser too (DESIGN.md "Layout"): it imports nothing but its own
// files, reaches for no Node module, no clock and no ambient randomness.

import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const DIR = new URL('../../src/domain/', import.meta.url);
const files = readdirSync(DIR).filter((f) => f.endsWith('.ts'));

describe('src/domain purity', () => {
  it('has files to check', () => {
    expect(files.length).toBeGreaterThan(10);
  });

  it.each(files)(
    '%s imports only sibling domain files and uses no I/O, clock or global randomness',
    (file) => {
      const src = readFileSync(new URL(file, DIR), 'utf8');
      const specifiers = [...src.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/g)].map(
        (m) => m[1]!,
      );
      for (const s of specifiers) expect(s, `${file} imports ${s}`).toMatch(/^\.\/[a-z-]+\.js$/);
      const code = src.replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
      for (const banned of [
        /\bimport\s*\(/,
        /\brequire\s*\(/,
        /\bprocess\./,
        /\bBuffer\b/,
        // The clock, not dates: a Date made from a time the caller passed in is pure.
        /\bDate\.now\b/,
        /\bnew\s+Date\s*\(\s*\)/,
        /(?<!new\s+)\bDate\s*\(/,
        /\bperformance\./,
        /\bMath\.random\b/,
        /\bcrypto\./,
        /\bfetch\s*\(/,
        /\bconsole\./,
        /\bsetTimeout\b/,
      ]) {
        expect(code, `${file} uses ${banned}`).not.toMatch(banned);
      }
    },
  );
});
