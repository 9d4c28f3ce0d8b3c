// Printing a rendered card on a workstation's card printer, through the agent that reports it
// (reference 002). The job is followed to its end; anything but "completed" is a PrintFailedError
// that says what the printer reported and what to do, so the card is never taken as printed.
import { DomainError, ValidationError } from '../../domain/errors.js';
import type { CardSide } from '../../domain/card-layout.js';
import { appendAudit } from '../../store/audit-repo.js';
import { listPrinterPreferences, putPrinterPreference } from '../../store/prints-repo.js';
import type { ConnectedPrinter, PrintJobOptions, PrintOutcome } from '../agent-hub.js';
import { auditActor, type Actor, type ServiceContext } from '../context.js';
import type { LayoutService } from './layout-service.js';
import type { PrintSettingsService } from './print-settings.js';

export type { ConnectedPrinter, PrintOutcome } from '../agent-hub.js';

/** How services reach printers: the agent hub in a server. */
export interface PrinterAccess {
  listPrinters(ownerUserId: string): Promise<ConnectedPrinter[]>;
  print(
    ownerUserId: string,
    agentId: string,
    printer: string,
    pdf: Buffer,
    opts: PrintJobOptions,
  ): Promise<PrintOutcome>;
}

/** A printer as the API names it: its agent and its name on that agent ("agentId:name"). */
export const printerIdOf = (p: { agentId: string; name: string }) => `${p.agentId}:${p.name}`;
export function parsePrinterId(id: string): { agentId: string; name: string } {
  const i = id.indexOf(':');
  if (i <= 0 || i === id.length - 1) throw new ValidationError(`"${id}" is not a printer id (agentId:name)`);
  return { agentId: id.slice(0, i), name: id.slice(i + 1) };
}

const REASON_WORDS: Record<string, string> = {
  'media-empty': 'it is out of cards',
  'media-needed': 'it needs cards',
  'media-jam': 'a card is jammed',
  offline: 'it is offline',
  'offline-report': 'it is offline',
  paused: 'it was paused (stopped) at the printer or print server',
  'cover-open': 'its cover is open',
  'marker-supply-empty': 'its ribbon is used up',
  'toner-empty': 'its ribbon is used up',
  timeout: 'the job did not finish in time',
  'job-canceled-by-user': 'someone canceled the job',
  'job-canceled-at-device': 'the job was canceled at the printer',
  'aborted-by-system': 'the printer gave up on the job',
};

/** The job did not complete: what the printer said, in words, with its raw reasons kept. */
export class PrintFailedError extends DomainError {
  constructor(printer: string, o: PrintOutcome) {
    const words = [
      ...new Set(
        o.reasons.map((r) => REASON_WORDS[r.replace(/-(report|warning|error)$/, '')] ?? REASON_WORDS[r] ?? r),
      ),
    ];
    super(
      'print_failed',
      `The card was not printed: the job on "${printer}" ended ${o.state}` +
        (words.length ? ` (${words.join('; ')})` : '') +
        `. Fix the printer, then Retry; or Cancel.`,
      { printer, jobId: o.jobId, state: o.state, reasons: o.reasons },
    );
  }
}

export interface PrintersView {
  /** Printing is turned on and a layout exists (the printer tile may show). */
  available: boolean;
  items: (ConnectedPrinter & { id: string })[];
  /** What this operator configured last on a workstation that is connected now (Configure once). */
  proposed: { printerId: string; encoder: string } | null;
}

const JOB_TIMEOUT_MS = 120_000;

export class PrintService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly deps: {
      printers: PrinterAccess;
      layouts: LayoutService;
      settings: PrintSettingsService;
    },
  ) {}

  /** The card printers of the actor's connected agents, with their encoders. */
  async printers(actor: Actor): Promise<PrintersView> {
    const { available } = await this.deps.settings.status();
    const items = (actor.id ? await this.deps.printers.listPrinters(actor.id) : []).map((p) => ({
      ...p,
      id: printerIdOf(p),
    }));
    let proposed: PrintersView['proposed'] = null;
    for (const pref of actor.id ? await listPrinterPreferences(this.ctx.db, actor.id) : []) {
      const printer = items.find((p) => p.agentId === pref.agentId && p.name === pref.printer);
      if (printer) {
        proposed = { printerId: printer.id, encoder: pref.encoder };
        break;
      }
    }
    return { available, items, proposed };
  }

  /**
   * Configure (reference 002): remembers the operator's printer and its encoder on that workstation,
   * proposed by `printers` next time. The printer must be one of theirs now.
   */
  async configure(actor: Actor, choice: { printerId: string; encoder: string }): Promise<PrintersView> {
    if (!actor.id) throw new ValidationError('Only a person configures their printer');
    const { agentId, name } = parsePrinterId(choice.printerId);
    const printer = (await this.deps.printers.listPrinters(actor.id)).find(
      (p) => p.agentId === agentId && p.name === name,
    );
    if (!printer)
      throw new ValidationError(
        `The printer "${choice.printerId}" is not one of your connected agents' printers`,
      );
    await this.ctx.db.transaction(async (tx) => {
      const at = this.ctx.clock.now();
      await putPrinterPreference(tx, actor.id!, { agentId, printer: name, encoder: choice.encoder }, at);
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'printer.configured',
        targetType: 'printer',
        targetId: choice.printerId.slice(0, 128),
        details: { encoder: choice.encoder },
        correlationId: actor.correlationId ?? null,
        at,
      });
    });
    return this.printers(actor);
  }

  /**
   * Prints a PDF on one of the actor's printers and waits for the job's end. Resolves only when
   * the job completed; otherwise throws PrintFailedError (or the agent's transport error).
   */
  async print(
    actor: Actor,
    printerId: string,
    pdf: Buffer,
    opts: { jobName: string; onProgress?: (p: { jobId: number; state: string; reasons: string[] }) => void },
  ): Promise<PrintOutcome> {
    if (!actor.id) throw new ValidationError('Only a person prints, through their own agent');
    const { agentId, name } = parsePrinterId(printerId);
    const outcome = await this.deps.printers.print(actor.id, agentId, name, pdf, {
      jobName: opts.jobName,
      user: actor.name,
      timeoutMs: JOB_TIMEOUT_MS,
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
    await this.ctx.db.transaction((tx) =>
      appendAudit(tx, {
        actor: auditActor(actor),
        action: outcome.state === 'completed' ? 'card.printed' : 'card.print_failed',
        targetType: 'printer',
        targetId: printerId.slice(0, 128),
        details: { job: opts.jobName, jobId: outcome.jobId, state: outcome.state, reasons: outcome.reasons },
        correlationId: actor.correlationId ?? null,
        at: this.ctx.clock.now(),
      }),
    );
    if (outcome.state !== 'completed') throw new PrintFailedError(name, outcome);
    return outcome;
  }

  /** A test card: the layout for a person (or a sample person) with a sample serial, printed. */
  async printSample(
    actor: Actor,
    input: { layoutId: string; printerId: string; userId?: string; sides?: CardSide[] },
  ): Promise<PrintOutcome & { pdf: Buffer }> {
    const pdf = await this.deps.layouts.preview(
      actor,
      { layoutId: input.layoutId },
      input.userId ? { userId: input.userId } : {},
    );
    const outcome = await this.print(actor, input.printerId, pdf, { jobName: `Tessera sample card` });
    return { ...outcome, pdf };
  }
}
