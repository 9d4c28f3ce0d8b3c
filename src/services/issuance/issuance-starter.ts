// Starting local issuance (reference 001) and self-issuance (reference 000): bind a blank card to a
// person, or move it to "issuing", open its job and hand the card to the runner. Every state change
// is one transaction with its audit event (a card new to the inventory: one statement, atomic alone).
import { randomUUID } from 'node:crypto';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../domain/errors.js';
import { appendAudit } from '../../store/audit-repo.js';
import type { Db } from '../../store/db.js';
import { getDevice, getDeviceBySerial, type Device } from '../../store/devices-repo.js';
import type { IssuanceJob } from '../../store/jobs-repo.js';
import {
  moveAndStart,
  registerAndStart,
  writeStart,
  type IssuanceStart,
} from '../../store/issuance-start-writer.js';
import { getPolicy, getUserAndPolicy, listPolicies, type Policy } from '../../store/policies-repo.js';
import { getUser, type User } from '../../store/users-repo.js';
import { auditActor, holds, type Actor, type Clock } from '../context.js';
import { release, type CardReader, type CardRef, type ReachedCard } from './card-reader.js';
import { blankMove, deviceForIssuance, mayRegister, registration } from './card-intake.js';
import { randomPuk } from '../card-keys.js';
import { moveDevice } from './device-move.js';
import {
  chooseInitialPin,
  randomInitialPin,
  type InitialPinVault,
  type PinEntry,
  type PinMode,
} from './initial-pin.js';
import type { CardJobLauncher } from './job-dispatch.js';
import type { IssuanceVia, LinkedRequest, RequestLink } from './request-link.js';
import type { Queryable } from '../../store/db.js';
import { jobView, type JobOptions, type JobPrint, type JobView } from './job-view.js';
import { checkPrintChoice, type CardPrinting, type PrintChoice } from './print-step.js';

export interface StartIssuanceInput extends PinEntry {
  userId: string;
  card: CardRef;
  action: 'issue' | 'bind';
  /** The device policy; a request's own policy when `requestId` is given. */
  policyId?: string;
  /** The replacement request this issuance (or binding) serves (services/issuance/request-link.ts). */
  requestId?: string;
  /** Print the card after encoding it (reference 002): the card is in this printer's encoder. */
  print?: PrintChoice;
}

/** The security settings that shape an operator's issuance. */
export interface IssuanceSettings {
  getSecurity(): Promise<IssuanceSecurity>;
  /** The settings row the security settings are stored in, read with the person and the policy. */
  readonly securityKey: string;
  /** The security settings from that row's value (undefined: none stored). */
  securityOf(stored: unknown): IssuanceSecurity;
}

type IssuanceSecurity = { initialPinDisplayMode: PinMode; changePinDuringIssuance: boolean };

/** How a start goes, whichever way it was asked for. */
interface BeginOptions {
  pinMode: PinMode;
  changePinAtEnd: boolean;
  policy: Policy;
  portal?: boolean;
  /** Started on the person's wallet (remote issuance): the PIN is chosen on the phone. */
  via?: IssuanceVia;
  requestId?: string;
  print?: JobPrint;
  /** More of the job's options (a mobile ID's order, profiles and validity). */
  extra?: Partial<JobOptions>;
  /** The card's row as the caller read it (unlocked): the start does not read it again. */
  known?: Device;
}

/** One start on an opened card: who, for whom, which card, and its secrets. */
interface Begin {
  actor: Actor;
  user: User;
  card: CardRef;
  serial: string;
  pin: string;
  puk: string;
  o: BeginOptions;
}

export class IssuanceStarter {
  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      cards: CardReader;
      pins: InitialPinVault;
      settings: IssuanceSettings;
      runner: CardJobLauncher;
      /** Issuances for a replacement request. */
      requests?: RequestLink;
      printing?: CardPrinting;
    },
  ) {}

  #link(): RequestLink {
    if (!this.deps.requests) throw new ValidationError('This server does not issue for requests');
    return this.deps.requests;
  }

  /** Operator issuance: bind the card in the reader to a person, or issue it with a device policy. */
  async start(actor: Actor, input: StartIssuanceInput): Promise<{ device: Device; job: JobView | null }> {
    // The route lets binders in (device.bind); issuing is the stronger variant (decision 0011).
    if (input.action === 'issue' && !holds(actor, 'device.issue'))
      throw new ForbiddenError('Your roles allow binding devices, not issuing them (needs device.issue)');
    const { db } = this.deps;
    // The person, the policy asked for and the security settings, in one statement (a request's
    // own policy is read below).
    const pre = await getUserAndPolicy(
      db,
      input.userId,
      input.requestId ? null : (input.policyId ?? null),
      this.deps.settings.securityKey,
    );
    const { user, policy: asked } = pre;
    if (!user) throw new NotFoundError('user', input.userId);
    if (user.state !== 'active')
      throw new ValidationError(`${user.displayName} is ${user.state}: only active people get devices`);
    // A request's replacement is issued with the request's policy (chosen when it was made).
    const request = input.requestId ? await this.#link().peek(db, input.requestId) : null;
    if (request?.policyId && input.policyId && input.policyId !== request.policyId)
      throw new ValidationError(
        `Request #${request.number} is issued with its own device policy: leave policyId out, or give that one`,
        { field: 'policyId', policyId: request.policyId },
      );
    const policyId = request?.policyId ?? input.policyId;
    if (!policyId) throw new ValidationError('Choose a device policy (policyId)', { field: 'policyId' });
    const policy = asked?.id === policyId ? asked : await getPolicy(db, policyId);
    if (!policy) throw new NotFoundError('device policy', policyId);

    if (input.action === 'bind') {
      if (input.print) throw new ValidationError('Binding a device prints nothing: issue it to print it');
      if (input.pin !== undefined)
        throw new ValidationError('Binding a device sets no PIN: the user sets it when they self-issue');
      return { device: await this.#bind(actor, user, policy, input.card, request?.id), job: null };
    }
    // The request's refusals come before the card is looked at (and again, locked, at the start).
    if (request)
      await db.transaction((tx) => this.#link().lockForStart(tx, actor, request.id, 'operator', user.id));
    const settings = this.deps.settings.securityOf(pre.setting);
    const pin = chooseInitialPin(settings.initialPinDisplayMode, policy, input);
    const print = input.print
      ? await checkPrintChoice(this.deps.printing, actor, input.print, input.card)
      : undefined;
    return this.#begin(
      actor,
      user,
      input.card,
      await this.deps.cards.reach(actor.id ?? user.id, input.card),
      pin,
      {
        pinMode: settings.initialPinDisplayMode,
        changePinAtEnd:
          settings.initialPinDisplayMode === 'not_displayed' && settings.changePinDuringIssuance,
        policy,
        ...(request ? { requestId: request.id } : {}),
        ...(print ? { print } : {}),
      },
    );
  }

  /**
   * Self-issuance in the user portal (reference 000): the card must be bound to this person. Tessera
   * sets a random initial PIN and the person sets their own PIN at the end.
   */
  async startSelf(
    actor: Actor,
    card: CardRef,
    requestId?: string,
  ): Promise<{ device: Device; job: JobView | null }> {
    const { db } = this.deps;
    const user = await getUser(db, actor.id!);
    if (!user || user.state !== 'active')
      throw new ValidationError('Only an active person can issue a device');
    if (requestId)
      await db.transaction((tx) => this.#link().lockForStart(tx, actor, requestId, 'portal', user.id));
    const opened = await this.deps.cards.reach(user.id, card);
    let policy: Policy;
    let device: Device | null;
    try {
      device = await getDeviceBySerial(db, opened.serial);
      if (!device || device.userId !== user.id || device.state !== 'bound' || !device.policyId)
        throw new ConflictError(
          `The card ${opened.serial} is not bound to you, so you cannot issue it here: ask your help desk to bind it to you`,
          { serial: opened.serial },
        );
      policy = (await getPolicy(db, device.policyId))!;
    } catch (e) {
      await release(opened);
      throw e;
    }
    return this.#begin(actor, user, card, opened, randomInitialPin(policy), {
      pinMode: 'not_displayed',
      changePinAtEnd: true,
      policy,
      portal: true,
      ...(requestId ? { requestId } : {}),
      // Read above: locked (and checked again) by the start.
      known: device,
    });
  }

  /**
   * Remote issuance (reference 003, mobile smart cards only): the person, on their phone's wallet,
   * accepts the new credentials of a help-desk replacement request. The wallet's card (registered
   * when the request's link was redeemed) is issued with the request's policy; a random initial PIN
   * is set and the person chooses the PIN on the phone at the end, as in self-issuance.
   */
  async startRemote(
    actor: Actor,
    card: CardRef,
    requestId: string,
  ): Promise<{ device: Device; job: JobView | null }> {
    const { db } = this.deps;
    const user = await getUser(db, actor.id!);
    if (!user || user.state !== 'active')
      throw new ValidationError('Only an active person can issue a device');
    const request = await db.transaction((tx) =>
      this.#link().lockForStart(tx, actor, requestId, 'wallet', user.id),
    );
    const policyId = request.policyId ?? (await firstMobilePolicy(db));
    const policy = policyId ? await getPolicy(db, policyId) : null;
    if (!policy)
      throw new ConflictError(
        'No device policy is for mobile smart cards: ask your administrator to add "mobile" to a policy',
      );
    const opened = await this.deps.cards.reach(user.id, card);
    return this.#begin(actor, user, card, opened, randomInitialPin(policy), {
      pinMode: 'not_displayed',
      changePinAtEnd: true,
      policy,
      via: 'wallet',
      requestId,
    });
  }

  /**
   * Mobile ID (reference 004): the person's phone, linked from the order's QR code, is issued with
   * the mobile ID policy's choice of the device policy's certificates, capped at its validity. A
   * random initial PIN is set and the person chooses the PIN on the phone at the end, as in remote
   * issuance. The job names the order, whose outcome follows the job's (MobileIdJobOutcome).
   */
  async startMobileId(
    actor: Actor,
    card: CardRef,
    o: {
      policyId: string;
      profiles: string[];
      validityDays: number;
      mobileId: string;
      /** The mobile ID policy's properties for this person, put into the certificates. */
      properties: Record<string, string>;
    },
  ): Promise<{ device: Device; job: JobView | null }> {
    const { db } = this.deps;
    const user = await getUser(db, actor.id!);
    if (!user || user.state !== 'active')
      throw new ValidationError('Only an active person can get a mobile ID');
    const policy = await getPolicy(db, o.policyId);
    if (!policy) throw new NotFoundError('device policy', o.policyId);
    const opened = await this.deps.cards.reach(user.id, card);
    return this.#begin(actor, user, card, opened, randomInitialPin(policy), {
      pinMode: 'not_displayed',
      changePinAtEnd: true,
      policy,
      via: 'wallet',
      extra: {
        mobileId: o.mobileId,
        profiles: o.profiles,
        validityDays: o.validityDays,
        properties: o.properties,
      },
    });
  }

  /** Starts the job on an opened card; the background run closes the connection when it ends. */
  async #begin(
    actor: Actor,
    user: User,
    card: CardRef,
    opened: ReachedCard,
    pin: string,
    o: BeginOptions,
  ): Promise<{ device: Device; job: JobView }> {
    const { db } = this.deps;
    const b: Begin = { actor, user, card, serial: opened.serial, pin, puk: randomPuk(), o };
    try {
      const { job, device } = await this.#write(b);
      if (!device) {
        await this.deps.runner.launch(actor, job, opened);
        return { device: (await getDevice(db, job.deviceId))!, job: jobView(job) };
      }
      // The run starts from what was just written: the device issuing, the policy, the person.
      await this.deps.runner.launch(actor, job, opened, false, {
        device,
        policy: o.policy,
        user,
        secrets: { pin, puk: b.puk },
      });
      return { device, job: jobView(job) };
    } catch (e) {
      await release(opened);
      throw e;
    }
  }

  /**
   * The start's writes, in as few statements as the card allows (docs/decisions/0039): a card new
   * to the inventory is registered and started by one statement; a blank one (as that statement
   * read it) is moved and started by one. A request's start, or a card that did not move, is
   * locked, checked and moved (or refused) in a transaction.
   */
  async #write(b: Begin): Promise<{ job: IssuanceJob; device: Device | null }> {
    const unknown = await this.#startUnknown(b);
    if ('job' in unknown) return unknown;
    const blank = unknown.known ? await this.#startBlank(b, unknown.known) : null;
    return blank ?? this.deps.db.transaction((tx) => this.#startKnown(tx, b, unknown.known));
  }

  /**
   * The card registered and its issuance started in one statement, when it is new to the inventory
   * and may be registered on the way. Otherwise `known`: the card's row as read (unlocked), or
   * undefined when it is to be read in the transaction (a request's start, a card not in the
   * inventory that this actor may not register, or one registered by another transaction
   * meanwhile).
   */
  async #startUnknown(
    b: Begin,
  ): Promise<{ device: Device; job: IssuanceJob } | { known: Device | undefined }> {
    const { actor, user, serial, o } = b;
    // A request locks before the card.
    if (o.known !== undefined || o.requestId) return { known: o.known };
    // Not to be registered here: only read (the transaction refuses an unknown card).
    if (!mayRegister(actor, o.policy))
      return { known: (await getDeviceBySerial(this.deps.db, serial)) ?? undefined };
    const at = this.deps.clock.now();
    const { policy } = o;
    const move = { action: 'start_issuance', patch: { userId: user.id, policyId: policy.id }, at } as const;
    const r = registration(actor, user, policy, serial, this.deps.clock.now(), move);
    const started = await registerAndStart(this.deps.db, r, this.#records(b, r.device.id, at, null, null));
    // No row seen: another transaction registered the card meanwhile; the transaction reads it.
    return 'job' in started ? started : { known: started.known ?? undefined };
  }

  /**
   * A card in the inventory (or bound to the person) moved to issuing and started in one statement,
   * when no request is involved and it is still blank for this start (the guard: blankMove, and no
   * open request naming it); null, with nothing written, when it is not — then the transaction
   * locks it, finds its request or refuses it with the typed error that says why.
   */
  async #startBlank(b: Begin, known: Device): Promise<{ device: Device; job: IssuanceJob } | null> {
    const { user, o } = b;
    // A request locks before the card.
    if (o.requestId) return null;
    const at = this.deps.clock.now();
    return moveAndStart(
      this.deps.db,
      {
        deviceId: known.id,
        // A portal start moves only a card still bound to this person (the portal's read is unlocked).
        ...blankMove(user, o.policy, 'start_issuance', o.portal ? 'self' : 'operator'),
        // Without the request link this server issues for no request (as #request).
        unlessRequested: this.deps.requests !== undefined,
      },
      this.#records(b, known.id, at, null, null),
    );
  }

  /** The start of an issuance on a card in the inventory (or one a request registers), in `tx`. */
  async #startKnown(
    tx: Queryable,
    b: Begin,
    /** The card's row as already read (unlocked); undefined: read it now. */
    known: Device | undefined,
  ): Promise<{ job: IssuanceJob; device: Device | null }> {
    const { actor, user, serial, o } = b;
    const { clock } = this.deps;
    const { policy } = o;
    // The request is locked before the device (the replacement's lock order). A card that is a
    // request's replacement device serves that request even when the caller did not say so.
    const found = known ?? (await getDeviceBySerial(tx, serial));
    const request = await this.#request(
      tx,
      actor,
      user,
      found,
      o.via ?? (o.portal ? 'portal' : 'operator'),
      o,
    );
    const at = clock.now();
    const move = { action: 'start_issuance', patch: { userId: user.id, policyId: policy.id }, at } as const;
    // A request checks the blank card before it moves; otherwise the intake moves it (a card
    // registered on the way is inserted issuing).
    const device = await deviceForIssuance(
      tx,
      actor,
      user,
      policy,
      serial,
      clock,
      found,
      request ? undefined : move,
      // Checked again under the lock: a portal start refuses a card unbound since its read.
      o.portal ? 'self' : 'operator',
    );
    if (request) await this.#link().checkDevice(tx, request, device);
    const validityDays = request ? this.#link().validityDays(request, policy) : null;
    const issuing = request ? await moveDevice(tx, device, move.action, move.patch, at) : device;
    const start = this.#records(b, device.id, at, request, validityDays);
    // The job's id is chosen already: the request's event names it (and precedes the start's, as
    // it did when the job was inserted first).
    if (request) await this.#link().started(tx, actor, request, device, start.job.id, at);
    const job = await writeStart(tx, start);
    // A request's link may change the device further: then the run reads it (as for a retry).
    return { job, device: request ? null : issuing };
  }

  /**
   * What every start writes: the job (its id chosen here), the initial PIN — needed again by a
   * retry, and kept for retrieval in the "not displayed" mode — with the card's new PUK (stored
   * before the run gives it to the card), and the `issuance.started` event.
   */
  #records(
    b: Begin,
    deviceId: string,
    at: Date,
    request: LinkedRequest | null,
    validityDays: number | null,
  ): IssuanceStart {
    const { actor, user, card, serial, o } = b;
    const { policy } = o;
    const options: JobOptions = {
      action: 'issue',
      pinMode: o.pinMode,
      agentId: card.agentId,
      reader: card.reader,
      changePinAtEnd: o.changePinAtEnd,
      ...(o.portal ? { portal: true } : {}),
      ...(o.via === 'wallet' ? { wallet: true } : {}),
      ...(validityDays ? { validityDays } : {}),
      ...(o.print ? { print: o.print } : {}),
      ...o.extra,
    };
    const jobId = randomUUID();
    return {
      job: {
        id: jobId,
        deviceId,
        userId: user.id,
        policyId: policy.id,
        requestId: request?.id ?? null,
        startedBy: actor.id,
        options,
        at,
        owner: this.deps.runner.instanceId,
      },
      secrets: this.deps.pins.sealed(deviceId, b.pin, b.puk),
      // Configure once (reference 002): this printer and encoder are proposed next time here.
      ...(o.print && actor.id
        ? {
            printer: {
              userId: actor.id,
              agentId: card.agentId,
              printer: o.print.printerName,
              encoder: card.reader,
            },
          }
        : {}),
      audit: {
        actor: auditActor(actor),
        action: 'issuance.started',
        targetType: 'device',
        targetId: deviceId,
        details: {
          jobId,
          userId: user.id,
          policyId: policy.id,
          serial,
          pinMode: options.pinMode,
          selfService: o.portal === true || o.via === 'wallet',
          ...(o.via === 'wallet' ? { via: 'wallet' } : {}),
          ...(o.extra?.mobileId ? { mobileId: o.extra.mobileId } : {}),
          requestId: request?.id ?? null,
          ...(o.print ? { printerId: o.print.printerId, layoutId: o.print.layoutId } : {}),
        },
        correlationId: actor.correlationId ?? null,
        at,
      },
    };
  }

  /** The request this issuance serves, locked and checked; none for an ordinary issuance. */
  async #request(
    tx: Queryable,
    actor: Actor,
    user: User,
    known: Device | null,
    via: IssuanceVia,
    o: { requestId?: string; policy: Policy },
  ): Promise<LinkedRequest | null> {
    const link = this.deps.requests;
    const requestId =
      o.requestId ?? (known && link ? (await link.findForDevice(tx, known.id))?.id : undefined);
    if (!requestId) return null;
    const request = await this.#link().lockForStart(tx, actor, requestId, via, user.id);
    if (request.policyId && request.policyId !== o.policy.id)
      throw new ValidationError(
        `Request #${request.number} is issued with its own device policy, not "${o.policy.name}"`,
        { field: 'policyId', policyId: request.policyId },
      );
    return request;
  }

  /** Binding: the card is the person's, for them to self-issue in the portal; no card work now. */
  async #bind(actor: Actor, user: User, policy: Policy, card: CardRef, requestId?: string): Promise<Device> {
    const { db, clock } = this.deps;
    const reached = await this.deps.cards.reach(actor.id ?? user.id, card);
    await release(reached);
    const { serial } = reached;
    return db.transaction(async (tx) => {
      if (requestId) {
        // The request's own bind (self-enrollment): the card is registered on the way if unknown.
        return this.#link().bind(
          tx,
          actor,
          requestId,
          () => deviceForIssuance(tx, actor, user, policy, serial, clock),
          clock.now(),
        );
      }
      const device = await deviceForIssuance(tx, actor, user, policy, serial, clock);
      if (device.state === 'bound')
        throw new ConflictError(`The card ${serial} is already bound to ${user.displayName}`);
      const at = clock.now();
      const bound = await moveDevice(tx, device, 'bind', { userId: user.id, policyId: policy.id }, at);
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
}

/** The first policy (by name) for mobile devices: a request made without one names none. */
async function firstMobilePolicy(db: Queryable): Promise<string | null> {
  return (await listPolicies(db)).find((p) => p.deviceTypes.includes('mobile'))?.id ?? null;
}
