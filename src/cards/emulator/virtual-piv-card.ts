// A virtual PIV card: the card side of SP 800-73-4 Part 2 plus the Yubico PIV extensions, answering
// with the status words a YubiKey 5 gives, so yubico-piv-tool, OpenSC and our own client cannot tell
// it from a token in a reader. Keys are generated inside and never leave through any APDU; PIN and
// PUK counters and every object are saved to the card's storage after each change.
import {
  createECDH,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  privateDecrypt,
  randomBytes,
  timingSafeEqual,
  constants as cryptoConstants,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
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
  KEY_SLOTS,
  MANAGEMENT_KEY_LENGTH,
  OBJECT,
  PIN_POLICY,
  PIN_PROTECTED_OBJECTS,
  PIV_AID,
  SLOT,
  TAG,
  TOUCH_POLICY,
  isAsymmetricAlgorithm,
  isManagementKeyAlgorithm,
} from '../piv/constants.js';
import { CURVE, algorithmOfKey, blockCipher, challengeLength, templateChildren } from '../piv/crypto.js';
import { type Tlv, concat, decodeTlv, decodeTlvs, findTlv, tlv } from '../tlv.js';
import type { CardKey, CardState, CardStorage } from './card-state.js';
import { newCardState, padPin } from './card-state.js';
import { type AttestationIdentity, attest, newAttestationIdentity } from './attestation.js';
import { ecdsaSignDigest } from './ecdsa.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * The ATR of a YubiKey 5 over USB (T=1; historical bytes carry card capabilities "73 C0 21 C0",
 * which announce extended Lc/Le, and the ASCII name "YubiKey"), so tools pick their YubiKey paths.
 */
export const VIRTUAL_CARD_ATR = Uint8Array.from(
  Buffer.from('3bfd1300008131fe158073c021c057597562694b657940', 'hex'),
);

/** A status word raised by a handler; becomes the response's SW1SW2. */
class Status extends Error {
  constructor(readonly sw: number) {
    super(sw.toString(16));
  }
}

interface Reply {
  data?: Uint8Array;
  sw?: number;
}

type PendingAuth = { kind: 'witness' | 'challenge'; value: Uint8Array } | undefined;

/** Maximum size of one data object, as a YubiKey 5 (larger PUT DATA answers 6A84). */
const MAX_OBJECT_SIZE = 3052;

/** SP 800-73-4 Part 1 §3.3.2: the Discovery Object names the PIV AID and the PIN usage policy. */
const DISCOVERY = concat(tlv(OBJECT.DISCOVERY, concat(tlv(0x4f, PIV_AID), tlv(0x5f2f, [0x40, 0x00]))));

function defaultPinPolicy(slot: number): number {
  if (slot === SLOT.CARD_AUTH) return PIN_POLICY.NEVER;
  if (slot === SLOT.SIGNATURE) return PIN_POLICY.ALWAYS;
  return PIN_POLICY.ONCE;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const slotKey = (slot: number): string => slot.toString(16).padStart(2, '0');
const objectKey = (tag: number): string => tag.toString(16);

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A PIN or PUK in reference format: 6..8 bytes of value, then only FF padding (SP 800-73-4 Part 2 §2.4.3). */
function validReferenceData(v: Uint8Array): boolean {
  let len = v.length;
  while (len > 0 && v[len - 1] === 0xff) len -= 1;
  if (len < 6) return false;
  for (let i = 0; i < len; i += 1) if (v[i] === 0xff) return false;
  return true;
}

export interface VirtualPivCardOptions {
  storage?: CardStorage;
}

export class VirtualPivCard {
  private state: CardState;
  private readonly storage: CardStorage | undefined;
  // Volatile security state, lost at power-off like a real card's RAM.
  private pinVerified = false;
  /** For keys with PIN policy "always": a fresh VERIFY is consumed by one use. */
  private pinFresh = false;
  private mgmtAuthenticated = false;
  private pendingAuth: PendingAuth;
  private chain: { header: string; parts: Uint8Array[]; size: number } | undefined;
  private pendingResponse: Uint8Array | undefined;
  private busy: Promise<unknown> = Promise.resolve();

  constructor(state?: CardState, opts: VirtualPivCardOptions = {}) {
    this.state = state ? structuredClone(state) : newCardState();
    this.storage = opts.storage;
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

  private save(): void {
    this.storage?.save(this.state);
  }

  private async process(raw: Uint8Array): Promise<Uint8Array> {
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

  private dispatch(cmd: CommandApdu & { data: Uint8Array }): Promise<Reply> | Reply {
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
      case INS.GENERAL_AUTHENTICATE:
        return this.generalAuthenticate(cmd);
      case INS.GENERATE_ASYMMETRIC:
        return this.generate(cmd);
      case INS.GET_VERSION:
        return { data: Uint8Array.from(this.state.version) };
      case INS.GET_SERIAL: {
        const b = new Uint8Array(4);
        new DataView(b.buffer).setUint32(0, this.state.serial >>> 0);
        return { data: b };
      }
      case INS.SET_MGMT_KEY:
        return this.setManagementKey(cmd);
      case INS.SET_PIN_RETRIES:
        return this.setRetries(cmd);
      case INS.RESET:
        return this.resetApplication();
      case INS.IMPORT_KEY:
        return this.importKey(cmd);
      case INS.GET_METADATA:
        return this.metadata(cmd);
      case INS.ATTEST:
        return this.attest(cmd);
      default:
        return { sw: SW.INS_NOT_SUPPORTED };
    }
  }

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
    const value = Uint8Array.from(Buffer.from(stored, 'base64'));
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
    else this.state.objects[objectKey(tag)] = Buffer.from(body.value).toString('base64');
    this.save();
    return {};
  }

  /** GlobalPlatform GET DATA for the CPLC (GP Card Spec §11.3, tag 9F7F). */
  private getCplc(cmd: CommandApdu): Reply {
    if (cmd.p1 !== 0x9f || cmd.p2 !== 0x7f) return { sw: SW.REFERENCE_NOT_FOUND };
    return { data: tlv(TAG.CPLC, unhex(this.state.cplc)) };
  }

  // --- PIN and PUK (Part 2 §3.2.1–3.2.3) ------------------------------------------------------

  private counterFor(ref: number): { counter: CardState['pinCounter']; value: 'pin' | 'puk' } | undefined {
    if (ref === 0x80) return { counter: this.state.pinCounter, value: 'pin' };
    if (ref === 0x81) return { counter: this.state.pukCounter, value: 'puk' };
    return undefined;
  }

  /** Compares reference data, counting a failure; throws the SW the card answers on failure. */
  private check(which: 'pin' | 'puk', given: Uint8Array): void {
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

  // --- GENERAL AUTHENTICATE (Part 2 §3.2.4, Appendix A) ------------------------------------------

  private async generalAuthenticate(cmd: CommandApdu & { data: Uint8Array }): Promise<Reply> {
    const outer = decodeTlv(cmd.data);
    if (outer.tag !== TAG.DYN_AUTH || outer.rest.length) return { sw: SW.INCORRECT_DATA };
    const items = decodeTlvs(outer.value);
    if (cmd.p2 === SLOT.CARD_MANAGEMENT) return this.managementAuth(cmd.p1, items);
    return this.useKey(cmd.p1, cmd.p2, items);
  }

  private managementAuth(alg: number, items: Tlv[]): Reply {
    const mk = this.state.managementKey;
    if (alg !== mk.algorithm) {
      this.pendingAuth = undefined;
      return { sw: SW.INCORRECT_P1P2 };
    }
    const key = unhex(mk.key);
    const size = challengeLength(mk.algorithm);
    const witness = findTlv(items, TAG.AUTH_WITNESS);
    const challenge = findTlv(items, TAG.AUTH_CHALLENGE);
    const response = findTlv(items, TAG.AUTH_RESPONSE);
    const pending = this.pendingAuth;
    this.pendingAuth = undefined;

    if (witness && witness.length === 0 && !challenge) {
      // Mutual authentication step 1: the card sends a witness encrypted under the key.
      const w = Uint8Array.from(randomBytes(size));
      this.pendingAuth = { kind: 'witness', value: w };
      this.mgmtAuthenticated = false;
      return { data: tlv(TAG.DYN_AUTH, tlv(TAG.AUTH_WITNESS, blockCipher(mk.algorithm, key, w, 'encrypt'))) };
    }
    if (witness && witness.length > 0 && challenge && challenge.length > 0) {
      // Step 2: the host returns the decrypted witness and challenges the card in turn.
      if (pending?.kind !== 'witness') return { sw: SW.CONDITIONS_NOT_SATISFIED };
      if (witness.length !== size || challenge.length !== size) return { sw: SW.INCORRECT_DATA };
      if (!sameBytes(witness, pending.value)) return { sw: SW.SECURITY_STATUS_NOT_SATISFIED };
      this.mgmtAuthenticated = true;
      return {
        data: tlv(TAG.DYN_AUTH, tlv(TAG.AUTH_RESPONSE, blockCipher(mk.algorithm, key, challenge, 'encrypt'))),
      };
    }
    if (challenge && challenge.length === 0 && !witness) {
      // External authentication: the card sends a plain challenge, the host returns it encrypted.
      const c = Uint8Array.from(randomBytes(size));
      this.pendingAuth = { kind: 'challenge', value: c };
      this.mgmtAuthenticated = false;
      return { data: tlv(TAG.DYN_AUTH, tlv(TAG.AUTH_CHALLENGE, c)) };
    }
    if (response && response.length > 0 && !witness && !challenge) {
      if (pending?.kind !== 'challenge') return { sw: SW.CONDITIONS_NOT_SATISFIED };
      if (response.length !== size) return { sw: SW.INCORRECT_DATA };
      if (!sameBytes(response, blockCipher(mk.algorithm, key, pending.value, 'encrypt'))) {
        return { sw: SW.SECURITY_STATUS_NOT_SATISFIED };
      }
      this.mgmtAuthenticated = true;
      return {};
    }
    return { sw: SW.INCORRECT_DATA };
  }

  private requirePinFor(slot: number, key: CardKey): void {
    const policy = key.pinPolicy === PIN_POLICY.DEFAULT ? defaultPinPolicy(slot) : key.pinPolicy;
    if (policy === PIN_POLICY.NEVER) return;
    if (!this.pinVerified) throw new Status(SW.SECURITY_STATUS_NOT_SATISFIED);
    if (policy === PIN_POLICY.ALWAYS) {
      if (!this.pinFresh) throw new Status(SW.SECURITY_STATUS_NOT_SATISFIED);
      this.pinFresh = false;
    }
  }

  private useKey(alg: number, slot: number, items: Tlv[]): Reply {
    const stored = this.state.keys[slotKey(slot)];
    if (!stored) return { sw: SW.INCORRECT_DATA };
    if (stored.algorithm !== alg) return { sw: SW.INCORRECT_P1P2 };
    const response = findTlv(items, TAG.AUTH_RESPONSE);
    const challenge = findTlv(items, TAG.AUTH_CHALLENGE);
    const exponentiation = findTlv(items, TAG.AUTH_EXPONENTIATION);
    if (!response || response.length !== 0) return { sw: SW.INCORRECT_DATA };
    const key = createPrivateKey({
      key: Buffer.from(stored.privateKey, 'base64'),
      format: 'der',
      type: 'pkcs8',
    });
    let result: Uint8Array;
    if (challenge && !exponentiation) {
      this.requirePinFor(slot, stored);
      result = this.privateOperation(alg, key, challenge);
    } else if (exponentiation && !challenge) {
      const curve = CURVE[alg];
      if (!curve) return { sw: SW.INCORRECT_P1P2 };
      this.requirePinFor(slot, stored);
      result = this.ecdh(curve.name, key, exponentiation);
    } else {
      return { sw: SW.INCORRECT_DATA };
    }
    return { data: tlv(TAG.DYN_AUTH, tlv(TAG.AUTH_RESPONSE, result)) };
  }

  private privateOperation(alg: number, key: KeyObject, input: Uint8Array): Uint8Array {
    const curve = CURVE[alg];
    if (curve) {
      const d = Buffer.from(key.export({ format: 'jwk' }).d ?? '', 'base64url');
      return ecdsaSignDigest(curve.name, d, input);
    }
    // RSA: the host sends a block as long as the modulus, already padded (SP 800-73-4 Part 2 §3.2.4);
    // the card applies the raw private-key operation.
    const size = (key.asymmetricKeyDetails?.modulusLength ?? 0) / 8;
    if (input.length !== size) throw new Status(SW.INCORRECT_DATA);
    try {
      return Uint8Array.from(privateDecrypt({ key, padding: cryptoConstants.RSA_NO_PADDING }, input));
    } catch {
      throw new Status(SW.INCORRECT_DATA); // input ≥ modulus
    }
  }

  private ecdh(curve: 'P-256' | 'P-384', key: KeyObject, point: Uint8Array): Uint8Array {
    const ecdh = createECDH(curve === 'P-256' ? 'prime256v1' : 'secp384r1');
    ecdh.setPrivateKey(Buffer.from(key.export({ format: 'jwk' }).d ?? '', 'base64url'));
    try {
      return Uint8Array.from(ecdh.computeSecret(Buffer.from(point)));
    } catch {
      throw new Status(SW.INCORRECT_DATA);
    }
  }

  // --- GENERATE ASYMMETRIC KEY PAIR (Part 2 §3.3.2) ---------------------------------------------

  private parsePolicies(items: Tlv[]): { pinPolicy: number; touchPolicy: number } {
    const pin = findTlv(items, TAG.PIN_POLICY);
    const touch = findTlv(items, TAG.TOUCH_POLICY);
    const pinPolicy = pin?.[0] ?? PIN_POLICY.DEFAULT;
    const touchPolicy = touch?.[0] ?? TOUCH_POLICY.DEFAULT;
    if ((pin && pin.length !== 1) || pinPolicy > 3) throw new Status(SW.INCORRECT_DATA);
    if ((touch && touch.length !== 1) || touchPolicy > 3) throw new Status(SW.INCORRECT_DATA);
    return { pinPolicy, touchPolicy };
  }

  private async generate(cmd: CommandApdu & { data: Uint8Array }): Promise<Reply> {
    if (cmd.p1 !== 0x00) return { sw: SW.INCORRECT_P1P2 };
    if (!KEY_SLOTS.includes(cmd.p2) || cmd.p2 === SLOT.ATTESTATION) return { sw: SW.INCORRECT_P1P2 };
    if (!this.mgmtAuthenticated) return { sw: SW.SECURITY_STATUS_NOT_SATISFIED };
    const template = decodeTlv(cmd.data);
    if (template.tag !== TAG.GEN_TEMPLATE) return { sw: SW.INCORRECT_DATA };
    const items = decodeTlvs(template.value);
    const alg = findTlv(items, TAG.GEN_ALGORITHM);
    if (!alg || alg.length !== 1 || !isAsymmetricAlgorithm(alg[0]!)) return { sw: SW.INCORRECT_DATA };
    const policies = this.parsePolicies(items);
    const algorithm = alg[0]!;
    const { privateKey, publicKey } =
      algorithm === ALGORITHM.RSA_2048 || algorithm === ALGORITHM.RSA_1024
        ? await generateKeyPairAsync('rsa', {
            modulusLength: algorithm === ALGORITHM.RSA_2048 ? 2048 : 1024,
            publicExponent: 65537,
          })
        : await generateKeyPairAsync('ec', { namedCurve: CURVE[algorithm]!.name });
    this.state.keys[slotKey(cmd.p2)] = {
      algorithm,
      privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
      origin: 'generated',
      ...policies,
    };
    this.save();
    return { data: tlv(TAG.PUBLIC_KEY, templateChildren(publicKey)) };
  }

  // --- Yubico extensions ------------------------------------------------------------------------

  private setManagementKey(cmd: CommandApdu & { data: Uint8Array }): Reply {
    if (cmd.p1 !== 0xff || (cmd.p2 !== 0xff && cmd.p2 !== 0xfe)) return { sw: SW.INCORRECT_P1P2 };
    if (!this.mgmtAuthenticated) return { sw: SW.SECURITY_STATUS_NOT_SATISFIED };
    const d = cmd.data;
    const alg = d[0];
    if (
      d.length < 3 ||
      alg === undefined ||
      !isManagementKeyAlgorithm(alg) ||
      d[1] !== SLOT.CARD_MANAGEMENT
    ) {
      return { sw: SW.INCORRECT_DATA };
    }
    const len = d[2]!;
    if (len !== MANAGEMENT_KEY_LENGTH[alg] || d.length !== 3 + len) return { sw: SW.INCORRECT_DATA };
    this.state.managementKey = {
      algorithm: alg,
      key: hex(d.subarray(3)),
      touchPolicy: cmd.p2 === 0xfe ? TOUCH_POLICY.ALWAYS : TOUCH_POLICY.NEVER,
    };
    this.save();
    return {};
  }

  private setRetries(cmd: CommandApdu): Reply {
    if (!this.mgmtAuthenticated || !this.pinVerified) return { sw: SW.SECURITY_STATUS_NOT_SATISFIED };
    if (cmd.p1 < 1 || cmd.p2 < 1) return { sw: SW.INCORRECT_P1P2 };
    // Like a YubiKey, setting the retry counts also puts PIN and PUK back to their defaults.
    const fresh = newCardState({ serial: this.state.serial });
    this.state.pin = fresh.pin;
    this.state.puk = fresh.puk;
    this.state.pinCounter = { total: cmd.p1, remaining: cmd.p1 };
    this.state.pukCounter = { total: cmd.p2, remaining: cmd.p2 };
    this.pinVerified = false;
    this.pinFresh = false;
    this.save();
    return {};
  }

  /** The F9 attestation key and certificate, made on first use and kept across resets. */
  private async attestationIdentity(): Promise<AttestationIdentity> {
    const key = this.state.keys[slotKey(SLOT.ATTESTATION)];
    const certObject = this.state.objects[objectKey(OBJECT.ATTESTATION)];
    if (key && certObject) {
      const cert = findTlv(decodeTlvs(Buffer.from(certObject, 'base64')), 0x70);
      if (cert) return { privateKey: key.privateKey, certificate: cert };
    }
    const identity = await newAttestationIdentity(this.state.serial);
    this.state.keys[slotKey(SLOT.ATTESTATION)] = {
      algorithm: ALGORITHM.ECC_P256,
      privateKey: identity.privateKey,
      origin: 'imported',
      pinPolicy: PIN_POLICY.NEVER,
      touchPolicy: TOUCH_POLICY.NEVER,
    };
    this.state.objects[objectKey(OBJECT.ATTESTATION)] = Buffer.from(
      concat(tlv(0x70, identity.certificate), tlv(0x71, [0]), tlv(0xfe)),
    ).toString('base64');
    this.save();
    return identity;
  }

  /** Yubico ATTEST: P1 is the slot; only keys generated on the card can be attested. */
  private async attest(cmd: CommandApdu): Promise<Reply> {
    const slot = cmd.p1;
    if (cmd.p2 !== 0 || !KEY_SLOTS.includes(slot) || slot === SLOT.ATTESTATION)
      return { sw: SW.INCORRECT_P1P2 };
    const k = this.state.keys[slotKey(slot)];
    if (!k) return { sw: SW.REFERENCE_NOT_FOUND };
    if (k.origin !== 'generated') return { sw: SW.INCORRECT_DATA };
    const identity = await this.attestationIdentity();
    const key = createPrivateKey({ key: Buffer.from(k.privateKey, 'base64'), format: 'der', type: 'pkcs8' });
    return {
      data: await attest({
        identity,
        slot,
        slotPublicKeySpki: Uint8Array.from(createPublicKey(key).export({ format: 'der', type: 'spki' })),
        serial: this.state.serial,
        version: this.state.version,
        pinPolicy: k.pinPolicy === PIN_POLICY.DEFAULT ? defaultPinPolicy(slot) : k.pinPolicy,
        touchPolicy: k.touchPolicy === TOUCH_POLICY.DEFAULT ? TOUCH_POLICY.NEVER : k.touchPolicy,
      }),
    };
  }

  private resetApplication(): Reply {
    // Only a card whose PIN and PUK are both blocked may be reset (Yubico PIV reset).
    if (this.state.pinCounter.remaining !== 0 || this.state.pukCounter.remaining !== 0) {
      return { sw: SW.CONDITIONS_NOT_SATISFIED };
    }
    // The attestation key and certificate are the token's identity: a reset keeps them.
    const attestationKey = this.state.keys[slotKey(SLOT.ATTESTATION)];
    const attestationCert = this.state.objects[objectKey(OBJECT.ATTESTATION)];
    this.state = newCardState({ serial: this.state.serial, version: this.state.version });
    if (attestationKey && attestationCert) {
      this.state.keys[slotKey(SLOT.ATTESTATION)] = attestationKey;
      this.state.objects[objectKey(OBJECT.ATTESTATION)] = attestationCert;
    }
    this.reset();
    this.save();
    return {};
  }

  private importKey(cmd: CommandApdu & { data: Uint8Array }): Reply {
    if (!this.mgmtAuthenticated) return { sw: SW.SECURITY_STATUS_NOT_SATISFIED };
    if (!KEY_SLOTS.includes(cmd.p2)) return { sw: SW.INCORRECT_P1P2 };
    const alg = cmd.p1;
    if (!isAsymmetricAlgorithm(alg)) return { sw: SW.INCORRECT_P1P2 };
    const items = decodeTlvs(cmd.data);
    const policies = this.parsePolicies(items);
    let key: KeyObject;
    try {
      key = CURVE[alg] ? importEc(alg, items) : importRsa(items);
    } catch (e) {
      if (e instanceof Status) throw e;
      return { sw: SW.INCORRECT_DATA };
    }
    if (algorithmOfKey(key) !== alg) return { sw: SW.INCORRECT_DATA };
    this.state.keys[slotKey(cmd.p2)] = {
      algorithm: alg,
      privateKey: key.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
      origin: 'imported',
      ...policies,
    };
    this.save();
    return {};
  }

  private metadata(cmd: CommandApdu): Reply {
    const slot = cmd.p2;
    if (slot === SLOT.CARD_MANAGEMENT) {
      const mk = this.state.managementKey;
      const isDefault =
        mk.algorithm === ALGORITHM.TDEA_3KEY && mk.key === newCardState({ serial: 1 }).managementKey.key;
      return {
        data: concat(
          tlv(TAG.MD_ALGORITHM, [mk.algorithm]),
          tlv(TAG.MD_POLICY, [PIN_POLICY.NEVER, mk.touchPolicy]),
          tlv(TAG.MD_DEFAULT, [isDefault ? 1 : 0]),
        ),
      };
    }
    const ref = this.counterFor(slot);
    if (ref) {
      const defaults = newCardState({ serial: 1 });
      const isDefault = this.state[ref.value] === defaults[ref.value];
      return {
        data: concat(
          tlv(TAG.MD_ALGORITHM, [0xff]),
          tlv(TAG.MD_POLICY, [0, 0]),
          tlv(TAG.MD_DEFAULT, [isDefault ? 1 : 0]),
          tlv(TAG.MD_RETRIES, [ref.counter.total, ref.counter.remaining]),
        ),
      };
    }
    if (!KEY_SLOTS.includes(slot)) return { sw: SW.INCORRECT_P1P2 };
    const k = this.state.keys[slotKey(slot)];
    if (!k) return { sw: SW.REFERENCE_NOT_FOUND };
    const pub = createPrivateKey({ key: Buffer.from(k.privateKey, 'base64'), format: 'der', type: 'pkcs8' });
    const pinPolicy = k.pinPolicy === PIN_POLICY.DEFAULT ? defaultPinPolicy(slot) : k.pinPolicy;
    const touchPolicy = k.touchPolicy === TOUCH_POLICY.DEFAULT ? TOUCH_POLICY.NEVER : k.touchPolicy;
    return {
      data: concat(
        tlv(TAG.MD_ALGORITHM, [k.algorithm]),
        tlv(TAG.MD_POLICY, [pinPolicy, touchPolicy]),
        tlv(TAG.MD_ORIGIN, [k.origin === 'generated' ? 1 : 2]),
        tlv(TAG.MD_PUBLIC_KEY, templateChildren(pub)),
      ),
    };
  }
}

const b64u = (b: Uint8Array | bigint): string =>
  typeof b === 'bigint'
    ? Buffer.from(b.toString(16).padStart(2 * Math.ceil(b.toString(16).length / 2), '0'), 'hex').toString(
        'base64url',
      )
    : Buffer.from(b).toString('base64url');

const big = (b: Uint8Array): bigint => (b.length ? BigInt('0x' + Buffer.from(b).toString('hex')) : 0n);

function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [a % m, m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new Status(SW.INCORRECT_DATA);
  return ((s0 % m) + m) % m;
}

/** Yubico IMPORT KEY for RSA: tags 01..05 carry p, q, dp, dq, qInv; the public exponent is 65537. */
function importRsa(items: Tlv[]): KeyObject {
  const part = (tag: number): Uint8Array => {
    const v = findTlv(items, tag);
    if (!v || v.length === 0) throw new Status(SW.INCORRECT_DATA);
    return v;
  };
  const [p, q, dp, dq, qi] = [part(1), part(2), part(3), part(4), part(5)];
  const e = 65537n;
  const n = big(p) * big(q);
  const d = modInverse(e, (big(p) - 1n) * (big(q) - 1n));
  return createPrivateKey({
    key: {
      kty: 'RSA',
      n: b64u(n),
      e: b64u(e),
      d: b64u(d),
      p: b64u(big(p)),
      q: b64u(big(q)),
      dp: b64u(big(dp)),
      dq: b64u(big(dq)),
      qi: b64u(big(qi)),
    },
    format: 'jwk',
  });
}

/** Yubico IMPORT KEY for EC: tag 06 carries the private scalar. */
function importEc(alg: number, items: Tlv[]): KeyObject {
  const curve = CURVE[alg]!;
  const d = findTlv(items, 6);
  if (!d || d.length !== curve.size) throw new Status(SW.INCORRECT_DATA);
  const ecdh = createECDH(curve.name === 'P-256' ? 'prime256v1' : 'secp384r1');
  ecdh.setPrivateKey(Buffer.from(d));
  const point = ecdh.getPublicKey();
  return createPrivateKey({
    key: {
      kty: 'EC',
      crv: curve.name,
      d: b64u(d),
      x: b64u(point.subarray(1, 1 + curve.size)),
      y: b64u(point.subarray(1 + curve.size)),
    },
    format: 'jwk',
  });
}

export { padPin };
