// The conformance of a device's card as use cases: at issuance, the signed objects the card gets
// and the read-back check once it is written; afterwards, the last report, and a fresh check of the
// card in a reader (an operator's "check again"). The report is stored per device.
import type { CardConnection } from '../cards/transport/types.js';
import { PivSession } from '../cards/piv/piv-session.js';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import { isCertificateProfileName, PROFILE_SLOT, type PivSlot } from '../domain/credential-profile.js';
import { searchCertificates } from '../store/certificate-repo.js';
import { getDeviceConformance, putDeviceConformance } from '../store/device-conformance-repo.js';
import { getDevice } from '../store/devices-repo.js';
import { getUser } from '../store/users-repo.js';
import type { CardAccess } from './card-access.js';
import { cardIdentity, type FascnSettings } from './card-identity.js';
import type { Actor, ServiceContext } from './context.js';
import type { ReadyContentSigner } from './pki/content-signers.js';
import { signedCardObjects, type SignedCardObjects } from './piv-card-objects.js';
import { checkCardConformance, type ConformanceReport } from './piv-conformance.js';

export interface ContentSigning {
  forCard(actor: Actor, cardExpires: Date): Promise<ReadyContentSigner>;
  trust(der: Uint8Array): Promise<{ trusted: boolean; why: string | null }>;
}

export interface PreparedCard {
  cardObjects: SignedCardObjects;
  /**
   * Reads the written card back and stores the report (or, prepared with `keepReport`, keeps it in
   * `checked`); never fails the issuance (the report says).
   */
  checkCard(
    session: PivSession,
    issued: readonly { profile: { slot: string }; der: Uint8Array }[],
  ): Promise<void>;
  /** With `keepReport`: the report once the card was checked, for the caller to store; else null. */
  readonly checked: CheckedCard | null;
}

/** A card's read-back report and when it was made. */
export interface CheckedCard {
  report: ConformanceReport;
  at: Date;
}

/** What the check needs to know of the card's person. */
type Person = { externalId?: string | null; properties: Record<string, string> };

/** Why a person's PIV Authentication certificate has no SID extension. */
function noSidReason(user: Person | null): string {
  if (!user) return 'the person is unknown';
  if (!user.externalId) return 'the person is not from the directory (no objectSid to read)';
  return 'the directory gave no objectSid for this person (map the objectSid property in the directory settings)';
}

export class CardConformance {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly deps: { signers: ContentSigning; cards: CardAccess; fascn?: FascnSettings },
  ) {}

  /** The signed CHUID and Security Object for a device's card valid until `expires`, and its check. */
  async prepare(
    actor: Actor,
    device: { id: string; serial: string; userId: string | null },
    expires: Date,
    /** The device's person when the caller has them (the issuance run): not read again. */
    person?: Person | null,
    /**
     * The report is kept for the caller, who stores it with its own end of the issuance (the run's
     * success statement, or with its failure) instead of in a statement of its own.
     */
    opts: { keepReport?: boolean } = {},
  ): Promise<PreparedCard> {
    const card = cardIdentity(device, this.deps.fascn);
    const signer = await this.deps.signers.forCard(actor, expires);
    const cardObjects = await signedCardObjects(signer, card, expires);
    let checked: CheckedCard | null = null;
    return {
      cardObjects,
      checkCard: async (session, issued) => {
        const bySlot: Partial<Record<PivSlot, Uint8Array>> = {};
        for (const c of issued) bySlot[c.profile.slot as PivSlot] = c.der;
        const report = await this.#check(session, device, bySlot, cardObjects, person);
        const at = this.ctx.clock.now();
        if (opts.keepReport) checked = { report, at };
        else await putDeviceConformance(this.ctx.db, device.id, report, at);
      },
      get checked() {
        return checked;
      },
    };
  }

  /** The last stored report of a device's card, or null when none was made. */
  async get(deviceId: string): Promise<ConformanceReport | null> {
    if (!(await getDevice(this.ctx.db, deviceId))) throw new NotFoundError('device', deviceId);
    return (await getDeviceConformance(this.ctx.db, deviceId)) as ConformanceReport | null;
  }

  /** Reads the card in `reader` of the caller's agent now, checks it against the device, stores the report. */
  async check(
    actor: Actor,
    deviceId: string,
    card: { agentId: string; reader: string },
  ): Promise<ConformanceReport> {
    const device = await getDevice(this.ctx.db, deviceId);
    if (!device) throw new NotFoundError('device', deviceId);
    if (!actor.id) throw new ValidationError('Only a signed-in person can read a card through their agent');
    const conn: CardConnection = await this.deps.cards.connect(actor.id, card.agentId, card.reader);
    try {
      const session = await PivSession.open(conn);
      const { serial } = await session.getSerial();
      if (serial !== device.serial)
        throw new ValidationError(`The reader holds card ${serial}, not this device (${device.serial})`);
      const report = await this.#check(session, device, await this.#issued(device.id));
      await putDeviceConformance(this.ctx.db, device.id, report, this.ctx.clock.now());
      return report;
    } finally {
      await conn.close?.();
    }
  }

  /** The newest valid certificate the CA issued for each slot of the device. */
  async #issued(deviceId: string): Promise<Partial<Record<PivSlot, Uint8Array>>> {
    const { items } = await searchCertificates(this.ctx.db, {
      deviceId,
      status: 'valid',
      limit: 200,
      offset: 0,
    });
    const out: Partial<Record<PivSlot, Uint8Array>> = {};
    for (const c of items) {
      if (!isCertificateProfileName(c.profile)) continue;
      const slot = (c.slot as PivSlot | null) ?? PROFILE_SLOT[c.profile];
      out[slot] ??= c.der; // newest first
    }
    return out;
  }

  async #check(
    session: PivSession,
    device: { id: string; userId: string | null },
    issued: Partial<Record<PivSlot, Uint8Array>>,
    written?: SignedCardObjects,
    person?: Person | null,
  ): Promise<ConformanceReport> {
    const user =
      person !== undefined ? person : device.userId ? await getUser(this.ctx.db, device.userId) : null;
    return checkCardConformance(session, {
      cardUuid: device.id,
      issued,
      trustSigner: (der) => this.deps.signers.trust(der),
      noSidReason: noSidReason(user),
      now: this.ctx.clock.now(),
      ...(written ? { written } : {}),
    });
  }
}
