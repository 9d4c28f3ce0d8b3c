// What every server does when an agent ends (issue #20): an operator's Revoke, or a phone's link
// ended with its device (a termination, a replacement, a wallet reset). Its sockets close wherever
// they are held (said on the bus, AgentRevocations), then its pairings with workstations end (by
// the server, as at a Revoke), so the workstation's relay hears it and stops.
import { afterCommit, type Queryable } from '../../store/db.js';
import { getAgent, type AgentRecord } from '../../store/agents-repo.js';
import type { AgentRevocations } from '../cluster/agent-revocations.js';
import type { ServiceContext } from '../context.js';
import type { WalletPairingService } from './wallet-pairing.js';

export class AgentEndings {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly revocations: AgentRevocations,
    private readonly pairing: WalletPairingService,
  ) {}

  /** An operator revoked `agent`: sockets first (4001, "revoked"), then the pairings the phone is told of. */
  async revoked(agent: AgentRecord): Promise<void> {
    this.revocations.say(agent.id);
    await this.pairing.endAllOf(agent);
  }

  /** Phones whose links `tx` ended: said, and their pairings ended, once it commits (never on a rollback). */
  readonly walletsEnded = (tx: Queryable, walletIds: readonly string[]): void => {
    if (!walletIds.length) return;
    this.revocations.sayOnCommit(tx, walletIds);
    afterCommit(tx, () => void this.endPairingsOf(walletIds).catch(() => undefined));
  };

  private async endPairingsOf(walletIds: readonly string[]): Promise<void> {
    for (const id of walletIds) {
      const wallet = await getAgent(this.ctx.db, id);
      if (wallet) await this.pairing.endAllOf(wallet);
    }
  }
}
