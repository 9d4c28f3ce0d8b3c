// Local issuance (reference 001) and the self-issuance it shares with the user portal (reference
// 000): bind a blank card to a person, or personalize it with the keys and certificates of a device
// policy, with progress, failure, retry, cancel and recycle. Every state change is one transaction
// with its audit event; the card work runs in the background and reports progress as it goes.
import { EventEmitter } from 'node:events';
import { randomInt, randomUUID, type KeyObject } from 'node:crypto';
import { PivSession } from '../cards/piv/piv-session.js';
import type { CardConnection } from '../cards/transport/types.js';
import { deviceTransition, type DeviceAction, type DeviceState } from '../domain/device.js';
import { ConflictError, DomainError, NotFoundError, ValidationError, must } from '../domain/errors.js';
import { planIssuanceSteps, progressFor, type IssuanceStepId } from '../domain/issuance-job.js';
import { can } from '../domain/permissions.js';
import { checkPin, generatePin } from '../domain/pin-policy.js';
import type { RevocationReason } from '../domain/credential.js';
import type { MasterKey } from '../secrets/master-key.js';
import { appendAudit } from '../store/audit-repo.js';
import {
  deleteDeviceCredentials,
  insertCredential,
  setCredentialCertificate,
} from '../store/credentials-repo.js';
import type { Queryable } from '../store/db.js';
import {
  deleteAllDeviceSecrets,
  deleteDeviceSecret,
  getDeviceSecret,
  putDeviceSecret,
} from '../store/device-secrets-repo.js';
import {
  getDevice,
  getDeviceBySerial,
  insertDevice,
  listUserDevices,
  updateDevice,
  type Device,
  type DevicePatch,
} from '../store/devices-repo.js';
import {
  claimRunningJobs,
  finishJob,
  getJob,
  insertJob,
  latestJobForDevice,
  mergeJobOptions,
  restartJob,
  updateJobProgress,
  type IssuanceJob,
  type JobError,
} from '../store/jobs-repo.js';
import { getPolicy, type CredentialProfile, type Policy } from '../store/policies-repo.js';
import { getUser, type User } from '../store/users-repo.js';
import type { CardAccess } from './card-access.js';
import { managementKeyFor, randomPuk } from './card-keys.js';
import { auditActor, type Actor, type ServiceContext } from './context.js';
import { cardIdentity, type FascnSettings } from './card-identity.js';
import { personalize } from './personalization.js';
import { resetToTransport } from '../cards/piv/reset.js';
import type { SettingsService } from './settings-service.js';

/** What issuance needs from the CA (CertificateService satisfies it). */
export interface CertificateIssuer {
  issueForPublicKey(
    actor: Actor,
    target: {
      user: {
        id: string;
        username: string;
        displayName: string;
        email: string | null;
        upn: string | null;
        sid: string | null;
        properties: Record<string, string>;
      };
      profile: Pick<
        CredentialProfile,
        'name' | 'certificateProfile' | 'keyAlgorithm' | 'validityDays' | 'slot' | 'archiveKey'
      >;
      deviceId: string;
      credentialId: string;
      cardUuid: string;
      fascn: Uint8Array;
    },
    publicKey: Uint8Array,
    proof: (key: KeyObject) => Promise<boolean>,
  ): Promise<{ id: string; serial: string }>;
  get(id: string): Promise<{ pem: string }>;
  revoke(actor: Actor, certificateId: string, reason: RevocationReason): Promise<unknown>;
  search(q: {
    deviceId?: string;
    limit: number;
    offset: number;
  }): Promise<{ items: { id: string; status: string }[] }>;
}

export interface CardRef {
  agentId: string;
  reader: string;
}

export interface StartIssuanceInput {
  userId: string;
  card: CardRef;
  action: 'issue' | 'bind';
  policyId: string;
  pin?: string;
  pinConfirmation?: string;
}

export interface ConnectedCard {
  agentId: string;
  agentName: string;
  reader: string;
  cardPresent: boolean;
  serial: string | null;
  cardType: string | null;
  /** blank: in inventory or unknown; bound: bound to a person for self-issuance; in_use: anything else. */
  status: 'blank' | 'bound' | 'in_use' | 'unreadable' | 'empty';
  device: Pick<Device, 'id' | 'state' | 'userId' | 'type'> | null;
  error: string | null;
}

export interface JobView extends IssuanceJob {
  /** The operator (or user) is to set the PIN now ("not displayed" + "change PIN during issuance"). */
  pinChangePending: boolean;
}

interface OpenedCard {
  conn: CardConnection;
  session: PivSession;
  serial: string;
}

type JobOptions = {
  action: 'issue';
  pinMode: 'displayed' | 'disguised' | 'not_displayed';
  agentId: string;
  reader: string;
  /** Set once the card accepted our key: from then on a retry must wipe it first. */
  cardTouched?: boolean;
  changePinAtEnd: boolean;
  pinChangePending?: boolean;
  /** Started by the person in the user portal (startSelf): only these are the portal's to see. */
  portal?: boolean;
};

const PIN_PURPOSE = (deviceId: string) => `initial_pin:${deviceId}`;
const PUK_PURPOSE = (deviceId: string) => `puk:${deviceId}`;

export class IssuanceService {
  readonly #events = new EventEmitter();
  readonly #running = new Map<string, Promise<void>>();

  constructor(
    private readonly ctx: ServiceContext,
    private readonly deps: {
      masterKey: MasterKey;
      cards: CardAccess;
      ca: CertificateIssuer;
      settings: SettingsService;
      /** The FASC-N's agency and system codes (service config pki.fascn). */
      fascn?: FascnSettings;
    },
  ) {
    this.#events.setMaxListeners(0);
  }

  // --- Connected cards ---------------------------------------------------------------------------

  /** The cards in the readers of this person's agents, with what Tessera knows of each. */
  async connectedCards(ownerUserId: string): Promise<ConnectedCard[]> {
    const readers = await this.deps.cards.listReaders(ownerUserId);
    const out: ConnectedCard[] = [];
    for (const r of readers) {
      const base = {
        agentId: r.agentId,
        agentName: r.agentName,
        reader: r.reader,
        cardPresent: r.cardPresent,
      };
      if (!r.cardPresent) {
        out.push({ ...base, serial: null, cardType: null, status: 'empty', device: null, error: null });
        continue;
      }
      let conn: CardConnection | undefined;
      try {
        conn = await this.deps.cards.connect(ownerUserId, r.agentId, r.reader);
        const session = await PivSession.open(conn);
        const { serial } = await session.getSerial();
        const device = await getDeviceBySerial(this.ctx.db, serial);
        const status: ConnectedCard['status'] =
          !device || device.state === 'inventory' ? 'blank' : device.state === 'bound' ? 'bound' : 'in_use';
        out.push({
          ...base,
          serial,
          cardType: session.version
            ? `PIV token (YubiKey-compatible ${session.version.join('.')})`
            : 'PIV card',
          status,
          device: device
            ? { id: device.id, state: device.state, userId: device.userId, type: device.type }
            : null,
          error: null,
        });
      } catch (e) {
        out.push({
          ...base,
          serial: null,
          cardType: null,
          status: 'unreadable',
          device: null,
          error: (e as Error).message,
        });
      } finally {
        await conn?.close?.().catch(() => undefined);
      }
    }
    return out;
  }

  // --- Start: bind or issue ----------------------------------------------------------------------

  async start(actor: Actor, input: StartIssuanceInput): Promise<{ device: Device; job: JobView | null }> {
    const user = await getUser(this.ctx.db, input.userId);
    if (!user) throw new NotFoundError('user', input.userId);
    if (user.state !== 'active')
      throw new ValidationError(`${user.displayName} is ${user.state}: only active people get devices`);
    const policy = await getPolicy(this.ctx.db, input.policyId);
    if (!policy) throw new NotFoundError('device policy', input.policyId);

    if (input.action === 'bind') {
      if (input.pin !== undefined)
        throw new ValidationError('Binding a device sets no PIN: the user sets it when they self-issue');
      return { device: await this.bind(actor, user, policy, input.card), job: null };
    }
    const settings = await this.deps.settings.getSecurity();
    const pin = this.choosePin(settings.initialPinDisplayMode, policy, input);
    return this.begin(actor, user, input.card, await this.openCard(actor.id ?? user.id, input.card), pin, {
      pinMode: settings.initialPinDisplayMode,
      changePinAtEnd: settings.initialPinDisplayMode === 'not_displayed' && settings.changePinDuringIssuance,
      policy,
    });
  }

  /**
   * Self-issuance in the user portal (reference 000): the card must be bound to this person. Tessera
   * sets a random initial PIN and the person sets their own PIN at the end.
   */
  async startSelf(actor: Actor, card: CardRef): Promise<{ device: Device; job: JobView | null }> {
    const user = await getUser(this.ctx.db, actor.id!);
    if (!user || user.state !== 'active')
      throw new ValidationError('Only an active person can issue a device');
    const opened = await this.openCard(user.id, card);
    let policy: Policy;
    try {
      const device = await getDeviceBySerial(this.ctx.db, opened.serial);
      if (!device || device.userId !== user.id || device.state !== 'bound' || !device.policyId)
        throw new ConflictError(
          `The card ${opened.serial} is not bound to you, so you cannot issue it here: ask your help desk to bind it to you`,
          { serial: opened.serial },
        );
      policy = (await getPolicy(this.ctx.db, device.policyId))!;
    } catch (e) {
      await opened.conn.close?.().catch(() => undefined);
      throw e;
    }
    const pin = generatePin(policy.pinPolicy, (max) => randomInt(max));
    return this.begin(actor, user, card, opened, pin, {
      pinMode: 'not_displayed',
      changePinAtEnd: true,
      policy,
      portal: true,
    });
  }

  /** Connects to the card in a reader and reads its serial; the caller closes the connection. */
  private async openCard(owner: string, card: CardRef): Promise<OpenedCard> {
    const conn = await this.deps.cards.connect(owner, card.agentId, card.reader);
    try {
      const session = await PivSession.open(conn);
      return { conn, session, serial: (await session.getSerial()).serial };
    } catch (e) {
      await conn.close?.().catch(() => undefined);
      throw e;
    }
  }

  /** Starts the job on an opened card; the background run closes the connection when it ends. */
  private async begin(
    actor: Actor,
    user: User,
    card: CardRef,
    { conn, session, serial }: OpenedCard,
    pin: string,
    o: { pinMode: JobOptions['pinMode']; changePinAtEnd: boolean; policy: Policy; portal?: boolean },
  ): Promise<{ device: Device; job: JobView }> {
    const policy = o.policy;
    try {
      const job = await this.ctx.db.transaction(async (tx) => {
        const device = await this.deviceForIssuance(tx, actor, user, policy, serial);
        const at = this.ctx.clock.now();
        await this.moveDevice(tx, device, 'start_issuance', { userId: user.id, policyId: policy.id }, at);
        const options: JobOptions = {
          action: 'issue',
          pinMode: o.pinMode,
          agentId: card.agentId,
          reader: card.reader,
          changePinAtEnd: o.changePinAtEnd,
          ...(o.portal ? { portal: true } : {}),
        };
        const job = await insertJob(tx, {
          deviceId: device.id,
          userId: user.id,
          policyId: policy.id,
          startedBy: actor.id,
          options,
          at,
        });
        // The PIN is needed again by a retry, and kept for retrieval in the "not displayed" mode.
        await putDeviceSecret(
          tx,
          device.id,
          'initial_pin',
          this.deps.masterKey.encrypt(pin, PIN_PURPOSE(device.id)),
          at,
        );
        await appendAudit(tx, {
          actor: auditActor(actor),
          action: 'issuance.started',
          targetType: 'device',
          targetId: device.id,
          details: {
            jobId: job.id,
            userId: user.id,
            policyId: policy.id,
            serial,
            pinMode: options.pinMode,
            selfService: o.portal === true,
          },
          correlationId: actor.correlationId ?? null,
          at,
        });
        return job;
      });
      this.launch(actor, job, session, conn);
      return { device: (await getDevice(this.ctx.db, job.deviceId))!, job: this.view(job) };
    } catch (e) {
      await conn.close?.().catch(() => undefined);
      throw e;
    }
  }

  private choosePin(
    mode: 'displayed' | 'disguised' | 'not_displayed',
    policy: Policy,
    input: StartIssuanceInput,
  ): string {
    if (mode === 'not_displayed') {
      if (input.pin !== undefined)
        throw new ValidationError(
          'The initial PIN is not displayed in this deployment: Tessera chooses it, so send no PIN',
        );
      return generatePin(policy.pinPolicy, (max) => randomInt(max));
    }
    if (!input.pin) throw new ValidationError('Enter the PIN for the new device', { field: 'pin' });
    if (mode === 'disguised' && input.pin !== input.pinConfirmation)
      throw new ValidationError('The PIN and its confirmation differ: type the same PIN twice', {
        field: 'pinConfirmation',
      });
    const problems = checkPin(input.pin, policy.pinPolicy);
    if (problems.length)
      throw new ValidationError(
        `The PIN does not meet the policy: ${problems.map((p) => p.message).join('; ')}`,
        {
          field: 'pin',
          rules: problems.map((p) => p.rule),
        },
      );
    return input.pin;
  }

  /** The inventory record of the card in the reader (registered now when unknown and allowed). */
  private async deviceForIssuance(
    tx: Queryable,
    actor: Actor,
    user: User,
    policy: Policy,
    serial: string,
  ): Promise<Device> {
    let device = await getDeviceBySerial(tx, serial);
    if (!device) {
      if (!can(actor.roles, 'device.register'))
        throw new ValidationError(
          `The card ${serial} is not in the inventory: ask an issuance officer to register it`,
        );
      const at = this.ctx.clock.now();
      device = await insertDevice(tx, {
        serial,
        type: policy.deviceTypes.includes('piv_card') ? 'piv_card' : 'piv_token',
        at,
      });
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'device.registered',
        targetType: 'device',
        targetId: device.id,
        details: { serial, type: device.type, via: 'issuance' },
        correlationId: actor.correlationId ?? null,
        at,
      });
    }
    device = (await getDevice(tx, device.id, true))!;
    if (!policy.deviceTypes.includes(device.type))
      throw new ValidationError(
        `The policy "${policy.name}" is not for ${device.type.replace('_', ' ')} devices`,
      );
    if (device.state === 'bound' && device.userId !== user.id)
      throw new ConflictError(`The card ${serial} is bound to another person`);
    if (device.state !== 'inventory' && device.state !== 'bound')
      throw new ConflictError(
        `The card ${serial} is ${device.state.replace('_', ' ')}, not blank` +
          (device.state === 'failed' || device.state === 'awaiting_recycle'
            ? ': retry its issuance or recycle it'
            : ''),
        { deviceId: device.id, state: device.state },
      );
    return device;
  }

  private async bind(actor: Actor, user: User, policy: Policy, card: CardRef): Promise<Device> {
    const { conn, serial } = await this.openCard(actor.id ?? user.id, card);
    await conn.close?.().catch(() => undefined);
    return this.ctx.db.transaction(async (tx) => {
      const device = await this.deviceForIssuance(tx, actor, user, policy, serial);
      if (device.state === 'bound')
        throw new ConflictError(`The card ${serial} is already bound to ${user.displayName}`);
      const at = this.ctx.clock.now();
      const bound = await this.moveDevice(tx, device, 'bind', { userId: user.id, policyId: policy.id }, at);
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'device.bound',
        targetType: 'device',
        targetId: device.id,
        details: { serial, userId: user.id, policyId: policy.id },
        correlationId: actor.correlationId ?? null,
        at,
      });
      return bound;
    });
  }

  private async moveDevice(
    tx: Queryable,
    d: Device,
    action: DeviceAction,
    patch: DevicePatch,
    at: Date,
  ): Promise<Device> {
    const state: DeviceState = must(deviceTransition(d.state, action));
    return updateDevice(tx, d.id, { ...patch, state }, at);
  }

  // --- The background run --------------------------------------------------------------------------

  private launch(
    actor: Actor,
    job: IssuanceJob,
    session: PivSession,
    conn: CardConnection,
    wipeFirst = false,
  ): void {
    const run = this.run(actor, job, session, wipeFirst)
      .catch(() => undefined)
      .finally(() => {
        this.#running.delete(job.id);
        void conn.close?.().catch(() => undefined);
      });
    this.#running.set(job.id, run);
  }

  /** Resolves when the job's background run (if any) has finished: for tests and shutdown. */
  async settled(jobId: string): Promise<void> {
    await this.#running.get(jobId);
  }

  async drain(): Promise<void> {
    await Promise.all([...this.#running.values()]);
  }

  private async run(actor: Actor, job: IssuanceJob, session: PivSession, wipeFirst: boolean): Promise<void> {
    const correlationId = actor.correlationId ?? randomUUID();
    const device = (await getDevice(this.ctx.db, job.deviceId))!;
    const policy = (await getPolicy(this.ctx.db, job.policyId))!;
    const user = (await getUser(this.ctx.db, job.userId))!;
    const steps = planIssuanceSteps(policy.credentialProfiles.length);
    const done: IssuanceStepId[] = [];
    const report = async (label: string) => {
      const progress = progressFor(done, policy.credentialProfiles.length);
      await updateJobProgress(this.ctx.db, job.id, progress, label, this.ctx.clock.now());
      this.#events.emit(job.id);
    };
    try {
      await report(steps[0]!.label);
      if (wipeFirst) {
        await report('Reset the card to its transport state');
        await resetToTransport(session);
      }
      done.push('connect');
      const pinBlob = await getDeviceSecret(this.ctx.db, device.id, 'initial_pin');
      if (!pinBlob)
        throw new DomainError(
          'issuance_state_lost',
          'The PIN for this issuance is gone: cancel and start again',
        );
      const pin = this.deps.masterKey.decryptText(pinBlob, PIN_PURPOSE(device.id));
      const now = this.ctx.clock.now();
      const card = cardIdentity(device, this.deps.fascn);
      const issued = await personalize(session, {
        profiles: policy.credentialProfiles,
        managementKey: managementKeyFor(this.deps.masterKey, device.serial, session.version),
        pin,
        puk: randomPuk(),
        pinRetries: policy.pinPolicy.retries,
        pukRetries: policy.pukRetries,
        chuidExpiration: new Date(now.getTime() + policy.deviceValidityDays * 86_400_000),
        persistPuk: async (puk) => {
          await putDeviceSecret(
            this.ctx.db,
            device.id,
            'puk',
            this.deps.masterKey.encrypt(puk, PUK_PURPOSE(device.id)),
            this.ctx.clock.now(),
          );
        },
        issueCertificate: async (profile, spki, proveKey) => {
          const credential = await insertCredential(this.ctx.db, {
            userId: user.id,
            policyId: policy.id,
            profile: profile.name,
            slot: profile.slot,
            deviceId: device.id,
            at: this.ctx.clock.now(),
          });
          const cert = await this.deps.ca.issueForPublicKey(
            { ...actor, correlationId },
            {
              user: {
                id: user.id,
                username: user.username,
                displayName: user.displayName,
                email: user.email,
                upn: user.properties.upn ?? null,
                // Read from the directory's objectSid at sync and sign-in (docs/directory.md).
                sid: user.properties.objectSid ?? null,
                properties: user.properties,
              },
              profile,
              deviceId: device.id,
              credentialId: credential.id,
              cardUuid: card.uuid,
              fascn: card.fascn,
            },
            spki,
            proveKey,
          );
          await setCredentialCertificate(this.ctx.db, credential.id, cert.serial, this.ctx.clock.now());
          const { pem } = await this.deps.ca.get(cert.id);
          return { certificateId: cert.id, der: pemToDer(pem) };
        },
        stepStarting: async (id, index) => {
          const s = steps.find((x) => x.id === id && x.profileIndex === index);
          const profile = index === null ? '' : ` (${policy.credentialProfiles[index]!.name})`;
          await report(`${s?.label ?? id}${profile}`);
        },
        stepDone: async (id) => {
          done.push(id);
          if (id === 'authenticate') await this.markTouched(job.id);
        },
      });
      await this.succeed(actor, job, device, policy, issued.length, correlationId);
    } catch (e) {
      await this.failJob(actor, job.id, e, correlationId);
    }
  }

  private async markTouched(jobId: string): Promise<void> {
    await mergeJobOptions(this.ctx.db, jobId, { cardTouched: true });
  }

  private async succeed(
    actor: Actor,
    job: IssuanceJob,
    device: Device,
    policy: Policy,
    certificates: number,
    correlationId: string,
  ) {
    const opts = job.options as JobOptions;
    await this.ctx.db.transaction(async (tx) => {
      const at = this.ctx.clock.now();
      const d = (await getDevice(tx, device.id, true))!;
      await this.moveDevice(
        tx,
        d,
        'succeed',
        { issuedAt: at, expiresAt: new Date(at.getTime() + policy.deviceValidityDays * 86_400_000) },
        at,
      );
      // Keep the initial PIN only where someone must still read it (not displayed) or change it.
      if (opts.pinMode !== 'not_displayed') await deleteDeviceSecret(tx, device.id, 'initial_pin');
      await finishJob(tx, job.id, 'succeeded', null, at);
      if (opts.changePinAtEnd) await mergeJobOptions(tx, job.id, { pinChangePending: true });
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'issuance.succeeded',
        targetType: 'device',
        targetId: device.id,
        details: {
          jobId: job.id,
          userId: job.userId,
          policyId: policy.id,
          certificates,
          attempt: job.attempt,
        },
        correlationId,
        at,
      });
    });
    this.#events.emit(job.id);
  }

  private async failJob(actor: Actor, jobId: string, cause: unknown, correlationId: string): Promise<void> {
    const error = toJobError(cause, correlationId);
    await this.ctx.db.transaction(async (tx) => {
      const at = this.ctx.clock.now();
      const job = (await getJob(tx, jobId, true))!;
      if (job.status !== 'running') return;
      await finishJob(tx, jobId, 'failed', error, at);
      const d = (await getDevice(tx, job.deviceId, true))!;
      if (d.state === 'issuing') await this.moveDevice(tx, d, 'fail', {}, at);
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'issuance.failed',
        targetType: 'device',
        targetId: job.deviceId,
        details: { jobId, attempt: job.attempt, error: { code: error.code, message: error.message } },
        correlationId,
        at,
      });
    });
    this.#events.emit(jobId);
  }

  // --- After a failure: retry, cancel, recycle ---------------------------------------------------

  async retry(actor: Actor, jobId: string, card?: CardRef): Promise<JobView> {
    const job = await this.job(jobId);
    const opts = job.options as JobOptions;
    if (job.status !== 'failed')
      throw new ConflictError(`Only a failed issuance can be retried; this one is ${job.status}`);
    const device = (await getDevice(this.ctx.db, job.deviceId))!;
    const ref = card ?? { agentId: opts.agentId, reader: opts.reader };
    const { conn, session } = await this.openDeviceCard(actor.id ?? job.userId, ref, device);
    try {
      must(deviceTransition(device.state, 'retry'));
      await this.revokeAttempt(actor, device.id);
      const restarted = await this.ctx.db.transaction(async (tx) => {
        const at = this.ctx.clock.now();
        const d = (await getDevice(tx, job.deviceId, true))!;
        await this.moveDevice(tx, d, 'retry', {}, at);
        const j = await restartJob(tx, job.id, at);
        await mergeJobOptions(tx, job.id, { agentId: ref.agentId, reader: ref.reader });
        await appendAudit(tx, {
          actor: auditActor(actor),
          action: 'issuance.retried',
          targetType: 'device',
          targetId: d.id,
          details: { jobId: job.id, attempt: j.attempt },
          correlationId: actor.correlationId ?? null,
          at,
        });
        return j;
      });
      this.launch(actor, restarted, session, conn, opts.cardTouched === true);
      return this.view(restarted);
    } catch (e) {
      await conn.close?.().catch(() => undefined);
      throw e;
    }
  }

  /** Cancel after a failure: the device leaves the person and waits to be recycled. */
  async cancel(actor: Actor, jobId: string): Promise<JobView> {
    const before = await this.job(jobId);
    if (before.status !== 'failed')
      throw new ConflictError(`Only a failed issuance can be cancelled; this one is ${before.status}`);
    await this.revokeAttempt(actor, before.deviceId);
    const out = await this.ctx.db.transaction(async (tx) => {
      const job = (await getJob(tx, jobId, true)) ?? null;
      if (!job) throw new NotFoundError('issuance job', jobId);
      if (job.status !== 'failed')
        throw new ConflictError(`Only a failed issuance can be cancelled; this one is ${job.status}`);
      const at = this.ctx.clock.now();
      const d = (await getDevice(tx, job.deviceId, true))!;
      await this.moveDevice(tx, d, 'cancel', { userId: null, policyId: null }, at);
      await deleteDeviceSecret(tx, d.id, 'initial_pin');
      const j = await finishJob(tx, job.id, 'cancelled', job.error, at);
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'issuance.cancelled',
        targetType: 'device',
        targetId: d.id,
        details: { jobId, userId: job.userId },
        correlationId: actor.correlationId ?? null,
        at,
      });
      return j;
    });
    this.#events.emit(jobId);
    return this.view(out);
  }

  /** Wipes a card left by a failed issuance (or a terminated one) and returns it to the inventory. */
  async recycle(actor: Actor, deviceId: string, card: CardRef): Promise<Device> {
    const device = await getDevice(this.ctx.db, deviceId);
    if (!device) throw new NotFoundError('device', deviceId);
    must(deviceTransition(device.state, 'recycle'));
    const { conn, session } = await this.openDeviceCard(actor.id!, card, device);
    try {
      await resetToTransport(session);
    } finally {
      await conn.close?.().catch(() => undefined);
    }
    await this.revokeAttempt(actor, deviceId);
    return this.ctx.db.transaction(async (tx) => {
      const at = this.ctx.clock.now();
      const d = (await getDevice(tx, deviceId, true))!;
      const recycled = await this.moveDevice(
        tx,
        d,
        'recycle',
        { userId: null, policyId: null, issuedAt: null, expiresAt: null },
        at,
      );
      await deleteAllDeviceSecrets(tx, d.id);
      await deleteDeviceCredentials(tx, d.id);
      const job = await latestJobForDevice(tx, d.id);
      if (job?.status === 'failed') await finishJob(tx, job.id, 'cancelled', job.error, at);
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'device.recycled',
        targetType: 'device',
        targetId: d.id,
        details: { serial: d.serial, from: d.state },
        correlationId: actor.correlationId ?? null,
        at,
      });
      return recycled;
    });
  }

  /** openCard, refusing (and closing) when the reader holds another card than `device`. */
  private async openDeviceCard(owner: string, card: CardRef, device: Device): Promise<OpenedCard> {
    const opened = await this.openCard(owner, card);
    if (opened.serial.toUpperCase() !== device.serial.toUpperCase()) {
      await opened.conn.close?.().catch(() => undefined);
      throw new ConflictError(
        `The reader holds card ${opened.serial}, not ${device.serial}: insert the right card`,
      );
    }
    return opened;
  }

  /**
   * Revokes every certificate of the device that is not revoked yet (those of a failed attempt).
   * Called outside any transaction of ours: the CA commits each status change in its own (PGlite
   * has one connection, so a nested one would wait forever), and revoking twice is harmless.
   */
  private async revokeAttempt(
    actor: Actor,
    deviceId: string,
    reason: RevocationReason = 'cessationOfOperation',
  ): Promise<void> {
    const certs = await this.deps.ca.search({ deviceId, limit: 200, offset: 0 });
    for (const c of certs.items) if (c.status !== 'revoked') await this.deps.ca.revoke(actor, c.id, reason);
  }

  // --- After success: PIN change at the end, initial-PIN retrieval -------------------------------

  async changePinAtEnd(actor: Actor, jobId: string, newPin: string, confirmation: string): Promise<JobView> {
    const job = await this.job(jobId);
    const opts = job.options as JobOptions;
    if (job.status !== 'succeeded' || !opts.pinChangePending)
      throw new ConflictError('No PIN change is waiting for this issuance');
    if (newPin !== confirmation)
      throw new ValidationError('The PIN and its confirmation differ', { field: 'confirmation' });
    const policy = (await getPolicy(this.ctx.db, job.policyId))!;
    const problems = checkPin(newPin, policy.pinPolicy);
    if (problems.length)
      throw new ValidationError(
        `The PIN does not meet the policy: ${problems.map((p) => p.message).join('; ')}`,
        { field: 'pin' },
      );
    const device = (await getDevice(this.ctx.db, job.deviceId))!;
    const blob = await getDeviceSecret(this.ctx.db, device.id, 'initial_pin');
    if (!blob)
      throw new ConflictError(
        'The initial PIN of this device is no longer held: the PIN was changed already',
      );
    const { conn, session } = await this.openDeviceCard(actor.id ?? job.userId, opts, device);
    try {
      await session.changePin(this.deps.masterKey.decryptText(blob, PIN_PURPOSE(device.id)), newPin);
    } finally {
      await conn.close?.().catch(() => undefined);
    }
    const out = await this.ctx.db.transaction(async (tx) => {
      const at = this.ctx.clock.now();
      await deleteDeviceSecret(tx, device.id, 'initial_pin');
      await mergeJobOptions(tx, jobId, { pinChangePending: false }, at);
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'device.pin_changed',
        targetType: 'device',
        targetId: device.id,
        details: { jobId, during: 'issuance' },
        correlationId: actor.correlationId ?? null,
        at,
      });
      return (await getJob(tx, jobId))!;
    });
    this.#events.emit(jobId);
    return this.view(out);
  }

  /** Get Initial PIN: an authorized, audited, one-time retrieval. */
  async retrieveInitialPin(actor: Actor, deviceId: string): Promise<{ pin: string }> {
    return this.ctx.db.transaction(async (tx) => {
      const d = await getDevice(tx, deviceId, true);
      if (!d) throw new NotFoundError('device', deviceId);
      if (d.state !== 'active')
        throw new ConflictError(
          `The device is ${d.state}: only an active device's initial PIN can be retrieved`,
        );
      const blob = await getDeviceSecret(tx, deviceId, 'initial_pin', true);
      if (!blob)
        throw new ConflictError(
          'There is no initial PIN to retrieve: it was displayed at issuance, already retrieved, or changed',
        );
      const job = await latestJobForDevice(tx, deviceId);
      if ((job?.options as JobOptions | undefined)?.pinChangePending)
        throw new ConflictError('The PIN is to be changed at the end of issuance, not retrieved');
      const pin = this.deps.masterKey.decryptText(blob, PIN_PURPOSE(deviceId));
      await deleteDeviceSecret(tx, deviceId, 'initial_pin');
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'device.initial_pin_retrieved',
        targetType: 'device',
        targetId: deviceId,
        details: { userId: d.userId },
        correlationId: actor.correlationId ?? null,
        at: this.ctx.clock.now(),
      });
      return { pin };
    });
  }

  async initialPinAvailable(deviceId: string): Promise<boolean> {
    const job = await latestJobForDevice(this.ctx.db, deviceId);
    if ((job?.options as JobOptions | undefined)?.pinChangePending) return false;
    return (await getDeviceSecret(this.ctx.db, deviceId, 'initial_pin')) !== null;
  }

  // --- Jobs ------------------------------------------------------------------------------------------

  async job(id: string): Promise<JobView> {
    const j = await getJob(this.ctx.db, id);
    if (!j) throw new NotFoundError('issuance job', id);
    return this.view(j);
  }

  async latestForDevice(deviceId: string): Promise<JobView | null> {
    const j = await latestJobForDevice(this.ctx.db, deviceId);
    return j ? this.view(j) : null;
  }

  /**
   * The person's self-issuance that still needs them, newest first: running, waiting for their new
   * PIN, or failed on a card that still waits (so a reload or a closed browser loses nothing).
   */
  async openForUser(userId: string): Promise<{ device: Device; job: JobView } | null> {
    let best: { device: Device; job: JobView } | null = null;
    for (const device of await listUserDevices(this.ctx.db, userId)) {
      const job = await this.latestForDevice(device.id);
      if (!job || !isSelfIssuance(job, userId)) continue;
      const open =
        job.status === 'running' ||
        (job.status === 'succeeded' && job.pinChangePending) ||
        (job.status === 'failed' && device.state === 'failed');
      if (open && (!best || job.updatedAt > best.job.updatedAt)) best = { device, job };
    }
    return best;
  }

  /** Calls `listener` whenever the job changes (progress, end); returns unsubscribe. */
  watch(jobId: string, listener: () => void): () => void {
    this.#events.on(jobId, listener);
    return () => this.#events.off(jobId, listener);
  }

  private view(j: IssuanceJob): JobView {
    const opts = j.options as Partial<JobOptions>;
    return { ...j, pinChangePending: opts.pinChangePending === true };
  }

  /**
   * Start-up: jobs left running by a server that died are failed as interrupted (their card may be
   * half-written, so Retry wipes it first) and their certificates revoked.
   */
  async recoverInterrupted(): Promise<number> {
    const actor: Actor = { id: null, name: 'system (start-up)', roles: ['admin'] };
    const devices = await this.ctx.db.transaction(async (tx) => {
      const jobs = await claimRunningJobs(tx);
      for (const job of jobs) {
        if (this.#running.has(job.id)) continue;
        const at = this.ctx.clock.now();
        const error: JobError = {
          code: 'interrupted',
          message:
            'The server stopped while this issuance was running: retry it (the card is reset first) or cancel it',
          correlationId: randomUUID(),
        };
        await finishJob(tx, job.id, 'failed', error, at);
        await mergeJobOptions(tx, job.id, { cardTouched: true });
        const d = (await getDevice(tx, job.deviceId, true))!;
        if (d.state === 'issuing') await this.moveDevice(tx, d, 'fail', {}, at);
        await appendAudit(tx, {
          actor: auditActor(actor),
          action: 'issuance.interrupted',
          targetType: 'device',
          targetId: d.id,
          details: { jobId: job.id, attempt: job.attempt },
          correlationId: error.correlationId,
          at,
        });
      }
      return jobs.map((j) => j.deviceId);
    });
    for (const deviceId of devices) await this.revokeAttempt(actor, deviceId);
    return devices.length;
  }
}

/**
 * Whether `job` is `userId`'s own self-issuance, started in the portal. A help-desk issuance for the
 * person is not: its card sits in the operator's agent, so the portal could neither follow nor
 * retry it, and the person must not see the operator's job.
 */
export function isSelfIssuance(job: IssuanceJob, userId: string): boolean {
  return job.userId === userId && (job.options as Partial<JobOptions> | null)?.portal === true;
}

function pemToDer(pem: string): Uint8Array {
  return Uint8Array.from(Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64'));
}

/** The failure as the portal shows and copies it: never with a secret. */
export function toJobError(e: unknown, correlationId: string): JobError {
  if (e instanceof DomainError) {
    const detail = e.details ? JSON.stringify(e.details) : undefined;
    return { code: e.code, message: e.message, ...(detail ? { detail } : {}), correlationId };
  }
  return {
    code: 'internal',
    message: 'The issuance failed unexpectedly. Quote the correlation id when you report it',
    detail: e instanceof Error ? e.message : String(e),
    correlationId,
  };
}
