// Which inventory record a card in a reader is, when it is to be bound or issued: an unknown card
// is registered on the spot if the actor may register devices; the card must suit the policy and
// be blank (in inventory, or bound to this very person).
import {
  deviceMachine,
  deviceTransition,
  type DeviceAction,
  type DeviceState,
  type DeviceType,
} from '../../domain/device.js';
import { ConflictError, must, ValidationError } from '../../domain/errors.js';
import { randomUUID } from 'node:crypto';
import { appendAudit } from '../../store/audit-repo.js';
import type { Queryable } from '../../store/db.js';
import { getDevice, getDeviceBySerial, insertDevice, type Device } from '../../store/devices-repo.js';
import type { Policy } from '../../store/policies-repo.js';
import type { User } from '../../store/users-repo.js';
import { auditActor, holds, type Actor, type Clock } from '../context.js';
import type { Registration } from '../../store/issuance-start-writer.js';
import { moveDevice } from './device-move.js';

/**
 * Who asked for the start: an operator (a blank card: in the inventory, or bound to the person), or
 * the person themself in the portal (`self`: only a card bound to them — its binding is what lets
 * them issue it, so a card unbound meanwhile is refused, never issued from the inventory).
 */
export type StartKind = 'operator' | 'self';

/** A move the caller makes right after the intake (issuance's start_issuance), made by the intake. */
export interface IntakeMove {
  action: DeviceAction;
  patch: { userId: string; policyId: string };
  at: Date;
}

/**
 * The inventory record of the card in the reader (registered now when unknown and allowed), locked.
 * With `move`, the device as that move leaves it: a card registered on the way is inserted there
 * (one INSERT instead of an INSERT and an UPDATE, the same audit event), a known one is moved.
 */
export async function deviceForIssuance(
  tx: Queryable,
  actor: Actor,
  user: User,
  policy: Policy,
  serial: string,
  clock: Clock,
  /** The card's record as this transaction already read it (unlocked), or null when it had none. */
  known?: Device | null,
  move?: IntakeMove,
  kind: StartKind = 'operator',
): Promise<Device> {
  let device = known !== undefined ? known : await getDeviceBySerial(tx, serial);
  if (!device) {
    const r = registration(actor, user, policy, serial, clock.now(), move);
    device = await insertDevice(tx, r.device);
    await appendAudit(tx, r.audit);
    // No reading back: the row is this transaction's own until it commits.
    return device;
  }
  // Locked, as it is now. Gone since the unlocked read: deleted from the inventory meanwhile.
  const locked = await getDevice(tx, device.id, true);
  if (!locked)
    throw new ConflictError(
      `The card ${serial} was removed from the inventory while its issuance was starting: register it again (or insert it and start over)`,
      { serial, reason: 'device_removed' },
    );
  device = locked;
  checkBlank(policy, user, serial, device, kind);
  return move ? moveDevice(tx, device, move.action, move.patch, move.at) : device;
}

/**
 * Whether `registration` would accept a card unknown to the inventory (the actor may register
 * devices, and the policy is for a card or token): only then may a start try registering first.
 */
export function mayRegister(actor: Actor, policy: Policy): boolean {
  return holds(actor, 'device.register') && deviceTypeFor(policy) !== null;
}

/**
 * A card unknown to the inventory, as it is to be registered (its id chosen now) with its
 * `device.registered` event — refused when the actor may not register devices or the card does not
 * suit the policy. With `move`, the row is inserted where that move leads (decision 0036).
 */
export function registration(
  actor: Actor,
  user: User,
  policy: Policy,
  serial: string,
  at: Date,
  move?: IntakeMove,
): Registration {
  // A data-dependent permission (decision 0011): binding a known card needs only the route's
  // device.bind; adding an unknown one to the inventory on the way is registering it.
  if (!holds(actor, 'device.register'))
    throw new ValidationError(
      `The card ${serial} is not in the inventory: ask an issuance officer to register it`,
    );
  const type = deviceTypeFor(policy) ?? 'piv_token';
  // Checked as the blank inventory record it is about to be.
  checkBlank(policy, user, serial, { type, state: 'inventory', userId: null, id: null });
  const id = randomUUID();
  const moved = move
    ? { state: must(deviceTransition('inventory', move.action)), ...move.patch }
    : { state: 'inventory' as const, userId: null, policyId: null };
  return {
    device: { id, serial, type, at, moved },
    audit: {
      actor: auditActor(actor),
      action: 'device.registered',
      targetType: 'device',
      targetId: id,
      details: { serial, type, via: 'issuance' },
      correlationId: actor.correlationId ?? null,
      at,
    },
  };
}

/** A card registered for a policy is a card when the policy takes cards, else a token. */
function deviceTypeFor(policy: Policy): 'piv_card' | 'piv_token' | null {
  if (policy.deviceTypes.includes('piv_card')) return 'piv_card';
  return policy.deviceTypes.includes('piv_token') ? 'piv_token' : null;
}

/** The states a card is blank in: in inventory, or bound (to the person it is issued to). */
const BLANK_STATES: readonly DeviceState[] = ['inventory', 'bound'];

/**
 * The guard under which a known card may be moved by `action` without a locked read first (an
 * UPDATE … WHERE): what checkBlank and the device machine both accept — a blank state the action
 * may leave, a type of the policy's, bound to nobody but `user` — and where the move leads. A self
 * start's only blank state is `bound` (to `user`, as the guard's "bound to nobody else" adds), with
 * the policy the portal read (`boundWithPolicy`): a card unbound, or bound again with another
 * policy, since the portal read it stays where it is.
 */
export function blankMove(
  user: User,
  policy: Policy,
  action: DeviceAction,
  kind: StartKind = 'operator',
): {
  from: DeviceState[];
  to: DeviceState;
  types: DeviceType[];
  userId: string;
  policyId: string;
  boundWithPolicy: boolean;
} {
  const rule = deviceMachine.table[action];
  const blank: readonly DeviceState[] = kind === 'self' ? ['bound'] : BLANK_STATES;
  return {
    from: rule.from.filter((s) => blank.includes(s)),
    to: rule.to,
    types: [...policy.deviceTypes],
    userId: user.id,
    policyId: policy.id,
    // A self start issues the policy the card was bound with: still that one (not rebound since).
    boundWithPolicy: kind === 'self',
  };
}

/**
 * The card must suit the policy and be blank: in inventory, or bound to this very person — for a
 * self start, only the latter (checked first: whatever else changed, the person is told that),
 * and with the policy the start has (the one the card was bound with when the portal read it).
 */
function checkBlank(
  policy: Policy,
  user: User,
  serial: string,
  device: Pick<Device, 'type' | 'state' | 'userId'> & { id: string | null; policyId?: string | null },
  kind: StartKind = 'operator',
): void {
  if (kind === 'self' && (device.state !== 'bound' || device.userId !== user.id))
    throw new ConflictError(
      `The card ${serial} is no longer bound to you, so you cannot issue it here: ask your help desk to bind it to you again`,
      { serial, reason: 'not_bound_to_you' },
    );
  // The portal started with the policy the card was bound with; the help desk chose another since.
  if (kind === 'self' && device.policyId !== policy.id)
    throw new ConflictError(
      `The card ${serial} was bound to you again with another device policy while your issuance was starting: start it again`,
      { serial, reason: 'policy_changed' },
    );
  if (!policy.deviceTypes.includes(device.type))
    throw new ValidationError(
      `The policy "${policy.name}" is not for ${device.type.replace('_', ' ')} devices`,
    );
  if (device.state === 'bound' && device.userId !== user.id)
    throw new ConflictError(`The card ${serial} is bound to another person`);
  if (!BLANK_STATES.includes(device.state))
    throw new ConflictError(
      `The card ${serial} is ${device.state.replace('_', ' ')}, not blank` +
        (device.state === 'failed' || device.state === 'awaiting_recycle'
          ? ': retry its issuance or recycle it'
          : ''),
      { deviceId: device.id, state: device.state },
    );
}
