// Proof of possession of the person's PIV card before a derived mobile ID is ordered (NIST SP
// 800-157; a mobile ID policy with requireCard). The server makes a one-time challenge bound to the
// person; then, through the person's agent, it verifies the PIN the person typed and has the card
// sign the challenge with its 9A key (GENERAL AUTHENTICATE). The signature must verify under the 9A
// certificate Tessera issued to that very card — which must be the person's active PIV card and
// valid (not on hold, not revoked, not expired). The PIN only travels inside its VERIFY APDU: it
// never reaches a log, an audit event or an error.
import { X509Certificate } from 'node:crypto';
import { SLOT } from '../../cards/piv/constants.js';
import { algorithmOfKey } from '../../cards/piv/crypto.js';
import { InvalidPinError, PinBlockedError } from '../../cards/errors.js';
import { isPivDevice } from '../../domain/device.js';
import { ConflictError } from '../../domain/errors.js';
import { CardProofError } from '../../domain/mobile-id.js';
import { newChallenge, verifyPossession } from '../../pki/possession.js';
import { appendAudit } from '../../store/audit-repo.js';
import { searchCertificates } from '../../store/certificate-repo.js';
import { getDeviceBySerial, listUserDevices, type Device } from '../../store/devices-repo.js';
import {
  countOpenCardChallenges,
  insertCardChallenge,
  lockCardChallenge,
  markCardChallengeUsed,
} from '../../store/mobile-id-repo.js';
import { auditActor, type Actor, type ServiceContext } from '../context.js';
import type { CardAccess } from '../card-access.js';
import { CardReader, closeQuietly } from '../issuance/card-reader.js';

/** How long a challenge may wait for the card: the person types the PIN, then the card signs. */
export const CARD_CHALLENGE_SECONDS = 120;
/** A person asks for a new challenge per attempt; more open at once than this is not a person. */
const MAX_OPEN_CHALLENGES = 5;

export interface CardProofInput {
  challengeId: string;
  agentId: string;
  reader: string;
  pin: string;
}

/** The card that proved the person: the mobile ID is derived from it. */
export interface ProvenCard {
  device: Device;
  /** The 9A certificate the challenge's signature verified under. */
  certificate: { id: string; serial: string };
}

/** The person's PIV cards a derived mobile ID may come from: active, a PIV card or token. */
export const activeCardsOf = async (db: ServiceContext['db'], userId: string): Promise<Device[]> =>
  (await listUserDevices(db, userId)).filter((d) => isPivDevice(d.type) && d.state === 'active');

export class CardPossession {
  private readonly reader: CardReader;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly cards: Pick<CardAccess, 'listReaders' | 'connect'>,
  ) {
    this.reader = new CardReader(cards);
  }

  /** A fresh challenge for the signed-in person (the card signs it in `prove`). */
  async challenge(actor: Actor): Promise<{ challengeId: string; expiresAt: string }> {
    const at = this.ctx.clock.now();
    const c = await this.ctx.db.transaction(async (tx) => {
      if ((await countOpenCardChallenges(tx, actor.id!, at)) >= MAX_OPEN_CHALLENGES)
        throw new ConflictError(
          'Too many card challenges are open: use one, or wait two minutes for them to expire',
        );
      return insertCardChallenge(tx, {
        userId: actor.id!,
        challenge: newChallenge().toString('hex'),
        expiresAt: new Date(at.getTime() + CARD_CHALLENGE_SECONDS * 1000),
        at,
      });
    });
    return { challengeId: c.id, expiresAt: c.expiresAt };
  }

  /**
   * The person's card signs their challenge. The challenge is used up first, whatever follows (a
   * wrong PIN asks for a new one). Refusals are audited with their code, never with the PIN.
   */
  async prove(actor: Actor, input: CardProofInput): Promise<ProvenCard> {
    try {
      return await this.#prove(actor, input);
    } catch (e) {
      if (e instanceof CardProofError) {
        const refused = e;
        await this.ctx.db
          .transaction((tx) =>
            appendAudit(tx, {
              actor: auditActor(actor),
              action: 'mobile_id.card_refused',
              targetType: 'user',
              targetId: actor.id!,
              details: { code: refused.code, challengeId: input.challengeId, ...(refused.details ?? {}) },
              correlationId: actor.correlationId ?? null,
              at: this.ctx.clock.now(),
            }),
          )
          .catch(() => undefined);
      }
      throw e;
    }
  }

  async #prove(actor: Actor, input: CardProofInput): Promise<ProvenCard> {
    const userId = actor.id!;
    const challenge = await this.ctx.db.transaction(async (tx) => {
      const c = await lockCardChallenge(tx, input.challengeId);
      const at = this.ctx.clock.now();
      if (!c || c.userId !== userId)
        throw new CardProofError(
          'card_challenge_unknown',
          'This card challenge is unknown: start again to get a new one',
        );
      if (c.usedAt)
        throw new CardProofError(
          'card_challenge_used',
          'This card challenge was already used: each one serves once, start again to get a new one',
        );
      if (new Date(c.expiresAt).getTime() <= at.getTime())
        throw new CardProofError(
          'card_challenge_expired',
          'This card challenge expired: start again to get a new one',
        );
      await markCardChallengeUsed(tx, c.id, at);
      return Buffer.from(c.challenge, 'hex');
    });

    const mine = await activeCardsOf(this.ctx.db, userId);
    if (mine.length === 0)
      throw new CardProofError(
        'no_active_card',
        'You have no active PIV card: a mobile ID under this policy is derived from one',
      );
    const readers = await this.cards.listReaders(userId);
    const slot = readers.find((r) => r.agentId === input.agentId && r.reader === input.reader);
    if (!slot?.cardPresent)
      throw new CardProofError(
        'card_not_inserted',
        slot
          ? `No card is in reader "${input.reader}": insert your PIV card`
          : 'That card reader is not connected: start your agent and insert your PIV card',
      );
    const opened = await this.reader.open(userId, { agentId: input.agentId, reader: input.reader });
    try {
      const device = mine.find((d) => d.serial.toUpperCase() === opened.serial.toUpperCase());
      if (!device) {
        const known = await getDeviceBySerial(this.ctx.db, opened.serial);
        throw new CardProofError(
          'wrong_card',
          `The card in reader "${input.reader}" is not your active PIV card: insert card ${mine
            .map((d) => d.serial)
            .join(' or ')}`,
          { serial: opened.serial, known: known !== null },
        );
      }
      const cert = await this.authenticationCertificate(device);
      // The card must hold that very certificate: a card re-personalized elsewhere is not this one.
      const onCard = await opened.session.getCertificate(SLOT.AUTHENTICATION);
      if (!onCard || !Buffer.from(onCard).equals(cert.der))
        throw new CardProofError(
          'card_certificate_invalid',
          `Card ${device.serial} does not hold the authentication certificate Tessera issued to it`,
          { deviceId: device.id },
        );
      const publicKey = new X509Certificate(cert.der).publicKey;
      const algorithm = algorithmOfKey(publicKey);
      if (algorithm === undefined)
        throw new CardProofError(
          'card_certificate_invalid',
          `The authentication key of card ${device.serial} has an algorithm PIV cannot sign with here`,
          { deviceId: device.id },
        );
      const hash = publicKey.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'sha384' : 'sha256';
      try {
        await opened.session.verifyPin(input.pin);
      } catch (e) {
        if (e instanceof InvalidPinError)
          throw new CardProofError(
            'card_pin_wrong',
            `Wrong PIN for card ${device.serial}: ${e.attemptsRemaining} attempt${e.attemptsRemaining === 1 ? '' : 's'} left`,
            { attemptsRemaining: e.attemptsRemaining, deviceId: device.id },
          );
        if (e instanceof PinBlockedError)
          throw new CardProofError(
            'card_pin_blocked',
            `The PIN of card ${device.serial} is blocked: unblock it with your help desk first`,
            { deviceId: device.id },
          );
        throw e;
      }
      const signature = await opened.session.sign(SLOT.AUTHENTICATION, algorithm, challenge, hash);
      if (!verifyPossession(publicKey, { challenge, signature: Buffer.from(signature), hash }))
        throw new CardProofError(
          'card_signature_invalid',
          `Card ${device.serial} did not sign the challenge with the key of its authentication certificate`,
          { deviceId: device.id },
        );
      return { device, certificate: { id: cert.id, serial: cert.serial } };
    } finally {
      await closeQuietly(opened.conn);
    }
  }

  /** The card's newest 9A certificate from Tessera's CA, refused unless valid now. */
  private async authenticationCertificate(device: Device) {
    const { items } = await searchCertificates(this.ctx.db, { deviceId: device.id, limit: 50, offset: 0 });
    const cert = items.find((c) => c.slot === '9a');
    const now = this.ctx.clock.now().getTime();
    if (!cert)
      throw new CardProofError(
        'card_certificate_invalid',
        `Card ${device.serial} has no authentication certificate (slot 9A) from Tessera`,
        { deviceId: device.id },
      );
    if (cert.status !== 'valid')
      throw new CardProofError(
        'card_certificate_invalid',
        `The authentication certificate of card ${device.serial} is ${cert.status === 'suspended' ? 'on hold' : 'revoked'}`,
        { deviceId: device.id, certificateId: cert.id, status: cert.status },
      );
    if (cert.notAfter.getTime() <= now || cert.notBefore.getTime() > now)
      throw new CardProofError(
        'card_certificate_invalid',
        `The authentication certificate of card ${device.serial} is not valid now (expired or not yet valid)`,
        { deviceId: device.id, certificateId: cert.id },
      );
    return cert;
  }
}
