// Print jobs sent through one connected agent: each waits for the agent's report of its end (its
// progress passed on meanwhile), and fails when the agent never reports it or goes away.
import { randomUUID } from 'node:crypto';
import { TransportError } from '../cards/errors.js';
import { frame, type AgentMessage, type PrinterInfo } from '../cards/transport/agent-protocol.js';

/** A card printer of a connected agent, with its embedded encoder (one of the agent's readers). */
export interface ConnectedPrinter extends PrinterInfo {
  agentId: string;
  agentName: string;
}

export interface PrintOutcome {
  jobId: number;
  state: 'completed' | 'aborted' | 'canceled' | 'stopped';
  reasons: string[];
  message: string;
}

/** How a print job is named, bounded and followed (PrinterAccess.print, AgentHub.print). */
export interface PrintJobOptions {
  jobName: string;
  user: string;
  timeoutMs: number;
  onProgress?: (p: { jobId: number; state: string; reasons: string[] }) => void;
}

interface PendingPrint {
  resolve(o: PrintOutcome): void;
  reject(e: Error): void;
  onProgress?: (p: { jobId: number; state: string; reasons: string[] }) => void;
}

/** What an agent reports of a print job. */
export type PrintReply = Extract<AgentMessage, { type: 'print-progress' | 'print-result' | 'print-error' }>;

export class AgentPrints {
  readonly #pending = new Map<string, PendingPrint>();

  /** Sends the job to the agent; resolves with its end, rejects when the agent could not print it. */
  submit(
    socket: { send(data: string): void },
    agentName: string,
    printer: string,
    pdf: Buffer,
    opts: PrintJobOptions,
  ): Promise<PrintOutcome> {
    const id = randomUUID();
    return new Promise<PrintOutcome>((resolve, reject) => {
      // The agent ends every job itself (its own deadline is timeoutMs); this one only catches an
      // agent that never answers.
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(
          new TransportError(`The agent "${agentName}" did not report the print job's end`, { printer }),
        );
      }, opts.timeoutMs + 30_000);
      timer.unref();
      this.#pending.set(id, {
        resolve: (o) => (clearTimeout(timer), resolve(o)),
        reject: (e) => (clearTimeout(timer), reject(e)),
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      });
      socket.send(
        frame({
          type: 'print',
          id,
          printer,
          jobName: opts.jobName,
          user: opts.user,
          document: pdf.toString('base64'),
          timeoutMs: opts.timeoutMs,
        }),
      );
    });
  }

  deliver(m: PrintReply): void {
    switch (m.type) {
      case 'print-progress':
        this.#pending.get(m.id)?.onProgress?.({ jobId: m.jobId, state: m.state, reasons: m.reasons });
        return;
      case 'print-result': {
        const p = this.#pending.get(m.id);
        this.#pending.delete(m.id);
        p?.resolve({ jobId: m.jobId, state: m.state, reasons: m.reasons, message: m.message });
        return;
      }
      case 'print-error': {
        const p = this.#pending.get(m.id);
        this.#pending.delete(m.id);
        p?.reject(new TransportError(m.message, { code: m.code }));
        return;
      }
    }
  }

  /** The agent went away: every job still waiting fails. */
  failAll(reason: string): void {
    for (const p of this.#pending.values())
      p.reject(new TransportError(`The agent went away while printing (${reason})`, { reason }));
    this.#pending.clear();
  }
}
