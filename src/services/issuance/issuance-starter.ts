// Starting local issuance (reference 001) and self-issuance (reference 000): bind a blank card to a
// person, or move it to "issuing", open its job and hand the card to the runner. Every state change
// is one transaction with its audit event (a card new to the inventory: one statement, atomic alone);
// the start's own writes are issuance-start-writes.ts.
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../domain/errors.js';
import { appendAudit } from '../../store/audit-repo.js';
import type { Db, Queryable } from '../../store/db.js';
import { getDevice, getDeviceBySerial, type Device } from '../../store/devices-repo.js';
import { getPolicy, getUserAndPolicy, listPolicies, type Policy } from '../../store/policies-repo.js';
import { getUser, type User } from '../../store/users-repo.js';
import { auditActor, holds, type Actor, type Clock } from '../context.js';
import { release, type CardReader, type CardRef, type ReachedCard } from './card-reader.js';
import { deviceForIssuance } from './card-intake.js';
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
import type { RequestLink } from './request-link.js';
import { jobView, type JobView } from './job-view.js';
import { checkPrintChoice, type CardPrinting, type PrintChoice } from './print-step.js';
import {
  IssuanceStartWrites,
  requestLinkOf,
  type Begin,
  type BeginOptions,
} from './issuance-start-writes.js';

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

export class IssuanceStarter {
  /** What a start writes (issuance-start-writes.ts). */
  readonly #writes: IssuanceStartWrites;

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
  ) {
    this.#writes = new IssuanceStartWrites(deps);
  }

  #link(): RequestLink {
    return requestLinkOf(this.deps.requests);
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
      const { job, device } = await this.#writes.write(b);
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
