// An issuance started for a request (reference 003: the replacement of a device is issued through
// the ordinary local issuance or self-issuance, with the request's id). Issuance knows requests only
// through this port; the replacement service implements it (services/replacement/issuance.ts). Each
// call runs inside the issuance's own transaction, so the job, the device, the request and the CA
// move together.
import type { Queryable } from '../../store/db.js';
import type { Device } from '../../store/devices-repo.js';
import type { Policy } from '../../store/policies-repo.js';
import type { Actor } from '../context.js';
import type { ChangedCertificates } from '../pki/revocation.js';

/**
 * Which issuance: an officer's in the operator portal, the person's own in the user portal, or the
 * person's own on their phone's wallet (remote issuance, docs/mobile.md).
 */
export type IssuanceVia = 'operator' | 'portal' | 'wallet';

/** What an issuance needs to know of its request. */
export interface LinkedRequest {
  id: string;
  number: number;
  userId: string;
  policyId: string | null;
  type: string | null;
}

/** An archived key-management key recovered for the replacement device (keyRecoveryFor). */
export interface RestoredKey {
  credentialId: string;
  certificateId: string;
  der: Uint8Array;
  pkcs8: Buffer;
  /** Into the policy's key-management slot (the certificate carried over), or a retired slot (decrypt only). */
  into: 'slot' | 'retired';
}

export interface RequestLink {
  /**
   * The person's archived key-management key to load onto the request's device, recovered (and
   * audited) now; none when the request's policy does not archive it or the original has none.
   */
  keysToRestore(actor: Actor, requestId: string, deviceId: string, policy: Policy): Promise<RestoredKey[]>;
  /** The request, read without a lock (to learn its policy before the card is opened). */
  peek(db: Queryable, requestId: string): Promise<LinkedRequest>;
  /** The open request this device is the replacement device of, if any (no lock). */
  findForDevice(db: Queryable, deviceId: string): Promise<LinkedRequest | null>;
  /**
   * Locks the request (first: requests before devices) and checks that this issuance may serve
   * it: its workflow, its state, who issues it. Throws a typed error that says why not.
   */
  lockForStart(
    tx: Queryable,
    actor: Actor,
    requestId: string,
    via: IssuanceVia,
    userId: string,
  ): Promise<LinkedRequest>;
  /**
   * Binds the card to the request for the person's self-enrollment: locks the request, then has
   * `device` find (or register) and lock the card's record.
   */
  bind(
    tx: Queryable,
    actor: Actor,
    requestId: string,
    device: () => Promise<Device>,
    at: Date,
  ): Promise<Device>;
  /** The card in the reader is the request's device (the bound one, or a blank one it may take). */
  checkDevice(tx: Queryable, request: LinkedRequest, device: Device): Promise<void>;
  /** The certificate and device validity for the request's device (a temporary device's short life). */
  validityDays(request: LinkedRequest, policy: Policy): number | null;
  /** The job started: the request names the device being personalized, with its audit event. */
  started(
    tx: Queryable,
    actor: Actor,
    request: LinkedRequest,
    device: Device,
    jobId: string,
    at: Date,
  ): Promise<void>;
  /** Locks the request (and those over the same original) before the device, at the job's end. */
  lockForCompletion(tx: Queryable, requestId: string): Promise<LinkedRequest>;
  /** The device was issued: the request completes (or, temporary, waits for its due time). */
  complete(
    tx: Queryable,
    actor: Actor,
    request: LinkedRequest,
    device: Device,
    at: Date,
  ): Promise<ChangedCertificates>;
  /**
   * The device was encoded and printed but held back at the print step (pending, reference 002):
   * the request keeps it as its replacement and waits for its activation (locks the request first).
   */
  heldPending(tx: Queryable, actor: Actor, requestId: string, device: Device, at: Date): Promise<void>;
  /** A failed issuance of the device was cancelled or its card recycled: the request lets it go. */
  abandoned(tx: Queryable, actor: Actor, deviceId: string, at: Date): Promise<void>;
  /** After the commit: OCSP and the CRLs learn the status changes. */
  publishAfterCommit(changed: ChangedCertificates): Promise<void>;
}
