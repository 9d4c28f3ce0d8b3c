// Reads a V8 CPU profile (the .cpuprofile `node --cpu-prof` and the inspector's Profiler.stop write)
// and says where the time went: by package or source file (self time), the hottest functions (self
// time), and Tessera's own functions with everything they call (inclusive time) — per card.
//
// The profiler samples wall time on the main thread: on a loaded machine a thread the kernel has put
// aside keeps being sampled where it stopped, so the sampled milliseconds exceed the CPU time. The
// shares are what to read; the per-card figures are those shares of the CPU time measured apart
// (/proc/<pid>/stat over the same window).

export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const IDLE = new Set(['(idle)']);

/** Where a frame's code lives: a package, a file of ours, Node's internals, or V8's own work. */
function groupOf(url: string, fn: string, root: string): string {
  if (!url) return fn || '(anonymous)';
  if (url.startsWith('node:')) return 'node internals';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  return path.startsWith(root) ? path.slice(root.length) : path;
}

/** A table of the top entries of `m` (milliseconds) with per-card figures and shares. */
function table(
  title: string,
  m: Map<string, number>,
  total: number,
  cpuPerCard: number,
  top: number,
): string {
  const rows = [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  const width = Math.max(...rows.map(([k]) => k.length), 10);
  const lines = rows.map(
    ([k, ms]) =>
      `  ${k.padEnd(width)}  ${((100 * ms) / total).toFixed(1).padStart(5)} %  ≈ ${((cpuPerCard * ms) / total).toFixed(1).padStart(5)} ms/card`,
  );
  return `${title}\n${lines.join('\n')}`;
}

/**
 * `cpuPerCard`: the server CPU per card measured over the profiled window. Several profiles (one per
 * server of a cluster, over the same window) are added up.
 */
export function summarizeProfile(
  profiles: CpuProfile | CpuProfile[],
  o: { root: string; cpuPerCard: number },
): string {
  const selfByGroup = new Map<string, number>();
  const selfByFn = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let busy = 0;
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  const fnKey = (n: CpuProfile['nodes'][number]) => {
    const g = groupOf(n.callFrame.url, n.callFrame.functionName, o.root);
    // No line: code loaded through tsx reports line 1 for everything.
    return `${n.callFrame.functionName || '(anonymous)'} (${g})`;
  };
  let wall = 0;
  for (const p of Array.isArray(profiles) ? profiles : [profiles]) {
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    wall += (p.endTime - p.startTime) / 1000;
    for (let i = 0; i < p.samples.length; i++) {
      // A sample's time is the gap to the next one (the last gets the previous gap).
      const us = p.timeDeltas[i + 1] ?? p.timeDeltas[i] ?? 0;
      const ms = us / 1000;
      const node = byId.get(p.samples[i]!);
      if (!node || IDLE.has(node.callFrame.functionName)) continue;
      busy += ms;
      add(selfByGroup, groupOf(node.callFrame.url, node.callFrame.functionName, o.root), ms);
      add(selfByFn, fnKey(node), ms);
      const seen = new Set<string>();
      for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
        const n = byId.get(id)!;
        const url = n.callFrame.url;
        if (!url.includes('/src/') || url.includes('/node_modules/')) continue;
        const k = fnKey(n);
        if (!seen.has(k)) {
          seen.add(k);
          add(inclusive, k, ms);
        }
      }
    }
  }
  return [
    `Server CPU profile: ${Math.round(wall)} ms sampled, ${Math.round(busy)} ms of it busy on the main thread ` +
      `(worker threads such as libuv's pool are not sampled); ms/card = share × ${o.cpuPerCard.toFixed(0)} ms measured`,
    table('By package or file (self time):', selfByGroup, busy, o.cpuPerCard, 20),
    table('Hottest functions (self time):', selfByFn, busy, o.cpuPerCard, 25),
    table("Tessera's functions with what they call (inclusive time):", inclusive, busy, o.cpuPerCard, 30),
  ].join('\n\n');
}
