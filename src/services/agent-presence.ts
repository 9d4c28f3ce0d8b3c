// Whether the agents connected here are still there, and still allowed: each agent's own beat (a
// ping, or the cut-off of a silent one) and the once-per-period sweep that writes their last-seen
// time and finds those revoked or deleted meanwhile — the database is where who an agent is lives,
// so a revocation made by another server process also takes effect.
import { HEARTBEAT_MISSES } from '../cards/transport/agent-protocol.js';
import { touchLiveAgents } from '../store/agents-repo.js';
import type { ServiceContext } from './context.js';

/**
 * An agent's own beat: cut off when silent for 3 periods, pinged otherwise (PresenceSweep writes)
 * — unless frames went both ways within the period (a card being worked on): each side has heard
 * the other, which is all a ping would tell, so a busy agent costs no heartbeat. `lastSent` counts
 * no ping (its answer, a pong, counts in `lastHeard`).
 */
export function beatAction(
  now: number,
  lastHeard: number,
  lastSent: number,
  periodMs: number,
): 'cut-off' | 'ping' | 'none' {
  if (now - lastHeard > HEARTBEAT_MISSES * periodMs) return 'cut-off';
  if (now - lastHeard < periodMs && now - lastSent < periodMs) return 'none';
  return 'ping';
}

/**
 * Once per heartbeat period, for every agent connected here together: their last-seen time
 * written, and those revoked meanwhile (here or by another server) or deleted disconnected — one
 * UPDATE … FROM unnest for all, where each agent's own beat used to read its record and update
 * it (two statements per agent per period: with 1,000 idle agents, ~130 a second). Each agent is
 * still seen and checked once per period. One per hub, running while agents are connected.
 */
export class PresenceSweep {
  #timer: NodeJS.Timeout | undefined;
  #sweeping = false;

  constructor(
    private readonly ctx: ServiceContext,
    /** The hub's live agents by id (read only: an entry replaced since the sweep began is kept). */
    private readonly live: ReadonlyMap<string, { readonly record: { readonly id: string } }>,
    private readonly periodMs: number,
    private readonly disconnect: (agentId: string) => void,
  ) {}

  /** Starts the sweep unless it runs already (an agent was attached). */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.#sweep(), this.periodMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #sweep(): Promise<void> {
    const agents = [...this.live.values()];
    if (agents.length === 0) return this.stop();
    // The previous sweep still waits for the database: this period's is that one.
    if (this.#sweeping) return;
    this.#sweeping = true;
    try {
      const live = await touchLiveAgents(
        this.ctx.db,
        agents.map((a) => a.record.id),
        this.ctx.clock.now(),
      );
      for (const a of agents)
        if (!live.has(a.record.id) && this.live.get(a.record.id) === a) this.disconnect(a.record.id);
    } catch {
      // The database is briefly unreachable: keep the sockets; the next sweep checks again.
    } finally {
      this.#sweeping = false;
    }
  }
}
