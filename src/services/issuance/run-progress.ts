// A run's progress: the card steps done, and each step reported as the job's progress for those
// who watch it. The run waits only for the reports that must be stored before the card changes (the
// one carrying cardTouched); the others go on in groups across jobs while the card works
// (docs/decisions/0041-progress-reports-not-waited-gathered.md).
import { progressFor, type IssuanceStepId } from '../../domain/issuance-job.js';
import type { Queryable } from '../../store/db.js';
import { JobProgressWriter } from '../../store/job-progress-writer.js';
import type { Clock } from '../context.js';
import type { JobChanges } from './job-progress.js';
import type { IssuanceJob, JobOptions } from './job-view.js';

/**
 * How long a run's progress report waits for others before its statement goes: a watcher's bar
 * moves ten to twenty times a second at most, and a server writes a few statements a second for
 * all its cards instead of one per card step when few run at once (docs/decisions/0041).
 */
const PROGRESS_GATHER_MS = 50;

/** The writer all the runs of a server report through, so their reports share statements. */
export function runProgressWriter(db: Queryable): JobProgressWriter {
  return new JobProgressWriter(db, { gatherMs: PROGRESS_GATHER_MS });
}

/** The step a run reported last, with its progress. */
export interface ReachedStep {
  step: string;
  progress: number;
}

export class RunProgress {
  readonly #done: IssuanceStepId[] = [];
  // Options the next report writes with the progress (one statement instead of two).
  #optionsDue: Partial<JobOptions> | undefined;
  // A report the run did not wait for: the run's end waits for it, and its failure fails the run
  // at the next report, as when every report was waited for.
  #lastReport: Promise<void> = Promise.resolve();
  #reportFailed: { error: unknown } | undefined;
  #reached: ReachedStep | undefined;

  constructor(
    private readonly o: {
      writer: JobProgressWriter;
      changes: JobChanges;
      clock: Clock;
      job: Pick<IssuanceJob, 'id' | 'attempt'>;
      /** The credential profiles the run issues (the bar's length). */
      profiles: number;
      /** The card is printed after it is encoded. */
      printed: boolean;
    },
  ) {}

  /** A step of the card is done: the next report's bar counts it. */
  stepDone(id: IssuanceStepId): void {
    this.#done.push(id);
  }

  /** Options for the next report to write with its progress; the run waits for that report. */
  withNextReport(options: Partial<JobOptions>): void {
    this.#optionsDue = options;
  }

  /**
   * Reports the step starting. Throws the error of an earlier report the run went on without;
   * resolves at once, or — carrying options — once the report is stored.
   */
  async report(label: string): Promise<void> {
    if (this.#reportFailed) throw this.#reportFailed.error;
    const { writer, changes, clock, job } = this.o;
    const encoded = progressFor(this.#done, this.o.profiles);
    // A printed card's bar keeps its last tenth for drawing and printing it.
    const progress = this.o.printed ? Math.floor(encoded * 0.9) : encoded;
    this.#reached = { step: label, progress };
    const options = this.#optionsDue;
    this.#optionsDue = undefined;
    // The word for other servers rides with the progress's own statement (PostgreSQL).
    const word = changes.carry?.(job.id);
    const written = writer.write(job, progress, label, clock.now(), options, word?.notify).then((wrote) => {
      // Nothing changed (the run's attempt ended meanwhile): nothing to say.
      if (!wrote) return;
      if (word) word.here();
      else changes.publish(job.id);
    });
    // A report with options (cardTouched) is stored before the card changes. The others are
    // only what watchers see: the card goes on while they are written, and a newer report
    // replaces one still waiting for the statement in flight (fewer statements per card, in
    // groups across jobs: docs/decisions/0041).
    if (options) return written;
    this.#lastReport = written.catch((error: unknown) => {
      this.#reportFailed ??= { error };
    });
  }

  /** The last step reported: a failure names it, though its report may still be gathering. */
  get reached(): ReachedStep | undefined {
    return this.#reached;
  }

  /**
   * Resolves once the run's last report is written or failed (never throws). Its statement guards
   * the attempt, so a report written after the run's end changes nothing; the run is settled once
   * nothing of it is left in flight.
   */
  async settle(): Promise<void> {
    await this.#lastReport;
  }
}
