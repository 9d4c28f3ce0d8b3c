// streamJob with a job store whose reads finish out of order: the events still come in the order
// the reads began (an older snapshot is never written after a newer one), and nothing is written
// once the stream has ended.
import { EventEmitter } from 'node:events';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { streamJob } from '../../src/http/job-events.js';
import type { IssuanceService } from '../../src/services/issuance-service.js';

type Snapshot = { status: string; progress: number };

/** A fake job store: each read returns the next snapshot after its own delay. */
function fakeIssuance(reads: { job: Snapshot; delayMs: number }[]) {
  const listeners: (() => void)[] = [];
  let n = 0;
  const issuance = {
    async job() {
      const r = reads[Math.min(n++, reads.length - 1)]!;
      await new Promise((res) => setTimeout(res, r.delayMs));
      return { id: 'j1', step: 's', ...r.job };
    },
    watch(_id: string, l: () => void) {
      listeners.push(l);
      return () => listeners.splice(listeners.indexOf(l), 1);
    },
  };
  return { issuance: issuance as unknown as IssuanceService, changed: () => listeners.forEach((l) => l()) };
}

function fakeHttp() {
  const writes: string[] = [];
  let ended = false;
  let afterEnd = 0;
  const raw = new EventEmitter();
  const req = { id: 'c1', raw, log: { warn: () => undefined } } as unknown as FastifyRequest;
  const reply = {
    hijack: () => undefined,
    raw: {
      writeHead: () => undefined,
      write: (s: string) => {
        if (ended) afterEnd++;
        writes.push(s);
      },
      end: () => {
        ended = true;
      },
    },
  } as unknown as FastifyReply;
  const progress = () => writes.map((w) => (JSON.parse(w.split('data: ')[1]!) as Snapshot).progress);
  return { req, reply, raw, progress, afterEnd: () => afterEnd, ended: () => ended };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('issuance event stream', () => {
  it('writes snapshots in order although a later read finishes first', async () => {
    const { issuance, changed } = fakeIssuance([
      { job: { status: 'running', progress: 10 }, delayMs: 60 },
      { job: { status: 'running', progress: 20 }, delayMs: 0 },
      { job: { status: 'succeeded', progress: 100 }, delayMs: 0 },
    ]);
    const http = fakeHttp();
    const done = streamJob(issuance, 'j1', http.req, http.reply);
    await sleep(10);
    changed(); // while the first (slow) read is still running
    await done;
    await sleep(80);
    expect(http.progress()).toEqual([10, 20]);
    changed();
    await sleep(20);
    expect(http.progress()).toEqual([10, 20, 100]);
    expect(http.ended()).toBe(true);
  });

  it('writes nothing after the client has gone', async () => {
    const { issuance, changed } = fakeIssuance([{ job: { status: 'running', progress: 10 }, delayMs: 40 }]);
    const http = fakeHttp();
    const done = streamJob(issuance, 'j1', http.req, http.reply);
    await sleep(10);
    changed();
    http.raw.emit('close'); // the client leaves while a read is running
    await done;
    await sleep(100);
    expect(http.ended()).toBe(true);
    expect(http.afterEnd()).toBe(0);
    expect(http.progress()).toEqual([]);
  });
});
