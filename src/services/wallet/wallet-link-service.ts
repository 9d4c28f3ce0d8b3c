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
import { getAgentByTokenHash, insertAgent, relinkWallet, type AgentRecord } from '../../store/agents-repo.js';
import { getDeviceBySerial, insertDevice, updateDevice } from '../../store/devices-repo.js';
import { listPolicies } from '../../store/policies-repo.js';
import { getUser } from '../../store/users-repo.js';
import type { Queryable } from '../../store/db.js';
import { CLOSE } from '../../cards/transport/agent-protocol.js';
import {
  countWalletLinkFailure,
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
}

export interface LinkedWallet {
  record: AgentRecord;
  /** The wallet's bearer token for reconnecting (returned only here). */
  token: string;
  purpose: WalletLinkPurpose;
  personName: string;
  deviceId: string;
}

export const walletReaderName = (displayName: string): string => `${displayName}'s phone`;

export class WalletLinkService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly opts: { externalUrl: string; linkMinutes: number },
  ) {}

  /**
   * A new link for `personId`. Self-issuance: only the person themself. Operator issuance: a holder
   * of device.issue (the route declares it) for an active person.
   */
  async create(actor: Actor, personId: string, purpose: WalletLinkPurpose): Promise<WalletLink> {
    if (!actor.id) throw new ValidationError('Only a signed-in person can link a wallet');
    if (purpose === 'self_issuance' && actor.id !== personId)
      throw new ForbiddenError('A self-issuance link is for your own phone only');
    if (purpose === 'operator_issuance' && !holds(actor, 'device.issue'))
      throw new ForbiddenError('Issuing to a phone needs the device.issue permission', {
        permission: 'device.issue',
      });
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
      await insertWalletLink(tx, {
        id,
        secretHash: sha256hex(secret),
        personUserId: person.id,
        purpose,
        requestedBy: actor.id!,
        expiresAt,
        at,
      });
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'wallet.link_issued',
        targetType: 'user',
        targetId: person.id,
        details: { linkId: id, purpose, expiresAt: expiresAt.toISOString() },
        correlationId: actor.correlationId ?? null,
        at,
      });
    });
    const code = `${id}.${secret}`;
    return {
      code,
      url: `${this.opts.externalUrl.replace(/\/$/, '')}/wallet#link=${code}`,
      expiresAt: expiresAt.toISOString(),
      purpose,
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
    const earlier = input.token ? await this.authenticate(input.token) : null;
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
      await appendAudit(tx, {
        actor: { id: person.id, name },
        action: 'wallet.linked',
        targetType: 'agent',
        targetId: record.id,
        details: { linkId: id, purpose: l.purpose, serial: input.serial, ownerUserId: person.id },
        at,
      });
      return { record, token, purpose: l.purpose, personName: person.displayName, deviceId };
    });
    if (wrongSecret) await countWalletLinkFailure(this.ctx.db, id);
    if (!linked) throw refused();
    return linked;
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
