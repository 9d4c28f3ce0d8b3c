// An issuance job as the use cases and the portals see it: the options stored with the job (which
// reader, which PIN mode, whether the card was touched, whether a PIN change waits), the view the
// API returns, and whose job it is.
import type { IssuanceJob } from '../../store/jobs-repo.js';

export type { IssuanceJob, JobError } from '../../store/jobs-repo.js';

/** What a job remembers besides its row: written at start, merged as the run goes. */
export type JobOptions = {
  action: 'issue';
  pinMode: 'displayed' | 'disguised' | 'not_displayed';
  agentId: string;
  reader: string;
  /** Set once the card accepted our key: from then on a retry must wipe it first. */
  cardTouched?: boolean;
  changePinAtEnd: boolean;
  pinChangePending?: boolean;
  /** Started by the person in the user portal (startSelf): only these are the portal's to see. */
  portal?: boolean;
  /** Started on the person's phone (remote issuance): the wallet follows it and asks for the PIN. */
  wallet?: boolean;
  /** A temporary replacement device's validity in days (its policy's temporaryValidityDays). */
  validityDays?: number;
  /** Printed on a card printer after encoding (reference 002). */
  print?: JobPrint;
  /** The mobile ID order this issuance creates (reference 004, services/mobile-id/). */
  mobileId?: string;
  /** Only these of the policy's credential profiles (by name) are issued: a mobile ID policy's choice. */
  profiles?: string[];
  /** Properties put into the enrolment beside the person's own (a mobile ID policy's). */
  properties?: Record<string, string>;
};

/** The print of a job: which printer and layout, and what is known once the card is encoded. */
export type JobPrint = {
  printerId: string;
  printerName: string;
  layoutId: string;
  /** The card is encoded: a retry only prints again, and Cancel leaves the device pending. */
  encoded?: boolean;
  /** The card's dates, fixed when it was encoded: printed on it and set on the device. */
  issuedAt?: string;
  expiresAt?: string;
  /** The printer's job id once printed. */
  ippJobId?: number;
};

export interface JobView extends IssuanceJob {
  /** The operator (or user) is to set the PIN now ("not displayed" + "change PIN during issuance"). */
  pinChangePending: boolean;
  /** The job prints its card: where, with which layout, whether it is encoded (null: no printing). */
  print: {
    printerId: string;
    printerName: string;
    layoutId: string;
    encoded: boolean;
    printJobId: number | null;
  } | null;
}

export function jobView(j: IssuanceJob): JobView {
  const opts = j.options as Partial<JobOptions>;
  const p = opts.print;
  return {
    ...j,
    pinChangePending: opts.pinChangePending === true,
    print: p
      ? {
          printerId: p.printerId,
          printerName: p.printerName,
          layoutId: p.layoutId,
          encoded: p.encoded === true,
          printJobId: p.ippJobId ?? null,
        }
      : null,
  };
}

/** Whether the job waits for its new PIN (so its initial PIN is to be changed, not retrieved). */
export function pinChangePending(job: IssuanceJob | null): boolean {
  return (job?.options as Partial<JobOptions> | undefined)?.pinChangePending === true;
}

/**
 * Whether `job` is `userId`'s own self-issuance, started in the portal. A help-desk issuance for the
 * person is not: its card sits in the operator's agent, so the portal could neither follow nor
 * retry it, and the person must not see the operator's job.
 */
export function isSelfIssuance(job: IssuanceJob, userId: string): boolean {
  return job.userId === userId && (job.options as Partial<JobOptions> | null)?.portal === true;
}
