// A PIV client session (NIST SP 800-73-4 Part 2 §3 and the Yubico PIV extensions), handed an open
// CardConnection. Every operation is a small, fixed number of APDUs (see docs/cards.md); failures
// are typed: InvalidPinError, PinBlockedError, SecurityStatusNotSatisfied, NotSupportedError,
// ApduError. Secrets passed in (PIN, PUK, management key) are only ever placed in command data.
import { createHash, createPublicKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { SW, type CommandApdu, type ResponseApdu } from '../apdu.js';
import {
  ApduError,
  ApplicationNotAvailableError,
  AuthenticationFailedError,
  CardProtocolError,
  NotSupportedError,
} from '../errors.js';
import { SmartCardProtocol, type ProtocolOptions } from '../iso7816.js';
import { concat, decodeTlv, decodeTlvs, findTlv, requireTlv, tlv, unwrap } from '../tlv.js';
import type { CardConnection } from '../transport/types.js';
import type { AsymmetricAlgorithm, ManagementKeyAlgorithm } from './constants.js';
import {
  ALGORITHM,
  DEFAULT_MANAGEMENT_KEY,
  INS,
  MANAGEMENT_KEY_LENGTH,
  OBJECT,
  PIN_REF,
  PIV_AID,
  SLOT,
  TAG,
  certificateObjectFor,
  isManagementKeyAlgorithm,
} from './constants.js';
import { CURVE, blockCipher, challengeLength, publicKeyFromTemplate, spkiDer } from './crypto.js';
import { pivError } from './errors-map.js';
import {
  type Chuid,
  type DecodedChuid,
  decodeCertificateObject,
  decodeChuid,
  encodeCcc,
  encodeCertificateObject,
  encodeChuid,
} from './objects.js';
import { padPinBytes } from './pin.js';

export type Version = [number, number, number];

export interface PinStatus {
  verified: boolean;
  /** Tries left; 0 when blocked. Undefined when the card reports the PIN as verified. */
  attemptsRemaining?: number;
}

export interface SlotMetadata {
  algorithm: number;
  pinPolicy: number;
  touchPolicy: number;
  origin: 'generated' | 'imported';
  publicKey: KeyObject;
}

export interface ReferenceMetadata {
  isDefault: boolean;
  total: number;
  remaining: number;
}

export interface GenerateOptions {
  pinPolicy?: number;
  touchPolicy?: number;
}

export type HashName = 'sha256' | 'sha384' | 'sha512' | 'sha1';

/** DER prefixes of DigestInfo (RFC 8017 §9.2 note 1). */
const DIGEST_INFO_PREFIX: Record<HashName, string> = {
  sha1: '3021300906052b0e03021a05000414',
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
};

/** EMSA-PKCS1-v1_5 (RFC 8017 §9.2): 00 01 FF…FF 00 DigestInfo, as long as the modulus. */
export function pkcs1v15Pad(hash: HashName, digest: Uint8Array, size: number): Uint8Array {
  const t = concat(Uint8Array.from(Buffer.from(DIGEST_INFO_PREFIX[hash], 'hex')), digest);
  if (t.length + 11 > size) throw new RangeError('modulus too short for this digest');
  const out = new Uint8Array(size).fill(0xff);
  out[0] = 0;
  out[1] = 1;
  out[size - t.length - 1] = 0;
  out.set(t, size - t.length);
  return out;
}

const NO_RESPONSE_DATA: ReadonlySet<number> = new Set([
  INS.VERIFY,
  INS.CHANGE_REFERENCE_DATA,
  INS.RESET_RETRY_COUNTER,
  INS.PUT_DATA,
  INS.SET_MGMT_KEY,
  INS.SET_PIN_RETRIES,
  INS.RESET,
  INS.IMPORT_KEY,
]);

export interface SignOptions {
  /** VERIFY this PIN first, in the same exchange (a slot whose key wants the PIN each time, 9C). */
  pin?: string;
}

/** A PIV command of a batch; `what` says which reference a refusal concerns (for its error). */
interface PivCommand {
  ins: number;
  p1: number;
  p2: number;
  data?: Uint8Array;
  what: 'PIN' | 'PUK';
}

/**
 * A command of PivSession.batch: `onAnswer` takes its data once the whole batch answered 9000 up to
 * it; a read (`read`, a GET DATA of readObjects) may be refused without failing the batch.
 */
interface BatchCommand extends PivCommand {
  onAnswer?: (data: Uint8Array) => void;
  read?: number;
  /** The whole APDU when it is not a plain PIV command (GET DATA). */
  apdu?: CommandApdu;
}

function pivCommand(c: PivCommand & { apdu?: CommandApdu }): CommandApdu {
  if (c.apdu) return c.apdu;
  // Commands that return nothing are sent without Le (case 1/3): some cards reject a case-4 VERIFY.
  return { cla: 0, ins: c.ins, p1: c.p1, p2: c.p2, data: c.data, le: NO_RESPONSE_DATA.has(c.ins) ? 0 : 256 };
}

function getDataCommand(tag: number): CommandApdu {
  return { cla: 0, ins: INS.GET_DATA, p1: 0x3f, p2: 0xff, data: tlv(TAG.OBJECT_ID, tagBytes(tag)), le: 256 };
}

/** The commands of PivSession.batch: the same as the session's methods of these names. */
export class PivBatch {
  readonly commands: BatchCommand[] = [];

  private push(c: BatchCommand): this {
    // A refused read ends an agent's batch: commands after it would go unsent, so reads go last.
    if (c.read === undefined && this.commands.some((x) => x.read !== undefined))
      throw new RangeError('A batch reads objects after its other commands, never before');
    this.commands.push(c);
    return this;
  }

  verifyPin(pin: string): this {
    return this.push({
      ins: INS.VERIFY,
      p1: 0,
      p2: PIN_REF.PIN,
      data: padPinBytes(pin, 'PIN'),
      what: 'PIN',
    });
  }

  changePuk(oldPuk: string, newPuk: string): this {
    return this.push({
      ins: INS.CHANGE_REFERENCE_DATA,
      p1: 0,
      p2: PIN_REF.PUK,
      data: concat(padPinBytes(oldPuk, 'PUK'), padPinBytes(newPuk, 'PUK')),
      what: 'PUK',
    });
  }

  setPinRetries(pinRetries: number, pukRetries: number): this {
    checkRetries(pinRetries, pukRetries);
    return this.push({ ins: INS.SET_PIN_RETRIES, p1: pinRetries, p2: pukRetries, what: 'PIN' });
  }

  putObject(tag: number, value: Uint8Array | undefined): this {
    return this.push({
      ins: INS.PUT_DATA,
      p1: 0x3f,
      p2: 0xff,
      data: concat(tlv(TAG.OBJECT_ID, tagBytes(tag)), tlv(TAG.OBJECT_DATA, value ?? new Uint8Array(0))),
      what: 'PIN',
    });
  }

  putCertificate(slot: number, der: Uint8Array, opts: { compressed?: boolean } = {}): this {
    return this.putObject(certificateObjectFor(slot), encodeCertificateObject(der, opts));
  }

  putCcc(cardId?: Uint8Array): this {
    return this.putObject(OBJECT.CAPABILITY, encodeCcc(cardId));
  }

  /** SET MANAGEMENT KEY, as PivSession.setManagementKey (a batch does not authenticate after it). */
  setManagementKey(key: Uint8Array, algorithm: ManagementKeyAlgorithm = ALGORITHM.TDEA_3KEY): this {
    return this.push(setManagementKeyCommand(key, algorithm));
  }

  /** GENERATE ASYMMETRIC KEY PAIR, as PivSession.generateKey; `onKey` gets the new public key. */
  generateKey(
    slot: number,
    algorithm: AsymmetricAlgorithm,
    opts: GenerateOptions,
    onKey: (key: { publicKey: KeyObject; spki: Uint8Array }) => void,
  ): this {
    return this.push({
      ...generateCommand(slot, algorithm, opts),
      onAnswer: (d) => onKey(generatedKey(algorithm, d)),
    });
  }

  /**
   * As PivSession.sign: `message` hashed here, the slot's key signs it on the card, after a VERIFY
   * of `opts.pin` when given (a slot whose key wants the PIN each time, 9C); `onSignature` gets it.
   */
  sign(
    slot: number,
    algorithm: AsymmetricAlgorithm,
    message: Uint8Array,
    hash: HashName,
    opts: SignOptions,
    onSignature: (signature: Uint8Array) => void,
  ): this {
    if (opts.pin !== undefined) this.verifyPin(opts.pin);
    const input = signatureInput(algorithm, hashed(hash, message), hash);
    return this.push({
      ...privateOperationCommand(slot, algorithm, input),
      onAnswer: (d) => onSignature(signatureOf(d)),
    });
  }

  /**
   * GET DATA of these objects, last in the batch, for the session's next getObject of each (a
   * read-back of what the batch wrote). A refusal (an object the card lacks) fails nothing: the
   * reads after it are sent again by their getObject.
   */
  readObjects(tags: readonly number[]): this {
    for (const tag of tags)
      this.push({ ins: INS.GET_DATA, p1: 0x3f, p2: 0xff, what: 'PIN', read: tag, apdu: getDataCommand(tag) });
    return this;
  }
}

function setManagementKeyCommand(key: Uint8Array, algorithm: ManagementKeyAlgorithm): PivCommand {
  if (key.length !== MANAGEMENT_KEY_LENGTH[algorithm]) {
    throw new RangeError(
      `management key must be ${MANAGEMENT_KEY_LENGTH[algorithm]} bytes for algorithm ${algorithm}`,
    );
  }
  return {
    ins: INS.SET_MGMT_KEY,
    p1: 0xff,
    p2: 0xff,
    data: concat(Uint8Array.of(algorithm, SLOT.CARD_MANAGEMENT, key.length), key),
    what: 'PIN',
  };
}

function generateCommand(slot: number, algorithm: AsymmetricAlgorithm, opts: GenerateOptions): PivCommand {
  const items = [tlv(TAG.GEN_ALGORITHM, [algorithm])];
  if (opts.pinPolicy !== undefined) items.push(tlv(TAG.PIN_POLICY, [opts.pinPolicy]));
  if (opts.touchPolicy !== undefined) items.push(tlv(TAG.TOUCH_POLICY, [opts.touchPolicy]));
  return {
    ins: INS.GENERATE_ASYMMETRIC,
    p1: 0,
    p2: slot,
    data: tlv(TAG.GEN_TEMPLATE, concat(...items)),
    what: 'PIN',
  };
}

function generatedKey(
  algorithm: AsymmetricAlgorithm,
  d: Uint8Array,
): { publicKey: KeyObject; spki: Uint8Array } {
  const publicKey = publicKeyFromTemplate(
    algorithm,
    decodeTlvs(unwrap(d, TAG.PUBLIC_KEY, 'public key template')),
  );
  return { publicKey, spki: spkiDer(publicKey) };
}

function privateOperationCommand(
  slot: number,
  algorithm: AsymmetricAlgorithm,
  input: Uint8Array,
): PivCommand {
  return {
    ins: INS.GENERAL_AUTHENTICATE,
    p1: algorithm,
    p2: slot,
    data: tlv(TAG.DYN_AUTH, concat(tlv(TAG.AUTH_RESPONSE), tlv(TAG.AUTH_CHALLENGE, input))),
    what: 'PIN',
  };
}

const signatureOf = (d: Uint8Array): Uint8Array =>
  requireTlv(decodeTlvs(unwrap(d, TAG.DYN_AUTH, 'signature')), TAG.AUTH_RESPONSE, 'signature');

const hashed = (hash: HashName, message: Uint8Array): Uint8Array =>
  Uint8Array.from(createHash(hash).update(message).digest());

/** What the card's key operates on: the digest itself for EC, the PKCS#1 v1.5 block for RSA. */
function signatureInput(algorithm: AsymmetricAlgorithm, digest: Uint8Array, hash: HashName): Uint8Array {
  if (CURVE[algorithm]) return digest;
  return pkcs1v15Pad(hash, digest, algorithm === ALGORITHM.RSA_2048 ? 256 : 128);
}

function checkRetries(pinRetries: number, pukRetries: number): void {
  for (const [n, v] of [
    ['PIN retries', pinRetries],
    ['PUK retries', pukRetries],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 255) throw new RangeError(`${n} must be 1..255`);
  }
}

export interface PivSessionOptions extends ProtocolOptions {
  /** Use extended APDUs: true/false, or 'auto' (on for YubiKey 4+ and compatible cards). */
  extendedApdus?: boolean | 'auto';
}

export class PivSession {
  readonly protocol: SmartCardProtocol;
  /** The Yubico version, when the card answers GET VERSION. */
  version: Version | undefined;

  /** Objects read by readObjectsAhead or a batch's readObjects, each for its next getObject. */
  private readonly readAhead = new Map<number, ResponseApdu>();
  /** GET SERIAL's answer, read with the SELECT where the transport runs batches, for getSerial. */
  private serialAhead: ResponseApdu | undefined;

  private constructor(protocol: SmartCardProtocol) {
    this.protocol = protocol;
  }

  /**
   * Selects the PIV application and learns the Yubico version (1 more APDU). Where the transport
   * runs batches, both go in one exchange with GET SERIAL (for getSerial, which every opener asks
   * next): one round trip instead of three.
   */
  static async open(connection: CardConnection, opts: PivSessionOptions = {}): Promise<PivSession> {
    const protocol = new SmartCardProtocol(connection, { ...opts, extended: false });
    const s = new PivSession(protocol);
    if (connection.transmitBatch) {
      const [select, version, serial] = await protocol.transceiveAll([
        selectCommand(),
        pivCommand({ ins: INS.GET_VERSION, p1: 0, p2: 0, what: 'PIN' }),
        pivCommand({ ins: INS.GET_SERIAL, p1: 0, p2: 0, what: 'PIN' }),
      ]);
      selected(select!);
      s.version = version && version.sw === SW.OK ? versionOf(version.data) : undefined;
      s.serialAhead = serial;
    } else {
      await s.select();
      try {
        s.version = await s.getVersion();
      } catch (e) {
        if (!(e instanceof ApduError)) throw e;
        s.version = undefined;
      }
    }
    const ext = opts.extendedApdus ?? 'auto';
    protocol.extended = ext === 'auto' ? (s.version?.[0] ?? 0) >= 4 : ext;
    return s;
  }

  /** Number of APDUs exchanged so far. */
  get apduCount(): number {
    return this.protocol.apduCount;
  }

  private async call(
    ins: number,
    p1: number,
    p2: number,
    data?: Uint8Array,
    what: 'PIN' | 'PUK' = 'PIN',
  ): Promise<Uint8Array> {
    this.readAhead.clear();
    this.serialAhead = undefined;
    const r = await this.protocol.transceive(pivCommand({ ins, p1, p2, data, what }));
    if (r.sw !== SW.OK) throw pivError(r.sw, what);
    return r.data;
  }

  /**
   * Runs the commands `build` queues (PIN and PUK changes, keys generated, signatures, PUT DATA…),
   * each to answer 9000: in one exchange where the transport runs batches (the agent relay: one
   * round trip instead of one per command), else one by one. The first refusal throws as its own
   * method would, the commands after it unsent; each answer's callback runs once all answered.
   * The batch's reads (readObjects, last) are kept for getObject instead; a refused read fails
   * nothing (getObject asks again and answers as it would have).
   */
  async batch(build: (b: PivBatch) => void): Promise<void> {
    const b = new PivBatch();
    build(b);
    this.readAhead.clear();
    this.serialAhead = undefined;
    // Reads are only worth sending together; over a transport without batches getObject reads.
    const batching = !!this.protocol.connection.transmitBatch;
    const commands = batching ? b.commands : b.commands.filter((c) => c.read === undefined);
    const answers = await this.protocol.transceiveAll(commands.map(pivCommand));
    for (const [i, r] of answers.entries()) {
      const c = commands[i]!;
      if (c.read !== undefined) this.readAhead.set(c.read, r);
      else if (r.sw !== SW.OK) throw pivError(r.sw, c.what);
    }
    for (const [i, r] of answers.entries()) commands[i]!.onAnswer?.(r.data);
  }

  /**
   * Reads these objects in one exchange where the transport runs batches, for the next getObject
   * of each (a read-back of what was written); stops at the first the card does not have. Objects
   * already read ahead (by a batch's readObjects) are not read again. Any command sent meanwhile
   * forgets them.
   */
  async readObjectsAhead(tags: readonly number[]): Promise<void> {
    const missing = tags.filter((t) => !this.readAhead.has(t));
    if (!this.protocol.connection.transmitBatch || missing.length < 2) return;
    const answers = await this.protocol.transceiveAll(missing.map(getDataCommand));
    for (const [i, r] of answers.entries()) this.readAhead.set(missing[i]!, r);
  }

  /** SELECT the PIV application; returns the application property template (Part 2 §3.1.1). */
  async select(): Promise<Uint8Array> {
    return selected(await this.protocol.select(PIV_AID));
  }

  // --- Yubico: version, serial, metadata --------------------------------------------------------

  async getVersion(): Promise<Version> {
    return versionOf(await this.call(INS.GET_VERSION, 0, 0));
  }

  /**
   * The card's serial number: the Yubico serial (decimal) when the card has one, else the CHUID GUID
   * (hex), else the IC serial number of the CPLC (hex).
   */
  async getSerial(): Promise<{ serial: string; source: 'yubico' | 'chuid' | 'cplc' }> {
    const ahead = this.serialAhead;
    this.serialAhead = undefined;
    try {
      if (ahead && ahead.sw !== SW.OK) throw pivError(ahead.sw);
      const d = ahead ? ahead.data : await this.call(INS.GET_SERIAL, 0, 0);
      if (d.length === 4) return { serial: String(Buffer.from(d).readUInt32BE(0)), source: 'yubico' };
    } catch (e) {
      if (!(e instanceof ApduError)) throw e;
    }
    const chuid = await this.getChuid();
    if (chuid && chuid.guid.length === 16 && chuid.guid.some((b) => b !== 0)) {
      return { serial: Buffer.from(chuid.guid).toString('hex'), source: 'chuid' };
    }
    const cplc = await this.getCplc();
    if (cplc && cplc.length >= 19)
      return { serial: Buffer.from(cplc.subarray(15, 19)).toString('hex'), source: 'cplc' };
    throw new NotSupportedError(SW.FILE_NOT_FOUND, 'The card reports no serial number');
  }

  /** GlobalPlatform CPLC data (tag 9F7F), or undefined when the card has none. */
  async getCplc(): Promise<Uint8Array | undefined> {
    const r = await this.protocol.transceive({
      cla: 0x80,
      ins: INS.GP_GET_DATA,
      p1: 0x9f,
      p2: 0x7f,
      le: 256,
    });
    if (r.sw !== SW.OK) return undefined;
    return unwrap(r.data, TAG.CPLC, 'CPLC data');
  }

  async getSlotMetadata(slot: number): Promise<SlotMetadata | undefined> {
    const r = await this.protocol.transceive({ cla: 0, ins: INS.GET_METADATA, p1: 0, p2: slot, le: 256 });
    if (r.sw === SW.REFERENCE_NOT_FOUND) return undefined;
    if (r.sw !== SW.OK) throw pivError(r.sw);
    const items = decodeTlvs(r.data);
    const algorithm = requireTlv(items, TAG.MD_ALGORITHM, 'algorithm')[0]!;
    const policy = requireTlv(items, TAG.MD_POLICY, 'policy');
    const origin = requireTlv(items, TAG.MD_ORIGIN, 'origin')[0];
    const pub = requireTlv(items, TAG.MD_PUBLIC_KEY, 'public key');
    return {
      algorithm,
      pinPolicy: policy[0] ?? 0,
      touchPolicy: policy[1] ?? 0,
      origin: origin === 2 ? 'imported' : 'generated',
      publicKey: publicKeyFromTemplate(algorithm as AsymmetricAlgorithm, decodeTlvs(pub)),
    };
  }

  /** PIN (0x80) or PUK (0x81) metadata: default or not, retries (Yubico 5.3+). */
  async getReferenceMetadata(ref: number): Promise<ReferenceMetadata> {
    const items = decodeTlvs(await this.call(INS.GET_METADATA, 0, ref));
    const retries = requireTlv(items, TAG.MD_RETRIES, 'retries');
    return {
      isDefault: requireTlv(items, TAG.MD_DEFAULT, 'default flag')[0] === 1,
      total: retries[0] ?? 0,
      remaining: retries[1] ?? 0,
    };
  }

  async getManagementKeyMetadata(): Promise<{
    algorithm: ManagementKeyAlgorithm;
    isDefault: boolean;
    touch: boolean;
  }> {
    const items = decodeTlvs(await this.call(INS.GET_METADATA, 0, SLOT.CARD_MANAGEMENT));
    const alg = requireTlv(items, TAG.MD_ALGORITHM, 'algorithm')[0]!;
    if (!isManagementKeyAlgorithm(alg))
      throw new CardProtocolError(`Unknown management key algorithm ${alg}`);
    return {
      algorithm: alg,
      isDefault: findTlv(items, TAG.MD_DEFAULT)?.[0] === 1,
      touch: (findTlv(items, TAG.MD_POLICY)?.[1] ?? 1) > 1,
    };
  }

  // --- Data objects -----------------------------------------------------------------------------

  /** GET DATA: the object's value (inside tag 53), or undefined when the card has no such object. */
  async getObject(tag: number): Promise<Uint8Array | undefined> {
    const ahead = this.readAhead.get(tag);
    this.readAhead.delete(tag);
    const r = ahead ?? (await this.protocol.transceive(getDataCommand(tag)));
    if (r.sw === SW.FILE_NOT_FOUND) return undefined;
    if (r.sw !== SW.OK) throw pivError(r.sw);
    if (tag === OBJECT.DISCOVERY) return unwrap(r.data, OBJECT.DISCOVERY, 'Discovery object');
    const t = decodeTlv(r.data);
    return t.value;
  }

  /** PUT DATA (needs management-key authentication). `undefined` deletes the object. */
  async putObject(tag: number, value: Uint8Array | undefined): Promise<void> {
    await this.call(
      INS.PUT_DATA,
      0x3f,
      0xff,
      concat(tlv(TAG.OBJECT_ID, tagBytes(tag)), tlv(TAG.OBJECT_DATA, value ?? new Uint8Array(0))),
    );
  }

  async getCertificate(slot: number): Promise<Uint8Array | undefined> {
    const v = await this.getObject(certificateObjectFor(slot));
    if (!v || v.length === 0) return undefined;
    return decodeCertificateObject(v);
  }

  /** Writes a certificate into a slot's object (70 cert, 71 CertInfo, FE LRC). */
  async putCertificate(slot: number, der: Uint8Array, opts: { compressed?: boolean } = {}): Promise<void> {
    await this.putObject(certificateObjectFor(slot), encodeCertificateObject(der, opts));
  }

  async deleteCertificate(slot: number): Promise<void> {
    await this.putObject(certificateObjectFor(slot), undefined);
  }

  async getChuid(): Promise<DecodedChuid | undefined> {
    const v = await this.getObject(OBJECT.CHUID);
    return v ? decodeChuid(v) : undefined;
  }

  async putChuid(chuid: Chuid): Promise<void> {
    await this.putObject(OBJECT.CHUID, encodeChuid(chuid));
  }

  async putCcc(cardId?: Uint8Array): Promise<void> {
    await this.putObject(OBJECT.CAPABILITY, encodeCcc(cardId));
  }

  // --- PIN / PUK (Part 2 §3.2.1–3.2.3) ----------------------------------------------------------

  async verifyPin(pin: string): Promise<void> {
    await this.call(INS.VERIFY, 0, PIN_REF.PIN, padPinBytes(pin, 'PIN'));
  }

  /** Empty VERIFY: is the PIN verified, and how many tries are left (no try is spent). */
  async getPinStatus(): Promise<PinStatus> {
    const r = await this.protocol.transceive({ cla: 0, ins: INS.VERIFY, p1: 0, p2: PIN_REF.PIN });
    if (r.sw === SW.OK) return { verified: true };
    if (r.sw >> 4 === 0x63c) return { verified: false, attemptsRemaining: r.sw & 0xf };
    if (r.sw === SW.AUTH_METHOD_BLOCKED) return { verified: false, attemptsRemaining: 0 };
    throw pivError(r.sw);
  }

  async changePin(oldPin: string, newPin: string): Promise<void> {
    await this.call(
      INS.CHANGE_REFERENCE_DATA,
      0,
      PIN_REF.PIN,
      concat(padPinBytes(oldPin, 'PIN'), padPinBytes(newPin, 'PIN')),
    );
  }

  async changePuk(oldPuk: string, newPuk: string): Promise<void> {
    await this.call(
      INS.CHANGE_REFERENCE_DATA,
      0,
      PIN_REF.PUK,
      concat(padPinBytes(oldPuk, 'PUK'), padPinBytes(newPuk, 'PUK')),
      'PUK',
    );
  }

  /** RESET RETRY COUNTER: sets a new PIN with the PUK (the PUK's counter is the one at stake). */
  async unblockPin(puk: string, newPin: string): Promise<void> {
    await this.call(
      INS.RESET_RETRY_COUNTER,
      0,
      PIN_REF.PIN,
      concat(padPinBytes(puk, 'PUK'), padPinBytes(newPin, 'PIN')),
      'PUK',
    );
  }

  // --- Management key (Part 2 Appendix A.1; Yubico SET MANAGEMENT KEY) -----------------------------

  /**
   * Mutual authentication with the card management key (2 APDUs): the card proves it knows the key
   * too, so a card that answers without it is caught. `algorithm` defaults to what the card's
   * metadata says (Yubico 5.3+), else 3DES.
   */
  async authenticate(
    key: Uint8Array = DEFAULT_MANAGEMENT_KEY,
    algorithm?: ManagementKeyAlgorithm,
  ): Promise<void> {
    const alg = algorithm ?? (await this.guessManagementAlgorithm(key));
    return this.mutualAuthentication(key, alg, []);
  }

  /** authenticate, its first command sent in one exchange after `before` (each to answer 9000). */
  private async mutualAuthentication(
    key: Uint8Array,
    alg: ManagementKeyAlgorithm,
    before: readonly PivCommand[],
  ): Promise<void> {
    const size = challengeLength(alg);
    this.readAhead.clear();
    this.serialAhead = undefined;
    const answers = await this.protocol.transceiveAll([
      ...before.map(pivCommand),
      {
        cla: 0,
        ins: INS.GENERAL_AUTHENTICATE,
        p1: alg,
        p2: SLOT.CARD_MANAGEMENT,
        data: tlv(TAG.DYN_AUTH, tlv(TAG.AUTH_WITNESS)),
        le: 256,
      },
    ]);
    for (const [i, r] of answers.entries())
      if (r.sw !== SW.OK) throw pivError(r.sw, before[i]?.what ?? 'PIN');
    const step1 = answers.at(-1)!;
    const encWitness = requireTlv(
      decodeTlvs(unwrap(step1.data, TAG.DYN_AUTH, 'witness')),
      TAG.AUTH_WITNESS,
      'witness',
    );
    if (encWitness.length !== size) throw new CardProtocolError('Witness has the wrong length');
    const witness = blockCipher(alg, key, encWitness, 'decrypt');
    const challenge = Uint8Array.from(randomBytes(size));
    const step2 = await this.protocol.transceive({
      cla: 0,
      ins: INS.GENERAL_AUTHENTICATE,
      p1: alg,
      p2: SLOT.CARD_MANAGEMENT,
      data: tlv(TAG.DYN_AUTH, concat(tlv(TAG.AUTH_WITNESS, witness), tlv(TAG.AUTH_CHALLENGE, challenge))),
      le: 256,
    });
    if (step2.sw === SW.SECURITY_STATUS_NOT_SATISFIED) {
      throw new AuthenticationFailedError('The card rejected the management key');
    }
    if (step2.sw !== SW.OK) throw pivError(step2.sw);
    const response = requireTlv(
      decodeTlvs(unwrap(step2.data, TAG.DYN_AUTH, 'authentication response')),
      TAG.AUTH_RESPONSE,
      'response',
    );
    const expected = blockCipher(alg, key, challenge, 'encrypt');
    if (response.length !== expected.length || !timingSafeEqual(response, expected)) {
      throw new AuthenticationFailedError('The card could not prove it holds the management key');
    }
  }

  private async guessManagementAlgorithm(key: Uint8Array): Promise<ManagementKeyAlgorithm> {
    if ((this.version?.[0] ?? 0) > 5 || (this.version?.[0] === 5 && (this.version[1] ?? 0) >= 3)) {
      return (await this.getManagementKeyMetadata()).algorithm;
    }
    if (key.length === 16) return ALGORITHM.AES_128;
    if (key.length === 32) return ALGORITHM.AES_256;
    return ALGORITHM.TDEA_3KEY;
  }

  /**
   * Yubico SET MANAGEMENT KEY (needs authentication first); touch is never required. With
   * `authenticate`, then authenticates with the new key (proving the card took it), its first
   * command in the same exchange where the transport runs batches.
   */
  async setManagementKey(
    key: Uint8Array,
    algorithm: ManagementKeyAlgorithm = ALGORITHM.TDEA_3KEY,
    opts: { authenticate?: boolean } = {},
  ): Promise<void> {
    const c = setManagementKeyCommand(key, algorithm);
    if (opts.authenticate) return this.mutualAuthentication(key, algorithm, [c]);
    await this.call(c.ins, c.p1, c.p2, c.data);
  }

  /**
   * Yubico SET PIN RETRIES (needs management key and PIN). The card resets PIN and PUK to their
   * defaults (123456 / 12345678) as a side effect: change them afterwards.
   */
  async setPinRetries(pinRetries: number, pukRetries: number): Promise<void> {
    checkRetries(pinRetries, pukRetries);
    await this.call(INS.SET_PIN_RETRIES, pinRetries, pukRetries);
  }

  /** Yubico RESET of the PIV application (only once PIN and PUK are both blocked). */
  async reset(): Promise<void> {
    await this.call(INS.RESET, 0, 0);
  }

  // --- Keys (Part 2 §3.3.2, §3.2.4; Yubico IMPORT KEY) -------------------------------------------

  /** GENERATE ASYMMETRIC KEY PAIR in `slot` (needs management key); returns the public key. */
  async generateKey(
    slot: number,
    algorithm: AsymmetricAlgorithm,
    opts: GenerateOptions = {},
  ): Promise<{ publicKey: KeyObject; spki: Uint8Array }> {
    const c = generateCommand(slot, algorithm, opts);
    return generatedKey(algorithm, await this.call(c.ins, c.p1, c.p2, c.data));
  }

  /**
   * GENERAL AUTHENTICATE with a slot key on an already formatted input: for RSA a block as long as
   * the modulus, for EC a digest. Returns what the card computed (RSA block / DER ECDSA signature).
   */
  async privateOperation(
    slot: number,
    algorithm: AsymmetricAlgorithm,
    input: Uint8Array,
    opts: SignOptions = {},
  ): Promise<Uint8Array> {
    const ga = privateOperationCommand(slot, algorithm, input);
    let d: Uint8Array;
    if (opts.pin === undefined) d = await this.call(ga.ins, ga.p1, ga.p2, ga.data);
    else {
      // VERIFY and the operation in one exchange where the transport runs batches.
      const verify = new PivBatch().verifyPin(opts.pin).commands[0]!;
      this.readAhead.clear();
      this.serialAhead = undefined;
      const answers = await this.protocol.transceiveAll([verify, ga].map(pivCommand));
      for (const r of answers) if (r.sw !== SW.OK) throw pivError(r.sw, 'PIN');
      d = answers[1]!.data;
    }
    return signatureOf(d);
  }

  /**
   * Signs `message` with the slot key: hashes on the host, pads RSA with PKCS#1 v1.5 (DigestInfo),
   * returns an RSA signature or a DER ECDSA signature (what X.509 and PKCS#10 carry).
   */
  async sign(
    slot: number,
    algorithm: AsymmetricAlgorithm,
    message: Uint8Array,
    hash: HashName = 'sha256',
    opts: SignOptions = {},
  ): Promise<Uint8Array> {
    return this.signDigest(slot, algorithm, hashed(hash, message), hash, opts);
  }

  async signDigest(
    slot: number,
    algorithm: AsymmetricAlgorithm,
    digest: Uint8Array,
    hash: HashName,
    opts: SignOptions = {},
  ): Promise<Uint8Array> {
    return this.privateOperation(slot, algorithm, signatureInput(algorithm, digest, hash), opts);
  }

  /** ECDH with the slot key and a peer's uncompressed point; returns the shared secret x coordinate. */
  async calculateSecret(
    slot: number,
    algorithm: AsymmetricAlgorithm,
    peerPoint: Uint8Array,
  ): Promise<Uint8Array> {
    const d = await this.call(
      INS.GENERAL_AUTHENTICATE,
      algorithm,
      slot,
      tlv(TAG.DYN_AUTH, concat(tlv(TAG.AUTH_RESPONSE), tlv(TAG.AUTH_EXPONENTIATION, peerPoint))),
    );
    return requireTlv(
      decodeTlvs(unwrap(d, TAG.DYN_AUTH, 'shared secret')),
      TAG.AUTH_RESPONSE,
      'shared secret',
    );
  }

  /**
   * Yubico ATTEST: a certificate, signed by the token's attestation key (slot F9), for the key
   * generated in `slot` (1 APDU). Check it against `getCertificate(0xf9)` and the vendor's root.
   */
  async attest(slot: number): Promise<Uint8Array> {
    return this.call(INS.ATTEST, slot, 0);
  }

  /** Yubico IMPORT KEY of an RSA (2048/1024) or EC (P-256/P-384) private key (needs management key). */
  async importKey(slot: number, privateKey: KeyObject, opts: GenerateOptions = {}): Promise<void> {
    const jwk = privateKey.export({ format: 'jwk' });
    const b = (s: string | undefined, size?: number): Uint8Array => {
      const v = Buffer.from(s ?? '', 'base64url');
      if (size === undefined || v.length >= size) return Uint8Array.from(v);
      return Uint8Array.from(Buffer.concat([Buffer.alloc(size - v.length), v]));
    };
    let algorithm: AsymmetricAlgorithm;
    let body: Uint8Array;
    if (jwk.kty === 'RSA') {
      const bits = privateKey.asymmetricKeyDetails?.modulusLength;
      if (bits !== 2048 && bits !== 1024) throw new RangeError('only RSA 1024/2048 keys can be imported');
      if (jwk.e !== 'AQAB') throw new RangeError('only RSA keys with public exponent 65537 can be imported');
      algorithm = bits === 2048 ? ALGORITHM.RSA_2048 : ALGORITHM.RSA_1024;
      const half = bits / 16;
      body = concat(
        tlv(1, b(jwk.p, half)),
        tlv(2, b(jwk.q, half)),
        tlv(3, b(jwk.dp, half)),
        tlv(4, b(jwk.dq, half)),
        tlv(5, b(jwk.qi, half)),
      );
    } else if (jwk.kty === 'EC' && (jwk.crv === 'P-256' || jwk.crv === 'P-384')) {
      algorithm = jwk.crv === 'P-256' ? ALGORITHM.ECC_P256 : ALGORITHM.ECC_P384;
      body = tlv(6, b(jwk.d, CURVE[algorithm]!.size));
    } else {
      throw new RangeError('only RSA and EC P-256/P-384 keys can be imported');
    }
    const policies: Uint8Array[] = [];
    if (opts.pinPolicy !== undefined) policies.push(tlv(TAG.PIN_POLICY, [opts.pinPolicy]));
    if (opts.touchPolicy !== undefined) policies.push(tlv(TAG.TOUCH_POLICY, [opts.touchPolicy]));
    await this.call(INS.IMPORT_KEY, algorithm, slot, concat(body, ...policies));
  }
}

function selectCommand(): CommandApdu {
  return { cla: 0, ins: 0xa4, p1: 0x04, p2: 0x00, data: PIV_AID, le: 256 };
}

/** SELECT's answer: the application property template, or the refusal as an error. */
function selected(r: ResponseApdu): Uint8Array {
  if (r.sw === SW.FILE_NOT_FOUND) throw new ApplicationNotAvailableError(r.sw);
  if (r.sw !== SW.OK) throw pivError(r.sw);
  return r.data;
}

function versionOf(d: Uint8Array): Version {
  if (d.length !== 3) throw new CardProtocolError(`GET VERSION answered ${d.length} bytes, expected 3`);
  return [d[0]!, d[1]!, d[2]!];
}

function tagBytes(tag: number): Uint8Array {
  if (tag > 0xffff) return Uint8Array.of(tag >> 16, (tag >> 8) & 0xff, tag & 0xff);
  if (tag > 0xff) return Uint8Array.of(tag >> 8, tag & 0xff);
  return Uint8Array.of(tag);
}

/** The public key of a certificate or SPKI, for checking that a slot's key matches. */
export function publicKeyFromSpki(spki: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
}
