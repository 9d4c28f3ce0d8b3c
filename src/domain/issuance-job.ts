// An issuance job: one run of personalization (DESIGN.md "Domain" → Issuance job; references 000 and
// 001 for the progress bar, the retry button and the error the portal lets one copy).

import { fail, ok, type IllegalTransitionError, type Result } from './errors.js';
import { defineMachine } from './state-machine.js';

export const JOB_STATUSES = ['running', 'awaiting_confirmation', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const JOB_ACTIONS = ['succeed', 'printed', 'confirm', 'hold', 'fail', 'retry', 'cancel'] as const;
export type JobAction = (typeof JOB_ACTIONS)[number];

export const jobMachine = defineMachine<JobStatus, JobAction>('job', JOB_STATUSES, {
  succeed: { from: ['running'], to: 'succeeded' },
  // Ref. 002: a card that was encoded and printed waits at the print step for the operator, who
  // confirms it (the device becomes active) or holds it back (the device stays pending).
  printed: { from: ['running'], to: 'awaiting_confirmation' },
  confirm: { from: ['awaiting_confirmation'], to: 'succeeded' },
  hold: { from: ['awaiting_confirmation'], to: 'cancelled' },
  // Also how a job found running at server start is interrupted (DESIGN.md): a running job is never
  // cancelled directly, because a card may be half-written; it fails, then the person chooses.
  fail: { from: ['running'], to: 'failed' },
  // Ref. 001: "Retry starts the issuance again using the same device with the same policy".
  retry: { from: ['failed'], to: 'running' },
  // Ref. 001: "Cancel returns you to the User page"; only offered after a failure.
  cancel: { from: ['failed'], to: 'cancelled' },
});

export const jobTransition = jobMachine.transition;
export const allowedJobActions = jobMachine.allowedActions;

export interface JobRun {
  readonly status: JobStatus;
  /** 1 for the first run; each retry adds one. */
  readonly attempt: number;
}

/** jobTransition that also counts attempts: retry starts attempt n+1. */
export function applyJobAction(job: JobRun, action: JobAction): Result<JobRun, IllegalTransitionError> {
  const r = jobTransition(job.status, action);
  if (!r.ok) return fail(r.error);
  return ok({ status: r.value, attempt: action === 'retry' ? job.attempt + 1 : job.attempt });
}

/** The structured error a failed job keeps: what the portal's "copy error" copies (ref. 001). */
export interface JobError {
  readonly code: string;
  readonly message: string;
  readonly detail: string | null;
  readonly correlationId: string;
}

export interface IssuanceStep {
  readonly id: IssuanceStepId;
  readonly label: string;
  /** Share of the progress bar, relative to the others; repeated once per credential profile when perProfile. */
  readonly weight: number;
  readonly perProfile: boolean;
}

export type IssuanceStepId =
  | 'connect'
  | 'authenticate'
  | 'set_management_key'
  | 'set_retries'
  | 'generate_key'
  | 'request_certificate'
  | 'write_certificate'
  | 'write_chuid_ccc'
  | 'set_pin'
  | 'activate';

/**
 * The personalization of a PIV device, in order (SP 800-73-4 and the Yubico extensions: the card is
 * opened with its transport key, given its own management key, then a key pair and certificate per
 * credential profile). Weights reflect the time each takes: on-card key generation dominates.
 */
export const ISSUANCE_STEPS: readonly IssuanceStep[] = [
  { id: 'connect', label: 'Connect to the card', weight: 2, perProfile: false },
  { id: 'authenticate', label: 'Authenticate with the transport key', weight: 3, perProfile: false },
  { id: 'set_management_key', label: 'Set the management key', weight: 3, perProfile: false },
  { id: 'set_retries', label: 'Set PIN and PUK retries and the PUK', weight: 4, perProfile: false },
  { id: 'generate_key', label: 'Generate the key pair', weight: 20, perProfile: true },
  { id: 'request_certificate', label: 'Request the certificate', weight: 8, perProfile: true },
  { id: 'write_certificate', label: 'Write the certificate', weight: 5, perProfile: true },
  { id: 'write_chuid_ccc', label: 'Write the CHUID and CCC', weight: 3, perProfile: false },
  { id: 'set_pin', label: 'Set the PIN', weight: 3, perProfile: false },
  { id: 'activate', label: 'Activate the device', weight: 2, perProfile: false },
];

export const ISSUANCE_STEP_IDS: readonly IssuanceStepId[] = ISSUANCE_STEPS.map((s) => s.id);

export interface PlannedStep {
  readonly id: IssuanceStepId;
  readonly label: string;
  /** Which credential profile (0-based) a per-profile step is for; null for the others. */
  readonly profileIndex: number | null;
}

function checkProfilesCount(profilesCount: number): void {
  if (!Number.isInteger(profilesCount) || profilesCount < 0) {
    throw new RangeError(`profilesCount must be a whole number ≥ 0, got ${profilesCount}`);
  }
}

/**
 * The steps a job runs for `profilesCount` credential profiles, in order: each per-profile step is
 * done for every profile before the next step (all keys are generated, then all certificates
 * requested, then written).
 */
export function planIssuanceSteps(profilesCount: number): PlannedStep[] {
  checkProfilesCount(profilesCount);
  return ISSUANCE_STEPS.flatMap((s): PlannedStep[] =>
    s.perProfile
      ? Array.from({ length: profilesCount }, (_, i) => ({ id: s.id, label: s.label, profileIndex: i }))
      : [{ id: s.id, label: s.label, profileIndex: null }],
  );
}

/**
 * Progress 0..100 from the steps done so far. `completedStepIds` lists a step id each time it is
 * completed, so a per-profile step appears once per profile done (extra entries count for nothing,
 * as do unknown ids). 100 is reached only when every step is done; it is rounded down otherwise.
 */
export function progressFor(completedStepIds: readonly string[], profilesCount: number): number {
  checkProfilesCount(profilesCount);
  const done = new Map<string, number>();
  for (const id of completedStepIds) done.set(id, (done.get(id) ?? 0) + 1);
  let total = 0;
  let achieved = 0;
  for (const step of ISSUANCE_STEPS) {
    const times = step.perProfile ? profilesCount : 1;
    total += step.weight * times;
    achieved += step.weight * Math.min(done.get(step.id) ?? 0, times);
  }
  if (achieved >= total) return 100;
  return Math.floor((achieved * 100) / total);
}
