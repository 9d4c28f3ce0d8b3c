// What the phone's wallet shows of the server's work on it ("personalizing… 40 %", "choose your
// PIN where you started", "done"): a card sees only commands, so the server tells the wallet, over
// its own socket, how the latest issuance of its device stands, each time that job changes. Only
// jobs for the wallet's owner are told, and only what the portal shows the person: status,
// progress, step, whether the PIN is awaited, and the error's message (never a secret: errors
// carry none, docs/mobile.md).
import type { Queryable } from '../../store/db.js';
import { getDeviceBySerial } from '../../store/devices-repo.js';
import type { AgentRecord } from '../../store/agents-repo.js';

export type { AgentRecord };
import type { IssuanceJobs } from '../issuance/issuance-jobs.js';
import type { JobProgress } from '../issuance/job-progress.js';
import type { JobView } from '../issuance/job-view.js';

/** The frame the wallet gets (docs/mobile.md "The link", step 4). */
export interface WalletStatusFrame {
  v: 1;
  type: 'wallet-status';
  job: {
    /** The job's id: the wallet names it when it sends the PIN or asks for a retry (remote issuance). */
    id: string;
    status: string;
    progress: number;
    step: string;
    pinChangePending: boolean;
    /** Started on the phone (remote issuance): the PIN is chosen on the phone, not in a portal. */
    onPhone: boolean;
    error: string | null;
  } | null;
}

/** The socket end the feed writes to (the `ws` socket of the wallet's link). */
export interface StatusSocket {
  readonly readyState: number;
  send(data: string): void;
  once(event: 'close', listener: () => void): unknown;
}

const OPEN = 1;

export const walletStatusFrame = (job: JobView | null): WalletStatusFrame => ({
  v: 1,
  type: 'wallet-status',
  job: job && {
    id: job.id,
    status: job.status,
    progress: job.progress,
    step: job.step,
    pinChangePending: job.pinChangePending,
    onPhone: (job.options as { wallet?: boolean } | null)?.wallet === true,
    error: job.error?.message ?? null,
  },
});

export class WalletStatusFeed {
  constructor(private readonly deps: { db: Queryable; jobs: IssuanceJobs; progress: JobProgress }) {}

  /**
   * Tells the wallet on `socket` its device's latest job now and at each change, until the socket
   * closes. `serial` is the wallet card's (checked: a mobile device that is not someone else's).
   */
  async follow(socket: StatusSocket, wallet: AgentRecord, serial: string): Promise<void> {
    const device = await getDeviceBySerial(this.deps.db, serial);
    if (!device || device.type !== 'mobile') return;
    if (device.userId && device.userId !== wallet.ownerUserId) return;
    const own = (job: JobView | null) => job && job.userId === wallet.ownerUserId;
    let last = '';
    const tell = (job: JobView | null): void => {
      const data = JSON.stringify(walletStatusFrame(job));
      if (data === last || socket.readyState !== OPEN) return;
      last = data;
      socket.send(data);
    };
    // Jobs of other devices are skipped by id after one read.
    const others = new Set<string>();
    const onChange = (jobId: string): void => {
      if (others.has(jobId)) return;
      this.deps.jobs.get(jobId).then(
        (job) => {
          if (job.deviceId !== device.id) others.add(jobId);
          else if (own(job)) tell(job);
        },
        () => undefined, // a job that vanished tells the wallet nothing
      );
    };
    const stop = this.deps.progress.watchAll(onChange);
    socket.once('close', stop);
    const latest = await this.deps.jobs.latestForDevice(device.id);
    tell(own(latest) ? latest : null);
  }
}
