// The wallet's end of its link to the server (docs/mobile.md "The link"): a WebSocket to
// /api/wallet/ws whose first frame is the one-time code (or the wallet's token, when it comes back),
// then the agent protocol of agent-protocol.ts with one reader, "<person>'s phone", holding the
// wallet's own PIV card application. The server drives that card with the same PIV code as any card.
// Browser-safe (the phone runs it) and used by tests through the `ws` package in Node.
import type { PivCardApplication } from '../emulator/piv-card-application.js';
import { fromHex, randomBytes, toHex } from '../bytes.js';

export const WALLET_PROTOCOL_VERSION = 1;

/** What both a browser WebSocket and the `ws` package offer. */
export interface LinkSocket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(
    type: 'open' | 'close' | 'error',
    listener: (ev: { code?: number; reason?: string }) => void,
  ): void;
  addEventListener(type: 'message', listener: (ev: { data: unknown }) => void): void;
}

export interface LinkedInfo {
  walletId: string;
  /** The reader name the server gave ("<person>'s phone"). */
  name: string;
  /** A new token to keep for reconnecting (after a code); absent on a resume. */
  token?: string;
  purpose?: string;
}

/** How the server's latest issuance of this wallet's card stands (null: none). */
export interface WalletJobStatus {
  /** The job's id (named when the PIN is sent or a retry asked for). */
  id: string;
  status: 'running' | 'succeeded' | 'failed' | 'cancelled';
  progress: number;
  step: string;
  /** The person is to choose the PIN where the issuance was started (the portal, or this phone). */
  pinChangePending: boolean;
  /** Started on this phone (remote issuance): the PIN is chosen here. */
  onPhone: boolean;
  error: string | null;
}

/** Remote issuance: a replacement's new credentials wait for this phone (docs/mobile.md). */
export interface WalletOffer {
  requestId: string;
  number: number;
  reason: string | null;
  type: string | null;
  replaces: { serial: string; type: string } | null;
}

/** A workstation paired (or asking to pair) with this phone (docs/mobile.md "Use at a workstation"). */
export interface WalletPairingItem {
  id: string;
  workstation: string;
  state: 'pending' | 'active';
  /** Pending: the digits the workstation shows, to compare before allowing. */
  code: string | null;
}

/** A workstation's application asks this phone's card to use a private key (sign, decrypt). */
export interface KeyUseRequest {
  /** The workstation ("Agent on desk-42"). */
  by: string;
  /** The key's slot, as PIV names it: 9A, 9C, 9D, 9E, or a retired slot 82–95. */
  slot: string;
}

/** The server's answer to what the person did on the phone (accept, PIN, retry). */
export interface WalletResult {
  of: string;
  ok: boolean;
  message: string | null;
}

export type WalletLinkEvent =
  | { type: 'linked'; info: LinkedInfo }
  | { type: 'connected' }
  | { type: 'card-used'; ins: number }
  | { type: 'status'; job: WalletJobStatus | null }
  | { type: 'offer'; offer: WalletOffer | null }
  | { type: 'pairings'; items: WalletPairingItem[] }
  | { type: 'result'; result: WalletResult }
  | { type: 'closed'; code: number; reason: string };

export interface WalletLinkOptions {
  open: () => LinkSocket;
  card: PivCardApplication;
  /** One of: a one-time code from a link, or the token of an earlier link. */
  code?: string;
  token?: string;
  onEvent?: (e: WalletLinkEvent) => void;
  /**
   * Asked before a workstation's command uses a private key (GENERAL AUTHENTICATE with the PIN
   * verified): resolves true to go on. The phone's screen asks the person; without it, allowed.
   */
  confirmKeyUse?: (r: KeyUseRequest) => Promise<boolean>;
}

type Frame = Record<string, unknown> & { type: string };

const OPEN = 1;

/** Refused link: the server's message says what to do (ask for a new link). */
export class WalletLinkRefused extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'WalletLinkRefused';
  }
}

const JOB_STATES = ['running', 'succeeded', 'failed', 'cancelled'] as const;

/** The server's status frame, checked field by field (it is shown on the phone). */
function jobStatusOf(j: unknown): WalletJobStatus | null {
  if (!j || typeof j !== 'object') return null;
  const o = j as Record<string, unknown>;
  const status = JOB_STATES.find((s) => s === o.status);
  if (!status) return null;
  return {
    id: typeof o.id === 'string' ? o.id.slice(0, 40) : '',
    status,
    progress: typeof o.progress === 'number' ? Math.max(0, Math.min(100, o.progress)) : 0,
    step: typeof o.step === 'string' ? o.step.slice(0, 200) : '',
    pinChangePending: o.pinChangePending === true,
    onPhone: o.onPhone === true,
    error: typeof o.error === 'string' ? o.error.slice(0, 500) : null,
  };
}

const str = (v: unknown, max: number): string | null => (typeof v === 'string' ? v.slice(0, max) : null);

/** The server's offer frame, checked field by field (it is shown on the phone). */
function offerOf(o: unknown): WalletOffer | null {
  if (!o || typeof o !== 'object') return null;
  const m = o as Record<string, unknown>;
  const requestId = str(m.requestId, 40);
  if (!requestId || typeof m.number !== 'number') return null;
  const r = m.replaces as Record<string, unknown> | null | undefined;
  return {
    requestId,
    number: m.number,
    reason: str(m.reason, 40),
    type: str(m.type, 40),
    replaces:
      r && typeof r === 'object' ? { serial: str(r.serial, 40) ?? '', type: str(r.type, 40) ?? '' } : null,
  };
}

/** Private-key slots (SP 800-73-4 Part 1 Table 4b): authentication, signature, key management, card auth, retired. */
const KEY_SLOTS = new Set([0x9a, 0x9c, 0x9d, 0x9e, ...Array.from({ length: 20 }, (_, i) => 0x82 + i)]);

/**
 * The slot a command uses a private key of, or null: GENERAL AUTHENTICATE (INS 87) on a key slot,
 * the last block of a chain (CLA bit 0x10 clear: the card acts then). The management key (9B) is not
 * a private key of the person's.
 */
function keyUseSlot(apdu: Uint8Array): string | null {
  if (apdu.length < 4 || apdu[1] !== 0x87 || (apdu[0]! & 0x10) !== 0) return null;
  const p2 = apdu[3]!;
  return KEY_SLOTS.has(p2) ? p2.toString(16).toUpperCase() : null;
}

export class WalletLink {
  private socket: LinkSocket | undefined;
  private name = '';
  private session = '';
  /** The workstation using the current card session, if it is not the server's own work. */
  private usedBy: string | null = null;
  /** The person's answers wait until the server knows the reader (an enrolment needs the card). */
  private readersSent = false;
  private held: Frame[] = [];

  constructor(private readonly o: WalletLinkOptions) {}

  /** Opens the link; resolves once the server accepted the code or token. */
  start(): Promise<LinkedInfo> {
    const socket = this.o.open();
    this.socket = socket;
    return new Promise<LinkedInfo>((resolve, reject) => {
      let linked = false;
      socket.addEventListener('open', () => {
        const serial = String(this.o.card.serial);
        this.send(
          this.o.code
            ? {
                type: 'wallet-link',
                code: this.o.code,
                serial,
                ...(this.o.token ? { token: this.o.token } : {}),
              }
            : { type: 'wallet-resume', token: this.o.token ?? '', serial },
        );
      });
      socket.addEventListener('message', (ev) => {
        let m: Frame;
        try {
          m = JSON.parse(typeof ev.data === 'string' ? ev.data : String(ev.data)) as Frame;
        } catch {
          return;
        }
        if (!linked) {
          if (m.type === 'wallet-linked') {
            linked = true;
            const info: LinkedInfo = {
              walletId: String(m.walletId),
              name: String(m.name),
              ...(typeof m.token === 'string' ? { token: m.token } : {}),
              ...(typeof m.purpose === 'string' ? { purpose: m.purpose } : {}),
            };
            this.name = info.name;
            this.o.onEvent?.({ type: 'linked', info });
            this.send({
              type: 'hello',
              agentVersion: 'tessera-wallet/1',
              hostname: 'phone',
              platform: 'web',
            });
            resolve(info);
          } else if (m.type === 'error') {
            reject(new WalletLinkRefused(String(m.message), String(m.code)));
          }
          return;
        }
        void this.onFrame(m);
      });
      socket.addEventListener('close', (ev) => {
        const code = ev.code ?? 1006;
        const reason = ev.reason ?? '';
        if (!linked) reject(new WalletLinkRefused(reason || 'The server closed the link', 'closed'));
        this.o.onEvent?.({ type: 'closed', code, reason });
      });
      socket.addEventListener('error', () => undefined);
    });
  }

  close(): void {
    this.socket?.close(1000, 'wallet closed');
  }

  /** Remote issuance: the person accepts the offered credentials; the server starts personalizing. */
  enrol(requestId: string): void {
    this.answer({ type: 'wallet-enrol', requestId });
  }

  /** The PIN the person chose on the phone, at the end of a remote issuance. */
  choosePin(jobId: string, pin: string, confirmation: string): void {
    this.answer({ type: 'wallet-pin', jobId, pin, confirmation });
  }

  /** Try a failed remote issuance again. */
  retry(jobId: string): void {
    this.answer({ type: 'wallet-retry', jobId });
  }

  /** Allow or refuse a workstation's request to use this phone as its smart card. */
  decidePairing(pairingId: string, allow: boolean): void {
    this.answer({ type: 'wallet-pair', pairingId, allow });
  }

  /** End a workstation's use of this phone. */
  unpair(pairingId: string): void {
    this.answer({ type: 'wallet-unpair', pairingId });
  }

  /** Sends one of the person's answers once the server knows this phone's reader (frames keep their order). */
  private answer(f: Frame): void {
    if (this.readersSent) this.send(f);
    else this.held.push(f);
  }

  private send(body: Frame): void {
    if (this.socket?.readyState === OPEN)
      this.socket.send(JSON.stringify({ v: WALLET_PROTOCOL_VERSION, ...body }));
  }

  private async onFrame(m: Frame): Promise<void> {
    const card = this.o.card;
    switch (m.type) {
      case 'welcome':
        this.send({
          type: 'readers',
          readers: [{ name: this.name, cardPresent: true, atr: toHex(card.atr) }],
        });
        this.readersSent = true;
        for (const f of this.held.splice(0)) this.send(f);
        this.o.onEvent?.({ type: 'connected' });
        return;
      case 'wallet-status':
        this.o.onEvent?.({ type: 'status', job: jobStatusOf(m.job) });
        return;
      case 'wallet-pairings':
        this.o.onEvent?.({
          type: 'pairings',
          items: (Array.isArray(m.items) ? m.items : []).slice(0, 20).flatMap((i: unknown) => {
            const o = (i ?? {}) as Record<string, unknown>;
            const id = str(o.id, 40);
            return id && (o.state === 'pending' || o.state === 'active')
              ? [{ id, workstation: str(o.workstation, 128) ?? '', state: o.state, code: str(o.code, 6) }]
              : [];
          }),
        });
        return;
      case 'wallet-offer':
        this.o.onEvent?.({ type: 'offer', offer: offerOf(m.offer) });
        return;
      case 'wallet-result':
        this.o.onEvent?.({
          type: 'result',
          result: { of: str(m.of, 40) ?? '', ok: m.ok === true, message: str(m.message, 500) },
        });
        return;
      case 'ping':
        this.send({ type: 'pong', at: m.at });
        return;
      case 'connect':
        // A new connection is a power-up of the card: its volatile security state starts over.
        card.reset();
        this.session = toHex(randomBytes(8));
        this.usedBy = m.use === 'workstation' ? String(m.by ?? 'a workstation').slice(0, 128) : null;
        this.send({ type: 'connect-result', id: m.id, session: this.session, atr: toHex(card.atr) });
        return;
      case 'apdu': {
        if (m.session !== this.session) {
          this.send({ type: 'apdu-error', id: m.id, code: 'stale_session', message: 'the card was reset' });
          return;
        }
        try {
          const apdu = fromHex(String(m.apdu));
          const slot = this.usedBy !== null ? keyUseSlot(apdu) : null;
          if (slot && this.o.confirmKeyUse && !(await this.o.confirmKeyUse({ by: this.usedBy!, slot }))) {
            // Refused on the phone: "security status not satisfied" (ISO 7816-4), as a card says.
            this.send({ type: 'apdu-result', id: m.id, response: '6982' });
            return;
          }
          const response = await card.transmit(apdu);
          this.o.onEvent?.({ type: 'card-used', ins: apdu[1] ?? 0 });
          this.send({ type: 'apdu-result', id: m.id, response: toHex(response) });
        } catch (e) {
          this.send({
            type: 'apdu-error',
            id: m.id,
            code: 'card_error',
            message: (e as Error).message.slice(0, 200),
          });
        }
        return;
      }
      default:
        return;
    }
  }
}
