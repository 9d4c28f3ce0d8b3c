// The writes of an issuance's start (docs/decisions/0039), in as few statements as the card allows:
// the card moved to (or registered) issuing, the job, the sealed initial PIN and PUK, and the
// audit events. Every state change is one transaction with its audit event (a card new to the
// inventory: one statement, atomic alone). The starter (issuance-starter.ts) decides what to start
// and hands the run to the runner; this module only writes it.
import { randomUUID } from 'node:crypto';
import { ValidationError } from '../../domain/errors.js';
import type { Db, Queryable } from '../../store/db.js';
import { getDeviceBySerial, type Device } from '../../store/devices-repo.js';
import type { IssuanceJob } from '../../store/jobs-repo.js';
import {
  moveAndStart,
  registerAndStart,
  writeStart,
  type IssuanceStart,
} from '../../store/issuance-start-writer.js';
import type { Policy } from '../../store/policies-repo.js';
import type { User } from '../../store/users-repo.js';
import { auditActor, type Actor, type Clock } from '../context.js';
import type { CardRef } from './card-reader.js';
import { blankMove, deviceForIssuance, mayRegister, registration } from './card-intake.js';
import { moveDevice } from './device-move.js';
import type { InitialPinVault, PinMode } from './initial-pin.js';
import type { CardJobLauncher } from './job-dispatch.js';
import type { IssuanceVia, LinkedRequest, RequestLink } from './request-link.js';
import type { JobOptions, JobPrint } from './job-view.js';

/** How a start goes, whichever way it was asked for. */
export interface BeginOptions {
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
export interface Begin {
  actor: Actor;
  user: User;
  card: CardRef;
  serial: string;
  pin: string;
  puk: string;
  o: BeginOptions;
}

/** The request link, or the refusal of a server that issues for no request. */
export function requestLinkOf(requests: RequestLink | undefined): RequestLink {
  if (!requests) throw new ValidationError('This server does not issue for requests');
  return requests;
}

export class IssuanceStartWrites {
  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      pins: InitialPinVault;
      /** The job's owner is the launcher's instance. */
      runner: Pick<CardJobLauncher, 'instanceId'>;
      /** Issuances for a replacement request. */
      requests?: RequestLink;
    },
  ) {}

  #link(): RequestLink {
    return requestLinkOf(this.deps.requests);
  }

  /**
   * The start's writes, in as few statements as the card allows (docs/decisions/0039): a card new
   * to the inventory is registered and started by one statement; a blank one (as that statement
   * read it) is moved and started by one. A request's start, or a card that did not move, is
   * locked, checked and moved (or refused) in a transaction.
   */
  async write(b: Begin): Promise<{ job: IssuanceJob; device: Device | null }> {
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
}
