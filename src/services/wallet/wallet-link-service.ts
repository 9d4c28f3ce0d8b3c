// Linking a phone's wallet (docs/mobile.md "The link"). A one-time code — "<id>.<secret>", carried by
// a QR code or link — is made for one person and one purpose and expires after a setting's minutes;
// the wallet presents it as the first frame of its WebSocket and becomes an agent of kind 'wallet'
// with one reader, "<person>'s phone", visible to that person's sessions (and, for an operator's
// issuance, to that operator). Only SHA-256 of the secret and of the wallet's token is stored.
// Nothing secret reaches the audit log or an error.
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError, must } from '../../domain/errors.js';
import { deviceTransition } from '../../domain/device.js';
import { appendAudit } from '../../store/audit-repo.js';
import {
  getAgentByTokenHash,
  insertAgent,
  markAgentRevoked,
  relinkWallet,
  type AgentRecord,
} from '../../store/agents-repo.js';
import type { WalletReset } from './wallet-reset.js';
import { getDeviceBySerial, insertDevice, updateDevice } from '../../store/devices-repo.js';
import { listPolicies } from '../../store/policies-repo.js';
import { getUser } from '../../store/users-repo.js';
import type { Queryable } from '../../store/db.js';
import { CLOSE } from '../../cards/transport/agent-protocol.js';
import { isEmailAddress } from '../../mail/address.js';
import type { Mailer } from '../../mail/mailer.js';
import type { MailOutbox } from '../notify/mail-outbox.js';
import { enrolmentMessage } from './enrolment-mail.js';
import { getRequest, type RequestRecord } from '../../store/requests-repo.js';
import { isRequestFinal } from '../../domain/request.js';
import {
  countWalletLinkFailure,
  expireOpenLinksOfRequest,
  getWalletCardSerial,
  setWalletCardSerial,
  insertWalletLink,
  lockWalletLink,
  markWalletLinkUsed,
  type WalletLinkPurpose,
} from '../../store/wallet-links-repo.js';
import { auditActor, holds, type Actor, type ServiceContext } from '../context.js';

export type { WalletLinkPurpose } from '../../store/wallet-links-repo.js';

/** Wrong secrets a code survives; the next one kills it. */
export const WALLET_LINK_MAX_FAILURES = 5;

/** The close code a refused wallet socket gets: the agent protocol's "not (or no longer) valid". */
export const WALLET_SOCKET_REFUSED = CLOSE.UNAUTHORIZED;
const ID_ALPHABET = 'ACDEFGHJKMNPQRTUVWXY34679';
const ID_LENGTH = 10;
const CODE_PATTERN = new RegExp(`^[${ID_ALPHABET}]{${ID_LENGTH}}\\.[A-Za-z0-9_-]{43}$`);

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();
const sha256hex = (s: string): string => sha256(s).toString('hex');

/** Every refusal of a code says the same, so a guesser learns nothing about which codes exist. */
const refused = () =>
  new ValidationError('This wallet link is unknown, used, expired or not for this phone: ask for a new one', {
    field: 'code',
  });

export interface WalletLink {
  /** "<id>.<secret>": shown once, in the QR code and the link; never stored. */
  code: string;
  /** The link the QR code carries: the code is in the fragment, so no server or proxy logs it. */
  url: string;
  expiresAt: string;
  purpose: WalletLinkPurpose;
  /** The reader name the wallet will appear as. */
  readerName: string;
  /** A remote-issuance link: the replacement request it enrolls. */
  requestId?: string;
}

export interface LinkedWallet {
  record: AgentRecord;
  /** The wallet's bearer token for reconnecting (returned only here). */
  token: string;
  purpose: WalletLinkPurpose;
  personName: string;
  deviceId: string;
  /** A remote-issuance link's request: what the wallet is offered to enrol. */
  requestId?: string;
}

export const walletReaderName = (displayName: string): string => `${displayName}'s phone`;

export class WalletLinkService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly opts: {
      externalUrl: string;
      linkMinutes: number;
      mailer?: Mailer | null;
      /** The mail outbox: the enrolment e-mail is queued there instead of sent at once. */
      outbox?: Pick<MailOutbox, 'enqueue' | 'wake'>;
      /** A wallet came back with another card than the one it held: that card was wiped. */
      reset?: Pick<WalletReset, 'cardWiped'>;
    },
  ) {}

  /**
   * A new link for `personId`. Self-issuance: only the person themself. Operator issuance: a holder
   * of device.issue (the route declares it) for an active person.
   */
  async create(actor: Actor, personId: string, purpose: WalletLinkPurpose): Promise<WalletLink> {
    if (!actor.id) throw new ValidationError('Only a signed-in person can link a wallet');
    if (purpose === 'self_issuance' && actor.id !== personId)
      throw new ForbiddenError('A self-issuance link is for your own phone only');
    if (purpose === 'mobile_id')
      throw new ValidationError(
        'A mobile ID link is made by ordering a mobile ID (POST /api/portal/mobile-id)',
      );
    if (purpose === 'operator_issuance' && !holds(actor, 'device.issue'))
      throw new ForbiddenError('Issuing to a phone needs the device.issue permission', {
        permission: 'device.issue',
      });
    return this.#make(actor, personId, purpose);
  }

  /**
   * A remote-issuance link for a help-desk replacement request (reference 003, "Remote Issuance
   * Workflow (Mobile Smart Cards only)"): the person opens it on their phone, whose wallet then
   * offers the request's new credentials. The route declares request.submit. A new link makes the
   * request's earlier unused links expire, so only the last one given out works.
   */
  async createForRequest(actor: Actor, requestId: string): Promise<WalletLink> {
    if (!actor.id) throw new ValidationError('Only a signed-in operator can give out an enrolment link');
    const r = await getRequest(this.ctx.db, requestId);
    if (!r || r.kind !== 'replacement') throw new NotFoundError('replacement request', requestId);
    const why = remoteRequestProblem(r);
    if (why) throw new ConflictError(why, { requestId: r.id, state: r.state, workflow: r.workflow });
    return this.#make(actor, r.userId, 'remote_issuance', r);
  }

  /**
   * The same, e-mailed to the person instead of shown (the code is never returned then). Checked
   * before the link is made: a mail server, and one valid address of the person's.
   */
  async sendForRequest(actor: Actor, requestId: string): Promise<{ sentTo: string; expiresAt: string }> {
    const mailer = this.opts.mailer;
    if (!mailer)
      throw new ValidationError('No mail server is configured (TESSERA_SMTP_URL): show the link instead', {
        field: 'delivery',
      });
    const r = await getRequest(this.ctx.db, requestId);
    if (!r || r.kind !== 'replacement') throw new NotFoundError('replacement request', requestId);
    const person = await getUser(this.ctx.db, r.userId);
    if (!person) throw new NotFoundError('user', r.userId);
    if (!person.email || !isEmailAddress(person.email))
      throw new ValidationError(
        `${person.displayName} has no single valid e-mail address: show the link instead, or fix the address`,
        { field: 'delivery' },
      );
    const why = remoteRequestProblem(r);
    if (why) throw new ConflictError(why, { requestId: r.id, state: r.state, workflow: r.workflow });
    const email = person.email;
    const message = (url: string, code: string, expiresAt: Date) =>
      enrolmentMessage(
        { displayName: person.displayName, email },
        { url, code, expiresAt, requestNumber: r.number },
      );
    const outbox = this.opts.outbox;
    // Through the mail outbox when there is one: queued in the link's own transaction (both exist or
    // neither does), sent by its worker, retried while the mail server is down (docs/mail.md).
    const link = await this.#make(
      actor,
      r.userId,
      'remote_issuance',
      r,
      outbox
        ? async (tx, made) => {
            await outbox.enqueue(tx, {
              kind: 'wallet_link',
              userId: person.id,
              message: message(made.url, made.code, made.expiresAt),
            });
          }
        : undefined,
    );
    if (outbox) outbox.wake();
    else await mailer.send(message(link.url, link.code, new Date(link.expiresAt)));
    return { sentTo: person.email, expiresAt: link.expiresAt };
  }

  async #make(
    actor: Actor,
    personId: string,
    purpose: WalletLinkPurpose,
    request?: RequestRecord,
    /** More to do in the link's transaction (queue its e-mail). */
    also?: (tx: Queryable, link: { url: string; code: string; expiresAt: Date }) => Promise<void>,
  ): Promise<WalletLink> {
    const person = await getUser(this.ctx.db, personId);
    if (!person) throw new NotFoundError('user', personId);
    if (person.state !== 'active')
      throw new ValidationError(`${person.displayName} is ${person.state}: only active people get devices`);
    let id = '';
    for (let i = 0; i < ID_LENGTH; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
    const secret = randomBytes(32).toString('base64url');
    const at = this.ctx.clock.now();
    const expiresAt = new Date(at.getTime() + this.opts.linkMinutes * 60_000);
    await this.ctx.db.transaction(async (tx) => {
      const replaced = request ? await expireOpenLinksOfRequest(tx, request.id, at) : 0;
      await insertWalletLink(tx, {
        id,
        secretHash: sha256hex(secret),
        personUserId: person.id,
        purpose,
        requestedBy: actor.id!,
        expiresAt,
        at,
        ...(request ? { requestId: request.id } : {}),
      });
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'wallet.link_issued',
        targetType: 'user',
        targetId: person.id,
        details: {
          linkId: id,
          purpose,
          expiresAt: expiresAt.toISOString(),
          ...(request
            ? { requestId: request.id, requestNumber: request.number, earlierLinksExpired: replaced }
            : {}),
        },
        correlationId: actor.correlationId ?? null,
        at,
      });
      if (also) {
        const c = `${id}.${secret}`;
        await also(tx, {
          url: `${this.opts.externalUrl.replace(/\/$/, '')}/wallet#link=${c}`,
          code: c,
          expiresAt,
        });
      }
    });
    const code = `${id}.${secret}`;
    return {
      code,
      url: `${this.opts.externalUrl.replace(/\/$/, '')}/wallet#link=${code}`,
      expiresAt: expiresAt.toISOString(),
      purpose,
      readerName: walletReaderName(person.displayName),
      ...(request ? { requestId: request.id } : {}),
    };
  }

  /**
   * A mobile ID order's link (reference 004), made in the order's own transaction so the code exists
   * exactly when the order does. The caller checked the person (active) and the actor (the person).
   */
  async makeForMobileId(
    tx: Queryable,
    actor: Actor,
    person: { id: string; displayName: string },
    at: Date,
  ): Promise<WalletLink & { id: string }> {
    let id = '';
    for (let i = 0; i < ID_LENGTH; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
    const secret = randomBytes(32).toString('base64url');
    const expiresAt = new Date(at.getTime() + this.opts.linkMinutes * 60_000);
    await insertWalletLink(tx, {
      id,
      secretHash: sha256hex(secret),
      personUserId: person.id,
      purpose: 'mobile_id',
      requestedBy: actor.id!,
      expiresAt,
      at,
    });
    await appendAudit(tx, {
      actor: auditActor(actor),
      action: 'wallet.link_issued',
      targetType: 'user',
      targetId: person.id,
      details: { linkId: id, purpose: 'mobile_id', expiresAt: expiresAt.toISOString() },
      correlationId: actor.correlationId ?? null,
      at,
    });
    const code = `${id}.${secret}`;
    return {
      id,
      code,
      url: `${this.opts.externalUrl.replace(/\/$/, '')}/wallet#link=${code}`,
      expiresAt: expiresAt.toISOString(),
      purpose: 'mobile_id',
      readerName: walletReaderName(person.displayName),
    };
  }

  /**
   * Trades a code for the wallet's agent identity. `serial` is the wallet card's serial (registered
   * as a mobile device); `token` the wallet's earlier token, if it has one (the same phone, relinked).
   */
  async redeem(input: { code: string; serial: string; token?: string | undefined }): Promise<LinkedWallet> {
    if (!CODE_PATTERN.test(input.code) || !/^\d{1,10}$/.test(input.serial)) throw refused();
    const [id, secret] = input.code.split('.') as [string, string];
    const at = this.ctx.clock.now();
    let earlier = input.token ? await this.authenticate(input.token) : null;
    // This phone was linked before, but its card is not the one it held: the wallet was reset (or
    // its storage lost). The server ends what the old card held; the phone is linked afresh.
    if (earlier && (await this.#cardWiped(earlier, input.serial))) earlier = null;
    const token = randomBytes(32).toString('base64url');
    let wrongSecret = false;
    const linked = await this.ctx.db.transaction(async (tx) => {
      const l = await lockWalletLink(tx, id);
      if (!l || l.usedAt || l.expiresAt <= at || l.failedAttempts >= WALLET_LINK_MAX_FAILURES) return null;
      if (!timingSafeEqual(sha256(secret), Buffer.from(l.secretHash, 'hex'))) {
        wrongSecret = true;
        return null;
      }
      // A phone already linked to someone else is foreign to this code: it must be reset first.
      if (earlier && earlier.ownerUserId !== l.personUserId) return null;
      const person = await getUser(tx, l.personUserId);
      if (!person || person.state !== 'active') return null;
      // A remote-issuance link: its request must still wait for the phone, and this phone must be
      // able to take the new credentials. The caller proved the secret, so it is told why not.
      if (l.purpose === 'remote_issuance')
        await this.checkRemote(tx, l.requestId, l.personUserId, input.serial);
      const operator = l.purpose === 'operator_issuance' ? l.requestedBy : null;
      const name = walletReaderName(person.displayName);
      const record =
        (earlier && (await relinkWallet(tx, earlier.id, sha256hex(token), operator))) ??
        (await insertAgent(tx, {
          ownerUserId: person.id,
          ownerKind: 'wallet',
          name,
          hostname: 'phone',
          tokenHash: sha256hex(token),
          operatorUserId: operator,
          at,
        }));
      const deviceId = await this.registerDevice(tx, input.serial, person.id, l.purpose, l.requestedBy, at);
      if (!deviceId) return null;
      await markWalletLinkUsed(tx, id, record.id, at);
      await setWalletCardSerial(tx, record.id, input.serial, at);
      await appendAudit(tx, {
        actor: { id: person.id, name },
        action: 'wallet.linked',
        targetType: 'agent',
        targetId: record.id,
        details: { linkId: id, purpose: l.purpose, serial: input.serial, ownerUserId: person.id },
        at,
      });
      return {
        record,
        token,
        purpose: l.purpose,
        personName: person.displayName,
        deviceId,
        ...(l.requestId ? { requestId: l.requestId } : {}),
      };
    });
    if (wrongSecret) await countWalletLinkFailure(this.ctx.db, id);
    if (!linked) throw refused();
    return linked;
  }

  /** Refuses (saying why) a remote-issuance link whose request or phone cannot be enrolled now. */
  private async checkRemote(tx: Queryable, requestId: string | null, personId: string, serial: string) {
    const r = requestId ? await getRequest(tx, requestId) : null;
    if (!r || r.userId !== personId) throw refused();
    const why = remoteRequestProblem(r);
    if (why) throw new ConflictError(`${why}: ask your help desk`, { requestId: r.id });
    const device = await getDeviceBySerial(tx, serial);
    if (device && device.id === r.targetDeviceId)
      throw new ConflictError(
        'This wallet holds the smart card being replaced: reset this wallet (Reset, below), then open the link again',
        { requestId: r.id },
      );
    if (device && device.type === 'mobile' && device.state !== 'inventory' && device.userId === personId)
      throw new ConflictError(
        'This wallet already holds a smart card of yours: reset this wallet (Reset, below), then open the link again',
        { requestId: r.id, state: device.state },
      );
  }

  /**
   * A wallet coming back with its token: its record, or null when the token is unknown or revoked.
   * A wallet whose card is not the one it held was reset: what the old card held is ended, the link
   * too, and the wallet is told so (it must be linked anew).
   */
  async resume(token: string, serial: string): Promise<AgentRecord | null> {
    const record = await this.authenticate(token);
    if (!record || !/^\d{1,10}$/.test(serial)) return null;
    if (await this.#cardWiped(record, serial))
      throw new ConflictError(
        'This wallet was reset, so what it held has been ended and its link too: ask for a new link to set it up again',
        { reason: 'wallet_reset' },
      );
    await setWalletCardSerial(this.ctx.db, record.id, serial, this.ctx.clock.now());
    return record;
  }

  /** Whether `wallet` holds another card than the one recorded; if so the old one is reported wiped. */
  async #cardWiped(wallet: AgentRecord, serial: string): Promise<boolean> {
    const held = await getWalletCardSerial(this.ctx.db, wallet.id);
    if (!held || held === serial) return false;
    if (this.opts.reset) await this.opts.reset.cardWiped(wallet, held, serial);
    else await markAgentRevoked(this.ctx.db, wallet.id, this.ctx.clock.now());
    return true;
  }

  /** The live wallet a token belongs to, or null (a wallet reconnecting after a lost connection). */
  async authenticate(token: string): Promise<AgentRecord | null> {
    if (token.length < 20 || token.length > 200) return null;
    const a = await getAgentByTokenHash(this.ctx.db, sha256hex(token));
    return a?.ownerKind === 'wallet' ? a : null;
  }

  /**
   * The wallet's card as a mobile device: registered on first link; for self-issuance bound to the
   * person under the first policy (by name) that is for mobile devices, as an operator binds a card.
   * Null when the serial belongs to something else (a card, or another person's phone).
   */
  private async registerDevice(
    tx: Queryable,
    serial: string,
    personId: string,
    purpose: WalletLinkPurpose,
    requestedBy: string,
    at: Date,
  ): Promise<string | null> {
    let device = await getDeviceBySerial(tx, serial);
    if (device && device.type !== 'mobile') return null;
    if (device && device.userId && device.userId !== personId) return null;
    if (!device) {
      device = await insertDevice(tx, { serial, type: 'mobile', model: 'Tessera wallet', at });
      await appendAudit(tx, {
        actor: { id: requestedBy, name: 'wallet link' },
        action: 'device.registered',
        targetType: 'device',
        targetId: device.id,
        details: { serial, type: 'mobile', via: 'wallet' },
        at,
      });
    }
    if (purpose === 'self_issuance' && device.state === 'inventory') {
      const policy = (await listPolicies(tx)).find((p) => p.deviceTypes.includes('mobile'));
      if (!policy)
        throw new ConflictError(
          'No device policy is for mobile smart cards: ask your administrator to add "mobile" to a policy',
        );
      await updateDevice(
        tx,
        device.id,
        { state: must(deviceTransition(device.state, 'bind')), userId: personId, policyId: policy.id },
        at,
      );
      await appendAudit(tx, {
        actor: { id: personId, name: 'wallet link' },
        action: 'device.bound',
        targetType: 'device',
        targetId: device.id,
        details: { serial, userId: personId, policyId: policy.id, via: 'wallet' },
        at,
      });
    }
    return device.id;
  }
}

/**
 * Why a replacement request cannot be enrolled on a phone now, or null: it must be a remote issuance
 * still waiting for the phone (approved, not a temporary device already issued).
 */
export function remoteRequestProblem(r: RequestRecord): string | null {
  const name = `Request #${r.number}`;
  if (r.workflow !== 'remote_issuance')
    return `${name} is not a remote issuance: its replacement is issued by an issuance officer or self-enrolled`;
  if (isRequestFinal(r.state)) return `${name} is ${r.state}: there is nothing left to enrol`;
  if (r.state === 'submitted') return `${name} waits for a validation officer's approval`;
  if (r.type === 'temporary' && r.dueAt) return `${name} already has its temporary phone`;
  return null;
}
