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
 * never exposed, the new device's certificates replace them. Over-reporting a compromise is safe,
 * under-reporting one is not. A temporary device ended with the permanent replacement was never out
 * of the person's hands: its own certificates end as when it is terminated (TEMPORARY_END_REASON).
 */
export function revocationReasonFor(reason: ReplacementReason): RevocationReason {
  return reason === 'lost' || reason === 'stolen' ? 'keyCompromise' : 'superseded';
}

/**
 * What happens to an archived key-management (encryption) key when a device is replaced, per
 * reason (docs/replacement.md). The key is always restored onto the replacement when the policy
 * archives it, so mail encrypted to the old certificate still opens. Damaged or expired: the key
 * was never exposed, so its certificate stays valid and is carried over (the same credential, now
 * on the new device). Lost or stolen: someone else may hold the card, so the old certificate is
 * revoked (keyCompromise) and the replacement also gets a new key-management key; the old key is
 * kept only to decrypt. Forgotten: the temporary device gets the key to decrypt; the certificate
 * stays on hold with the original, which gets it back when found.
 */
export function keyRecoveryFor(reason: ReplacementReason): {
  restoreArchivedKey: true;
  keepCertificateValid: boolean;
  issueNewKey: boolean;
} {
  switch (reason) {
    case 'damaged':
    case 'expired':
      return { restoreArchivedKey: true, keepCertificateValid: true, issueNewKey: false };
    case 'lost':
    case 'stolen':
      return { restoreArchivedKey: true, keepCertificateValid: false, issueNewKey: true };
    case 'forgotten':
      return { restoreArchivedKey: true, keepCertificateValid: false, issueNewKey: true };
  }
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
  /** invalid → suspended: restored while a device suspension still holds it */
  restoreSuspendedDeviceIds: string[];
  /** bound → inventory: a replacement device bound to the person but not yet personalized */
  unbindDeviceIds: string[];
  /** failed → awaiting_recycle: a replacement device whose personalization failed, to be wiped */
  cancelDeviceIds: string[];
  /** active | invalid | pending → terminated */
  terminateDeviceIds: string[];
  /** valid → suspended (certificateHold at the CA); the step records a hold on each */
  suspendCredentialIds: string[];
  /**
   * Already suspended under a recorded hold of another cause (a device suspension, another
   * request): the step records its own hold beside it, so the credential stays on hold until every
   * cause is gone. A credential suspended by hand at the CA has no recorded hold and is left alone.
   */
  joinHoldCredentialIds: string[];
  /** suspended → valid (hold released at the CA) */
  reinstateCredentialIds: string[];
  /** valid | suspended → revoked */
  revokeCredentials: { credentialId: string; reason: RevocationReason }[];
  /**
   * Credentials that live on (kept) but leave a terminated device: the device no longer carries
   * them (a key-management key also on the person's phone, or restored onto the replacement).
   */
  uninstallCredentials: { credentialId: string; deviceId: string }[];
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
  /**
   * Credentials on hold for a cause other than this step's (another request, a device suspension):
   * a submission joins those holds; a release leaves these credentials suspended.
   */
  readonly heldElsewhereCredentialIds?: readonly string[];
}

/** Where an invalid original goes when the request holding it lets go (cancel, reject, terminate). */
export interface OriginalRelease {
  /** Another open replacement request still names the original: it stays invalid. */
  readonly stillHeldByAnotherRequest?: boolean;
  /** A device suspension made before the request still holds it: back to suspended, not active. */
  readonly deviceSuspended?: boolean;
}

function emptyPlan(): ReplacementPlan {
  return {
    invalidateDeviceIds: [],
    restoreDeviceIds: [],
    restoreSuspendedDeviceIds: [],
    unbindDeviceIds: [],
    cancelDeviceIds: [],
    terminateDeviceIds: [],
    suspendCredentialIds: [],
    joinHoldCredentialIds: [],
    reinstateCredentialIds: [],
    revokeCredentials: [],
    uninstallCredentials: [],
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
    ...plan.restoreSuspendedDeviceIds,
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

const heldElsewhere = (facts: CredentialFacts): ReadonlySet<string> =>
  new Set(facts.heldElsewhereCredentialIds ?? []);

/** Restores the original (or not), per OriginalRelease, into the plan. */
function releaseOriginal(
  plan: ReplacementPlan,
  original: DeviceRef,
  how: OriginalRelease,
): IllegalTransitionError | undefined {
  if (how.stillHeldByAnotherRequest) return undefined;
  const action: DeviceAction = how.deviceSuspended ? 'restore_suspended' : 'restore';
  const refused = check(original, action);
  if (refused) return refused;
  (how.deviceSuspended ? plan.restoreSuspendedDeviceIds : plan.restoreDeviceIds).push(original.id);
  return undefined;
}

/** The request's own holds that can be lifted: still suspended, and held by nothing else. */
function liftable(facts: CredentialFacts, ids: readonly string[]): string[] {
  const others = heldElsewhere(facts);
  return unique(ids).filter((c) => statusOf(facts, c, 'suspended') === 'suspended' && !others.has(c));
}

export interface SubmissionInput extends CredentialFacts {
  readonly targetDevice: DeviceRef;
  /** Every credential installed on the target (unlisted statuses are taken as valid). */
  readonly credentialIdsOnTarget: readonly string[];
}

export interface OverTemporaryInput extends CredentialFacts {
  /** The original, invalid under an open temporary replacement request. */
  readonly originalDevice: DeviceRef;
  /** The reason of the new request: must give a permanent replacement. */
  readonly reason: ReplacementReason;
  /** Every credential installed on the original. */
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
  holdAll(plan, input, input.credentialIdsOnTarget);
  return ok(withAffected(plan, input));
}

function holdAll(plan: ReplacementPlan, facts: CredentialFacts, ids: readonly string[]): void {
  const others = heldElsewhere(facts);
  const all = unique(ids);
  plan.suspendCredentialIds = all.filter((c) => statusOf(facts, c, 'valid') === 'valid');
  plan.joinHoldCredentialIds = all.filter(
    (c) => statusOf(facts, c, 'valid') === 'suspended' && others.has(c),
  );
}

/**
 * The reference's "permanent replacement over temporary": a forgotten card turns out lost. The
 * original is already invalid under the temporary request and its credentials on hold; the new,
 * permanent request joins those holds and moves no device (the person keeps working with the
 * temporary device until the permanent one is issued, which then ends both).
 */
export function planPermanentOverTemporary(
  input: OverTemporaryInput,
): Result<ReplacementPlan, ValidationError | ConflictError> {
  if (!isPermanent(replacementTypeFor(input.reason)))
    return fail(
      new ConflictError(
        'This device already has a temporary replacement: terminate it when the card is found, ' +
          'or request a permanent replacement (lost, stolen, damaged, expired)',
        { reason: input.reason },
      ),
    );
  if (input.originalDevice.state !== 'invalid')
    return fail(
      new ConflictError(`The device is ${input.originalDevice.state.replace(/_/g, ' ')}, not invalid`, {
        deviceId: input.originalDevice.id,
        state: input.originalDevice.state,
      }),
    );
  const plan = emptyPlan();
  holdAll(plan, input, input.credentialIdsOnTarget);
  return ok(withAffected(plan, input));
}

export interface CancellationInput extends CredentialFacts, OriginalRelease {
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
  const plan = emptyPlan();
  const refused = releaseOriginal(plan, input.originalDevice, input);
  if (refused) return fail(refused);
  plan.reinstateCredentialIds = liftable(input, input.suspendedCredentialIds);
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
      case 'pending':
        // Printed and held back (reference 002): it holds the person's keys and certificates, and
        // only a reader can wipe it. The desk decides: activate it (completing the request) or
        // recycle it (the request lets it go), then the request can be cancelled.
        return fail(
          new ConflictError(
            'The replacement card was printed and is pending activation: activate it (that completes ' +
              'the request) or recycle it, then cancel the request',
            { deviceId: replacement.id, state: replacement.state },
          ),
        );
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

export interface TemporaryTerminationInput extends CredentialFacts, OriginalRelease {
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
  const terminating = check(input.temporaryDevice, 'terminate');
  if (terminating) return fail(terminating);
  const plan = emptyPlan();
  const refused = releaseOriginal(plan, input.originalDevice, input);
  if (refused) return fail(refused);
  plan.terminateDeviceIds.push(input.temporaryDevice.id);
  plan.reinstateCredentialIds = liftable(input, input.suspendedCredentialIds);
  // A credential of the original restored onto the temporary device (an archived key-management
  // key) is the original's: it goes back with it, and is not revoked with the temporary device's own.
  const originals = new Set(input.suspendedCredentialIds);
  plan.revokeCredentials = unique(input.temporaryCredentialIds)
    .filter((c) => !originals.has(c) && statusOf(input, c, 'valid') !== 'revoked')
    .map((credentialId) => ({ credentialId, reason: TEMPORARY_END_REASON }));
  plan.uninstallCredentials = unique(input.temporaryCredentialIds)
    .filter((c) => originals.has(c))
    .map((credentialId) => ({ credentialId, deviceId: input.temporaryDevice.id }));
  return ok(withAffected(plan, input));
}

export interface PermanentIssuedInput extends CredentialFacts {
  /** The reason of the permanent replacement request. */
  readonly reason: ReplacementReason;
  /** Every device of the person left invalid by replacement requests (the original, and a temporary one). */
  readonly invalidDevices: readonly DeviceRef[];
  /**
   * Active temporary devices of earlier temporary requests for the same original (permanent over
   * temporary): terminated too, their own credentials revoked (cessationOfOperation, as when a
   * temporary device ends).
   */
  readonly temporaryDevices?: readonly DeviceRef[];
  /** Credential ids on each of those devices (unlisted statuses: taken as suspended). */
  readonly credentialIdsByDevice: Readonly<Record<string, readonly string[]>>;
  /**
   * Credentials carried over onto the replacement device (an archived key-management key and its
   * certificate restored onto it, see keyRecoveryFor): not revoked, and released from their hold.
   */
  readonly keptCredentialIds?: readonly string[];
}

/**
 * Ref. 003: "Issuing a permanent replacement device terminates the invalid devices", and their
 * certificates are revoked (DESIGN.md) with the reason from revocationReasonFor. A credential of the
 * original that also lives on a device that is not ending (a key-management key on the person's
 * phone) is kept when the reason is not a compromise: the card is dead, not the key. Lost or stolen:
 * revoked everywhere, the key may be in someone else's hands.
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
  const temporary = input.temporaryDevices ?? [];
  const notEnding = temporary.find((d) => !deviceTransition(d.state, 'terminate').ok);
  if (notEnding)
    return fail(
      new ConflictError(`The temporary device ${notEnding.id} is ${notEnding.state.replace(/_/g, ' ')}`, {
        deviceId: notEnding.id,
        state: notEnding.state,
      }),
    );
  const plan = emptyPlan();
  const reason = revocationReasonFor(input.reason);
  const byDevice = input.credentialIdsByDevice;
  const on = (ids: readonly string[]) =>
    unique(ids.flatMap((d) => (Object.hasOwn(byDevice, d) ? (byDevice[d] ?? []) : [])));
  const invalidIds = unique(input.invalidDevices.map((d) => d.id));
  const temporaryIds = unique(temporary.map((d) => d.id));
  plan.terminateDeviceIds = unique([...invalidIds, ...temporaryIds]);
  const ending = new Set(plan.terminateDeviceIds);
  const originals = on(invalidIds);
  const originalSet = new Set(originals);
  const shared = input.sharedDeviceIdsByCredential ?? {};
  const livesOn = (c: string) =>
    (Object.hasOwn(shared, c) ? (shared[c] ?? []) : []).some((d) => !ending.has(d));
  const kept = new Set([
    ...(input.keptCredentialIds ?? []),
    ...(reason === 'keyCompromise' ? [] : originals.filter(livesOn)),
  ]);
  const revoke = (ids: string[], why: RevocationReason) =>
    ids
      .filter((c) => !kept.has(c) && statusOf(input, c, 'suspended') !== 'revoked')
      .map((credentialId) => ({ credentialId, reason: why }));
  plan.revokeCredentials = [
    ...revoke(originals, reason),
    // The temporary device's own certificates end as when it is terminated.
    ...revoke(
      on(temporaryIds).filter((c) => !originalSet.has(c)),
      TEMPORARY_END_REASON,
    ),
  ];
  plan.reinstateCredentialIds = liftable(
    input,
    [...kept].filter((c) => originalSet.has(c)),
  );
  plan.uninstallCredentials = plan.terminateDeviceIds.flatMap((deviceId) =>
    (Object.hasOwn(byDevice, deviceId) ? (byDevice[deviceId] ?? []) : [])
      .filter((c) => kept.has(c))
      .map((credentialId) => ({ credentialId, deviceId })),
  );
  return ok(withAffected(plan, input));
}
