// A phone's pairing with a workstation said between servers (issue #20 with #14): two pairing
// services on one database (a real server's, with a real workstation agent and a real linked phone),
// each with its own bus on one wire that can lose messages, as a dropped LISTEN connection does.
// The server holding the phone tells it of a request made on the other; the workstation's server
// follows the phone's answer; and what was lost while a LISTEN was down is made up at its resync.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pairWithCode } from '../../src/agent/identity.js';
import type { Bus, BusListener, Topic } from '../../src/services/cluster/bus.js';
import { WalletPairingService, type WalletPairing } from '../../src/services/wallet/wallet-pairing.js';
import { getAgent, type AgentRecord } from '../../src/store/agents-repo.js';
import { signIn, until } from '../agent/support.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { newWalletCard, phoneLink, portalSession } from '../wallet/support.js';

/** Buses of two servers on one wire: each hears the other's messages unless the wire is cut. */
function wire() {
  const subs: { who: string; topic: Topic; l: BusListener }[] = [];
  const resyncs: { who: string; l: () => void }[] = [];
  const state = { cut: false };
  const bus = (who: string): Bus & { resync(): void } => ({
    publish: (topic, payload) => {
      for (const s of subs) if (s.topic === topic && s.who === who) s.l(payload, true);
      if (state.cut) return;
      queueMicrotask(() => {
        for (const s of subs) if (s.topic === topic && s.who !== who) s.l(payload, false);
      });
    },
    subscribe: (topic, l) => {
      const s = { who, topic, l };
      subs.push(s);
      return () => void subs.splice(subs.indexOf(s), 1);
    },
    onResync: (l) => {
      const r = { who, l };
      resyncs.push(r);
      return () => void resyncs.splice(resyncs.indexOf(r), 1);
    },
    close: async () => undefined,
    resync: () => {
      for (const r of resyncs) if (r.who === who) r.l();
    },
  });
  return { bus, state };
}

type Told = { type: string; items?: { id: string; state: string; code: string | null }[] };

describe('pairings said between servers', { timeout: 120_000 }, () => {
  let srv: TestServer;
  let workstation: AgentRecord;
  let wallet: AgentRecord;
  let closePhone: () => void;

  beforeAll(async () => {
    srv = await startTestServer({ demo: true });
    const admin = await signIn(srv.url, srv.admin.username, srv.admin.password);
    const bob = await portalSession(srv.url, admin, 'bob');
    const code = (await bob.json<{ code: string }>('POST', '/api/agents/pairing-codes', {})).body.code;
    const desk = await pairWithCode(srv.url, code, { name: 'Desk of bob' });
    const phone = phoneLink(srv.url, await newWalletCard(), {
      code: (await bob.json<{ code: string }>('POST', '/api/wallet/links', {})).body.code,
    });
    const info = await phone.link.start();
    closePhone = () => phone.link.close();
    workstation = (await getAgent(srv.rt.db, desk.agentId))!;
    wallet = (await getAgent(srv.rt.db, info.walletId))!;
  }, 60_000);
  afterAll(async () => {
    closePhone?.();
    await srv?.close();
  });

  it("tells the phone on its server, follows its answer on the workstation's, and makes up lost words at resync", async () => {
    const w = wire();
    const ctx = { db: srv.rt.db, clock: srv.rt.clock };
    const busA = w.bus('A');
    const busB = w.bus('B');
    // A holds the workstation's relay; B holds the phone.
    const onA = new WalletPairingService(
      ctx,
      { liveWallets: () => [wallet], isConnected: () => false, sendToWallet: () => false },
      busA,
    );
    const told: Told[] = [];
    const onB = new WalletPairingService(
      ctx,
      {
        liveWallets: () => [wallet],
        isConnected: (id) => id === wallet.id,
        sendToWallet: (id, body) => (told.push(body as Told), id === wallet.id),
        connectedWallets: () => [wallet.id],
      },
      busB,
    );

    // Asked on A: the phone, on B, is told with the code.
    const { pairing } = await onA.request(workstation);
    const pending = await until('the phone told on B', async () =>
      told.at(-1)?.items?.find((i) => i.id === pairing.id),
    );
    expect(pending).toMatchObject({ state: 'pending', code: pairing.code });
    const followed: WalletPairing[] = [];
    onA.onChange(pairing.id, (p) => followed.push(p));

    // The phone allows it while A's LISTEN is down: A hears nothing, until its resync re-reads.
    w.state.cut = true;
    await onB.decide(wallet, pairing.id, true);
    await new Promise((r) => setTimeout(r, 50));
    expect(followed).toEqual([]);
    w.state.cut = false;
    busA.resync();
    const active = await until('A follows the answer', async () => followed.at(-1));
    expect(active.state).toBe('active');

    // Ended from the workstation while B's LISTEN is down: the phone still lists it, until B resyncs.
    w.state.cut = true;
    told.length = 0;
    await onA.end('workstation', workstation, pairing.id);
    await new Promise((r) => setTimeout(r, 50));
    expect(told).toEqual([]);
    w.state.cut = false;
    busB.resync();
    const after = await until('the phone told again', async () => told.at(-1));
    expect(after.items?.some((i) => i.id === pairing.id)).toBe(false);

    // With the wire whole, the next request reaches the phone at once.
    const again = await onA.request(workstation);
    await until('the phone told of the new request', async () =>
      told.at(-1)?.items?.find((i) => i.id === again.pairing.id && i.state === 'pending'),
    );
  });
});
