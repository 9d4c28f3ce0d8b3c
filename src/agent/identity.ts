// The agent's identity on this workstation: which server it is paired to, its agent id and bearer
// token. Kept in a file only its user can read (mode 0600), written atomically; pairing trades a
// one-time code from the portal for it (POST /api/agents/pair).
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir, hostname as osHostname } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface AgentIdentity {
  server: string;
  agentId: string;
  name: string;
  token: string;
}

export function defaultStateFile(): string {
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'tessera', 'agent.json');
}

export function loadIdentity(file: string): AgentIdentity | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const v = JSON.parse(text) as Partial<AgentIdentity>;
  if (typeof v.server !== 'string' || typeof v.agentId !== 'string' || typeof v.token !== 'string')
    throw new Error(`${file} is not a Tessera agent identity (pair again with --pair CODE)`);
  return { server: v.server, agentId: v.agentId, token: v.token, name: v.name ?? '' };
}

export function saveIdentity(file: string, id: AgentIdentity): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, JSON.stringify(id, null, 2) + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/** Trades a pairing code for an identity. Throws with the server's message when refused. */
export async function pairWithCode(
  server: string,
  code: string,
  opts: { name?: string; hostname?: string } = {},
): Promise<AgentIdentity> {
  const host = opts.hostname ?? osHostname();
  const name = opts.name ?? `Agent on ${host}`;
  let res: Response;
  try {
    res = await fetch(new URL('/api/agents/pair', server), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code, name, hostname: host }),
    });
  } catch (e) {
    throw new Error(`Cannot reach the Tessera server at ${server}: ${(e as Error).message}`);
  }
  const body = (await res.json().catch(() => null)) as
    { agentId: string; token: string; name: string } | { error?: { message?: string } } | null;
  if (!res.ok || !body || !('token' in body))
    throw new Error(
      `Pairing refused (HTTP ${res.status}): ${(body && 'error' in body && body.error?.message) || 'no reason given'}`,
    );
  return { server: new URL(server).origin, agentId: body.agentId, name: body.name, token: body.token };
}
