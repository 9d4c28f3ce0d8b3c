// streamJob with a job store whose reads finish when the test says: the events come in the order
// the reads began (an older snapshot is never written after a newer one), and nothing is written
// once the stream has ended. No sleeps: every step is driven by the test.
import { EventEmitter } from 'node:events';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { streamJob, type JobFeed } from '../../src/http/job-events.js';

type Snapshot = { status: string; progress: number };

/**
 * A fake job store whose reads finish when the test says so: `reads[i]` answers the i-th read once
 * `finish(i)` is called (or at once when it is marked `immediate`). No timers: the order of events
 * is the test's, not the machine's.
 */
function fakeIssuance(reads: { job: Snapshot; immediate?: boolean }[]) {
  const listeners: (() => void)[] = [];
  const gates = reads.map((r) => {
    let resolve!: () => void;
    const promise = new Promise<void>((res) => (resolve = res));
    if (r.immediate) resolve();
    return { promise, resolve };
  });
  let n = 0;
  let started = 0;
  const issuance = {
    async get() {
      const i = Math.min(n++, reads.length - 1);
      started++;
      await gates[i]!.promise;
      return { id: 'j1', step: 's', ...reads[i]!.job };
    },
    watch(_id: string, l: () => void) {
      listeners.push(l);
      return () => listeners.splice(listeners.indexOf(l), 1);
    },
  };
  return {
    issuance: issuance as JobFeed,
    changed: () => listeners.forEach((l) => l()),
    finish: (i: number) => gates[i]!.resolve(),
    readsStarted: () => started,
  };
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

/** Lets every promise callback that is ready run (one turn of the event loop). */
const settle = () => new Promise<void>((r) => setImmediate(r));

describe('issuance event stream', () => {
  // The stream also polls every 2 s (for a job run by another server): that timer is the test's
  // to advance, so a slow machine cannot slip an extra read in.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes snapshots in order although a later read would finish first', async () => {
    const store = fakeIssuance([
      { job: { status: 'running', progress: 10 } },
      { job: { status: 'running', progress: 20 }, immediate: true },
      { job: { status: 'succeeded', progress: 100 }, immediate: true },
    ]);
    const http = fakeHttp();
    const done = streamJob(store.issuance, 'j1', http.req, http.reply);
    await settle();
    store.changed(); // while the first read is still running
    await settle();
    // The second read waits for the first: had it run, its answer (ready at once) would be out first.
    expect(store.readsStarted()).toBe(1);
    expect(http.progress()).toEqual([]);
    store.finish(0);
    await done;
    await settle();
    expect(http.progress()).toEqual([10, 20]);
    expect(http.ended()).toBe(false);
    // The slow poll reads the job again; this time it has ended, and so does the stream.
    vi.advanceTimersByTime(2000);
    await settle();
    expect(http.progress()).toEqual([10, 20, 100]);
    expect(http.ended()).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('writes nothing after the client has gone', async () => {
    const store = fakeIssuance([{ job: { status: 'running', progress: 10 } }]);
    const http = fakeHttp();
    const done = streamJob(store.issuance, 'j1', http.req, http.reply);
    await settle();
    store.changed();
    http.raw.emit('close'); // the client leaves while a read is running
    store.finish(0);
    await done;
    await settle();
    vi.advanceTimersByTime(10_000);
    await settle();
    expect(http.ended()).toBe(true);
    expect(http.afterEnd()).toBe(0);
    expect(http.progress()).toEqual([]);
    expect(store.readsStarted()).toBe(1);
  });
});
