// Follows an issuance job as it runs: the server-sent events of GET …/jobs/:id/events (one `job`
// event per change, the stream ends with the job) — the operator's jobs or, in the user portal,
// one's own. If the stream breaks before the job
// ended — a proxy cutting it, a server restart — the job is read again and the stream reopened, so
// what is shown is always the server's state, never a guess.
import { useEffect, useState } from 'react';
import { api, toApiError, type ApiError } from '../api';
import type { IssuanceJob } from '../types';

/** Where a job is read and followed: the operator's routes, or the user portal's. */
export interface JobSource {
  eventsUrl: (id: string) => string;
  get: (id: string) => Promise<IssuanceJob>;
}

export const OPERATOR_JOBS: JobSource = { eventsUrl: api.issuance.eventsUrl, get: api.issuance.job };

export function useJob(jobId: string | null, initial?: IssuanceJob | null, from: JobSource = OPERATOR_JOBS) {
  const [job, setJob] = useState<IssuanceJob | null>(initial ?? null);
  const [error, setError] = useState<ApiError | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    if (!jobId) return;
    let closed = false;
    let source: EventSource | null = null;
    let timer: number | undefined;
    const open = () => {
      if (closed) return;
      source = new EventSource(from.eventsUrl(jobId));
      source.addEventListener('job', (e) => {
        const next = JSON.parse((e as MessageEvent<string>).data) as IssuanceJob;
        setJob(next);
        setError(null);
        if (next.status !== 'running') source?.close();
      });
      source.onerror = () => {
        source?.close();
        // The stream ends when the job ends (EventSource reports that as an error): read the job
        // once to know which it was, and reopen only while it still runs.
        from.get(jobId).then(
          (j) => {
            if (closed) return;
            setJob(j);
            if (j.status === 'running') timer = window.setTimeout(open, 1000);
          },
          (err: unknown) => {
            if (closed) return;
            setError(toApiError(err));
            timer = window.setTimeout(open, 3000);
          },
        );
      };
    };
    open();
    return () => {
      closed = true;
      source?.close();
      window.clearTimeout(timer);
    };
  }, [jobId, tick, from]);

  /** After a retry the same job runs again: start following it afresh. */
  const restart = (j: IssuanceJob) => {
    setJob(j);
    setTick((t) => t + 1);
  };
  return { job, error, setJob, restart };
}
