// The claim of the jobs queued for a server (services/issuance/job-dispatch.ts, issue #20): the
// claim's own statement also reads what each job's run needs — its device, policy, person and the
// sealed initial PIN and PUK the start stored — so the holder does not read them again one
// statement at a time (decision 0036: what the start knows goes to the run).
import type { Queryable } from './db.js';
import { joinedDevice, joinedDeviceColumns, type Device } from './devices-repo.js';
import { joinedJob, joinedJobColumns, type IssuanceJob } from './jobs-repo.js';
import { joinedPolicy, joinedPolicyColumns, type Policy } from './policies-repo.js';
import { joinedUser, joinedUserColumns, type User } from './users-repo.js';

/** A claimed job with what its run reads; null for a part that is not there. */
export interface ClaimedRun {
  job: IssuanceJob;
  /** How the holder is to run it (stored with it until claimed; removed by the claim). */
  dispatch: Record<string, unknown>;
  device: Device | null;
  policy: Policy | null;
  user: User | null;
  /** The device's secrets as stored (sealed by the master key: InitialPinVault opens them). */
  sealed: { pin: Uint8Array | null; puk: Uint8Array | null };
}

/**
 * The jobs queued for `owner`, claimed (SKIP LOCKED: a sweep and a wake-up never both take one),
 * oldest first, each with what its run reads, in one statement.
 */
export async function claimQueuedRuns(db: Queryable, owner: string): Promise<ClaimedRun[]> {
  const rows = await db.query<Record<string, unknown>>(
    `WITH claimed AS (
       UPDATE issuance_jobs j SET awaiting_owner = false, options = j.options - 'dispatch'
         FROM (SELECT id, options -> 'dispatch' AS dispatch FROM issuance_jobs
                WHERE owner_instance = $1 AND awaiting_owner AND status = 'running'
                ORDER BY created_at, id FOR UPDATE SKIP LOCKED) q
        WHERE j.id = q.id RETURNING j.*, q.dispatch)
     SELECT ${joinedJobColumns('c', 'j__')}, c.dispatch AS dispatch,
            ${joinedDeviceColumns('d', 'd__')}, ${joinedPolicyColumns('p', 'p__')},
            ${joinedUserColumns('u', 'u__')}, pin.value AS sealed_pin, puk.value AS sealed_puk
       FROM claimed c
       LEFT JOIN devices d ON d.id = c.device_id
       LEFT JOIN device_policies p ON p.id = c.policy_id
       LEFT JOIN users u ON u.id = c.user_id
       LEFT JOIN device_secrets pin ON pin.device_id = c.device_id AND pin.kind = 'initial_pin'
       LEFT JOIN device_secrets puk ON puk.device_id = c.device_id AND puk.kind = 'puk'
      ORDER BY c.created_at, c.id`,
    [owner],
  );
  return rows.map((r) => ({
    job: joinedJob(r, 'j__')!,
    dispatch: (r.dispatch as Record<string, unknown> | null) ?? {},
    device: joinedDevice(r, 'd__'),
    policy: joinedPolicy(r, 'p__'),
    user: joinedUser(r, 'u__'),
    sealed: {
      pin: (r.sealed_pin as Uint8Array | null) ?? null,
      puk: (r.sealed_puk as Uint8Array | null) ?? null,
    },
  }));
}
