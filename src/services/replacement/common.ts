// What every replacement step shares: its dependencies, the request lock with the check that the
// operator acted on the version they saw, device moves that keep the person link right, and the
// request's audit event. Each step runs in one transaction and takes the request's row lock first,
// then the devices', then the credentials' — one order everywhere, so steps never deadlock.
import { deviceHoldsUser, deviceTransition, type DeviceAction } from '../../domain/device.js';
import { ConflictError, NotFoundError, must } from '../../domain/errors.js';
import type { RequestAction } from '../../domain/request.js';
import { appendAudit } from '../../store/audit-repo.js';
import type { Db, Queryable } from '../../store/db.js';
import { getDevice, updateDevice, type Device } from '../../store/devices-repo.js';
import { getRequest, type RequestRecord } from '../../store/requests-repo.js';
import { getUser } from '../../store/users-repo.js';
import { revokeWalletsHolding } from '../../store/wallet-links-repo.js';
import { auditActor, type Actor, type Clock } from '../context.js';
import type { ChangedCertificates, Revocation } from '../pki/revocation.js';
import type { KeyRecovery } from '../pki/key-recovery.js';

export type { RequestRecord } from '../../store/requests-repo.js';
export type { Device } from '../../store/devices-repo.js';

/**
 * What follows a PIV card's state in the transaction that changes it: the mobile IDs derived from
 * the card (decision 0033). Returns the certificates it changed, published after the commit.
 */
export interface CardFollower {
  cardMoved(
    tx: Queryable,
    actor: Actor,
    before: Device,
    after: Device,
    at: Date,
  ): Promise<ChangedCertificates>;
}

/**
 * Says, once `tx` commits, that the wallets `walletIds` (phones' links) ended, so whichever server
 * holds their sockets closes them (services/cluster/agent-revocations.ts).
 */
export type WalletsEnded = (tx: Queryable, walletIds: readonly string[]) => void;

export interface ReplacementDeps {
  db: Db;
  clock: Clock;
  /** A terminated phone's link ended: its socket closes at once wherever it is held. */
  walletsEnded?: WalletsEnded;
  /** Set once the mobile IDs exist (they need the suspension and termination built here). */
  cardFollower?: CardFollower;
  /** The CA's status changes, inside a step's transaction. */
  revocation: Pick<Revocation, 'changeCredentials' | 'publishAfterCommit'>;
  /** Archived key-management keys, restored onto a replacement device (audited per recovery). */
  keyRecovery?: Pick<KeyRecovery, 'recover'>;
}

/** "request #12" */
export const label = (r: Pick<RequestRecord, 'number'>) => `request #${r.number}`;

const PAST: Record<string, string> = {
  submitted: 'submitted',
  approved: 'approved',
  rejected: 'rejected',
  bound: 'given a device',
  completed: 'completed',
  cancelled: 'cancelled',
};

/** Who moved the request into its current state, as a person would name them. */
async function lastActor(db: Queryable, r: RequestRecord): Promise<string | null> {
  const id =
    r.state === 'cancelled'
      ? r.cancelledBy
      : r.state === 'rejected'
        ? r.rejectedBy
        : r.state === 'completed'
          ? r.completedBy
          : r.state === 'bound'
            ? r.boundBy
            : r.state === 'approved'
              ? r.approvedBy
              : r.submittedBy;
  if (!id) return null;
  return (await getUser(db, id))?.username ?? null;
}

/** What happened to a request, for a refusal: "request #12 was cancelled by hal.helpdesk". */
export async function whatHappened(db: Queryable, r: RequestRecord): Promise<string> {
  const who = await lastActor(db, r);
  return `${label(r)} was ${PAST[r.state] ?? r.state}${who ? ` by ${who}` : ''}`;
}

/**
 * Locks the request; refuses when the operator decided on a version that is no longer current,
 * or when the request is in a state the action does not apply to, saying what happened.
 */
export async function lockRequest(
  tx: Queryable,
  id: string,
  action: RequestAction | 'terminate',
  expectedVersion?: number,
): Promise<RequestRecord> {
  const r = await getRequest(tx, id, true);
  if (!r || r.kind !== 'replacement') throw new NotFoundError('replacement request', id);
  if (expectedVersion !== undefined && expectedVersion !== r.version)
    throw new ConflictError(
      `${capital(await whatHappened(tx, r))} while you were looking at it: reload it and decide again`,
      { requestId: r.id, state: r.state, version: r.version },
    );
  return r;
}

/** Turns a refused request transition into a conflict that says what happened. */
export async function refuse(tx: Queryable, r: RequestRecord, action: string): Promise<never> {
  throw new ConflictError(`${capital(await whatHappened(tx, r))}: it can no longer be ${verb(action)}`, {
    requestId: r.id,
    state: r.state,
    action,
  });
}

const verb = (a: string) =>
  ({
    approve: 'approved',
    reject: 'rejected',
    cancel: 'cancelled',
    bind: 'given a device',
    complete: 'completed',
  })[a] ?? a;
const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export async function lockDevice(tx: Queryable, id: string): Promise<Device> {
  const d = await getDevice(tx, id, true);
  if (!d) throw new NotFoundError('device', id);
  return d;
}

/** Moves a device through its state machine, keeping or dropping its person (deviceHoldsUser). */
export async function moveDevice(
  tx: Queryable,
  actor: Actor,
  device: Device,
  action: DeviceAction,
  at: Date,
  details: Record<string, unknown>,
  patch: { userId?: string | null; policyId?: string | null } = {},
  deps: Pick<ReplacementDeps, 'walletsEnded'> = {},
): Promise<Device> {
  const state = must(deviceTransition(device.state, action));
  const userId = deviceHoldsUser(state) ? (patch.userId ?? device.userId) : null;
  const moved = await updateDevice(tx, device.id, { ...patch, state, userId }, at);
  await appendAudit(tx, {
    actor: auditActor(actor),
    action: `device.${AUDIT_VERB[action] ?? action}`,
    targetType: 'device',
    targetId: device.id,
    details: { serial: device.serial, from: device.state, to: state, ...details },
    correlationId: actor.correlationId ?? null,
    at,
  });
  // A phone's device ends: so does its wallet's link (a lost phone keeps no way in; a reset or a
  // new link makes the phone a new wallet). Its socket closes once this commits, on whichever
  // server holds it (said on the bus); the holder's heartbeat re-check stays the fallback.
  if (action === 'terminate' && device.type === 'mobile') {
    const ended = await revokeWalletsHolding(tx, device.serial, at);
    deps.walletsEnded?.(tx, ended);
    for (const walletId of ended)
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'wallet.unlinked',
        targetType: 'agent',
        targetId: walletId,
        details: { why: 'its device was terminated', deviceId: device.id, serial: device.serial },
        correlationId: actor.correlationId ?? null,
        at,
      });
  }
  return moved;
}

/** Tells the card follower a device changed state (a no-op for other changes). */
export async function followCard(
  tx: Queryable,
  deps: Pick<ReplacementDeps, 'cardFollower'>,
  actor: Actor,
  before: Device,
  after: Device,
  at: Date,
): Promise<ChangedCertificates> {
  if (!deps.cardFollower || before.state === after.state) return [];
  return deps.cardFollower.cardMoved(tx, actor, before, after, at);
}

const AUDIT_VERB: Partial<Record<DeviceAction, string>> = {
  invalidate: 'invalidated',
  restore: 'restored',
  restore_suspended: 'restored',
  terminate: 'terminated',
  unbind: 'unbound',
  bind: 'bound',
  cancel: 'cancelled',
  suspend: 'suspended',
  resume: 'resumed',
};

export async function auditRequest(
  tx: Queryable,
  actor: Actor,
  r: RequestRecord,
  action: string,
  at: Date,
  details: Record<string, unknown> = {},
): Promise<void> {
  await appendAudit(tx, {
    actor: auditActor(actor),
    action: `request.${action}`,
    targetType: 'request',
    targetId: r.id,
    details: { number: r.number, userId: r.userId, state: r.state, ...details },
    correlationId: actor.correlationId ?? null,
    at,
  });
}
