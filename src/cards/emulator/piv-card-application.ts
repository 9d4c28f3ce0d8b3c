// The PIV card application: the card side of SP 800-73-4 Part 2 plus the Yubico PIV extensions,
// answering with the status words a YubiKey 5 gives, so yubico-piv-tool, OpenSC and our own client
// cannot tell it from a token in a reader. Keys are generated inside and never leave through any APDU.
// One codebase for the emulator (Node crypto, file storage) and the phone's wallet (WebCrypto,
// IndexedDB): cryptography and storage are injected, nothing here needs Node. This file holds the key
// commands; piv-card-core.ts the transport, data objects and PIN/PUK.
import { SW } from '../apdu.js';
import {
  ALGORITHM,
  INS,
  KEY_SLOTS,
  MANAGEMENT_KEY_LENGTH,
  OBJECT,
  PIN_POLICY,
  SLOT,
  TAG,
  TOUCH_POLICY,
  isAsymmetricAlgorithm,
  isManagementKeyAlgorithm,
} from '../piv/constants.js';
import { type Tlv, concat, decodeTlv, decodeTlvs, findTlv, tlv } from '../tlv.js';
import { bytesEqual, fromBase64, fromHex, randomBytes, toBase64, toHex } from '../bytes.js';
import type { CardKey } from './card-state.js';
import { newCardState } from './card-state.js';
import { type AttestationIdentity, attest, newAttestationIdentity } from './attestation.js';
import { BadKeyInput, type CardCrypto, type KeyImport } from './card-crypto.js';
import { algorithmOfParts, spkiOf, templateChildren } from './public-key.js';
import {
  CURVE,
  type Command,
  PivCardCore,
  type Reply,
  Status,
  challengeLength,
  defaultPinPolicy,
  objectKey,
  slotKey,
} from './piv-card-core.js';

export { VIRTUAL_CARD_ATR, type PivCardOptions } from './piv-card-core.js';

const hex = toHex;
const unhex = fromHex;
const sameBytes = bytesEqual;

export class PivCardApplication extends PivCardCore {
  protected dispatchKeyCommand(cmd: Command): Promise<Reply> | Reply {
    switch (cmd.ins) {
      case INS.GENERAL_AUTHENTICATE:
        return this.generalAuthenticate(cmd);
      case INS.GENERATE_ASYMMETRIC:
        return this.generate(cmd);
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

  // --- GENERAL AUTHENTICATE (Part 2 §3.2.4, Appendix A) ------------------------------------------

  private async generalAuthenticate(cmd: Command): Promise<Reply> {
    const outer = decodeTlv(cmd.data);
    if (outer.tag !== TAG.DYN_AUTH || outer.rest.length) return { sw: SW.INCORRECT_DATA };
    const items = decodeTlvs(outer.value);
    if (cmd.p2 === SLOT.CARD_MANAGEMENT) return this.managementAuth(cmd.p1, items);
    return this.useKey(cmd.p1, cmd.p2, items);
  }

  private async managementAuth(alg: number, items: Tlv[]): Promise<Reply> {
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
      const w = randomBytes(size);
      this.pendingAuth = { kind: 'witness', value: w };
      this.mgmtAuthenticated = false;
      return {
        data: tlv(TAG.DYN_AUTH, tlv(TAG.AUTH_WITNESS, await this.crypto.blockEncrypt(mk.algorithm, key, w))),
      };
    }
    if (witness && witness.length > 0 && challenge && challenge.length > 0) {
      // Step 2: the host returns the decrypted witness and challenges the card in turn.
      if (pending?.kind !== 'witness') return { sw: SW.CONDITIONS_NOT_SATISFIED };
      if (witness.length !== size || challenge.length !== size) return { sw: SW.INCORRECT_DATA };
      if (!sameBytes(witness, pending.value)) return { sw: SW.SECURITY_STATUS_NOT_SATISFIED };
      this.mgmtAuthenticated = true;
      return {
        data: tlv(
          TAG.DYN_AUTH,
          tlv(TAG.AUTH_RESPONSE, await this.crypto.blockEncrypt(mk.algorithm, key, challenge)),
        ),
      };
    }
    if (challenge && challenge.length === 0 && !witness) {
      // External authentication: the card sends a plain challenge, the host returns it encrypted.
      const c = randomBytes(size);
      this.pendingAuth = { kind: 'challenge', value: c };
      this.mgmtAuthenticated = false;
      return { data: tlv(TAG.DYN_AUTH, tlv(TAG.AUTH_CHALLENGE, c)) };
    }
    if (response && response.length > 0 && !witness && !challenge) {
      if (pending?.kind !== 'challenge') return { sw: SW.CONDITIONS_NOT_SATISFIED };
      if (response.length !== size) return { sw: SW.INCORRECT_DATA };
      if (!sameBytes(response, await this.crypto.blockEncrypt(mk.algorithm, key, pending.value))) {
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

  private async useKey(alg: number, slot: number, items: Tlv[]): Promise<Reply> {
    const stored = this.state.keys[slotKey(slot)];
    if (!stored) return { sw: SW.INCORRECT_DATA };
    if (stored.algorithm !== alg) return { sw: SW.INCORRECT_P1P2 };
    const response = findTlv(items, TAG.AUTH_RESPONSE);
    const challenge = findTlv(items, TAG.AUTH_CHALLENGE);
    const exponentiation = findTlv(items, TAG.AUTH_EXPONENTIATION);
    if (!response || response.length !== 0) return { sw: SW.INCORRECT_DATA };
    let operation: () => Promise<Uint8Array>;
    if (challenge && !exponentiation) {
      operation = () => this.crypto.privateOperation(stored.privateKey, challenge);
    } else if (exponentiation && !challenge) {
      if (!CURVE[alg]) return { sw: SW.INCORRECT_P1P2 };
      operation = () => this.crypto.ecdh(stored.privateKey, exponentiation);
    } else {
      return { sw: SW.INCORRECT_DATA };
    }
    this.requirePinFor(slot, stored);
    let result: Uint8Array;
    try {
      result = await operation();
    } catch (e) {
      if (e instanceof BadKeyInput) return { sw: SW.INCORRECT_DATA };
      throw e;
    }
    return { data: tlv(TAG.DYN_AUTH, tlv(TAG.AUTH_RESPONSE, result)) };
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

  private async generate(cmd: Command): Promise<Reply> {
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
    const { privateKey, publicKey } = await this.crypto.generateKey(algorithm);
    this.state.keys[slotKey(cmd.p2)] = { algorithm, privateKey, origin: 'generated', ...policies };
    this.save();
    return { data: tlv(TAG.PUBLIC_KEY, templateChildren(publicKey)) };
  }

  // --- Yubico extensions ------------------------------------------------------------------------

  private setManagementKey(cmd: Command): Reply {
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

  private setRetries(cmd: Command): Reply {
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
      const cert = findTlv(decodeTlvs(fromBase64(certObject)), 0x70);
      if (cert) return { privateKey: key.privateKey, certificate: cert };
    }
    const identity = await newAttestationIdentity(this.state.serial, this.crypto);
    this.state.keys[slotKey(SLOT.ATTESTATION)] = {
      algorithm: ALGORITHM.ECC_P256,
      privateKey: identity.privateKey,
      origin: 'imported',
      pinPolicy: PIN_POLICY.NEVER,
      touchPolicy: TOUCH_POLICY.NEVER,
    };
    this.state.objects[objectKey(OBJECT.ATTESTATION)] = toBase64(
      concat(tlv(0x70, identity.certificate), tlv(0x71, [0]), tlv(0xfe)),
    );
    this.save();
    return identity;
  }

  /** Yubico ATTEST: P1 is the slot; only keys generated on the card can be attested. */
  private async attest(cmd: Command): Promise<Reply> {
    const slot = cmd.p1;
    if (cmd.p2 !== 0 || !KEY_SLOTS.includes(slot) || slot === SLOT.ATTESTATION)
      return { sw: SW.INCORRECT_P1P2 };
    const k = this.state.keys[slotKey(slot)];
    if (!k) return { sw: SW.REFERENCE_NOT_FOUND };
    if (k.origin !== 'generated') return { sw: SW.INCORRECT_DATA };
    const identity = await this.attestationIdentity();
    return {
      data: await attest({
        identity,
        provider: this.crypto,
        slot,
        slotPublicKeySpki: spkiOf(await this.crypto.publicKey(k.privateKey)),
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

  private async importKey(cmd: Command): Promise<Reply> {
    if (!this.mgmtAuthenticated) return { sw: SW.SECURITY_STATUS_NOT_SATISFIED };
    if (!KEY_SLOTS.includes(cmd.p2)) return { sw: SW.INCORRECT_P1P2 };
    const alg = cmd.p1;
    if (!isAsymmetricAlgorithm(alg)) return { sw: SW.INCORRECT_P1P2 };
    const items = decodeTlvs(cmd.data);
    const policies = this.parsePolicies(items);
    const material = importMaterial(alg, items);
    if (!material) return { sw: SW.INCORRECT_DATA };
    let pair: Awaited<ReturnType<CardCrypto['importKey']>>;
    try {
      pair = await this.crypto.importKey(material);
    } catch {
      return { sw: SW.INCORRECT_DATA }; // not a key: factors that do not make one, a scalar out of range
    }
    if (algorithmOfParts(pair.publicKey) !== alg) return { sw: SW.INCORRECT_DATA };
    this.state.keys[slotKey(cmd.p2)] = {
      algorithm: alg,
      privateKey: pair.privateKey,
      origin: 'imported',
      ...policies,
    };
    this.save();
    return {};
  }

  private async metadata(cmd: Command): Promise<Reply> {
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
    const pub = await this.crypto.publicKey(k.privateKey);
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

/** Yubico IMPORT KEY's parts: tags 01..05 carry RSA p, q, dp, dq, qInv; tag 06 the EC private scalar. */
function importMaterial(alg: number, items: Tlv[]): KeyImport | undefined {
  const curve = CURVE[alg];
  if (curve) {
    const d = findTlv(items, 6);
    return d && d.length === curve.size ? { kind: 'ec', curve: curve.name, d } : undefined;
  }
  const [p, q, dp, dq, qi] = [1, 2, 3, 4, 5].map((tag) => findTlv(items, tag));
  if (!p?.length || !q?.length || !dp?.length || !dq?.length || !qi?.length) return undefined;
  return { kind: 'rsa', p, q, dp, dq, qi };
}
