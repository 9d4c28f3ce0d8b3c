// The replacement use cases (reference 003) and device suspension, wired once: each module has
// one job; the runtime builds them here and the routes reach them through this object.
import type { Db } from '../../store/db.js';
import type { Clock } from '../context.js';
import type { Revocation } from '../pki/revocation.js';
import type { KeyRecovery } from '../pki/key-recovery.js';
import { BindReplacement } from './bind.js';
import { CancelReplacement } from './cancel.js';
import type { CardFollower, ReplacementDeps, WalletsEnded } from './common.js';
import { DecideReplacement } from './decide.js';
import { ReplacementIssuance } from './issuance.js';
import { TemporaryExpiry } from './expiry.js';
import { ReplacementQueries } from './queries.js';
import { SubmitReplacement } from './submit.js';
import { DeviceSuspension } from './suspension.js';
import { TerminateDevice } from './terminate.js';

export type { ReplacementInput } from './submit.js';
export type { RequestView, RequestDetail, RequestStep, DeviceHolds } from './queries.js';
export type { TerminationOutcome } from './terminate.js';
export type { RequestRecord } from './common.js';

export interface Replacement {
  submit: SubmitReplacement;
  decide: DecideReplacement;
  cancel: CancelReplacement;
  bind: BindReplacement;
  terminate: TerminateDevice;
  suspension: DeviceSuspension;
  expiry: TemporaryExpiry;
  /** Issuing the replacement through the ordinary issuance (the issuance's RequestLink). */
  issuance: ReplacementIssuance;
  queries: ReplacementQueries;
  /** What follows a PIV card's changes in their transactions (the derived mobile IDs). */
  followCards(follower: CardFollower): void;
}

export function createReplacement(deps: {
  db: Db;
  clock: Clock;
  revocation: Pick<Revocation, 'changeCredentials' | 'publishAfterCommit'>;
  keyRecovery?: Pick<KeyRecovery, 'recover'>;
  walletsEnded?: WalletsEnded;
}): Replacement {
  const d: ReplacementDeps = { ...deps };
  return {
    submit: new SubmitReplacement(d),
    decide: new DecideReplacement(d),
    cancel: new CancelReplacement(d),
    bind: new BindReplacement(d),
    terminate: new TerminateDevice(d),
    suspension: new DeviceSuspension(d),
    expiry: new TemporaryExpiry(d),
    issuance: new ReplacementIssuance(d),
    queries: new ReplacementQueries({ db: deps.db }),
    followCards: (follower) => {
      d.cardFollower = follower;
    },
  };
}
