// Reading issuance jobs: one by id, a device's latest, and the self-issuance that still needs its
// person (so a reload or a closed browser loses nothing).
import { NotFoundError } from '../../domain/errors.js';
import type { Queryable } from '../../store/db.js';
import { listUserDevices, type Device } from '../../store/devices-repo.js';
import { getJob, latestJobForDevice } from '../../store/jobs-repo.js';
import { isSelfIssuance, jobView, type JobView } from './job-view.js';

export class IssuanceJobs {
  constructor(private readonly deps: { db: Queryable }) {}

  async get(id: string): Promise<JobView> {
    const j = await getJob(this.deps.db, id);
    if (!j) throw new NotFoundError('issuance job', id);
    return jobView(j);
  }

  async latestForDevice(deviceId: string): Promise<JobView | null> {
    const j = await latestJobForDevice(this.deps.db, deviceId);
    return j ? jobView(j) : null;
  }

  /**
   * The person's self-issuance that still needs them, newest first: running, waiting for their new
   * PIN, or failed on a card that still waits (so a reload or a closed browser loses nothing).
   */
  async openForUser(userId: string): Promise<{ device: Device; job: JobView } | null> {
    let best: { device: Device; job: JobView } | null = null;
    for (const device of await listUserDevices(this.deps.db, userId)) {
      const job = await this.latestForDevice(device.id);
      if (!job || !isSelfIssuance(job, userId)) continue;
      const open =
        job.status === 'running' ||
        (job.status === 'succeeded' && job.pinChangePending) ||
        (job.status === 'failed' && device.state === 'failed');
      if (open && (!best || job.updatedAt > best.job.updatedAt)) best = { device, job };
    }
    return best;
  }
}
