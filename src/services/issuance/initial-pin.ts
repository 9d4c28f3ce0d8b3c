// The initial PIN of an issuance, from choice to end (reference 001, "initial PIN display mode"):
// who chooses it (the operator when displayed or disguised, Tessera when not displayed), how it is
// kept (sealed by the master key: a retry needs it again), when it is dropped, and Get Initial PIN,
// the authorized, audited, one-time retrieval.
import { randomInt } from 'node:crypto';
import { ConflictError, NotFoundError, ValidationError } from '../../domain/errors.js';
import { checkPin, generatePin } from '../../domain/pin-policy.js';
import type { MasterKey } from '../../secrets/master-key.js';
import { appendAudit } from '../../store/audit-repo.js';
import type { Db, Queryable } from '../../store/db.js';
import {
  deleteDeviceSecret,
  getDeviceSecret,
  putDeviceSecret,
  type DeviceSecretKind,
} from '../../store/device-secrets-repo.js';
import { getDevice } from '../../store/devices-repo.js';
import { latestJobForDevice } from '../../store/jobs-repo.js';
import type { Policy } from '../../store/policies-repo.js';
import { auditActor, type Actor, type Clock } from '../context.js';
import { pinChangePending, type JobOptions } from './job-view.js';

export type PinMode = JobOptions['pinMode'];

/** The master-key purpose that binds a sealed initial PIN to its device. */
const PIN_PURPOSE = (deviceId: string) => `initial_pin:${deviceId}`;
const PUK_PURPOSE = (deviceId: string) => `puk:${deviceId}`;

/** What the operator typed when starting an issuance. */
export interface PinEntry {
  pin?: string;
  pinConfirmation?: string;
}

/**
 * The initial PIN for a new issuance: Tessera's random one when the PIN is not displayed (then the
 * operator sends none), else the operator's, typed twice when disguised, meeting the policy.
 */
export function chooseInitialPin(mode: PinMode, policy: Policy, input: PinEntry): string {
  if (mode === 'not_displayed') {
    if (input.pin !== undefined)
      throw new ValidationError(
        'The initial PIN is not displayed in this deployment: Tessera chooses it, so send no PIN',
      );
    return randomInitialPin(policy);
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

/** A random PIN that meets the policy (self-issuance, and the "not displayed" mode). */
export function randomInitialPin(policy: Policy): string {
  return generatePin(policy.pinPolicy, (max) => randomInt(max));
}

/** Keep the initial PIN after success only where someone must still read it (not displayed) or change it. */
export const keepsInitialPinAfterSuccess = (mode: PinMode): boolean => mode === 'not_displayed';

/** The device's initial PIN, sealed by the master key for that device alone. */
export class InitialPinVault {
  constructor(private readonly masterKey: MasterKey) {}

  /**
   * The initial PIN and, with `puk`, the card's new PUK, sealed for this device alone: the start
   * stores them in its own statement (store/issuance-start-writer.ts).
   */
  sealed(deviceId: string, pin: string, puk?: string): { kind: DeviceSecretKind; encrypted: Uint8Array }[] {
    return [
      { kind: 'initial_pin', encrypted: this.masterKey.encrypt(pin, PIN_PURPOSE(deviceId)) },
      ...(puk === undefined ? [] : [{ kind: 'puk' as const, encrypted: this.#sealPuk(deviceId, puk) }]),
    ];
  }

  /** Stores the card's new PUK (sealed for that device alone) before the card is given it. */
  async putPuk(db: Queryable, deviceId: string, puk: string, at: Date): Promise<void> {
    await putDeviceSecret(db, deviceId, 'puk', this.#sealPuk(deviceId, puk), at);
  }

  #sealPuk(deviceId: string, puk: string): Uint8Array {
    return this.masterKey.encrypt(puk, PUK_PURPOSE(deviceId));
  }

  /** The PIN, or null when none is held (displayed at issuance, retrieved, or changed). */
  async get(db: Queryable, deviceId: string, forUpdate = false): Promise<string | null> {
    const blob = await getDeviceSecret(db, deviceId, 'initial_pin', forUpdate);
    return blob ? this.masterKey.decryptText(blob, PIN_PURPOSE(deviceId)) : null;
  }

  /**
   * The initial PIN and PUK the start stored for the device, opened from their sealed values as
   * read beside the queued job (store/queued-job-claim.ts); undefined unless both are there.
   */
  opened(deviceId: string, sealed: { pin: Uint8Array | null; puk: Uint8Array | null }) {
    if (!sealed.pin || !sealed.puk) return undefined;
    return {
      pin: this.masterKey.decryptText(sealed.pin, PIN_PURPOSE(deviceId)),
      puk: this.masterKey.decryptText(sealed.puk, PUK_PURPOSE(deviceId)),
    };
  }

  async held(db: Queryable, deviceId: string): Promise<boolean> {
    return (await getDeviceSecret(db, deviceId, 'initial_pin')) !== null;
  }

  async drop(tx: Queryable, deviceId: string): Promise<void> {
    await deleteDeviceSecret(tx, deviceId, 'initial_pin');
  }
}

/** Get Initial PIN (initial PIN mode "not displayed"). Who may is the route's declaration. */
export class InitialPinRetrieval {
  constructor(private readonly deps: { db: Db; clock: Clock; pins: InitialPinVault }) {}

  /** An authorized, audited, one-time retrieval. */
  async retrieve(actor: Actor, deviceId: string): Promise<{ pin: string }> {
    return this.deps.db.transaction(async (tx) => {
      const d = await getDevice(tx, deviceId, true);
      if (!d) throw new NotFoundError('device', deviceId);
      if (d.state !== 'active')
        throw new ConflictError(
          `The device is ${d.state}: only an active device's initial PIN can be retrieved`,
        );
      const pin = await this.deps.pins.get(tx, deviceId, true);
      if (pin === null)
        throw new ConflictError(
          'There is no initial PIN to retrieve: it was displayed at issuance, already retrieved, or changed',
        );
      const job = await latestJobForDevice(tx, deviceId);
      if (pinChangePending(job))
        throw new ConflictError('The PIN is to be changed at the end of issuance, not retrieved');
      await this.deps.pins.drop(tx, deviceId);
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'device.initial_pin_retrieved',
        targetType: 'device',
        targetId: deviceId,
        details: { userId: d.userId },
        correlationId: actor.correlationId ?? null,
        at: this.deps.clock.now(),
      });
      return { pin };
    });
  }

  /** Whether Get Initial PIN would hand out a PIN now. */
  async available(deviceId: string): Promise<boolean> {
    const job = await latestJobForDevice(this.deps.db, deviceId);
    if (pinChangePending(job)) return false;
    return this.deps.pins.held(this.deps.db, deviceId);
  }
}
