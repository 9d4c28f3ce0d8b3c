// A phone's wallet as the smart card of a workstation (docs/mobile.md "Use at a workstation"). The
// pairing is explicit on both sides: the workstation's agent (`tessera agent --wallet`) asks, its
// console shows a six-digit code, and the person's phone shows the same code with Allow / Refuse; only
// then does the server relay the workstation's APDUs to the wallet. Either side ends it: the phone
// (Unpair) or the workstation (`tessera agent --wallet --unpair`); revoking either agent ends it too.
// Only a workstation agent of the wallet's own person may ask. Every step is audited (no code in it:
// it is a comparison value, but there is no reason to keep it). With several servers the phone and
// the workstation may be connected to different ones: the phone is found wherever it is connected,
// and each change is said on the bus (ids only) so the server holding the phone tells it and the
// one holding the workstation's relay follows it (issue #20).
import { EventEmitter } from 'node:events';
import { randomInt } from 'node:crypto';
import { ConflictError, NotFoundError, ValidationError } from '../../domain/errors.js';
import { appendAudit } from '../../store/audit-repo.js';
import { getAgent, type AgentRecord } from '../../store/agents-repo.js';
import {
  getPairing,
  insertPairing,
  openPairingsOfAgent,
  openPairingsOfWallet,
  setPairingState,
  type PairingEnd,
  type WalletPairing,
} from '../../store/wallet-pairings-repo.js';
import type { Queryable } from '../../store/db.js';
import { LocalBus, type Bus } from '../cluster/bus.js';
import type { ServiceContext } from '../context.js';

export type { WalletPairing } from '../../store/wallet-pairings-repo.js';

/** How long the phone has to allow a pairing. */
export const PAIRING_PENDING_SECONDS = 120;

/** What the wallet is told of its pairings ({v:1, type:'wallet-pairings', items}). */
export interface PairingItem {
  id: string;
  workstation: string;
  state: 'pending' | 'active';
  /** Pending only: the digits the workstation shows. */
  code: string | null;
}

/** The phones' wallets: found on any server; told only by the server holding their socket. */
export interface WalletsHere {
  /** The person's connected wallets (on any server), newest link first. */
  liveWallets(ownerUserId: string): AgentRecord[] | Promise<AgentRecord[]>;
  /** The wallet's socket is held by this server. */
  isConnected(agentId: string): boolean;
  sendToWallet(agentId: string, body: { type: string } & Record<string, unknown>): boolean;
  /** The ids of the wallets connected to this server. */
  connectedWallets?(): string[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class WalletPairingService {
  private readonly changes = new EventEmitter();

  constructor(
    private readonly ctx: ServiceContext,
    private readonly wallets: WalletsHere,
    private readonly bus: Bus = new LocalBus(),
  ) {
    this.changes.setMaxListeners(0);
    // Another server changed a pairing: its followers here re-read it; its phone, if here, is told.
    bus.subscribe('pairing', (payload, fromHere) => {
      if (fromHere) return;
      const [pairingId = '', walletAgentId = ''] = payload.split(' ');
      if (!UUID.test(pairingId) || !UUID.test(walletAgentId)) return;
      void (async () => {
        if (this.changes.listenerCount(pairingId) > 0) {
          const p = await getPairing(this.ctx.db, pairingId);
          if (p) this.changes.emit(p.id, p);
        }
        if (this.wallets.isConnected(walletAgentId)) await this.tellWallet(walletAgentId);
      })().catch(() => undefined);
    });
    // Words said while this server's LISTEN was down are lost: re-read what is followed here, and
    // tell the phones here their pairings again.
    bus.onResync(() => void this.#resync().catch(() => undefined));
  }

  async #resync(): Promise<void> {
    for (const id of this.changes.eventNames()) {
      if (typeof id !== 'string') continue;
      const p = await getPairing(this.ctx.db, id);
      // A pairing still waiting for the phone is no news; its end or the phone's answer is.
      if (p && p.state !== 'pending') this.changes.emit(p.id, p);
    }
    for (const walletAgentId of this.wallets.connectedWallets?.() ?? []) await this.tellWallet(walletAgentId);
  }

  /** Says a pairing changed: here at once, on the other servers through the bus. */
  async #said(p: WalletPairing): Promise<void> {
    this.changes.emit(p.id, p);
    this.bus.publish('pairing', `${p.id} ${p.walletAgentId}`);
    if (this.wallets.isConnected(p.walletAgentId)) await this.tellWallet(p.walletAgentId);
  }

  /** A workstation agent asks to use its person's phone (the newest connected wallet). */
  async request(workstation: AgentRecord): Promise<{ pairing: WalletPairing; walletName: string }> {
    if (workstation.ownerKind === 'wallet') throw new ValidationError('A wallet cannot pair with a wallet');
    const wallet = (await this.wallets.liveWallets(workstation.ownerUserId))[0];
    if (!wallet)
      throw new ConflictError(
        'None of your phones is connected: open the Tessera wallet on your phone, then try again',
      );
    const at = this.ctx.clock.now();
    const code = String(randomInt(1_000_000)).padStart(6, '0');
    const pairing = await this.ctx.db.transaction(async (tx) => {
      const p = await insertPairing(tx, {
        walletAgentId: wallet.id,
        workstationAgentId: workstation.id,
        ownerUserId: workstation.ownerUserId,
        code,
        at,
        expiresAt: new Date(at.getTime() + PAIRING_PENDING_SECONDS * 1000),
      });
      await this.#audit(tx, workstation, 'wallet.pairing_requested', p, at, {
        workstation: workstation.name,
      });
      return p;
    });
    await this.#said(pairing);
    return { pairing, walletName: wallet.name };
  }

  /** The person allows or refuses a pending pairing on the phone. */
  async decide(wallet: AgentRecord, pairingId: string, allow: boolean): Promise<WalletPairing> {
    const out = await this.ctx.db.transaction(async (tx) => {
      const p = await this.#lock(tx, pairingId, wallet.id, 'walletAgentId');
      const at = this.ctx.clock.now();
      if (p.state !== 'pending' || p.expiresAt <= at)
        throw new ConflictError('This request to pair is no longer waiting: start it again on the computer');
      const next = await setPairingState(tx, p.id, allow ? 'active' : 'refused', at);
      await this.#audit(tx, wallet, allow ? 'wallet.paired' : 'wallet.pairing_refused', next, at);
      return next;
    });
    await this.#said(out);
    return out;
  }

  /** Ends a pending or active pairing from the phone or from the workstation. */
  async end(
    by: Exclude<PairingEnd, 'server'>,
    agent: AgentRecord,
    pairingId: string,
  ): Promise<WalletPairing> {
    const out = await this.ctx.db.transaction(async (tx) => {
      const p = await this.#lock(
        tx,
        pairingId,
        agent.id,
        by === 'phone' ? 'walletAgentId' : 'workstationAgentId',
      );
      if (p.state !== 'pending' && p.state !== 'active') return p;
      const at = this.ctx.clock.now();
      const next = await setPairingState(tx, p.id, 'revoked', at, by);
      await this.#audit(tx, agent, 'wallet.unpaired', next, at, { by });
      return next;
    });
    await this.#said(out);
    return out;
  }

  /**
   * An agent on either side was revoked: its pending and active pairings end (by the server), each
   * audited and said, so the phone drops the workstation from its list and the workstation's relay,
   * if still open, hears the end.
   */
  async endAllOf(agent: AgentRecord): Promise<WalletPairing[]> {
    const ended = await this.ctx.db.transaction(async (tx) => {
      const out: WalletPairing[] = [];
      for (const open of await openPairingsOfAgent(tx, agent.id)) {
        const p = await getPairing(tx, open.id, true);
        if (!p || (p.state !== 'pending' && p.state !== 'active')) continue;
        const at = this.ctx.clock.now();
        const next = await setPairingState(tx, p.id, 'revoked', at, 'server');
        await this.#audit(tx, agent, 'wallet.unpaired', next, at, { by: 'server', reason: 'agent revoked' });
        out.push(next);
      }
      return out;
    });
    for (const p of ended) await this.#said(p);
    return ended;
  }

  /**
   * The active pairing `pairingId` of this workstation, with its wallet's record: what the relay
   * checks before each use. A revoked agent on either side ends it.
   */
  async active(
    workstation: AgentRecord,
    pairingId: string,
  ): Promise<{ pairing: WalletPairing; wallet: AgentRecord }> {
    const p = UUID.test(pairingId) ? await getPairing(this.ctx.db, pairingId) : null;
    if (!p || p.workstationAgentId !== workstation.id) throw new NotFoundError('wallet pairing', pairingId);
    const wallet = await getAgent(this.ctx.db, p.walletAgentId);
    const self = await getAgent(this.ctx.db, workstation.id);
    if (p.state !== 'active' || !wallet || wallet.revokedAt || !self || self.revokedAt)
      throw new ConflictError(
        p.state === 'pending'
          ? 'The phone has not allowed this pairing yet'
          : 'This pairing with the phone has ended: pair again (tessera agent --wallet)',
        { state: p.state },
      );
    return { pairing: p, wallet };
  }

  /** Follows one pairing's changes (allowed, refused, ended). */
  onChange(pairingId: string, listener: (p: WalletPairing) => void): () => void {
    this.changes.on(pairingId, listener);
    return () => this.changes.off(pairingId, listener);
  }

  /** Tells a wallet connected to this server its pending and active pairings. */
  async tellWallet(walletAgentId: string): Promise<void> {
    const open = await openPairingsOfWallet(this.ctx.db, walletAgentId, this.ctx.clock.now());
    const items: PairingItem[] = [];
    for (const p of open) {
      const ws = await getAgent(this.ctx.db, p.workstationAgentId);
      if (!ws || ws.revokedAt) continue;
      items.push({
        id: p.id,
        workstation: ws.name,
        state: p.state === 'active' ? 'active' : 'pending',
        code: p.state === 'pending' ? p.code : null,
      });
    }
    this.wallets.sendToWallet(walletAgentId, { type: 'wallet-pairings', items });
  }

  async #lock(
    tx: Queryable,
    pairingId: string,
    agentId: string,
    side: 'walletAgentId' | 'workstationAgentId',
  ): Promise<WalletPairing> {
    const p = UUID.test(pairingId) ? await getPairing(tx, pairingId, true) : null;
    if (!p || p[side] !== agentId) throw new NotFoundError('wallet pairing', pairingId);
    return p;
  }

  async #audit(
    tx: Queryable,
    agent: AgentRecord,
    action: string,
    p: WalletPairing,
    at: Date,
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    await appendAudit(tx, {
      actor: { id: agent.ownerUserId, name: agent.name },
      action,
      targetType: 'agent',
      targetId: p.walletAgentId,
      details: { pairingId: p.id, workstationAgentId: p.workstationAgentId, state: p.state, ...extra },
      at,
    });
  }
}
