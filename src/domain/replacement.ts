// Device replacement (reference 003, DESIGN.md "Domain" → Request): which reason gives which kind of
// replacement, and pure planners that say what each step of a replacement does to devices and
// credentials. The replacement service loads plain data (ids and states), asks for a plan, and
// executes it in one transaction with its audit events; the rules live here only.

import { deviceTransition, type DeviceAction, type DeviceState } from './device.js';
import type { CredentialStatus, RevocationReason } from './credential.js';
import {
  ConflictError,
  fail,
  ok,
  ValidationError,
  type IllegalTransitionError,
  type Result,
} from './errors.js';

export const REPLACEMENT_REASONS = ['damaged', 'expired', 'lost', 'stolen', 'forgotten'] as const;
export type ReplacementReason = (typeof REPLACEMENT_REASONS)[number];

export const REPLACEMENT_TYPES = ['permanent_eol', 'permanent', 'temporary'] as const;
export type ReplacementType = (typeof REPLACEMENT_TYPES)[number];

/** The table of reference 003 ("Type of Replacement | Reason"). */
export const REPLACEMENT_RULES: Readonly<Record<ReplacementReason, ReplacementType>> = {
  damaged: 'permanent_eol',
  expired: 'permanent_eol',
  lost: 'permanent',
  stolen: 'permanent',
  forgotten: 'temporary',
};

export function isReplacementReason(value: unknown): value is ReplacementReason {
  return typeof value === 'string' && (REPLACEMENT_REASONS as readonly string[]).includes(value);
}

export function replacementTypeFor(reason: ReplacementReason): ReplacementType {
  return REPLACEMENT_RULES[reason];
}

export function reasonsFor(type: ReplacementType): ReplacementReason[] {
  return REPLACEMENT_REASONS.filter((r) => REPLACEMENT_RULES[r] === type);
}

export function isPermanent(type: ReplacementType): boolean {
  return type !== 'temporary';
}

/**
 * Why the replaced devices' certificates are revoked when a permanent replacement is issued.
 * Lost or stolen: keyCompromise — the private keys are on a device out of the holder's control, and
 * relying parties must distrust them (RFC 5280 §5.3.1). Damaged or expired: superseded — the keys were
 * never exposed, the new device's certificates replace them. The reason applies to every invalid
 * device of the replacement (a temporary device included): over-reporting a compromise is safe,
 * under-reporting one is not.
 */
export function revocationReasonFor(reason: ReplacementReason): RevocationReason {
  return reason === 'lost' || reason === 'stolen' ? 'keyCompromise' : 'superseded';
}

/** Revocation reason for a temporary device's certificates when it is terminated: its use ended. */
export const TEMPORARY_END_REASON: RevocationReason = 'cessationOfOperation';

export interface DeviceRef {
  readonly id: string;
  readonly state: DeviceState;
}

/** What a replacement step does. The service applies it in field order, within one transaction. */
export interface ReplacementPlan {
  /** active → invalid */
  invalidateDeviceIds: string[];
  /** invalid → active */
  restoreDeviceIds: string[];
  /** bound → inventory: a replacement device bound to the person but not yet personalized */
  unbindDeviceIds: string[];
  /** failed → awaiting_recycle: a replacement device whose personalization failed, to be wiped */
  cancelDeviceIds: string[];
  /** active | invalid | pending → terminated */
  terminateDeviceIds: string[];
  /** valid → suspended (certificateHold at the CA) */
  suspendCredentialIds: string[];
  /** suspended → valid (hold released at the CA) */
  reinstateCredentialIds: string[];
  /** valid | suspended → revoked */
  revokeCredentials: { credentialId: string; reason: RevocationReason }[];
  /**
   * Devices other than the ones above that carry an affected credential (e.g. a key-management
   * certificate recovered onto a phone): their state does not change, but their holder should be told.
   */
  affectedDeviceIds: string[];
}

/** What every planner knows about the credentials it touches. */
export interface CredentialFacts {
  /** Current status per credential id; a credential not listed is taken as described per planner. */
  readonly credentialStatusById?: Readonly<Record<string, CredentialStatus>>;
  /** For each credential id, every device that carries it (the devices named in the plan may be included). */
  readonly sharedDeviceIdsByCredential?: Readonly<Record<string, readonly string[]>>;
}

function emptyPlan(): ReplacementPlan {
  return {
    invalidateDeviceIds: [],
    restoreDeviceIds: [],
    unbindDeviceIds: [],
    cancelDeviceIds: [],
    terminateDeviceIds: [],
    suspendCredentialIds: [],
    reinstateCredentialIds: [],
    revokeCredentials: [],
    affectedDeviceIds: [],
  };
}

const unique = (ids: readonly string[]): string[] => [...new Set(ids)];

function statusOf(facts: CredentialFacts, id: string, assumed: CredentialStatus): CredentialStatus {
  const known = facts.credentialStatusById;
  return known && Object.hasOwn(known, id) ? (known[id] as CredentialStatus) : assumed;
}

/** Fills affectedDeviceIds: devices sharing a changed credential that the plan does not itself move. */
function withAffected(plan: ReplacementPlan, facts: CredentialFacts): ReplacementPlan {
  const changed = [
    ...plan.suspendCredentialIds,
    ...plan.reinstateCredentialIds,
    ...plan.revokeCredentials.map((r) => r.credentialId),
  ];
  const moved = new Set([
    ...plan.invalidateDeviceIds,
    ...plan.restoreDeviceIds,
    ...plan.unbindDeviceIds,
    ...plan.cancelDeviceIds,
    ...plan.terminateDeviceIds,
  ]);
  const shared = facts.sharedDeviceIdsByCredential ?? {};
  const affected = changed.flatMap((c) => (Object.hasOwn(shared, c) ? (shared[c] ?? []) : []));
  plan.affectedDeviceIds = unique(affected).filter((d) => !moved.has(d));
  return plan;
}

function check(device: DeviceRef, action: DeviceAction): IllegalTransitionError | undefined {
  const r = deviceTransition(device.state, action);
  return r.ok ? undefined : r.error;
}

export interface SubmissionInput extends CredentialFacts {
  readonly targetDevice: DeviceRef;
  /** Every credential installed on the target (unlisted statuses are taken as valid). */
  readonly credentialIdsOnTarget: readonly string[];
}

/**
 * Ref. 003: "When a replacement request is created, the active target device is invalidated and all
 * associated credentials are suspended, including any credentials which may be shared with a mobile
 * device". Only valid credentials are suspended; the service must record `suspendCredentialIds` on
 * the request so that cancelling reinstates exactly those, never a credential held for another reason.
 */
export function planSubmission(input: SubmissionInput): Result<ReplacementPlan, IllegalTransitionError> {
  const refused = check(input.targetDevice, 'invalidate');
  if (refused) return fail(refused);
  const plan = emptyPlan();
  plan.invalidateDeviceIds.push(input.targetDevice.id);
  plan.suspendCredentialIds = unique(input.credentialIdsOnTarget).filter(
    (c) => statusOf(input, c, 'valid') === 'valid',
  );
  return ok(withAffected(plan, input));
}

export interface CancellationInput extends CredentialFacts {
  readonly originalDevice: DeviceRef;
  /** The ids the submission plan suspended (unlisted statuses are taken as suspended). */
  readonly suspendedCredentialIds: readonly string[];
  /** The replacement device, if one was assigned to the request. */
  readonly replacementDevice?: DeviceRef | null;
}

/**
 * Ref. 003: "If a replacement request is canceled, the original device (now invalid) is restored and
 * the replacement device is unbound if assigned." A replacement device whose personalization failed
 * is cancelled instead (it holds keys, so it waits for recycling); one already personalized, or being
 * personalized, cannot be silently unbound: the request is refused with a conflict.
 */
export function planCancellation(
  input: CancellationInput,
): Result<ReplacementPlan, IllegalTransitionError | ConflictError> {
  const refused = check(input.originalDevice, 'restore');
  if (refused) return fail(refused);
  const plan = emptyPlan();
  plan.restoreDeviceIds.push(input.originalDevice.id);
  plan.reinstateCredentialIds = unique(input.suspendedCredentialIds).filter(
    (c) => statusOf(input, c, 'suspended') === 'suspended',
  );
  const replacement = input.replacementDevice;
  if (replacement) {
    switch (replacement.state) {
      case 'bound':
        plan.unbindDeviceIds.push(replacement.id);
        break;
      case 'failed':
        plan.cancelDeviceIds.push(replacement.id);
        break;
      case 'inventory':
      case 'awaiting_recycle':
        break; // not (or no longer) assigned to the person: nothing to undo
      default:
        return fail(
          new ConflictError(
            `The replacement device is ${replacement.state.replace(/_/g, ' ')}: the request can only be ` +
              'cancelled before its replacement device is personalized',
            { deviceId: replacement.id, state: replacement.state },
          ),
        );
    }
  }
  return ok(withAffected(plan, input));
}

export interface TemporaryTerminationInput extends CredentialFacts {
  readonly originalDevice: DeviceRef;
  readonly temporaryDevice: DeviceRef;
  /** The original's credential ids the submission plan suspended (unlisted: taken as suspended). */
  readonly suspendedCredentialIds: readonly string[];
  /** Every credential on the temporary device (unlisted statuses: taken as valid). */
  readonly temporaryCredentialIds: readonly string[];
}

/**
 * Ref. 003: "If a temporary replacement device is terminated, the original device (now invalid) is
 * restored and the temporary device is terminated." The temporary device's certificates are revoked
 * (cessationOfOperation) and the original's suspended ones reinstated.
 */
export function planTemporaryTermination(
  input: TemporaryTerminationInput,
): Result<ReplacementPlan, IllegalTransitionError> {
  const refused = check(input.originalDevice, 'restore') ?? check(input.temporaryDevice, 'terminate');
  if (refused) return fail(refused);
  const plan = emptyPlan();
  plan.restoreDeviceIds.push(input.originalDevice.id);
  plan.terminateDeviceIds.push(input.temporaryDevice.id);
  plan.reinstateCredentialIds = unique(input.suspendedCredentialIds).filter(
    (c) => statusOf(input, c, 'suspended') === 'suspended',
  );
  plan.revokeCredentials = unique(input.temporaryCredentialIds)
    .filter((c) => statusOf(input, c, 'valid') !== 'revoked')
    .map((credentialId) => ({ credentialId, reason: TEMPORARY_END_REASON }));
  return ok(withAffected(plan, input));
}

export interface PermanentIssuedInput extends CredentialFacts {
  /** The reason of the permanent replacement request. */
  readonly reason: ReplacementReason;
  /** Every device of the person left invalid by replacement requests (the original, and a temporary one). */
  readonly invalidDevices: readonly DeviceRef[];
  /** Credential ids on each of those devices (unlisted statuses: taken as suspended). */
  readonly credentialIdsByDevice: Readonly<Record<string, readonly string[]>>;
}

/**
 * Ref. 003: "Issuing a permanent replacement device terminates the invalid devices", and their
 * certificates are revoked (DESIGN.md) with the reason from revocationReasonFor.
 */
export function planPermanentIssued(
  input: PermanentIssuedInput,
): Result<ReplacementPlan, ValidationError | ConflictError> {
  if (!isPermanent(replacementTypeFor(input.reason))) {
    return fail(
      new ValidationError(
        `A device that is ${input.reason} gets a temporary replacement, not a permanent one`,
        { reason: input.reason },
      ),
    );
  }
  const notInvalid = input.invalidDevices.find((d) => d.state !== 'invalid');
  if (notInvalid) {
    return fail(
      new ConflictError(
        `Device ${notInvalid.id} is ${notInvalid.state.replace(/_/g, ' ')}, not invalid: only devices ` +
          'invalidated by a replacement request are terminated when the permanent replacement is issued',
        { deviceId: notInvalid.id, state: notInvalid.state },
      ),
    );
  }
  const plan = emptyPlan();
  const reason = revocationReasonFor(input.reason);
  plan.terminateDeviceIds = unique(input.invalidDevices.map((d) => d.id));
  const byDevice = input.credentialIdsByDevice;
  const credentialIds = plan.terminateDeviceIds.flatMap((d) =>
    Object.hasOwn(byDevice, d) ? (byDevice[d] ?? []) : [],
  );
  plan.revokeCredentials = unique(credentialIds)
    .filter((c) => statusOf(input, c, 'suspended') !== 'revoked')
    .map((credentialId) => ({ credentialId, reason }));
  return ok(withAffected(plan, input));
}
