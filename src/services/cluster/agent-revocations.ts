// A revoked agent's sockets close on every server (issue #20): the revocation is made on whichever
// server the operator's request reached, the agent's socket (or the relay of `tessera agent
// --wallet`, or a phone's link) may live on another. The revocation is said on the bus (the agent's
// id only); each server closes what it holds of that agent, with 4001 so the agent stops for good.
// What a server missed while its LISTEN connection was down is checked again at the resync.
// A phone's link ended with its device (terminated by an operator, a replacement, a wallet reset)
// is said the same way, once the transaction that ended it commits.
import { afterCommit, type Queryable } from '../../store/db.js';
import type { Bus } from './bus.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type RevokedListener = (agentId: string) => void;

export class AgentRevocations {
  private readonly listeners = new Set<RevokedListener>();
  private readonly resyncs = new Set<() => void>();

  constructor(private readonly bus: Bus) {
    bus.subscribe('agent-revoked', (agentId) => {
      if (!UUID.test(agentId)) return;
      for (const l of this.listeners) {
        try {
          l(agentId);
        } catch {
          // One holder's failure is its own: the others still close theirs.
        }
      }
    });
    bus.onResync(() => {
      for (const r of this.resyncs) r();
    });
  }

  /** Says `agentId` was revoked: here at once (the bus delivers locally first), elsewhere by NOTIFY. */
  say(agentId: string): void {
    this.bus.publish('agent-revoked', agentId);
  }

  /**
   * Says each of `agentIds` was revoked once the transaction `tx` that revoked them commits; a
   * rolled-back change (a replacement refused half-way) says nothing. A server that dies between
   * the commit and the word leaves the sockets to their holders' next heartbeat.
   */
  sayOnCommit(tx: Queryable, agentIds: readonly string[]): void {
    if (agentIds.length) afterCommit(tx, () => agentIds.forEach((id) => this.say(id)));
  }

  /** `closeHeld` closes what this server holds of a revoked agent; `recheck` runs at a resync. */
  on(closeHeld: RevokedListener, recheck?: () => void): void {
    this.listeners.add(closeHeld);
    if (recheck) this.resyncs.add(recheck);
  }
}
