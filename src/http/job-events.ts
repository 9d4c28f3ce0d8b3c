// Server-sent events for an issuance job: the job each time it changes, until it ends. The
// operator portal and the user portal follow their jobs the same way, through this one stream.
import { Value } from '@sinclair/typebox/value';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Issuance } from '../services/issuance/issuance.js';
import { Job } from './schemas/issuance.js';
import { SECURITY_HEADERS } from './security-headers.js';

/**
 * The job as GET /…/jobs/:id returns it. A hijacked reply bypasses the response schema, so without
 * this the stream would carry what the schema keeps private (startedBy, requestId, the options
 * with agent, reader and PIN mode).
 */
export function jobEventData(job: unknown): string {
  return JSON.stringify(Value.Clean(Job, Value.Clone(job)));
}

/** What the stream reads: the job, and word that it changed. */
export interface JobFeed {
  get(id: string): Promise<{ status: string }>;
  /** Calls `listener` whenever the job changes; returns unsubscribe. */
  watch(id: string, listener: () => void): () => void;
}

/** An issuance job's feed: read through its jobs, heard through its progress publisher. */
export const issuanceJobFeed = (issuance: Pick<Issuance, 'jobs' | 'progress'>): JobFeed => ({
  get: (id) => issuance.jobs.get(id),
  watch: (id, listener) => issuance.progress.watch(id, listener),
});

/** Streams job `id`; the caller has already checked that the job exists and may be seen. */
export function streamJob(
  feed: JobFeed,
  id: string,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    ...SECURITY_HEADERS, // hijack() skips the app's onSend hook, which sets these on other replies
    'content-type': 'text/event-stream',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-correlation-id': String(req.id),
  });
  let last = '';
  let ended = false;
  const sendOnce = async () => {
    if (ended) return;
    const job = await feed.get(id);
    if (ended) return; // the client left or the job ended while we read
    const data = jobEventData(job);
    if (data !== last) {
      last = data;
      res.write(`event: job\ndata: ${data}\n\n`);
    }
    if (job.status !== 'running') finish();
  };
  // The watch callback and the timer may fire while a send is still reading the job: sends run one
  // at a time, in order, so an older snapshot is never written after a newer one, and at most one
  // waits (it reads the job when it runs, so one is enough however many changes arrived).
  let chain: Promise<void> = Promise.resolve();
  let waiting = false;
  const send = (): Promise<void> => {
    if (ended || waiting) return chain;
    waiting = true;
    chain = chain
      .then(() => {
        waiting = false;
        return sendOnce();
      })
      .catch((e: unknown) => {
        req.log.warn({ err: e, jobId: id }, 'issuance event stream stopped by an error');
        finish();
      });
    return chain;
  };
  // In-process changes arrive at once; a slow poll covers a job run by another server.
  const unwatch = feed.watch(id, () => void send());
  const timer = setInterval(() => void send(), 2000);
  function finish() {
    if (ended) return;
    ended = true;
    unwatch();
    clearInterval(timer);
    res.end();
  }
  req.raw.on('close', finish);
  return send();
}
