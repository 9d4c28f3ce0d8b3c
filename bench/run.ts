// `npm run bench -- <name> [args]`: runs one benchmark by name. Each benchmark module exports
// run(args) and prints its own table.
const BENCHMARKS: Record<string, () => Promise<{ run(args: string[]): Promise<void> }>> = {
  agents: () => import('./agents.js'),
  // The two-server bench is the agents bench with two servers; the old name still runs it.
  cluster: async () => {
    const agents = await import('./agents.js');
    return { run: (args: string[]) => agents.run(['--postgres', '--servers', '2', ...args]) };
  },
  limits: () => import('./limits.js'),
  memory: () => import('./memory.js'),
  ocsp: () => import('./ocsp.js'),
  pki: () => import('./pki.js'),
  print: () => import('./print.js'),
  'sign-in': () => import('./sign-in.js'),
};

const [name, ...args] = process.argv.slice(2);
const load = name ? BENCHMARKS[name] : undefined;
if (!load) {
  console.error(`Usage: npm run bench -- <${Object.keys(BENCHMARKS).join('|')}> [options]`);
  process.exit(2);
}
await (await load()).run(args);
