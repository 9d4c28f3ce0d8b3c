// Reading requests: the queues (by state, kind, person), one request with who did each step and
// when (its audit events), and why a device or its credentials are held (which request, or a
// device suspension).
import { NotFoundError } from '../../domain/errors.js';
import { waitingFor, type RequestKind, type RequestState, type RequestWait } from '../../domain/request.js';
import { listAudit } from '../../store/audit-repo.js';
import type { Queryable } from '../../store/db.js';
import { listDeviceCredentials } from '../../store/credentials-repo.js';
import { getDevice } from '../../store/devices-repo.js';
import { activeHolds, everHeldBy, getDeviceSuspension } from '../../store/holds-repo.js';
import { getRequest, listRequests, requestsNamingDevice } from '../../store/requests-repo.js';
import { getUser } from '../../store/users-repo.js';
import type { RequestRecord } from './common.js';

export interface RequestView extends RequestRecord {
  /** Who acts next (domain/request.ts waitingFor); null once the request is final. */
  waitingFor: RequestWait | null;
  person: { id: string; username: string; displayName: string } | null;
  targetSerial: string | null;
  replacementSerial: string | null;
  /** Usernames of who submitted, approved, rejected, bound, completed, cancelled. */
  names: Record<string, string | null>;
}

export interface RequestStep {
  at: string;
  action: string;
  actorName: string;
  details: Record<string, unknown>;
}

export interface RequestDetail extends RequestView {
  history: RequestStep[];
  /** The credentials this request put (or joined) on hold, released or not. */
  heldCredentialIds: string[];
}

export interface DeviceHolds {
  deviceId: string;
  state: string;
  /** The device suspension, if the help desk suspended it. */
  suspension: { since: string; by: string | null; note: string } | null;
  /** Requests naming the device (as the one replaced, or the replacement), newest first. */
  requests: {
    id: string;
    number: number;
    state: RequestState;
    reason: string | null;
    role: 'original' | 'replacement';
  }[];
  /** Per credential on the device: its status and each cause holding it. */
  credentials: {
    id: string;
    slot: string;
    status: string;
    holds: { requestId: string | null; requestNumber: number | null; deviceSuspension: boolean }[];
  }[];
}

export class ReplacementQueries {
  constructor(private readonly deps: { db: Queryable }) {}

  async list(q: {
    state?: RequestState;
    kind?: RequestKind;
    userId?: string;
    limit: number;
    offset: number;
  }): Promise<{ items: RequestView[]; total: number }> {
    const page = await listRequests(this.deps.db, q);
    return { items: await Promise.all(page.items.map((r) => this.#view(r))), total: page.total };
  }

  async get(id: string): Promise<RequestDetail> {
    const r = await getRequest(this.deps.db, id);
    if (!r) throw new NotFoundError('request', id);
    const events = await listAudit(this.deps.db, {
      targetType: 'request',
      targetId: id,
      limit: 200,
      offset: 0,
    });
    return {
      ...(await this.#view(r)),
      history: events.items
        .slice()
        .reverse()
        .map((e) => ({
          at: e.at.toISOString(),
          action: e.action,
          actorName: e.actorName,
          details: e.details,
        })),
      heldCredentialIds: await everHeldBy(this.deps.db, { requestId: id }),
    };
  }

  /** The requests of one person (the user portal shows their own). */
  async forPerson(userId: string): Promise<RequestView[]> {
    return (await this.list({ userId, kind: 'replacement', limit: 50, offset: 0 })).items;
  }

  async deviceHolds(deviceId: string): Promise<DeviceHolds> {
    const db = this.deps.db;
    const device = await getDevice(db, deviceId);
    if (!device) throw new NotFoundError('device', deviceId);
    const suspension = await getDeviceSuspension(db, deviceId);
    const credentials = await listDeviceCredentials(db, deviceId);
    const holds = await activeHolds(
      db,
      credentials.map((c) => c.id),
    );
    return {
      deviceId,
      state: device.state,
      suspension: suspension
        ? {
            since: suspension.createdAt,
            by: suspension.suspendedBy
              ? ((await getUser(db, suspension.suspendedBy))?.username ?? null)
              : null,
            note: suspension.note,
          }
        : null,
      requests: (await requestsNamingDevice(db, deviceId)).map((r) => ({
        id: r.id,
        number: r.number,
        state: r.state,
        reason: r.reason,
        role: r.targetDeviceId === deviceId ? ('original' as const) : ('replacement' as const),
      })),
      credentials: credentials.map((c) => ({
        id: c.id,
        slot: c.slot,
        status: c.status,
        holds: holds
          .filter((h) => h.credentialId === c.id)
          .map((h) => ({
            requestId: h.requestId,
            requestNumber: h.requestNumber,
            deviceSuspension: h.suspendedDeviceId !== null,
          })),
      })),
    };
  }

  async #view(r: RequestRecord): Promise<RequestView> {
    const db = this.deps.db;
    const person = await getUser(db, r.userId);
    const serial = async (id: string | null) => (id ? ((await getDevice(db, id))?.serial ?? null) : null);
    const name = async (id: string | null) => (id ? ((await getUser(db, id))?.username ?? null) : null);
    const replacement = r.replacementDeviceId ? await getDevice(db, r.replacementDeviceId) : null;
    return {
      ...r,
      waitingFor: waitingFor({ ...r, replacementState: replacement?.state ?? null }),
      person: person ? { id: person.id, username: person.username, displayName: person.displayName } : null,
      targetSerial: await serial(r.targetDeviceId),
      replacementSerial: await serial(r.replacementDeviceId),
      names: {
        submittedBy: await name(r.submittedBy),
        approvedBy: await name(r.approvedBy),
        rejectedBy: await name(r.rejectedBy),
        boundBy: await name(r.boundBy),
        completedBy: await name(r.completedBy),
        cancelledBy: await name(r.cancelledBy),
      },
    };
  }
}
