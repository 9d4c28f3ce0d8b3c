// Get mobile ID (reference 004, "MobileIDSelfServiceProcGet"): a person in state active orders a
// mobile ID in the user portal under an administrator's mobile ID policy. The order, its one-time
// wallet link and (when the QR code is e-mailed) its message in the mail outbox are made in one
// transaction. The phone opens the link; its wallet connects (services/wallet) and, from the link it
// redeemed, the order starts the ordinary issuance on it with the policy's certificates, capped at
// the mobile ID's validity; the person chooses the PIN on the phone. The job's outcome makes the
// mobile ID active or failed in the job's own transaction, with the notification the policy asks
// for (mobile-id-outcomes.ts). Cancel closes the order at any step: the code is voided, a running or
// failed issuance's certificates are revoked and its half-personalized wallet is left failed, then
// wiped at its next connection. The operator sees a person's mobile IDs; their
// suspend, resume, revoke, terminate and expiry are in mobile-id-lifecycle.ts.
import {
  ConflictError,
  DomainError,
  ForbiddenError,
  NotFoundError,
  ValidationError,
  must,
} from '../../domain/errors.js';
import {
  CardProofError,
  mobileIdTransition,
  renderMobileIdProperties,
  type QrDelivery,
} from '../../domain/mobile-id.js';
import type { RevocationReason } from '../../domain/credential.js';
import { isEmailAddress } from '../../mail/address.js';
import { appendAudit } from '../../store/audit-repo.js';
import { getDevice, getDeviceBySerial } from '../../store/devices-repo.js';
import { getJob } from '../../store/jobs-repo.js';
import {
  getMobileId,
  getMobileIdPolicy,
  insertMobileId,
  listMobileIdsOfUser,
  lockAwaitingMobileIdOfWallet,
  updateMobileId,
  type MobileIdRecord,
} from '../../store/mobile-id-repo.js';
import { getUser, type User } from '../../store/users-repo.js';
import { voidWalletLink } from '../../store/wallet-links-repo.js';
import { auditActor, systemActor, type Actor, type ServiceContext } from '../context.js';
import type { CardAccess } from '../card-access.js';
import type { JobOptions } from '../issuance/job-view.js';
import type { IssuanceStarter } from '../issuance/issuance-starter.js';
import type { Recycle } from '../issuance/recycle.js';
import type { MailOutbox } from '../notify/mail-outbox.js';
import type { WalletLinkService } from '../wallet/wallet-link-service.js';
import type { AgentRecord } from '../wallet/wallet-status.js';
import type { MobileIdPolicies } from './mobile-id-policies.js';
import { mobileIdLinkMessage } from './mobile-id-mail.js';
import {
  revokeDeviceCertificates,
  type MobileIdCertificates,
  type MobileIdOutcomes,
} from './mobile-id-outcomes.js';

import {
  activeCardsOf,
  type CardPossession,
  type CardProofInput,
  type ProvenCard,
} from './card-possession.js';

/** What the person may do on their phone: what they may do in the user portal. */
const ON_PHONE = ['self.read', 'self.issue'] as const;

export interface MobileIdView {
  id: string;
  userId: string;
  state: MobileIdRecord['state'];
  policy: { id: string; name: string };
  delivery: QrDelivery;
  createdAt: string;
  linkExpiresAt: string;
  validUntil: string | null;
  properties: Record<string, string>;
  error: string | null;
  device: { id: string; serial: string; state: string } | null;
  job: {
    id: string;
    status: string;
    progress: number;
    step: string | null;
    pinChangePending: boolean;
  } | null;
  certificates: {
    id: string;
    serial: string;
    profile: string;
    slot: string | null;
    status: string;
    notAfter: string;
  }[];
  /** The e-mailed QR code's message in the outbox. */
  mail: { id: string; status: string; recipient: string } | null;
  /** The PIV card a derived mobile ID follows (policy requireCard), and whether it holds it. */
  derivedFrom: { id: string; serial: string; state: string } | null;
  cardHold: 'card_suspended' | 'card_terminated' | null;
}

export interface Eligibility {
  canOrder: boolean;
  reason: string | null;
  delivery: QrDelivery | null;
  /** The policy derives the mobile ID from the person's PIV card: the card must sign a challenge. */
  requiresCard: boolean;
  /** With requiresCard: the person's active PIV cards, one of which must be inserted. */
  cards: { deviceId: string; serial: string }[];
}

export interface MobileIdOrdered {
  mobileId: MobileIdView;
  /** Shown in the portal (delivery portal): the link, its QR code, until when it works. Once only. */
  qr: { url: string; svg: string; expiresAt: string } | null;
  /** E-mailed (delivery email): where to. */
  sentTo: string | null;
}

export class MobileIdService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly deps: {
      policies: MobileIdPolicies;
      links: Pick<WalletLinkService, 'makeForMobileId'>;
      outbox: MailOutbox;
      /** Filled in once issuance exists (issuance needs this service for its job outcomes). */
      starter?: Pick<IssuanceStarter, 'startMobileId'>;
      /** Filled in with issuance: wipes a phone a cancelled or failed order left half-personalized. */
      recycle?: Pick<Recycle, 'recycle'>;
      certificates: MobileIdCertificates;
      /** How the issuance ends, and what the person is told (queued in the caller's transaction). */
      outcomes: Pick<MobileIdOutcomes, 'tell'>;
      /** Where the wallet's reader shows once the phone has reported it. */
      cards: Pick<CardAccess, 'listReaders'>;
      /** The person's PIV card signs a challenge (policies with requireCard). */
      possession?: Pick<CardPossession, 'prove'>;
      /** Where the person reaches the portal and what `${server}` says (config.externalUrl). */
      externalUrl: string;
      onError?: (err: unknown) => void;
    },
  ) {}

  set starter(s: Pick<IssuanceStarter, 'startMobileId'>) {
    this.deps.starter = s;
  }

  set recycle(r: Pick<Recycle, 'recycle'>) {
    this.deps.recycle = r;
  }

  /** Whether the person may order now, and why not (reference 004, "Prerequisites"). */
  async eligibility(actor: Actor): Promise<Eligibility> {
    const user = await getUser(this.ctx.db, actor.id!);
    if (!user) throw new NotFoundError('user', actor.id!);
    const no = { requiresCard: false, cards: [] };
    if (user.state !== 'active')
      return {
        canOrder: false,
        reason: `Your account is ${user.state}: only an active person can get a mobile ID`,
        delivery: null,
        ...no,
      };
    const policy = await this.deps.policies.forOrder().catch(() => null);
    if (!policy)
      return {
        canOrder: false,
        reason: 'Mobile IDs are not offered yet: your administrator has not set them up',
        delivery: null,
        ...no,
      };
    const cards = policy.requireCard
      ? (await activeCardsOf(this.ctx.db, user.id)).map((d) => ({ deviceId: d.id, serial: d.serial }))
      : [];
    const base = { delivery: policy.qrDelivery, requiresCard: policy.requireCard, cards };
    const open = (await listMobileIdsOfUser(this.ctx.db, user.id)).find(
      (m) => m.state === 'awaiting_wallet' || m.state === 'issuing',
    );
    if (open)
      return {
        canOrder: false,
        reason: 'A mobile ID of yours is being created: finish or cancel it first',
        ...base,
      };
    if (policy.requireCard && cards.length === 0)
      return {
        canOrder: false,
        reason:
          'A mobile ID is derived from your PIV card, and you have no active one: get your card issued first',
        ...base,
      };
    return { canOrder: true, reason: null, ...base };
  }

  /** Get Mobile ID → Next: the order, its code, and the QR code shown or e-mailed. */
  async order(
    actor: Actor,
    input: {
      policyId?: string | undefined;
      delivery?: QrDelivery | undefined;
      /** The card's proof (policies with requireCard); the PIN is used for the card only. */
      card?: CardProofInput | undefined;
    },
  ): Promise<MobileIdOrdered> {
    if (!actor.id) throw new ValidationError('Only a signed-in person can get a mobile ID');
    const user = await getUser(this.ctx.db, actor.id);
    if (!user) throw new NotFoundError('user', actor.id);
    if (user.state !== 'active')
      throw new ForbiddenError(`Your account is ${user.state}: only an active person can get a mobile ID`, {
        state: user.state,
      });
    const policy = await this.deps.policies.forOrder(input.policyId);
    // The policy may insist on e-mail; otherwise the person may ask for it (no second screen).
    const delivery: QrDelivery = policy.qrDelivery === 'email' ? 'email' : (input.delivery ?? 'portal');
    if (delivery === 'email') {
      if (!this.deps.outbox.configured)
        throw new ValidationError(
          'E-mail is not configured on this server: ask for the QR code in the portal instead',
          {
            field: 'delivery',
          },
        );
      if (!user.email || !isEmailAddress(user.email))
        throw new ValidationError('You have no single valid e-mail address: ask your help desk to add one', {
          field: 'delivery',
        });
    }
    const properties = renderMobileIdProperties(policy.properties, user, this.deps.externalUrl);
    let proven: ProvenCard | null = null;
    if (policy.requireCard) {
      if (!input.card)
        throw new CardProofError(
          'card_required',
          'This mobile ID is derived from your PIV card: insert it, type its PIN, and let it sign the challenge',
        );
      if (!this.deps.possession) throw new DomainError('internal', 'Card proofs are not wired');
      proven = await this.deps.possession.prove(actor, input.card);
    }
    const QRCode = (await import('qrcode')).default;
    const at = this.ctx.clock.now();
    const out = await this.ctx.db.transaction(async (tx) => {
      await getUser(tx, user.id, true); // one order at a time per person (the unique index says so too)
      const open = (await listMobileIdsOfUser(tx, user.id)).find(
        (m) => m.state === 'awaiting_wallet' || m.state === 'issuing',
      );
      if (open)
        throw new ConflictError('A mobile ID of yours is being created: finish or cancel it first', {
          mobileId: open.id,
        });
      if (proven) {
        // The card's lock orders this with its termination: ended meanwhile, nothing is ordered.
        const card = await getDevice(tx, proven.device.id, true);
        if (card?.state !== 'active' || card.userId !== user.id)
          throw new CardProofError(
            'no_active_card',
            `Card ${proven.device.serial} is no longer active: a mobile ID is derived from an active card only`,
          );
      }
      const link = await this.deps.links.makeForMobileId(tx, actor, user, at);
      let m = await insertMobileId(tx, {
        userId: user.id,
        policyId: policy.id,
        delivery,
        linkId: link.id,
        linkExpiresAt: new Date(link.expiresAt),
        properties,
        derivedFrom: proven?.device.id ?? null,
        createdBy: actor.id,
        at,
      });
      let sentTo: string | null = null;
      if (delivery === 'email') {
        const png = await QRCode.toBuffer(link.url, {
          type: 'png',
          errorCorrectionLevel: 'M',
          margin: 2,
          width: 240,
        });
        const mail = await this.deps.outbox.enqueue(tx, {
          kind: 'mobile_id_link',
          userId: user.id,
          message: mobileIdLinkMessage(
            { displayName: user.displayName, email: user.email! },
            { url: link.url, code: link.code, expiresAt: new Date(link.expiresAt) },
            png,
          ),
        });
        m = await updateMobileId(tx, m.id, { mailId: mail.id }, at);
        sentTo = user.email!;
      }
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'mobile_id.ordered',
        targetType: 'mobile_id',
        targetId: m.id,
        details: {
          userId: user.id,
          policyId: policy.id,
          delivery,
          linkId: link.id,
          ...(proven
            ? {
                derivedFrom: proven.device.id,
                cardSerial: proven.device.serial,
                certificateSerial: proven.certificate.serial,
              }
            : {}),
        },
        correlationId: actor.correlationId ?? null,
        at,
      });
      return { m, link, sentTo };
    });
    if (delivery === 'email') this.deps.outbox.wake();
    const qr =
      delivery === 'portal'
        ? {
            url: out.link.url,
            svg: await QRCode.toString(out.link.url, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }),
            expiresAt: out.link.expiresAt,
          }
        : null;
    return { mobileId: await this.view(out.m), qr, sentTo: out.sentTo };
  }

  /** One mobile ID, for its person (portal) or an operator (`operator` true). */
  async get(actor: Actor, id: string, operator = false): Promise<MobileIdView> {
    const m = await getMobileId(this.ctx.db, id);
    if (!m || (!operator && m.userId !== actor.id)) throw new NotFoundError('mobile ID', id);
    return this.view(m);
  }

  async listOf(userId: string): Promise<MobileIdView[]> {
    return Promise.all((await listMobileIdsOfUser(this.ctx.db, userId)).map((m) => this.view(m)));
  }

  /**
   * Cancel (reference 004, "Cancel the process"): at any step before the mobile ID is active. The
   * code is voided; an issuance under way or failed loses its certificates (revoked) and its wallet
   * is left failed, wiped at its next connection (wipeLeftOver).
   */
  async cancel(actor: Actor, id: string): Promise<MobileIdView> {
    const at = this.ctx.clock.now();
    const m = await this.ctx.db.transaction(async (tx) => {
      const cur = await getMobileId(tx, id, true);
      if (!cur || cur.userId !== actor.id) throw new NotFoundError('mobile ID', id);
      const next = must(mobileIdTransition(cur.state, 'cancel'));
      if (cur.linkId) await voidWalletLink(tx, cur.linkId, at);
      const done = await updateMobileId(tx, id, { state: next }, at);
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'mobile_id.cancelled',
        targetType: 'mobile_id',
        targetId: id,
        details: { from: cur.state, deviceId: cur.deviceId, jobId: cur.jobId },
        correlationId: actor.correlationId ?? null,
        at,
      });
      return done;
    });
    // A job still running ends failed on its own (its success refuses a cancelled order) and its
    // certificates are revoked then; those issued so far go now.
    if (m.deviceId) await this.revokeAll(actor, m.deviceId, 'cessationOfOperation');
    return this.view(m);
  }

  /**
   * The phone's wallet connected (after redeeming a mobile ID link, or coming back): if its link's
   * order still waits for it, the issuance starts on it now. Safe to call on every connection.
   */
  async walletConnected(wallet: AgentRecord, serial: string): Promise<void> {
    if (!(await this.readerShows(wallet))) return; // the next connection tries again
    await this.wipeLeftOver(wallet, serial).catch((e: unknown) => this.deps.onError?.(e));
    const at = this.ctx.clock.now();
    const claimed = await this.ctx.db.transaction(async (tx) => {
      const m = await lockAwaitingMobileIdOfWallet(tx, wallet.id);
      if (!m) return null;
      const device = await getDeviceBySerial(tx, serial);
      const next = must(mobileIdTransition(m.state, 'wallet_connected'));
      await updateMobileId(tx, m.id, { state: next, deviceId: device?.id ?? null }, at);
      await appendAudit(tx, {
        actor: { id: m.userId, name: wallet.name },
        action: 'mobile_id.wallet_connected',
        targetType: 'mobile_id',
        targetId: m.id,
        details: { agentId: wallet.id, serial },
        at,
      });
      return { m, device };
    });
    if (!claimed) return;
    const { m, device } = claimed;
    try {
      if (device && device.state !== 'inventory')
        throw new ConflictError(
          'This wallet already holds a smart card: reset the wallet on the phone (Reset), then order the mobile ID again',
          { state: device.state },
        );
      const policy = await getMobileIdPolicy(this.ctx.db, m.policyId);
      if (!policy) throw new NotFoundError('mobile ID policy', m.policyId);
      const user = (await getUser(this.ctx.db, m.userId))!;
      if (!this.deps.starter) throw new DomainError('internal', 'Mobile ID issuance is not wired');
      const { job } = await this.deps.starter.startMobileId(
        this.person(user),
        { agentId: wallet.id, reader: wallet.name },
        {
          policyId: policy.devicePolicyId,
          profiles: policy.profiles,
          validityDays: policy.validityDays,
          mobileId: m.id,
          properties: m.properties,
        },
      );
      await this.ctx.db.transaction((tx) =>
        updateMobileId(tx, m.id, { jobId: job!.id, deviceId: job!.deviceId }, this.ctx.clock.now()),
      );
    } catch (e) {
      await this.failOrder(m.id, e).catch((err: unknown) => this.deps.onError?.(err));
    }
  }

  /** The order could not start its issuance: failed, with why, and the person told if asked. */
  private async failOrder(id: string, cause: unknown): Promise<void> {
    const message = cause instanceof DomainError ? cause.message : 'The mobile ID could not be started';
    const at = this.ctx.clock.now();
    await this.ctx.db.transaction(async (tx) => {
      const m = await getMobileId(tx, id, true);
      if (!m || m.state !== 'issuing') return;
      await updateMobileId(tx, id, { state: must(mobileIdTransition(m.state, 'fail')), error: message }, at);
      await this.deps.outcomes.tell(tx, m, { ok: false, reason: message });
      await appendAudit(tx, {
        actor: systemActor('mobile ID'),
        action: 'mobile_id.failed',
        targetType: 'mobile_id',
        targetId: id,
        details: { error: message },
        at,
      });
    });
    this.deps.outbox.wake();
  }

  // ---- helpers ---------------------------------------------------------------------------------

  /**
   * The wallet reports its reader just after its socket is taken: wait for it (a few seconds at
   * most) so that the issuance finds the card where the phone is.
   */
  /**
   * Reference 004: Cancel leaves nothing half-made. A phone whose order was cancelled or failed while
   * it was being set up holds a failed device with keys and certificates (revoked) on it: at its
   * next connection it is wiped back to blank and returned to the inventory (the ordinary recycle,
   * audited device.recycled), so the person can order again on the same phone without Reset.
   */
  private async wipeLeftOver(wallet: AgentRecord, serial: string): Promise<void> {
    if (!this.deps.recycle) return;
    const device = await getDeviceBySerial(this.ctx.db, serial);
    if (!device || device.type !== 'mobile' || device.state !== 'failed' || !device.userId) return;
    const orders = await listMobileIdsOfUser(this.ctx.db, device.userId);
    if (!orders.some((m) => m.deviceId === device.id && (m.state === 'cancelled' || m.state === 'failed')))
      return;
    const user = await getUser(this.ctx.db, device.userId);
    if (!user) return;
    await this.deps.recycle.recycle(this.person(user), device.id, {
      agentId: wallet.id,
      reader: wallet.name,
    });
  }

  private async readerShows(wallet: AgentRecord): Promise<boolean> {
    for (let i = 0; i < 100; i++) {
      const readers = await this.deps.cards.listReaders(wallet.ownerUserId);
      if (readers.some((r) => r.agentId === wallet.id && r.reader === wallet.name && r.cardPresent))
        return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  private person(user: User): Actor {
    return { id: user.id, name: user.username, roles: ['user'], permissions: ON_PHONE };
  }

  private revokeAll(actor: Actor, deviceId: string, reason: RevocationReason): Promise<void> {
    return revokeDeviceCertificates(this.deps.certificates, actor, deviceId, reason);
  }

  /** The view of a mobile ID record (the lifecycle's actions answer with it too). */
  async view(m: MobileIdRecord): Promise<MobileIdView> {
    const db = this.ctx.db;
    const policy = await getMobileIdPolicy(db, m.policyId);
    const device = m.deviceId ? await getDevice(db, m.deviceId) : null;
    const job = m.jobId ? await getJob(db, m.jobId) : null;
    const certs = m.deviceId
      ? (await this.deps.certificates.search({ deviceId: m.deviceId, limit: 20, offset: 0 })).items
      : [];
    const mail = m.mailId ? await this.deps.outbox.get(m.mailId).catch(() => null) : null;
    const card = m.derivedFrom ? await getDevice(db, m.derivedFrom) : null;
    return {
      id: m.id,
      userId: m.userId,
      state: m.state,
      policy: { id: m.policyId, name: policy?.name ?? '' },
      delivery: m.delivery,
      createdAt: m.createdAt,
      linkExpiresAt: m.linkExpiresAt,
      validUntil: m.validUntil,
      properties: m.properties,
      error: m.error,
      device: device ? { id: device.id, serial: device.serial, state: device.state } : null,
      job: job
        ? {
            id: job.id,
            status: job.status,
            progress: job.progress,
            step: job.step,
            pinChangePending: (job.options as JobOptions).pinChangePending === true,
          }
        : null,
      certificates: certs.map((c) => ({
        id: c.id,
        serial: c.serial,
        profile: c.profile,
        slot: c.slot,
        status: c.status,
        notAfter: c.notAfter,
      })),
      mail: mail ? { id: mail.id, status: mail.status, recipient: mail.recipient } : null,
      derivedFrom: card ? { id: card.id, serial: card.serial, state: card.state } : null,
      cardHold: m.cardHold,
    };
  }
}
