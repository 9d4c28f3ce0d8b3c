// Server-sent events for an issuance job: the job each time it changes, until it ends. The
// operator portal and the user portal follow their jobs the same way, through this one stream.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IssuanceService } from '../services/issuance-service.js';

/** Streams job `id`; the caller has already checked that the job exists and may be seen. */
export function streamJob(
  issuance: IssuanceService,
  id: string,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-correlation-id': String(req.id),
  });
  let last = '';
  let ended = false;
  const send = async () => {
    const job = await issuance.job(id);
    const data = JSON.stringify(job);
    if (data !== last) {
      last = data;
      res.write(`event: job\ndata: ${data}\n\n`);
    }
    if (job.status !== 'running') finish();
  };
  // In-process changes arrive at once; a slow poll covers a job run by another server.
  const unwatch = issuance.watch(id, () => void send().catch(finish));
  const timer = setInterval(() => void send().catch(finish), 2000);
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
