// The core of the PIV card application: the card side of SP 800-73-4 Part 2 plus the Yubico PIV extensions,
// answering with the status words a YubiKey 5 gives, so yubico-piv-tool, OpenSC and our own client
// cannot tell it from a token in a reader. Keys are generated inside and never leave through any APDU;
// PIN and PUK counters and every object are saved to the card's storage before the answer goes out.
// One codebase for the emulator (Node crypto, file storage) and the phone's wallet (WebCrypto,
// IndexedDB): cryptography and storage are injected, nothing here needs Node.
import {
  CLA_CHAINING,
  INS_GET_RESPONSE,
  MalformedCommandError,
  SW,
  decodeCommand,
  encodeResponse,
  type CommandApdu,
} from '../apdu.js';
import { CardProtocolError } from '../errors.js';
import {
  ALGORITHM,
  INS,
  OBJECT,
  PIN_POLICY,
  PIN_PROTECTED_OBJECTS,
  PIV_AID,
  SLOT,
  TAG,
} from '../piv/constants.js';
import { concat, decodeTlv, tlv } from '../tlv.js';
import { bytesEqual, fromBase64, fromHex, toBase64, toHex } from '../bytes.js';
import type { CardState, CardStorage } from './card-state.js';
import { newCardState } from './card-state.js';
import type { CardCrypto } from './card-crypto.js';

export const CURVE: Record<number, { name: 'P-256' | 'P-384'; size: number }> = {
  [ALGORITHM.ECC_P256]: { name: 'P-256', size: 32 },
  [ALGORITHM.ECC_P384]: { name: 'P-384', size: 48 },
};
export const challengeLength = (alg: number): number => (alg === ALGORITHM.TDEA_3KEY ? 8 : 16);

/**
 * The ATR of a YubiKey 5 over USB (T=1; historical bytes carry card capabilities "73 C0 21 C0",
 * which announce extended Lc/Le, and the ASCII name "YubiKey"), so tools pick their YubiKey paths.
 */
export const VIRTUAL_CARD_ATR = fromHex('3bfd1300008131fe158073c021c057597562694b657940');

/** A status word raised by a handler; becomes the response's SW1SW2. */
export class Status extends Error {
  constructor(readonly sw: number) {
    super(sw.toString(16));
  }
}

export interface Reply {
  data?: Uint8Array;
  sw?: number;
}

export type Command = CommandApdu & { data: Uint8Array };

type PendingAuth = { kind: 'witness' | 'challenge'; value: Uint8Array } | undefined;

/** Maximum size of one data object, as a YubiKey 5 (larger PUT DATA answers 6A84). */
const MAX_OBJECT_SIZE = 3052;

/** SP 800-73-4 Part 1 §3.3.2: the Discovery Object names the PIV AID and the PIN usage policy. */
const DISCOVERY = concat(tlv(OBJECT.DISCOVERY, concat(tlv(0x4f, PIV_AID), tlv(0x5f2f, [0x40, 0x00]))));

export function defaultPinPolicy(slot: number): number {
  if (slot === SLOT.CARD_AUTH) return PIN_POLICY.NEVER;
  if (slot === SLOT.SIGNATURE) return PIN_POLICY.ALWAYS;
  return PIN_POLICY.ONCE;
}

const hex = toHex;
const unhex = fromHex;
export const slotKey = (slot: number): string => slot.toString(16).padStart(2, '0');
export const objectKey = (tag: number): string => tag.toString(16);

const sameBytes = bytesEqual;

/** A PIN or PUK in reference format: 6..8 bytes of value, then only FF padding (SP 800-73-4 Part 2 §2.4.3). */
function validReferenceData(v: Uint8Array): boolean {
  let len = v.length;
  while (len > 0 && v[len - 1] === 0xff) len -= 1;
  if (len < 6) return false;
  for (let i = 0; i < len; i += 1) if (v[i] === 0xff) return false;
  return true;
}

export interface PivCardOptions {
  storage?: CardStorage;
  crypto: CardCrypto;
}

/** Transport, chaining, SELECT, data objects and PIN/PUK; the key commands are in piv-card-application.ts. */
export abstract class PivCardCore {
  protected state: CardState;
  private readonly storage: CardStorage | undefined;
  protected readonly crypto: CardCrypto;
  /** Saves in order; a command's answer waits for its save, as a card writes EEPROM before answering. */
  private saving: Promise<void> = Promise.resolve();
  // Volatile security state, lost at power-off like a real card's RAM.
  protected pinVerified = false;
  /** For keys with PIN policy "always": a fresh VERIFY is consumed by one use. */
  protected pinFresh = false;
  protected mgmtAuthenticated = false;
  protected pendingAuth: PendingAuth;
  private chain: { header: string; parts: Uint8Array[]; size: number } | undefined;
  private pendingResponse: Uint8Array | undefined;
  private busy: Promise<unknown> = Promise.resolve();

  constructor(state: CardState | undefined, opts: PivCardOptions) {
    this.state = state ? structuredClone(state) : newCardState();
    this.storage = opts.storage;
    this.crypto = opts.crypto;
  }

  /** Which cryptography this card runs on ("node", "webcrypto"). */
  get cryptoName(): string {
    return this.crypto.name;
  }

  get serial(): number {
    return this.state.serial;
  }

  get atr(): Uint8Array {
    return VIRTUAL_CARD_ATR;
  }

  /** A copy of the card's persistent memory (for tests and for saving). */
  snapshot(): CardState {
    return structuredClone(this.state);
  }

  /** Power-up or warm reset: clears the volatile security state and returns the ATR. */
  reset(): Uint8Array {
    this.pinVerified = false;
    this.pinFresh = false;
    this.mgmtAuthenticated = false;
    this.pendingAuth = undefined;
    this.chain = undefined;
    this.pendingResponse = undefined;
    return this.atr;
  }

  /** Processes one command APDU and returns the response APDU. Commands are handled one at a time. */
  transmit(apdu: Uint8Array): Promise<Uint8Array> {
    const run = this.busy.then(() => this.process(apdu));
    this.busy = run.catch(() => undefined);
    return run;
  }

  protected save(): void {
    const storage = this.storage;
    if (!storage) return;
    const copy = structuredClone(this.state);
    this.saving = this.saving.then(() => storage.save(copy));
  }

  /** Runs one command and waits until what it changed is stored. */
  private async process(raw: Uint8Array): Promise<Uint8Array> {
    const answer = await this.processCommand(raw);
    await this.saving;
    return answer;
  }

  private async processCommand(raw: Uint8Array): Promise<Uint8Array> {
    let cmd: ReturnType<typeof decodeCommand>;
    try {
      cmd = decodeCommand(raw);
    } catch (e) {
      if (e instanceof MalformedCommandError) return encodeResponse(new Uint8Array(0), SW.WRONG_LENGTH);
      throw e;
    }
    if (cmd.ins === INS_GET_RESPONSE && (cmd.cla & ~CLA_CHAINING) === 0) {
      const pending = this.pendingResponse;
      this.pendingResponse = undefined;
      if (!pending) return encodeResponse(new Uint8Array(0), SW.CONDITIONS_NOT_SATISFIED);
      return this.chunked(pending, cmd.le || 256, cmd.extended);
    }
    this.pendingResponse = undefined;

    // Command chaining (ISO 7816-4 §5.1.1.1): collect pieces until the last one arrives.
    const header = `${cmd.ins}:${cmd.p1}:${cmd.p2}`;
    if (cmd.cla & CLA_CHAINING) {
      if (!this.chain || this.chain.header !== header) this.chain = { header, parts: [], size: 0 };
      this.chain.parts.push(cmd.data);
      this.chain.size += cmd.data.length;
      if (this.chain.size > 65536) {
        this.chain = undefined;
        return encodeResponse(new Uint8Array(0), SW.WRONG_LENGTH);
      }
      return encodeResponse(new Uint8Array(0), SW.OK);
    }
    let data = cmd.data;
    if (this.chain) {
      const chain = this.chain;
      this.chain = undefined;
      if (chain.header !== header) return encodeResponse(new Uint8Array(0), SW.LAST_COMMAND_EXPECTED);
      data = concat(...chain.parts, cmd.data);
    }
    const full = { ...cmd, data };

    let reply: Reply;
    try {
      reply = await this.dispatch(full);
    } catch (e) {
      if (e instanceof Status) reply = { sw: e.sw };
      else if (e instanceof CardProtocolError) reply = { sw: SW.INCORRECT_DATA };
      else throw e;
    }
    const out = reply.data ?? new Uint8Array(0);
    const sw = reply.sw ?? SW.OK;
    if (sw !== SW.OK) return encodeResponse(out, sw);
    return this.chunked(out, cmd.le || (cmd.extended ? 65536 : 256), cmd.extended);
  }

  /** Sends at most `ne` bytes and keeps the rest for GET RESPONSE, announcing it with 61xx. */
  private chunked(data: Uint8Array, ne: number, _extended: boolean): Uint8Array {
    if (data.length <= ne) return encodeResponse(data, SW.OK);
    const rest = data.slice(ne);
    this.pendingResponse = rest;
    return encodeResponse(data.subarray(0, ne), SW.BYTES_REMAINING | (Math.min(rest.length, 256) % 256));
  }

  private dispatch(cmd: Command): Promise<Reply> | Reply {
    const cla = cmd.cla & ~CLA_CHAINING;
    if (cmd.ins === INS.GP_GET_DATA && (cla === 0x80 || cla === 0x00)) return this.getCplc(cmd);
    if (cla !== 0x00) return { sw: SW.CLA_NOT_SUPPORTED };
    switch (cmd.ins) {
      case INS.SELECT:
        return this.select(cmd);
      case INS.GET_DATA:
        return this.getData(cmd);
      case INS.PUT_DATA:
        return this.putData(cmd);
      case INS.VERIFY:
        return this.verify(cmd);
      case INS.CHANGE_REFERENCE_DATA:
        return this.changeReference(cmd);
      case INS.RESET_RETRY_COUNTER:
        return this.resetRetryCounter(cmd);
      case INS.GET_VERSION:
        return { data: Uint8Array.from(this.state.version) };
      case INS.GET_SERIAL: {
        const b = new Uint8Array(4);
        new DataView(b.buffer).setUint32(0, this.state.serial >>> 0);
        return { data: b };
      }
      default:
        return this.dispatchKeyCommand(cmd);
    }
  }

  /** GENERAL AUTHENTICATE, GENERATE and the Yubico key commands; 6D00 for any other instruction. */
  protected abstract dispatchKeyCommand(cmd: Command): Promise<Reply> | Reply;

  // --- SELECT (SP 800-73-4 Part 2 §3.1.1) -------------------------------------------------------

  private select(cmd: CommandApdu & { data: Uint8Array }): Reply {
    if (cmd.p1 !== 0x04) return { sw: SW.INCORRECT_P1P2 };
    const aid = cmd.data;
    // Partial DF-name selection: the 5-byte RID or any prefix of the full AID selects PIV.
    const matches =
      aid.length >= 5 && aid.length <= PIV_AID.length && sameBytes(aid, PIV_AID.subarray(0, aid.length));
    if (!matches) return { sw: SW.FILE_NOT_FOUND };
    // The application property template as a YubiKey 5 answers it (Part 2 Table 3).
    const apt = tlv(
      TAG.APT,
      concat(tlv(0x4f, PIV_AID.subarray(5)), tlv(0x79, tlv(0x4f, PIV_AID.subarray(0, 5)))),
    );
    return { data: apt };
  }

  // --- Data objects (Part 2 §3.1.2, §3.3.2) -----------------------------------------------------

  private objectTag(data: Uint8Array): { tag: number; rest: Uint8Array } {
    const t = decodeTlv(data);
    if (t.tag !== TAG.OBJECT_ID || t.value.length < 1 || t.value.length > 3)
      throw new Status(SW.INCORRECT_DATA);
    let tag = 0;
    for (const b of t.value) tag = (tag << 8) | b;
    return { tag, rest: t.rest };
  }

  private getData(cmd: CommandApdu & { data: Uint8Array }): Reply {
    if (cmd.p1 !== 0x3f || cmd.p2 !== 0xff) return { sw: SW.INCORRECT_P1P2 };
    const { tag, rest } = this.objectTag(cmd.data);
    if (rest.length) return { sw: SW.INCORRECT_DATA };
    if (tag === OBJECT.DISCOVERY) return { data: DISCOVERY };
    if (PIN_PROTECTED_OBJECTS.has(tag) && !this.pinVerified) return { sw: SW.SECURITY_STATUS_NOT_SATISFIED };
    const stored = this.state.objects[objectKey(tag)];
    if (stored === undefined) return { sw: SW.FILE_NOT_FOUND };
    const value = fromBase64(stored);
    return { data: tlv(tag === OBJECT.BITGT ? OBJECT.BITGT : TAG.OBJECT_DATA, value) };
  }

  private putData(cmd: CommandApdu & { data: Uint8Array }): Reply {
    if (cmd.p1 !== 0x3f || cmd.p2 !== 0xff) return { sw: SW.INCORRECT_P1P2 };
    if (!this.mgmtAuthenticated) return { sw: SW.SECURITY_STATUS_NOT_SATISFIED };
    const { tag, rest } = this.objectTag(cmd.data);
    const writable =
      (tag >= 0x5fc101 && tag <= 0x5fc123) || (tag >= 0x5fff00 && tag <= 0x5fff15) || tag === OBJECT.BITGT;
    if (!writable) return { sw: SW.INCORRECT_DATA };
    const body = decodeTlv(rest);
    if (body.rest.length || body.tag !== (tag === OBJECT.BITGT ? OBJECT.BITGT : TAG.OBJECT_DATA)) {
      return { sw: SW.INCORRECT_DATA };
    }
    if (body.value.length > MAX_OBJECT_SIZE) return { sw: SW.NOT_ENOUGH_MEMORY };
    // An empty 53 deletes the object, as on a YubiKey.
    if (body.value.length === 0) delete this.state.objects[objectKey(tag)];
    else this.state.objects[objectKey(tag)] = toBase64(body.value);
    this.save();
    return {};
  }

  /** GlobalPlatform GET DATA for the CPLC (GP Card Spec §11.3, tag 9F7F). */
  private getCplc(cmd: CommandApdu): Reply {
    if (cmd.p1 !== 0x9f || cmd.p2 !== 0x7f) return { sw: SW.REFERENCE_NOT_FOUND };
    return { data: tlv(TAG.CPLC, unhex(this.state.cplc)) };
  }

  // --- PIN and PUK (Part 2 §3.2.1–3.2.3) ------------------------------------------------------

  protected counterFor(ref: number): { counter: CardState['pinCounter']; value: 'pin' | 'puk' } | undefined {
    if (ref === 0x80) return { counter: this.state.pinCounter, value: 'pin' };
    if (ref === 0x81) return { counter: this.state.pukCounter, value: 'puk' };
    return undefined;
  }

  /** Compares reference data, counting a failure; throws the SW the card answers on failure. */
  protected check(which: 'pin' | 'puk', given: Uint8Array): void {
    const counter = which === 'pin' ? this.state.pinCounter : this.state.pukCounter;
    if (counter.remaining === 0) throw new Status(SW.AUTH_METHOD_BLOCKED);
    if (sameBytes(given, unhex(this.state[which]))) {
      if (counter.remaining !== counter.total) {
        counter.remaining = counter.total;
        this.save();
      }
      return;
    }
    counter.remaining -= 1;
    if (which === 'pin') {
      this.pinVerified = false;
      this.pinFresh = false;
    }
    this.save();
    throw new Status(SW.VERIFY_FAIL | counter.remaining);
  }

  private verify(cmd: CommandApdu & { data: Uint8Array }): Reply {
    if (cmd.p2 !== 0x80) return { sw: SW.REFERENCE_NOT_FOUND };
    if (cmd.p1 === 0xff) {
      // Reset the security status of the PIN (Part 2 §3.2.1).
      if (cmd.data.length) return { sw: SW.INCORRECT_DATA };
      this.pinVerified = false;
      this.pinFresh = false;
      return {};
    }
    if (cmd.p1 !== 0x00) return { sw: SW.INCORRECT_P1P2 };
    const counter = this.state.pinCounter;
    if (cmd.data.length === 0) {
      if (counter.remaining === 0) return { sw: SW.AUTH_METHOD_BLOCKED };
      return { sw: this.pinVerified ? SW.OK : SW.VERIFY_FAIL | counter.remaining };
    }
    if (cmd.data.length !== 8) return { sw: SW.INCORRECT_DATA };
    this.check('pin', cmd.data);
    this.pinVerified = true;
    this.pinFresh = true;
    return {};
  }

  private changeReference(cmd: CommandApdu & { data: Uint8Array }): Reply {
    if (cmd.p1 !== 0x00) return { sw: SW.INCORRECT_P1P2 };
    const ref = this.counterFor(cmd.p2);
    if (!ref) return { sw: SW.REFERENCE_NOT_FOUND };
    if (cmd.data.length !== 16) return { sw: SW.INCORRECT_DATA };
    const oldValue = cmd.data.subarray(0, 8);
    const newValue = cmd.data.subarray(8);
    this.check(ref.value, oldValue);
    if (!validReferenceData(newValue)) return { sw: SW.INCORRECT_DATA };
    this.state[ref.value] = hex(newValue);
    ref.counter.remaining = ref.counter.total;
    this.save();
    return {};
  }

  private resetRetryCounter(cmd: CommandApdu & { data: Uint8Array }): Reply {
    if (cmd.p1 !== 0x00) return { sw: SW.INCORRECT_P1P2 };
    if (cmd.p2 !== 0x80) return { sw: SW.REFERENCE_NOT_FOUND };
    if (cmd.data.length !== 16) return { sw: SW.INCORRECT_DATA };
    this.check('puk', cmd.data.subarray(0, 8));
    const newPin = cmd.data.subarray(8);
    if (!validReferenceData(newPin)) return { sw: SW.INCORRECT_DATA };
    this.state.pin = hex(newPin);
    this.state.pinCounter.remaining = this.state.pinCounter.total;
    this.save();
    return {};
  }
}
