// The print step of issuance (reference 002). A job started with a printer and a layout encodes the
// card in the printer's encoder (the runner's personalization), then renders the card and prints it
// through the operator's agent, following the IPP job to its end; then it waits at the print step.
// Continue makes the device active; Cancel holds it back as pending (to be activated or recycled
// later). The card is never active unless it was encoded AND printed AND the operator confirmed.
import { createHash } from 'node:crypto';
import { deviceTransition } from '../../domain/device.js';
import { ConflictError, DomainError, NotFoundError, ValidationError, must } from '../../domain/errors.js';
import { jobTransition } from '../../domain/issuance-job.js';
import { appendAudit } from '../../store/audit-repo.js';
import type { Db, Queryable } from '../../store/db.js';
import { getDevice, type Device } from '../../store/devices-repo.js';
import {
  awaitConfirmation,
  finishJob,
  getJob,
  mergeJobOptions,
  updateJobProgress,
} from '../../store/jobs-repo.js';
import { getIssuancePrint, putIssuancePrint, type IssuancePrint } from '../../store/prints-repo.js';
import { auditActor, type Actor, type Clock } from '../context.js';
import type { CardRef } from './card-reader.js';
import { moveDevice } from './device-move.js';
import { keepsInitialPinAfterSuccess, type InitialPinVault } from './initial-pin.js';
import type { IssuanceJobs } from './issuance-jobs.js';
import type { JobChanges } from './job-progress.js';
import type { IssuanceJob, JobOptions, JobPrint, JobView } from './job-view.js';
import type { ChangedCertificates } from '../pki/revocation.js';
import type { RequestLink } from './request-link.js';
import { attemptEnded, runsAttempt } from './attempt-ended.js';

/** What issuance needs of card printing (services/printing): printers, layouts, the renderer. */
export interface CardPrinting {
  /** Printing is turned on and a layout exists ("printing configured"). */
  available(): Promise<boolean>;
  /** The printers of the actor's connected agents, each with its encoder. */
  printers(actor: Actor): Promise<{ id: string; agentId: string; name: string; encoder: string | null }[]>;
  /** The layout's name; NotFoundError when there is none. */
  layoutName(layoutId: string): Promise<string>;
  /** The card for a person, as printed (one page per side). */
  render(
    layoutId: string,
    userId: string,
    card: { serial: string; issuedAt: string; expiresAt: string },
  ): Promise<Buffer>;
  /** Prints and waits for the job's end; throws unless it completed. */
  print(
    actor: Actor,
    printerId: string,
    pdf: Buffer,
    opts: { jobName: string; onProgress?: (p: { jobId: number; state: string; reasons: string[] }) => void },
  ): Promise<{ jobId: number; state: string }>;
}

/** The printer and layout of POST /api/issuance. */
export interface PrintChoice {
  printerId: string;
  layoutId: string;
}

/** A layout could not be drawn for this card: the job fails with Retry/Cancel. */
export class RenderFailedError extends DomainError {
  constructor(layout: string, cause: unknown) {
    super(
      'render_failed',
      `The card could not be drawn with the layout "${layout}": ${(cause as Error)?.message ?? String(cause)}. ` +
        'Fix the layout, then Retry; or Cancel.',
      { layout },
    );
  }
}

/**
 * Checks, before any card work, that a print can happen: printing is available, the layout
 * exists, and the card is in the chosen printer's encoder (the card that is encoded is the one
 * printed).
 */
export async function checkPrintChoice(
  printing: CardPrinting | undefined,
  actor: Actor,
  choice: PrintChoice,
  card: CardRef,
): Promise<JobPrint> {
  if (!printing || !(await printing.available()))
    throw new ConflictError(
      'Card printing is not available: an administrator turns it on and makes a layout (Settings → Printing)',
    );
  await printing.layoutName(choice.layoutId);
  const printer = (await printing.printers(actor)).find((p) => p.id === choice.printerId);
  if (!printer)
    throw new ValidationError(
      `The printer "${choice.printerId}" is not one of your connected agents' printers`,
      { printerId: choice.printerId },
    );
  if (printer.agentId !== card.agentId || printer.encoder !== card.reader)
    throw new ValidationError(
      `The card must be in the encoder of "${printer.name}" (${printer.encoder ?? 'it has none'}), not in "${card.reader}"`,
      { printerId: choice.printerId, encoder: printer.encoder, reader: card.reader },
    );
  return { printerId: choice.printerId, printerName: printer.name, layoutId: choice.layoutId };
}

/**
 * The print phase of a job whose card is encoded: render, print, keep the document, and move the
 * job to the print step. Throws (the runner fails the job) when the render or the print fails.
 */
export async function printEncodedCard(
  deps: { db: Db; clock: Clock; printing: CardPrinting; changes: JobChanges },
  actor: Actor,
  run: Pick<IssuanceJob, 'id' | 'attempt'>,
  correlationId: string,
): Promise<void> {
  const { db, clock, printing } = deps;
  const jobId = run.id;
  const job = (await getJob(db, jobId))!;
  const print = (job.options as JobOptions).print!;
  const device = (await getDevice(db, job.deviceId))!;
  const report = async (step: string, progress: number) => {
    const runs = await updateJobProgress(db, jobId, run.attempt, progress, step, clock.now());
    if (runs) deps.changes.publish(jobId);
    return runs;
  };
  // Each step's report is also its guard: a stale run (its attempt ended by another server's sweep,
  // perhaps retried and printing there) draws and prints nothing (issue #20). The one before the
  // print is the last statement before the card goes to the printer.
  const step = async (label: string, progress: number) => {
    if (!(await report(label, progress))) throw attemptEnded(run);
  };
  await step(`Draw the card (${await printing.layoutName(print.layoutId).catch(() => 'layout')})`, 90);
  let pdf: Buffer;
  try {
    pdf = await printing.render(print.layoutId, job.userId, {
      serial: device.serial,
      issuedAt: print.issuedAt!,
      expiresAt: print.expiresAt!,
    });
  } catch (e) {
    if (e instanceof NotFoundError) throw e;
    throw new RenderFailedError(print.layoutId, e);
  }
  await step(`Print the card on "${print.printerName}"`, 92);
  const outcome = await printing.print({ ...actor, correlationId }, print.printerId, pdf, {
    jobName: `Tessera card ${device.serial}`,
    onProgress: (p) =>
      void report(`Print the card on "${print.printerName}": job ${p.jobId} ${p.state}`, 95).catch(
        () => undefined,
      ),
  });
  await db.transaction(async (tx) => {
    const at = clock.now();
    const j = (await getJob(tx, jobId, true))!;
    must(jobTransition(j.status, 'printed'));
    // Only the run's own attempt waits at the print step: a stale run (paused past its lease, its
    // attempt failed elsewhere and retried) keeps and says nothing for attempt 2 (issue #20).
    if (!runsAttempt(j, run.attempt)) throw attemptEnded(run);
    await putIssuancePrint(
      tx,
      {
        jobId,
        printerId: print.printerId,
        layoutId: print.layoutId,
        ippJobId: outcome.jobId,
        sha256: createHash('sha256').update(pdf).digest('hex'),
        pdf,
      },
      at,
    );
    await mergeJobOptions(tx, jobId, { print: { ...print, ippJobId: outcome.jobId } });
    await awaitConfirmation(tx, jobId, 'Printed: check the card, then Continue or Cancel', at);
    await appendAudit(tx, {
      actor: auditActor(actor),
      action: 'issuance.printed',
      targetType: 'device',
      targetId: device.id,
      details: { jobId, printerId: print.printerId, layoutId: print.layoutId, printJobId: outcome.jobId },
      correlationId,
      at,
    });
  });
  deps.changes.publish(jobId);
}

/**
 * Holds an encoded card back: pending, with the dates printed on it, its certificates and PIN kept
 * as they would be for an active card (it is activated later, or recycled).
 */
export async function holdPending(
  tx: Queryable,
  deps: { pins: Pick<InitialPinVault, 'drop'>; requests?: Pick<RequestLink, 'heldPending'> },
  actor: Actor,
  job: IssuanceJob,
  at: Date,
): Promise<Device> {
  const opts = job.options as JobOptions;
  // A replacement request keeps the card held back as its replacement and waits for its activation
  // (docs/replacement.md; decision 0026). The request is locked before the device (the lock order).
  if (job.requestId)
    await deps.requests?.heldPending(tx, actor, job.requestId, (await getDevice(tx, job.deviceId))!, at);
  const d = (await getDevice(tx, job.deviceId, true))!;
  const pending = await moveDevice(tx, d, 'hold_pending', cardDates(opts.print!), at);
  if (!keepsInitialPinAfterSuccess(opts.pinMode)) await deps.pins.drop(tx, d.id);
  await finishJob(tx, job.id, 'cancelled', job.error, at);
  await appendAudit(tx, {
    actor: auditActor(actor),
    action: 'issuance.held_pending',
    targetType: 'device',
    targetId: d.id,
    details: { jobId: job.id, userId: job.userId, from: job.status },
    correlationId: actor.correlationId ?? null,
    at,
  });
  return pending;
}

const cardDates = (p: JobPrint) => ({ issuedAt: new Date(p.issuedAt!), expiresAt: new Date(p.expiresAt!) });

/** The print step's Continue and Cancel, the printed document, and activating a pending card later. */
export class PrintStep {
  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      jobs: Pick<IssuanceJobs, 'get'>;
      pins: Pick<InitialPinVault, 'drop'>;
      changes: JobChanges;
      requests?: Pick<
        RequestLink,
        'heldPending' | 'findForDevice' | 'lockForCompletion' | 'complete' | 'publishAfterCommit'
      >;
      /** The job's success after the print step (IssuanceRunner.confirmPrinted). */
      confirm: (actor: Actor, jobId: string) => Promise<void>;
    },
  ) {}

  /**
   * Continue: the operator saw the printed card; the job succeeds as any issuance does (the
   * runner's success: device active with the printed dates, a replacement request completed).
   */
  async continue(actor: Actor, jobId: string): Promise<JobView> {
    await this.deps.jobs.get(jobId);
    await this.deps.confirm(actor, jobId);
    return this.deps.jobs.get(jobId);
  }

  /** Cancel at the print step: the card is not activated; the device waits as pending. */
  async cancel(actor: Actor, jobId: string): Promise<JobView> {
    const { db, clock } = this.deps;
    await this.deps.jobs.get(jobId);
    await db.transaction(async (tx) => {
      const job = (await getJob(tx, jobId, true))!;
      must(jobTransition(job.status, 'hold'));
      await holdPending(tx, this.deps, actor, job, clock.now());
    });
    this.deps.changes.publish(jobId);
    return this.deps.jobs.get(jobId);
  }

  /** The document the job sent to the printer, exactly as sent. */
  async document(jobId: string): Promise<IssuancePrint> {
    await this.deps.jobs.get(jobId);
    const p = await getIssuancePrint(this.deps.db, jobId);
    if (!p) throw new NotFoundError('printed card of issuance job', jobId);
    return p;
  }

  /**
   * Activate a pending device (its print was cancelled, reference 002): it becomes active. A
   * replacement request waiting for it completes in the same transaction, as Continue would have
   * completed it (the original terminated, its certificates revoked; a temporary device's due time).
   */
  async activate(actor: Actor, deviceId: string): Promise<Device> {
    const { db, clock, requests } = this.deps;
    let changed: ChangedCertificates = [];
    const out = await db.transaction(async (tx) => {
      // The request first, then the device (the replacement's lock order).
      const found = requests ? await requests.findForDevice(tx, deviceId) : null;
      const request = found && requests ? await requests.lockForCompletion(tx, found.id) : null;
      const d = await getDevice(tx, deviceId, true);
      if (!d) throw new NotFoundError('device', deviceId);
      must(deviceTransition(d.state, 'activate'));
      const at = clock.now();
      const active = await moveDevice(tx, d, 'activate', {}, at);
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'device.activated',
        targetType: 'device',
        targetId: d.id,
        details: { serial: d.serial, userId: d.userId, ...(request ? { requestId: request.id } : {}) },
        correlationId: actor.correlationId ?? null,
        at,
      });
      if (request && requests) changed = await requests.complete(tx, actor, request, active, at);
      return active;
    });
    if (requests && changed.length) await requests.publishAfterCommit(changed);
    return out;
  }
}
