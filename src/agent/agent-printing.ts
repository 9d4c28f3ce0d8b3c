// The agent's printing: the snapshot of the workstation's card printers (sent when the server
// welcomes the agent, then again when it changes) and the print jobs the server sends. The client
// (agent-client.ts) owns the connection and hands this module its sending and logging.
import type { AgentBody, ServerMessage } from '../cards/transport/agent-protocol.js';
import { errorFields } from './error-fields.js';
import type { AgentPrinters } from './printers.js';

export interface AgentPrintingOptions {
  printers?: AgentPrinters | undefined;
  /** Sends a frame on the connection (nothing when it is not open). */
  send: (m: AgentBody) => void;
  log: (line: string) => void;
  /** Whether the agent is connected (welcomed) now. */
  connected: () => boolean;
  /** The server's heartbeat period now (its welcome names it). */
  heartbeatMs: () => number;
}

export class AgentPrinting {
  private printerTimer: NodeJS.Timeout | undefined;
  private lastPrinters = '';

  constructor(private readonly opts: AgentPrintingOptions) {}

  /** Stops the snapshots (the connection closed); the next welcome sends them again. */
  stop(): void {
    clearTimeout(this.printerTimer);
  }

  /**
   * The printers' snapshot; then again at every heartbeat period when something changed (a printer
   * went offline, ran out of cards), so the server's list stays true without asking.
   */
  async sendPrinters(first = false): Promise<void> {
    const printers = this.opts.printers;
    if (!printers || printers.size === 0) return;
    const list = await printers.snapshot();
    const key = JSON.stringify(list);
    if (key !== this.lastPrinters || first) {
      this.lastPrinters = key;
      this.opts.send({ type: 'printers', printers: list });
      if (first)
        for (const p of list)
          this.opts.log(
            `Printer "${p.name}": ${p.state}${p.reasons.length ? ` (${p.reasons.join(', ')})` : ''}${p.encoder ? `, encoder "${p.encoder}"` : ', no encoder'}`,
          );
    }
    clearTimeout(this.printerTimer);
    this.printerTimer = setTimeout(() => {
      if (this.opts.connected()) void this.sendPrinters();
    }, this.opts.heartbeatMs());
    this.printerTimer.unref();
  }

  async onPrint(m: Extract<ServerMessage, { type: 'print' }>): Promise<void> {
    const printers = this.opts.printers;
    if (!printers) {
      this.opts.send({
        type: 'print-error',
        id: m.id,
        code: 'printer_unknown',
        message: 'This agent has no printers',
      });
      return;
    }
    this.opts.log(`Printing "${m.jobName}" on "${m.printer}"`);
    try {
      const end = await printers.print(m.printer, Buffer.from(m.document, 'base64'), {
        jobName: m.jobName,
        user: m.user,
        timeoutMs: m.timeoutMs,
        onProgress: (p) => {
          if (
            p.state === 'completed' ||
            p.state === 'aborted' ||
            p.state === 'canceled' ||
            p.state === 'stopped'
          )
            return;
          this.opts.send({
            type: 'print-progress',
            id: m.id,
            jobId: p.jobId,
            state: p.state,
            reasons: p.reasons.slice(0, 20),
          });
        },
      });
      const state = end.state as 'completed' | 'aborted' | 'canceled' | 'stopped';
      this.opts.log(
        `Print job ${end.jobId} on "${m.printer}": ${state}${end.reasons.length ? ` (${end.reasons.join(', ')})` : ''}`,
      );
      this.opts.send({
        type: 'print-result',
        id: m.id,
        jobId: end.jobId,
        state,
        reasons: end.reasons.slice(0, 20).map((r) => r.slice(0, 64)),
        message: end.message.slice(0, 2000),
      });
    } catch (e) {
      this.opts.log(`Printing on "${m.printer}" failed: ${(e as Error).message}`);
      this.opts.send({ type: 'print-error', id: m.id, ...errorFields(e) });
    }
    void this.sendPrinters();
  }
}
