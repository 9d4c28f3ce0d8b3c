// A small IPP/2.0 client (RFC 8011) on the `ipp` package's message encoder and parser, with our own
// HTTP transport so every request has a deadline (the package's has none). It prints a PDF with
// Print-Job and follows the job with Get-Job-Attributes to its end; it reads a printer's state with
// Get-Printer-Attributes and a CUPS server's queues with CUPS-Get-Printers.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
// The package is CommonJS without types (ipp.d.ts declares it): only its two pure functions are
// used. It is sloppy-mode JavaScript (arguments.callee.name): the agent's single executable keeps
// it out of its strict bundle and compiles it apart (scripts/build-agent.mjs, decision 0012).
// Loaded on first use, so an agent without printers never evaluates it.
interface IppCodec {
  serialize(msg: Record<string, unknown>): Buffer;
  parse(buf: Buffer): IppResponse;
}
let codec: Promise<IppCodec> | undefined;
const ippCodec = (): Promise<IppCodec> => (codec ??= import('ipp').then((m) => m.default as IppCodec));

interface IppResponse {
  statusCode: string;
  id: number;
  'operation-attributes-tag'?: Record<string, unknown>;
  'printer-attributes-tag'?: Record<string, unknown> | Record<string, unknown>[];
  'job-attributes-tag'?: Record<string, unknown>;
  'unsupported-attributes-tag'?: Record<string, unknown>;
}

export const PRINTER_STATES = ['idle', 'processing', 'stopped'] as const;
export type PrinterState = (typeof PRINTER_STATES)[number];

/** The end states of a job (RFC 8011 §5.3.7), and `stopped`: the printer stopped while holding it. */
export const JOB_END_STATES = ['completed', 'aborted', 'canceled', 'stopped'] as const;
export type JobEndState = (typeof JOB_END_STATES)[number];
export type JobState = 'pending' | 'pending-held' | 'processing' | JobEndState;

export interface PrinterStatus {
  state: PrinterState;
  /** printer-state-reasons without "none" (media-empty, offline-report, paused…). */
  reasons: string[];
  message: string;
  acceptingJobs: boolean;
  formats: string[];
}

export interface JobProgress {
  jobId: number;
  state: JobState;
  reasons: string[];
  message: string;
}

/** An IPP request that failed: the printer unreachable, an error status, a malformed reply. */
export class IppError extends Error {
  constructor(
    readonly code: 'printer_unreachable' | 'printer_refused' | 'printer_timeout' | 'printer_protocol',
    message: string,
  ) {
    super(message);
    this.name = 'IppError';
  }
}

const JOB_STATE: Record<number | string, JobState> = {
  3: 'pending',
  4: 'pending-held',
  5: 'processing',
  6: 'stopped',
  7: 'canceled',
  8: 'aborted',
  9: 'completed',
  pending: 'pending',
  'pending-held': 'pending-held',
  processing: 'processing',
  'processing-stopped': 'stopped',
  canceled: 'canceled',
  aborted: 'aborted',
  completed: 'completed',
};
const PRINTER_STATE: Record<number | string, PrinterState> = {
  3: 'idle',
  4: 'processing',
  5: 'stopped',
  idle: 'idle',
  processing: 'processing',
  stopped: 'stopped',
};

const list = (v: unknown): string[] => (v === undefined ? [] : (Array.isArray(v) ? v : [v]).map(String));
const reasonsOf = (v: unknown) => list(v).filter((r) => r !== 'none');

/** Where the HTTP request goes for an ipp:// or ipps:// URI (port 631 by default). */
function endpoint(uri: string): URL {
  const u = new URL(uri);
  if (u.protocol !== 'ipp:' && u.protocol !== 'ipps:' && u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new IppError('printer_protocol', `"${uri}" is not an ipp:// or ipps:// printer address`);
  const secure = u.protocol === 'ipps:' || u.protocol === 'https:';
  const http = new URL(u.toString().replace(/^ipps?:/, secure ? 'https:' : 'http:'));
  if (!u.port && (u.protocol === 'ipp:' || u.protocol === 'ipps:')) http.port = '631';
  return http;
}

let nextId = 1;

async function send(
  uri: string,
  operation: string,
  attrs: Record<string, unknown>,
  opts: { timeoutMs: number; data?: Buffer; jobAttrs?: Record<string, unknown> },
): Promise<IppResponse> {
  const url = endpoint(uri);
  const ipp = await ippCodec();
  const body = ipp.serialize({
    version: '2.0',
    operation,
    id: nextId++ & 0x7fffffff,
    'operation-attributes-tag': {
      'attributes-charset': 'utf-8',
      'attributes-natural-language': 'en',
      'printer-uri': uri.replace(/^http/, 'ipp'),
      ...attrs,
    },
    ...(opts.jobAttrs ? { 'job-attributes-tag': opts.jobAttrs } : {}),
    ...(opts.data ? { data: opts.data } : {}),
  });
  const reply = await new Promise<Buffer>((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/ipp', 'content-length': body.length },
        signal: AbortSignal.timeout(opts.timeoutMs),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(Buffer.concat(chunks))
            : reject(
                new IppError(
                  'printer_refused',
                  `The printer answered HTTP ${res.statusCode} to ${operation}`,
                ),
              ),
        );
        res.on('error', reject);
      },
    );
    req.on('error', (e: Error & { code?: string }) =>
      reject(
        e.name === 'AbortError' || e.name === 'TimeoutError'
          ? new IppError(
              'printer_timeout',
              `The printer did not answer ${operation} within ${opts.timeoutMs} ms`,
            )
          : new IppError(
              'printer_unreachable',
              `The printer at ${url.host} cannot be reached (${e.code ?? e.message})`,
            ),
      ),
    );
    req.end(body);
  });
  let res: IppResponse;
  try {
    res = ipp.parse(reply);
  } catch {
    throw new IppError('printer_protocol', `The printer's answer to ${operation} is not IPP`);
  }
  if (!/^successful-ok/.test(res.statusCode)) {
    const msg = res['operation-attributes-tag']?.['status-message'];
    throw new IppError(
      'printer_refused',
      `The printer refused ${operation}: ${res.statusCode}${msg ? ` (${String(msg)})` : ''}`,
    );
  }
  return res;
}

const printerAttrs = (res: IppResponse): Record<string, unknown> => {
  const p = res['printer-attributes-tag'];
  return (Array.isArray(p) ? p[0] : p) ?? {};
};

export async function printerStatus(uri: string, timeoutMs = 5000): Promise<PrinterStatus> {
  const res = await send(
    uri,
    'Get-Printer-Attributes',
    {
      'requested-attributes': [
        'printer-state',
        'printer-state-reasons',
        'printer-state-message',
        'printer-is-accepting-jobs',
        'document-format-supported',
      ],
    },
    { timeoutMs },
  );
  const a = printerAttrs(res);
  return {
    state: PRINTER_STATE[a['printer-state'] as string] ?? 'stopped',
    reasons: reasonsOf(a['printer-state-reasons']),
    message: String(a['printer-state-message'] ?? ''),
    acceptingJobs: a['printer-is-accepting-jobs'] !== false,
    formats: list(a['document-format-supported']),
  };
}

/** The queues of a CUPS server (CUPS-Get-Printers), as ipp:// URIs on that server. */
export async function cupsQueues(
  serverUri: string,
  timeoutMs = 5000,
): Promise<{ name: string; uri: string }[]> {
  const res = await send(
    serverUri,
    'CUPS-Get-Printers',
    { 'requested-attributes': ['printer-name'] },
    { timeoutMs },
  );
  const groups = res['printer-attributes-tag'];
  const base = new URL(serverUri);
  return (Array.isArray(groups) ? groups : groups ? [groups] : []).map((g) => {
    const name = String(g['printer-name']);
    return { name, uri: `ipp://${base.host}/printers/${encodeURIComponent(name)}` };
  });
}

export interface PrintOptions {
  jobName: string;
  user: string;
  /** Hears every change of the job's state. */
  onProgress?: (p: JobProgress) => void;
  /** Between two Get-Job-Attributes. */
  pollMs?: number;
  /** For the whole job, submission to end. */
  timeoutMs?: number;
  requestTimeoutMs?: number;
}

/**
 * Prints a PDF (Print-Job, application/pdf) and follows the job to its end: completed, aborted,
 * canceled, or stopped (the job is held because the printer stopped: media-empty, offline…), with
 * the printer's and the job's reasons. A job not ended by timeoutMs ends as `stopped` with reason
 * `timeout`, so the caller always gets an outcome or an IppError for the submission itself.
 */
export async function printPdf(uri: string, pdf: Buffer, opts: PrintOptions): Promise<JobProgress> {
  const requestTimeoutMs = opts.requestTimeoutMs ?? 15_000;
  const res = await send(
    uri,
    'Print-Job',
    {
      'requesting-user-name': opts.user.slice(0, 255),
      'job-name': opts.jobName.slice(0, 255),
      'document-format': 'application/pdf',
    },
    { timeoutMs: requestTimeoutMs, data: pdf },
  );
  const job = res['job-attributes-tag'] ?? {};
  const jobId = Number(job['job-id']);
  if (!Number.isInteger(jobId))
    throw new IppError('printer_protocol', 'The printer accepted the job but gave no job-id');
  let last: JobProgress = {
    jobId,
    state: JOB_STATE[job['job-state'] as string] ?? 'pending',
    reasons: reasonsOf(job['job-state-reasons']),
    message: String(job['job-state-message'] ?? ''),
  };
  opts.onProgress?.(last);
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  const pollMs = opts.pollMs ?? 250;
  while (!(JOB_END_STATES as readonly string[]).includes(last.state)) {
    if (Date.now() > deadline) return { ...last, state: 'stopped', reasons: [...last.reasons, 'timeout'] };
    await new Promise((r) => setTimeout(r, pollMs));
    const j = await send(
      uri,
      'Get-Job-Attributes',
      {
        'job-id': jobId,
        'requesting-user-name': opts.user.slice(0, 255),
        'requested-attributes': ['job-state', 'job-state-reasons', 'job-state-message'],
      },
      { timeoutMs: requestTimeoutMs },
    );
    const a = j['job-attributes-tag'] ?? {};
    const next: JobProgress = {
      jobId,
      state: JOB_STATE[a['job-state'] as string] ?? last.state,
      reasons: reasonsOf(a['job-state-reasons']),
      message: String(a['job-state-message'] ?? ''),
    };
    if (next.state === 'pending' || next.state === 'processing' || next.state === 'stopped') {
      // A job held while the printer is stopped (disabled, out of cards, offline) will not move
      // without someone at the printer: it ends here, with the printer's reasons.
      const p = await printerStatus(uri, requestTimeoutMs).catch(() => null);
      if (p && p.state === 'stopped') {
        next.state = 'stopped';
        next.reasons = [...new Set([...next.reasons, ...p.reasons])];
        next.message = next.message || p.message;
      }
    }
    if (next.state !== last.state || next.reasons.join() !== last.reasons.join()) opts.onProgress?.(next);
    last = next;
  }
  return last;
}
