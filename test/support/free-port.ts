// A free loopback port, for a server a test starts that must know its port before it listens (a
// runtime puts its URL into certificates; slapd and ippeveprinter take it on their command line).
// It is chosen below the kernel's ephemeral port range: a port from bind(0) lies in that range,
// where every outgoing connection (to PostgreSQL, a test's HTTP clients) also takes its local port,
// so another socket could take it between this check and the server's listen (seen: EADDRINUSE in
// an e2e test's server while the other suites ran).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** The ports below the ephemeral range to choose from; null where that range starts too low. */
function belowEphemeral(): { from: number; to: number } | null {
  let low = 32_768; // Linux's default
  try {
    low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    // Not Linux: its default stands.
  }
  return Number.isInteger(low) && low >= 20_000 ? { from: low - 12_000, to: low } : null;
}

/** Binds `port` (0: any) on loopback and lets it go; resolves the port bound, or null if taken. */
function tryBind(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(null));
    s.listen(port, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : null));
    });
  });
}

export async function freePort(): Promise<number> {
  const range = belowEphemeral();
  for (let i = 0; range && i < 50; i++) {
    const port = await tryBind(range.from + Math.floor(Math.random() * (range.to - range.from)));
    if (port) return port;
  }
  const any = await tryBind(0);
  if (!any) throw new Error('No free loopback port');
  return any;
}
