// Pairing binds a workstation agent to one person: the portal shows that person a one-time code
// (8 characters, 10 minutes, shown once), the agent trades it for a bearer token, and from then on
// the agent's readers appear to that person only. Revocation ends the agent's token and socket.
// Codes and tokens are stored as SHA-256 hashes and never reach the audit log.
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { ForbiddenError, NotFoundError, ValidationError } from '../domain/errors.js';
import { appendAudit } from '../store/audit-repo.js';
import {
  findDemoAgent,
  getAgent,
  getAgentByTokenHash,
  insertAgent,
  insertPairingCode,
  listAgents,
  lockPairingCode,
  markAgentRevoked,
  markPairingCodeUsed,
  setAgentToken,
  type AgentOwnerKind,
  type AgentRecord,
} from '../store/agents-repo.js';
import type { AgentHub } from './agent-hub.js';
import { auditActor, holds, type Actor, type ServiceContext } from './context.js';

/** A paired agent, as authenticate() finds it by its token and the hub takes its socket. */
export type { AgentRecord } from '../store/agents-repo.js';

/** No 0/O, 1/I/L, 2/Z, 5/S, 8/B: a code read aloud or typed from a screen survives. */
export const PAIRING_ALPHABET = 'ACDEFGHJKMNPQRTUVWXY34679';
export const PAIRING_CODE_LENGTH = 8;
export const PAIRING_CODE_TTL_MINUTES = 10;

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** Codes are compared case-insensitively and without the separators people type. */
export function normalizeCode(code: string): string {
  return code.toUpperCase().replace(/[\s-]/g, '');
}

export interface AgentView {
  id: string;
  name: string;
  hostname: string;
  ownerUserId: string;
  ownerKind: AgentOwnerKind;
  connected: boolean;
  lastSeenAt: string | null;
  createdAt: string;
  demo: boolean;
  readers: { name: string; cardPresent: boolean; atr: string | null }[];
}

export class PairingService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly hub: AgentHub,
    /**
     * Several servers: the agents connected to the other servers, with their readers
     * (services/cluster/cluster-cards.ts); absent, only this server's agents count as connected.
     */
    private readonly elsewhere?: () => Promise<ReadonlyMap<string, AgentView['readers']>>,
    /**
     * What follows a revocation once it is committed: by default this server closes the agent's
     * socket; with several servers (runtime.ts) every server closes what it holds of the agent,
     * and the agent's pairings with phones end.
     */
    private readonly afterRevoke: (agent: AgentRecord) => Promise<void> | void = (agent) =>
      hub.disconnect(agent.id),
  ) {}

  /** A fresh one-time code binding the next agent that presents it to `actor`. */
  async createCode(actor: Actor, ownerKind: AgentOwnerKind): Promise<{ code: string; expiresAt: string }> {
    if (!actor.id) throw new ValidationError('Only a signed-in person can pair an agent');
    let code = '';
    for (let i = 0; i < PAIRING_CODE_LENGTH; i++)
      code += PAIRING_ALPHABET[randomInt(PAIRING_ALPHABET.length)];
    const at = this.ctx.clock.now();
    const expiresAt = new Date(at.getTime() + PAIRING_CODE_TTL_MINUTES * 60_000);
    await this.ctx.db.transaction(async (tx) => {
      await insertPairingCode(tx, {
        codeHash: sha256(code),
        ownerUserId: actor.id!,
        ownerKind,
        expiresAt,
        at,
      });
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'agent.pairing_code_issued',
        targetType: 'user',
        targetId: actor.id,
        details: { ownerKind, expiresAt: expiresAt.toISOString() },
        correlationId: actor.correlationId ?? null,
        at,
      });
    });
    return { code, expiresAt: expiresAt.toISOString() };
  }

  /** Trades a one-time code for an agent identity and its bearer token (returned only here). */
  async pair(input: {
    code: string;
    name: string;
    hostname: string;
  }): Promise<{ agentId: string; token: string; name: string }> {
    const code = normalizeCode(input.code);
    const refused = new ValidationError(
      'This pairing code is unknown, used or expired: ask the portal for a new one',
      {
        field: 'code',
      },
    );
    if (code.length !== PAIRING_CODE_LENGTH) throw refused;
    const token = randomBytes(32).toString('base64url');
    const at = this.ctx.clock.now();
    const agent = await this.ctx.db.transaction(async (tx) => {
      const c = await lockPairingCode(tx, sha256(code));
      if (!c || c.usedAt || c.expiresAt <= at) return null;
      const a = await insertAgent(tx, {
        ownerUserId: c.ownerUserId,
        ownerKind: c.ownerKind,
        name: input.name,
        hostname: input.hostname,
        tokenHash: sha256(token),
        at,
      });
      await markPairingCodeUsed(tx, sha256(code), a.id, at);
      await appendAudit(tx, {
        actor: { id: c.ownerUserId, name: `agent ${input.name}` },
        action: 'agent.paired',
        targetType: 'agent',
        targetId: a.id,
        details: { name: a.name, hostname: a.hostname, ownerUserId: c.ownerUserId, ownerKind: c.ownerKind },
        at,
      });
      return a;
    });
    if (!agent) throw refused;
    return { agentId: agent.id, token, name: agent.name };
  }

  /**
   * Pairs (or re-keys) the built-in demo agent of a person directly, without a code: `tessera start`
   * runs it in-process. Returns a fresh token each start; the agent row is reused. A demo agent an
   * administrator revoked stays revoked (null).
   */
  async pairDemo(
    ownerUserId: string,
    name: string,
    hostname: string,
    /** 'portal' for the demo agent a person takes their card to from the user portal. */
    ownerKind: AgentOwnerKind = 'operator',
  ): Promise<{ agentId: string; token: string } | null> {
    const token = randomBytes(32).toString('base64url');
    const at = this.ctx.clock.now();
    return this.ctx.db.transaction(async (tx) => {
      const existing = await findDemoAgent(tx, ownerUserId);
      if (existing?.revokedAt) return null;
      if (existing) {
        await setAgentToken(tx, existing.id, sha256(token));
        return { agentId: existing.id, token };
      }
      const a = await insertAgent(tx, {
        ownerUserId,
        ownerKind,
        name,
        hostname,
        tokenHash: sha256(token),
        demo: true,
        at,
      });
      await appendAudit(tx, {
        actor: { id: null, name: 'demo agent' },
        action: 'agent.paired',
        targetType: 'agent',
        targetId: a.id,
        details: { name, hostname, ownerUserId, ownerKind, demo: true },
        at,
      });
      return { agentId: a.id, token };
    });
  }

  /** The live agent a bearer token belongs to, or null. */
  async authenticate(token: string | undefined): Promise<AgentRecord | null> {
    if (!token || token.length < 20 || token.length > 200) return null;
    return getAgentByTokenHash(this.ctx.db, sha256(token));
  }

  /** A person's agents, or everyone's for a holder of agent.manage asking for all. */
  async list(actor: Actor, opts: { all?: boolean } = {}): Promise<AgentView[]> {
    if (opts.all && !holds(actor, 'agent.manage'))
      throw new ForbiddenError('Listing every agent needs the agent.manage permission', {
        permission: 'agent.manage',
      });
    const records = await listAgents(this.ctx.db, { ownerUserId: opts.all ? null : actor.id });
    const remote = (await this.elsewhere?.()) ?? new Map<string, AgentView['readers']>();
    return records.map((r) => {
      const v = this.view(r);
      const there = v.connected ? undefined : remote.get(r.id);
      return there ? { ...v, connected: true, readers: there } : v;
    });
  }

  private view(r: AgentRecord): AgentView {
    return {
      id: r.id,
      name: r.name,
      hostname: r.hostname,
      ownerUserId: r.ownerUserId,
      ownerKind: r.ownerKind,
      connected: this.hub.isConnected(r.id),
      lastSeenAt: r.lastSeenAt,
      createdAt: r.createdAt,
      demo: r.demo,
      readers: this.hub.readersOf(r.id),
    };
  }

  /** Revokes an agent (its owner, or a holder of agent.manage): the token dies, the socket closes. */
  async revoke(actor: Actor, agentId: string): Promise<AgentView> {
    const agent = await getAgent(this.ctx.db, agentId);
    const mine = agent && agent.ownerUserId === actor.id;
    if (!agent || (!mine && !holds(actor, 'agent.manage'))) throw new NotFoundError('agent', agentId);
    const at = this.ctx.clock.now();
    const revoked = await this.ctx.db.transaction(async (tx) => {
      if (!(await markAgentRevoked(tx, agentId, at))) return false;
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'agent.revoked',
        targetType: 'agent',
        targetId: agentId,
        details: { name: agent.name, hostname: agent.hostname, ownerUserId: agent.ownerUserId },
        correlationId: actor.correlationId ?? null,
        at,
      });
      return true;
    });
    // Revoked earlier: its sockets were closed then (and the heartbeat checks again).
    if (revoked) await this.afterRevoke(agent);
    else this.hub.disconnect(agentId);
    return this.view((await getAgent(this.ctx.db, agentId))!);
  }
}
