// The order vitest hands test files to its workers. Vitest's own order is kept (longest first when
// it has timings from an earlier run, else largest file first), with one change: the files that
// hold the machine's one pcscd (acquirePcscd, test/support/pcscd.ts) are spread out through the
// first three quarters of the run. Two of them side by side leave a worker waiting on the pcscd
// lock, doing nothing, for as long as the other one holds it (a minute or more for the cluster
// wallet files); spread out, the other worker runs ordinary files meanwhile.
import { readFileSync } from 'node:fs';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const holdsPcscd = (spec: TestSpecification): boolean => {
  try {
    return readFileSync(spec.moduleId, 'utf8').includes('acquirePcscd(');
  } catch {
    return false;
  }
};

/** `pcscd` files placed evenly among `others`, the first at once, the last at three quarters. */
export function spread<T>(pcscd: T[], others: T[]): T[] {
  if (pcscd.length === 0) return others;
  const gap = Math.max(1, Math.floor((others.length * 3) / 4 / pcscd.length));
  const out: T[] = [];
  let next = 0;
  for (const p of pcscd) {
    out.push(p, ...others.slice(next, next + gap));
    next += gap;
  }
  return [...out, ...others.slice(next)];
}

export default class PcscdSpreadSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const pcscd = new Set(sorted.filter(holdsPcscd));
    return spread(
      sorted.filter((f) => pcscd.has(f)),
      sorted.filter((f) => !pcscd.has(f)),
    );
  }
}
