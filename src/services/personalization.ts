// The card half of issuance: what is said to a blank PIV card, in order, to make it a person's
// credential. It talks only to a PivSession (so it runs unchanged over the agent relay, a local
// reader or the emulator) and leaves every decision about people, policies and the store to the
// issuance runner (services/issuance/issuance-runner.ts), which hands it callbacks.
import { randomBytes, verify, type KeyObject } from 'node:crypto';
import { ApduError, AuthenticationFailedError } from '../cards/errors.js';
import { DEFAULT_MANAGEMENT_KEY, DEFAULT_PIN, type ManagementKeyAlgorithm } from '../cards/piv/constants.js';
import { OBJECT, RETIRED_SLOTS } from '../cards/piv/constants.js';
import { encodeKeyHistory } from '../cards/piv/objects.js';
import type { PivSession } from '../cards/piv/piv-session.js';
import type { IssuanceStepId } from '../domain/issuance-job.js';
import { ExternalError } from '../domain/errors.js';
import type { CredentialProfile } from '../store/policies-repo.js';
import type { PivSlot } from '../domain/credential-profile.js';
import { PIV_KEY_ALGORITHM, PIV_SLOT_NUMBER } from './card-keys.js';
import { readBackObjects } from './piv-conformance.js';

export interface IssuedOnCard {
  profile: CredentialProfile;
  certificateId: string;
  der: Uint8Array;
}

export interface PersonalizationPlan {
  profiles: readonly CredentialProfile[];
  managementKey: { key: Uint8Array; algorithm: ManagementKeyAlgorithm };
  pin: string;
  puk: string;
  pinRetries: number;
  pukRetries: number;
  /** The CHUID and Security Object, signed by the CA's content signer (services/piv-card-objects.ts). */
  cardObjects: { chuid: Uint8Array; securityObject: Uint8Array };
  /** Reads the card back once written (services/piv-conformance.ts), with the certificates it got. */
  checkCard?(session: PivSession, issued: readonly IssuedOnCard[]): Promise<void>;
  /** Stores the new PUK (encrypted) before the card is changed, so it can never be lost. */
  persistPuk(puk: string): Promise<void>;
  /**
   * Asks the CA for a certificate for the key the card made (as read from its answer: checked on
   * its curve once, not again by the CA); `proveKey` has the card sign a challenge with the new key.
   */
  issueCertificate(
    profile: CredentialProfile,
    publicKey: KeyObject,
    proveKey: (key: KeyObject) => Promise<boolean>,
  ): Promise<{ certificateId: string; der: Uint8Array }>;
  /**
   * For profiles that archive their key (archiveKey): the server makes the key and archives it,
   * the card imports it. Without this, every key is generated on the card.
   */
  issueArchived?(
    profile: CredentialProfile,
  ): Promise<{ certificateId: string; der: Uint8Array; privateKey: KeyObject }>;
  /**
   * Archived keys given back to the card (a replacement, keyRecoveryFor): with `profileSlot`, into
   * that profile's slot with their own certificate instead of a new key; with null, into the next
   * retired key-management slot (82, 83…), to decrypt what was encrypted to it, counted in the key
   * history.
   */
  restored?: readonly {
    profileSlot: string | null;
    certificateId: string;
    der: Uint8Array;
    privateKey: KeyObject;
  }[];
  /** Called as each step completes (per-profile steps once per profile). */
  stepDone(step: IssuanceStepId, profileIndex: number | null): Promise<void>;
  /** Called before each step starts, for the progress label. */
  stepStarting(step: IssuanceStepId, profileIndex: number | null): Promise<void>;
}

export class WrongTransportKeyError extends ExternalError {
  constructor() {
    super(
      'card_not_blank',
      'The card refused the transport management key: it is not blank or has another transport key. Recycle it, or use a blank card',
    );
  }
}

/** Authenticates with the transport (factory default) key, mapping a refusal to a clear error. */
async function authenticateTransport(session: PivSession): Promise<void> {
  try {
    await session.authenticate(DEFAULT_MANAGEMENT_KEY, 0x03);
  } catch (e) {
    if (e instanceof AuthenticationFailedError || (e instanceof ApduError && e.sw === 0x6982))
      throw new WrongTransportKeyError();
    throw e;
  }
}

export async function personalize(session: PivSession, plan: PersonalizationPlan): Promise<IssuedOnCard[]> {
  const step = async <T>(id: IssuanceStepId, index: number | null, fn: () => Promise<T>): Promise<T> => {
    await plan.stepStarting(id, index);
    const out = await fn();
    await plan.stepDone(id, index);
    return out;
  };

  await step('authenticate', null, () => authenticateTransport(session));
  // Prove the card took the new key before anything else depends on it (the authentication's
  // first command goes with SET MANAGEMENT KEY through an agent).
  await step('set_management_key', null, () =>
    session.setManagementKey(plan.managementKey.key, plan.managementKey.algorithm, { authenticate: true }),
  );
  // Commands whose answers nothing between them needs go to the card together (PivSession.batch:
  // one round trip through an agent instead of one each).
  await step('set_retries', null, async () => {
    // The new PUK is stored before the card can hold it, so it can never be lost.
    await plan.persistPuk(plan.puk);
    // SET PIN RETRIES puts PIN and PUK back to their defaults, so the PUK is changed after it.
    await session.batch((b) =>
      b
        .verifyPin(DEFAULT_PIN)
        .setPinRetries(plan.pinRetries, plan.pukRetries)
        .changePuk('12345678', plan.puk)
        .verifyPin(DEFAULT_PIN),
    );
  });

  type Made = { certificateId: string; der: Uint8Array };
  type Key = { profile: CredentialProfile; slot: number; publicKey?: KeyObject; made?: Made; proof?: Proof };
  type Proof = { challenge: Uint8Array; signature?: Uint8Array };
  const keys: Key[] = [];
  const generated: { index: number; key: Key }[] = [];
  for (const [i, profile] of plan.profiles.entries()) {
    const slot = PIV_SLOT_NUMBER[profile.slot]!;
    const back = plan.restored?.find((r) => r.profileSlot === profile.slot);
    if (back) {
      // The archived key and its own certificate, carried over: no new key, no new certificate.
      await step('generate_key', i, () => session.importKey(slot, back.privateKey));
      keys.push({ profile, slot, made: back });
    } else if (profile.archiveKey && plan.issueArchived) {
      const archived = plan.issueArchived;
      const made = await step('generate_key', i, async () => {
        const a = await archived(profile);
        await session.importKey(slot, a.privateKey);
        return a;
      });
      keys.push({ profile, slot, made });
    } else {
      const key: Key = { profile, slot };
      keys.push(key);
      generated.push({ index: i, key });
    }
  }
  if (generated.length > 0) {
    // The keys made on the card, and each one's proof of possession for the CA — the new key signs
    // a fresh challenge (PIN verified before each: slot 9C asks for it every time) — in one
    // exchange: nothing in it depends on an answer before the CA needs them.
    await plan.stepStarting('generate_key', generated[0]!.index);
    await session.batch((b) => {
      for (const { key } of generated) {
        const alg = PIV_KEY_ALGORITHM[key.profile.keyAlgorithm]!;
        b.generateKey(key.slot, alg, {}, ({ publicKey }) => (key.publicKey = publicKey));
      }
      for (const { key } of generated) {
        const alg = PIV_KEY_ALGORITHM[key.profile.keyAlgorithm]!;
        const proof: Proof = { challenge: randomBytes(32) };
        key.proof = proof;
        b.sign(
          key.slot,
          alg,
          proof.challenge,
          'sha256',
          { pin: DEFAULT_PIN },
          (sig) => (proof.signature = sig),
        );
      }
    });
    for (const { index } of generated) await plan.stepDone('generate_key', index);
  }

  // The card's certificates are asked for together: signed in one turn, they are stored in one
  // statement (store/certificate-writer.ts) instead of one after another. Each is waited for before
  // a failure goes on, so the run's failure revokes every certificate issued here.
  const settled = await Promise.allSettled(
    keys.map((k, i) =>
      step('request_certificate', i, async () =>
        k.made
          ? k.made
          : plan.issueCertificate(k.profile, k.publicKey!, async (publicKey) =>
              // Proof of possession, made with the key: checked once, against the key the CA is
              // about to certify.
              verify('sha256', k.proof!.challenge, publicKey, k.proof!.signature!),
            ),
      ),
    ),
  );
  const failed = settled.findIndex((r) => r.status === 'rejected');
  if (failed >= 0) {
    // The failure names the certificate that failed, not the last one asked for.
    await plan.stepStarting('request_certificate', failed);
    throw (settled[failed] as PromiseRejectedResult).reason;
  }
  const certs = settled.map((r) => (r as PromiseFulfilledResult<Made>).value);
  const issued: IssuedOnCard[] = keys.map((k, i) => ({
    profile: k.profile,
    certificateId: certs[i]!.certificateId,
    der: certs[i]!.der,
  }));
  const retired = (plan.restored ?? []).filter((r) => r.profileSlot === null);
  const keyHistory = encodeKeyHistory({ onCardCertificates: retired.length, offCardCertificates: 0 });
  // The certificates, the CHUID, CCC, Security Object (hashing the CHUID just written) and key
  // history in one exchange, and — with no retired key to load between — the read-back after
  // them: what the check reads is what the card holds once written.
  if (issued.length > 0) await plan.stepStarting('write_certificate', 0);
  await session.batch((b) => {
    for (const c of issued) b.putCertificate(PIV_SLOT_NUMBER[c.profile.slot]!, c.der);
    b.putObject(OBJECT.CHUID, plan.cardObjects.chuid)
      .putCcc()
      .putObject(OBJECT.SECURITY, plan.cardObjects.securityObject);
    if (retired.length === 0) {
      b.putObject(OBJECT.KEY_HISTORY, keyHistory);
      if (plan.checkCard) b.readObjects(readBackObjects(issued.map((c) => c.profile.slot as PivSlot)));
    }
  });
  for (const [i] of issued.entries()) await plan.stepDone('write_certificate', i);

  await step('write_chuid_ccc', null, async () => {
    // The key history counts the retired keys, loaded first.
    if (retired.length > 0) {
      for (const [n, r] of retired.entries()) {
        await session.importKey(RETIRED_SLOTS[n]!, r.privateKey);
        await session.putCertificate(RETIRED_SLOTS[n]!, r.der);
      }
      await session.putObject(OBJECT.KEY_HISTORY, keyHistory);
    }
    await plan.checkCard?.(session, issued);
  });
  await step('set_pin', null, () => session.changePin(DEFAULT_PIN, plan.pin));
  return issued;
}
