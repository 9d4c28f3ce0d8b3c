// Remote issuance on the phone (reference 003, "Remote Issuance Workflow (Mobile Smart Cards
// only)"; docs/mobile.md "Remote issuance"): a help-desk replacement request waits until the person
// opens, on their phone, the one-time link made for it. The wallet that redeemed that link is offered
// the request's new credentials ("new credentials are ready for you"); when the person accepts, the
// request's issuance runs on the wallet through the ordinary issuance with the request's id, and the
// person chooses the PIN on the phone at the end. The replacement then completes as its rules say
// (services/replacement/issuance.ts). What a wallet may do here is decided from the database (the
// link it redeemed, the request's state), never from the socket's memory: a phone that reconnects,
// to this server or another, is offered the same.
import { ConflictError, ForbiddenError, ValidationError } from '../../domain/errors.js';
import { isRequestFinal } from '../../domain/request.js';
import type { Queryable } from '../../store/db.js';
import { getDeviceBySerial, getDevice } from '../../store/devices-repo.js';
import { openJobForRequest } from '../../store/jobs-repo.js';
import { getRequest } from '../../store/requests-repo.js';
import { getUser } from '../../store/users-repo.js';
import { remoteRequestsOfWallet } from '../../store/wallet-links-repo.js';
import type { Permission } from '../../domain/permissions.js';
import type { Actor } from '../context.js';
import type { AgentRecord } from './wallet-status.js';
import type { IssuanceStarter } from '../issuance/issuance-starter.js';
import type { PinChangeAtEnd } from '../issuance/pin-change-at-end.js';
import type { IssuanceRetry } from '../issuance/issuance-retry.js';
import type { IssuanceJobs } from '../issuance/issuance-jobs.js';
import type { JobOptions, JobView } from '../issuance/job-view.js';
import { remoteRequestProblem } from './wallet-link-service.js';

/** What the person may do on their phone: what they may do in the user portal. */
const ON_PHONE: readonly Permission[] = ['self.read', 'self.issue'];

/** What the wallet shows: "New credentials are ready for you". */
export interface WalletOffer {
  requestId: string;
  /** "request #12" */
  number: number;
  reason: string | null;
  type: string | null;
  /** The device being replaced, as the person knows it. */
  replaces: { serial: string; type: string } | null;
}

export class WalletEnrolment {
  constructor(
    private readonly deps: {
      db: Queryable;
      starter: Pick<IssuanceStarter, 'startRemote'>;
      pinChange: Pick<PinChangeAtEnd, 'change'>;
      retry: Pick<IssuanceRetry, 'retry'>;
      jobs: Pick<IssuanceJobs, 'get'>;
      /** "Issuance retry for user" (security settings): the person may retry a failed set-up. */
      retryAllowed: () => Promise<boolean>;
    },
  ) {}

  /** The request this wallet may enrol now, or null. */
  async offer(wallet: AgentRecord, serial: string): Promise<WalletOffer | null> {
    const { db } = this.deps;
    const device = await getDeviceBySerial(db, serial);
    // Only a blank card takes new credentials (a failed attempt is retried, not offered again).
    if (device && (device.type !== 'mobile' || device.state !== 'inventory')) return null;
    for (const id of await remoteRequestsOfWallet(db, wallet.id)) {
      const r = await getRequest(db, id);
      if (!r || r.userId !== wallet.ownerUserId || remoteRequestProblem(r)) continue;
      if (device && device.id === r.targetDeviceId) continue;
      if (await openJobForRequest(db, r.id)) continue;
      const target = r.targetDeviceId ? await getDevice(db, r.targetDeviceId) : null;
      return {
        requestId: r.id,
        number: r.number,
        reason: r.reason,
        type: r.type,
        replaces: target ? { serial: target.serial, type: target.type } : null,
      };
    }
    return null;
  }

  /** The person accepted the offer on the phone: the request's issuance starts on this wallet. */
  async enrol(wallet: AgentRecord, serial: string, requestId: string): Promise<JobView> {
    const offer = await this.offer(wallet, serial);
    if (!offer || offer.requestId !== requestId) {
      const r = await getRequest(this.deps.db, requestId);
      throw new ConflictError(
        r && isRequestFinal(r.state)
          ? `Request #${r.number} is ${r.state}: there is nothing left to set up`
          : 'These credentials are no longer waiting for this phone: ask your help desk',
        { requestId },
      );
    }
    const actor = await this.#person(wallet);
    const { job } = await this.deps.starter.startRemote(
      actor,
      { agentId: wallet.id, reader: wallet.name },
      requestId,
    );
    return job!;
  }

  /** The PIN the person chose on the phone, at the end of a remote issuance. */
  async choosePin(wallet: AgentRecord, jobId: string, pin: string, confirmation: string): Promise<JobView> {
    await this.#ownJob(wallet, jobId);
    return this.deps.pinChange.change(await this.#person(wallet), jobId, pin, confirmation);
  }

  /** Try a failed remote issuance again on this wallet (when the security settings allow it). */
  async retry(wallet: AgentRecord, jobId: string): Promise<JobView> {
    await this.#ownJob(wallet, jobId);
    if (!(await this.deps.retryAllowed()))
      throw new ForbiddenError('Retrying is not enabled for users: contact your help desk');
    return this.deps.retry.retry(await this.#person(wallet), jobId, {
      agentId: wallet.id,
      reader: wallet.name,
    });
  }

  /** A job started on this very wallet for its owner; anything else is "not yours". */
  async #ownJob(wallet: AgentRecord, jobId: string): Promise<JobView> {
    if (!/^[0-9a-f-]{36}$/i.test(jobId)) throw new ValidationError('Unknown set-up', { field: 'jobId' });
    const job = await this.deps.jobs.get(jobId).catch(() => null);
    const opts = job?.options as Partial<JobOptions> | undefined;
    if (!job || job.userId !== wallet.ownerUserId || opts?.wallet !== true || opts.agentId !== wallet.id)
      throw new ConflictError('This set-up is not one of this phone');
    return job;
  }

  /** The person the wallet belongs to, acting on their phone with the user portal's permissions. */
  async #person(wallet: AgentRecord): Promise<Actor> {
    const user = await getUser(this.deps.db, wallet.ownerUserId);
    if (!user) throw new ConflictError('This wallet belongs to nobody any more: reset it');
    return { id: user.id, name: user.username, roles: ['user'], permissions: ON_PHONE };
  }
}
