// Carries out a replacement plan (domain/replacement.ts) inside the step's transaction: devices
// move, holds are recorded for the step's cause, credentials and their certificates change status
// at the CA — all or nothing, with their audit events. The CRLs are re-signed after the commit.
import type { ReplacementPlan } from '../../domain/replacement.js';
import type { Queryable } from '../../store/db.js';
import { listDeviceCredentials, uninstallCredential } from '../../store/credentials-repo.js';
import { activeHolds, placeHolds, type HoldCause } from '../../store/holds-repo.js';
import type { Actor } from '../context.js';
import type { ChangedCertificates } from '../pki/revocation.js';
import { followCard, lockDevice, moveDevice, type Device, type ReplacementDeps } from './common.js';
import type { CredentialFacts } from '../../domain/replacement.js';
import type { DeviceAction } from '../../domain/device.js';

const sameCause = (h: { requestId: string | null; suspendedDeviceId: string | null }, c: HoldCause) =>
  'requestId' in c ? h.requestId === c.requestId : h.suspendedDeviceId === c.suspendedDeviceId;

/**
 * What the planners need to know about credentials: their status, the devices sharing them, and
 * which are held by a cause other than `cause` (another request, a device suspension).
 */
export async function credentialFacts(
  tx: Queryable,
  deviceIds: readonly string[],
  cause: HoldCause | null,
): Promise<Required<CredentialFacts> & { credentialIdsByDevice: Record<string, string[]> }> {
  const credentialStatusById: Record<string, 'valid' | 'suspended' | 'revoked'> = {};
  const sharedDeviceIdsByCredential: Record<string, string[]> = {};
  const credentialIdsByDevice: Record<string, string[]> = {};
  for (const deviceId of deviceIds) {
    const creds = await listDeviceCredentials(tx, deviceId);
    credentialIdsByDevice[deviceId] = creds.map((c) => c.id);
    for (const c of creds) {
      credentialStatusById[c.id] = c.status;
      sharedDeviceIdsByCredential[c.id] = c.deviceIds;
    }
  }
  const holds = await activeHolds(tx, Object.keys(credentialStatusById));
  const heldElsewhereCredentialIds = [
    ...new Set(holds.filter((h) => !cause || !sameCause(h, cause)).map((h) => h.credentialId)),
  ];
  return {
    credentialStatusById,
    sharedDeviceIdsByCredential,
    heldElsewhereCredentialIds,
    credentialIdsByDevice,
  };
}

/** Applies the plan; returns the CAs whose CRL to re-sign after the commit. */
export async function applyPlan(
  tx: Queryable,
  deps: ReplacementDeps,
  actor: Actor,
  plan: ReplacementPlan,
  o: { cause: HoldCause; at: Date; details: Record<string, unknown> },
): Promise<ChangedCertificates> {
  const moves: [readonly string[], DeviceAction][] = [
    [plan.invalidateDeviceIds, 'invalidate'],
    [plan.restoreDeviceIds, 'restore'],
    [plan.restoreSuspendedDeviceIds, 'restore_suspended'],
    [plan.unbindDeviceIds, 'unbind'],
    [plan.cancelDeviceIds, 'cancel'],
    [plan.terminateDeviceIds, 'terminate'],
  ];
  const moved: [Device, Device][] = [];
  for (const [ids, action] of moves)
    for (const id of ids) {
      const before = await lockDevice(tx, id);
      moved.push([before, await moveDevice(tx, actor, before, action, o.at, o.details, {}, deps)]);
    }
  for (const u of plan.uninstallCredentials) await uninstallCredential(tx, u.credentialId, u.deviceId);
  await placeHolds(tx, [...plan.suspendCredentialIds, ...plan.joinHoldCredentialIds], o.cause, o.at);
  const caIds = await deps.revocation.changeCredentials(
    tx,
    actor,
    [
      ...plan.suspendCredentialIds.map((credentialId) => ({ credentialId, action: 'suspend' as const })),
      ...plan.reinstateCredentialIds.map((credentialId) => ({ credentialId, action: 'reinstate' as const })),
      ...plan.revokeCredentials.map((r) => ({
        credentialId: r.credentialId,
        action: 'revoke' as const,
        reason: r.reason,
      })),
    ],
    o.at,
    o.details,
  );
  // What derives from a card follows it, once the whole plan is in place (a replacement's new card
  // is active, a temporary's original restored, before the card it replaces ends).
  const followed: ChangedCertificates[number][] = [];
  for (const [before, after] of moved)
    followed.push(...(await followCard(tx, deps, actor, before, after, o.at)));
  return [...caIds, ...followed];
}
