// The workstation's card printers, as the agent reports them beside its readers: each is an IPP
// printer (a CUPS queue, an IPP Everywhere printer, or the demo's virtual printer) with the name of
// its embedded encoder — the PC/SC reader inside it that personalizes the card before it is
// printed. The agent prints what the server rendered and follows the job to its end; it decides
// nothing about what is printed.
import type { PrinterInfo } from '../cards/transport/agent-protocol.js';
import { cupsQueues, printerStatus, printPdf, type JobProgress } from '../print/ipp-client.js';
import { FolderPrinter } from './folder-printer.js';

export interface PrinterSpec {
  name: string;
  /** ipp://host:port/path (CUPS: ipp://localhost:631/printers/QUEUE). */
  uri: string;
  /** The PC/SC reader inside the printer; null for a printer without an encoder. */
  encoder: string | null;
}

/**
 * `NAME=URI` (the --printer option), and `NAME=READER` pairs (--encoder) naming each printer's
 * encoder. Throws a message fit for the command line when a value is malformed.
 */
export function parsePrinterSpecs(printers: readonly string[], encoders: readonly string[]): PrinterSpec[] {
  const pair = (s: string, what: string) => {
    const i = s.indexOf('=');
    if (i <= 0 || i === s.length - 1) throw new Error(`${what} "${s}" must be NAME=VALUE`);
    return [s.slice(0, i).trim(), s.slice(i + 1).trim()] as const;
  };
  const enc = new Map(encoders.map((e) => pair(e, '--encoder')));
  const specs = printers.map((p) => {
    const [name, uri] = pair(p, '--printer');
    if (!/^ipps?:\/\//.test(uri))
      throw new Error(`--printer ${name}: "${uri}" is not an ipp:// or ipps:// address`);
    return { name, uri, encoder: enc.get(name) ?? null };
  });
  for (const name of enc.keys())
    if (!specs.some((s) => s.name === name)) throw new Error(`--encoder ${name}: no --printer has that name`);
  return specs;
}

/** Adds every queue of a CUPS server (ipp://localhost:631), keeping printers already named. */
export async function withCupsQueues(specs: PrinterSpec[], server: string, encoders: readonly string[]) {
  const enc = new Map(encoders.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  const queues = await cupsQueues(server);
  return [
    ...specs,
    ...queues
      .filter((q) => !specs.some((s) => s.name === q.name))
      .map((q) => ({ ...q, encoder: enc.get(q.name) ?? null })),
  ];
}

export class AgentPrinters {
  constructor(
    /** IPP printers, and the demo's virtual printer (FolderPrinter). */
    private readonly specs: readonly (PrinterSpec | FolderPrinter)[],
    private readonly user = 'tessera-agent',
  ) {}

  get size(): number {
    return this.specs.length;
  }

  /** Every printer with its state now; one that does not answer is `unreachable`. */
  async snapshot(): Promise<PrinterInfo[]> {
    return Promise.all(
      this.specs.map(async (s): Promise<PrinterInfo> => {
        if (s instanceof FolderPrinter) return s.snapshot();
        try {
          const st = await printerStatus(s.uri, 3000);
          return {
            name: s.name,
            encoder: s.encoder,
            state: st.state,
            reasons: st.reasons.slice(0, 20).map((r) => r.slice(0, 64)),
            message: st.message.slice(0, 2000),
          };
        } catch (e) {
          return {
            name: s.name,
            encoder: s.encoder,
            state: 'unreachable',
            reasons: ['offline'],
            message: (e as Error).message.slice(0, 2000),
          };
        }
      }),
    );
  }

  async print(
    name: string,
    pdf: Buffer,
    opts: { jobName: string; user: string; timeoutMs: number; onProgress?: (p: JobProgress) => void },
  ): Promise<JobProgress> {
    const s = this.specs.find((p) => p.name === name);
    if (!s)
      throw Object.assign(new Error(`This agent has no printer named "${name}"`), {
        code: 'printer_unknown',
      });
    if (s instanceof FolderPrinter)
      return s.print(pdf, {
        jobName: opts.jobName,
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      });
    return printPdf(s.uri, pdf, {
      jobName: opts.jobName,
      user: opts.user || this.user,
      timeoutMs: opts.timeoutMs,
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
  }
}
