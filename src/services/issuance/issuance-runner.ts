// The background run of an issuance job: personalize the card (services/personalization.ts) with the
// policy's keys and certificates, report each step as progress (run-progress.ts), and end the job —
// succeeded (issuance-success.ts) or failed — in one transaction with its audit event. The run holds
// the card connection and closes it when it ends.
import type { CardConformance, PreparedCard } from '../card-conformance.js';
import { createPrivateKey, randomUUID, type KeyObject } from 'node:crypto';
import type { PivSession } from '../../cards/piv/piv-session.js';
import { resetToTransport } from '../../cards/piv/reset.js';
import type { CardConnection } from '../../cards/transport/types.js';
import { DomainError, NotFoundError, must } from '../../domain/errors.js';
import { jobTransition, planIssuanceSteps } from '../../domain/issuance-job.js';
import { pemOrDer } from '../../pki/pem.js';
import type { MasterKey } from '../../secrets/master-key.js';
import { appendAudit } from '../../store/audit-repo.js';
import { installCredential } from '../../store/credentials-repo.js';
import type { CertificateRevoking } from './attempt-revocation.js';
import type { Db } from '../../store/db.js';
import { putDeviceConformance } from '../../store/device-conformance-repo.js';
import { getDevice, type Device } from '../../store/devices-repo.js';
import { finishJob, getJob, mergeJobOptions } from '../../store/jobs-repo.js';
import type { JobProgressWriter } from '../../store/job-progress-writer.js';
import { getPolicy, type CredentialProfile, type Policy } from '../../store/policies-repo.js';
import { getUser, type User } from '../../store/users-repo.js';
import { cardIdentity, type FascnSettings } from '../card-identity.js';
import { managementKeyFor, randomPuk } from '../card-keys.js';
import { auditActor, type Actor, type Clock, type SelfSetUpDone } from '../context.js';
import { personalize } from '../personalization.js';
import { closeQuietly } from './card-reader.js';
import { moveDevice } from './device-move.js';
import type { InitialPinVault } from './initial-pin.js';
import type { JobChanges } from './job-progress.js';
import type { RequestLink } from './request-link.js';
import type { IssuanceJob, JobError, JobOptions } from './job-view.js';
import { printEncodedCard, type CardPrinting } from './print-step.js';
import { attemptEnded, isAttemptEnded, runsAttempt } from './attempt-ended.js';
import { succeedIssuance, validityDaysOf } from './issuance-success.js';
import type { MobileIdJobOutcome } from './mobile-id-job-outcome.js';
import { RunProgress, runProgressWriter, type ReachedStep } from './run-progress.js';

export type { MobileIdJobOutcome } from './mobile-id-job-outcome.js';

/** What the run needs from the CA: a certificate for the key the card generated, and its PEM. */
export interface CardCertificates {
  issueForPublicKey(
    actor: Actor,
    target: {
      user: {
        id: string;
        username: string;
        displayName: string;
        email: string | null;
        upn: string | null;
        sid: string | null;
        properties: Record<string, string>;
      };
      profile: Pick<
        CredentialProfile,
        'name' | 'certificateProfile' | 'keyAlgorithm' | 'validityDays' | 'slot' | 'archiveKey'
      >;
      deviceId: string;
      /** The key's credential, made in the certificate's own commit (never one without the other). */
      newCredential: { policyId: string; profile: string };
      cardUuid: string;
      fascn: Uint8Array;
    },
    /** The KeyObject the card's key was read into (not imported again). */
    publicKey: KeyObject,
    proof: (key: KeyObject) => Promise<boolean>,
  ): Promise<{ id: string; serial: string; der?: Uint8Array }>;
  get(id: string): Promise<{ pem: string }>;
  /** For archiveKey profiles: the server makes the key, archives it and returns it to load. */
  issueWithArchivedKey?(
    actor: Actor,
    target: Parameters<CardCertificates['issueForPublicKey']>[1],
  ): Promise<{ certificate: { id: string; serial: string }; privateKeyPkcs8: Buffer }>;
}

/**
 * What the starter has just read or written for the job (its device as moved to issuing, its policy,
 * its person), so the run does not read them again; a queued or retried job's run reads them.
 */
export interface KnownForRun {
  device: Device;
  policy: Policy;
  user: User;
  /** The initial PIN and the new PUK the starter just put into the vault (initial-pin.ts). */
  secrets?: { pin: string; puk: string };
}

/** Starts a job's card work in the background (the starter and retry hand it their open card). */
export interface JobLauncher {
  /** The server instance whose runs these are: jobs started here are owned by it. */
  readonly instanceId: string;
  launch(
    actor: Actor,
    job: IssuanceJob,
    card: { session: PivSession; conn: CardConnection },
    wipeFirst?: boolean,
    known?: KnownForRun,
  ): void | Promise<void>;
  /** Only the print phase, for a job whose card is encoded. */
  launchPrint(actor: Actor, job: IssuanceJob): void | Promise<void>;
}

export class IssuanceRunner implements JobLauncher {
  readonly #running = new Map<string, Promise<void>>();
  /** The steps of every run here, written together when many cards are issued at once. */
  readonly #progressWriter: JobProgressWriter;

  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      /** This server process (services/cluster/instance-registry.ts): it owns the jobs it runs. */
      instanceId: string;
      masterKey: MasterKey;
      pins: InitialPinVault;
      ca: CardCertificates & Pick<CertificateRevoking, 'revoke'>;
      changes: JobChanges;
      /** The FASC-N's agency and system codes (service config pki.fascn). */
      fascn?: FascnSettings;
      /** Signs each card's CHUID and Security Object and checks the card once written. */
      conformance: Pick<CardConformance, 'prepare'>;
      /** Completes the request an issuance was started for, in its success transaction. */
      requests?: RequestLink;
      onSelfIssued?: SelfSetUpDone;
      /** Card printing (reference 002): jobs started with a printer print after encoding. */
      printing?: CardPrinting;
      /** Mobile ID orders whose jobs these are. */
      mobileIds?: MobileIdJobOutcome;
    },
  ) {
    this.#progressWriter = runProgressWriter(deps.db);
  }

  get instanceId(): string {
    return this.deps.instanceId;
  }

  launch(
    actor: Actor,
    job: IssuanceJob,
    { session, conn }: { session: PivSession; conn: CardConnection },
    wipeFirst = false,
    known?: KnownForRun,
  ): void {
    const run = this.#run(actor, job, session, wipeFirst, known)
      .catch(() => undefined)
      .finally(() => {
        this.#running.delete(job.id);
        void closeQuietly(conn);
      });
    this.#running.set(job.id, run);
  }

  /**
   * Prints again the card of a job whose card is encoded (a retry after the printer failed): no
   * card work, only the print phase.
   */
  launchPrint(actor: Actor, job: IssuanceJob): void {
    const correlationId = actor.correlationId ?? randomUUID();
    const run = this.#print(actor, job, correlationId)
      .catch((e: unknown) => this.#fail(actor, job, e, correlationId))
      .catch(() => undefined)
      .finally(() => this.#running.delete(job.id));
    this.#running.set(job.id, run);
  }

  async #print(actor: Actor, job: Pick<IssuanceJob, 'id' | 'attempt'>, correlationId: string): Promise<void> {
    const { db, clock, printing } = this.deps;
    if (!printing)
      throw new DomainError('printing_unavailable', 'This server does not print cards: Cancel the issuance');
    await printEncodedCard({ db, clock, printing, changes: this.deps.changes }, actor, job, correlationId);
  }

  /** Ends a job that could not be started here (job-dispatch.ts: the card was gone when claimed). */
  async failJob(actor: Actor, job: Pick<IssuanceJob, 'id' | 'attempt'>, cause: unknown): Promise<void> {
    await this.#fail(actor, job, cause, actor.correlationId ?? randomUUID());
  }

  /** Whether this process is running the job now. */
  isRunning(jobId: string): boolean {
    return this.#running.has(jobId);
  }

  /** Resolves when the job's background run (if any) has finished: for tests and shutdown. */
  async settled(jobId: string): Promise<void> {
    await this.#running.get(jobId);
  }

  async drain(): Promise<void> {
    await Promise.all([...this.#running.values()]);
  }

  async #run(
    actor: Actor,
    job: IssuanceJob,
    session: PivSession,
    wipeFirst: boolean,
    known?: KnownForRun,
  ): Promise<void> {
    const { db, clock, masterKey, ca } = this.deps;
    const correlationId = actor.correlationId ?? randomUUID();
    const device = known?.device ?? (await getDevice(db, job.deviceId))!;
    const policy = onlyProfiles(
      known?.policy ?? (await getPolicy(db, job.policyId))!,
      (job.options as JobOptions).profiles,
    );
    const user = known?.user ?? (await getUser(db, job.userId))!;
    const steps = planIssuanceSteps(policy.credentialProfiles.length);
    // The job as the starter just inserted it, or as it is now for a queued or retried one.
    const print = ((known ? job : await getJob(db, job.id))?.options as JobOptions | undefined)?.print;
    const progress = new RunProgress({
      writer: this.#progressWriter,
      changes: this.deps.changes,
      clock,
      job,
      profiles: policy.credentialProfiles.length,
      printed: !!print,
    });
    let prepared: PreparedCard | undefined;
    /** The certificates this run got from the CA (revoked should its attempt end elsewhere). */
    const issuedHere: string[] = [];
    try {
      await progress.report(steps[0]!.label);
      if (wipeFirst) {
        await progress.report('Reset the card to its transport state');
        await resetToTransport(session);
      }
      progress.stepDone('connect');
      const pin = known?.secrets?.pin ?? (await this.deps.pins.get(db, device.id));
      if (pin === null)
        throw new DomainError(
          'issuance_state_lost',
          'The PIN for this issuance is gone: cancel and start again',
        );
      const now = clock.now();
      const card = cardIdentity(device, this.deps.fascn);
      // A temporary replacement device lives its policy's short validity, and its certificates
      // never outlive it (each capped at the device's days, issued before the device's end is set).
      const days = validityDaysOf(job, policy);
      const cardExpires = new Date(now.getTime() + days * 86_400_000);
      prepared = await this.deps.conformance.prepare(
        { ...actor, correlationId },
        device,
        cardExpires,
        device.userId === user.id ? user : undefined,
        // Stored with the job's end (one statement fewer): see succeedIssuance and the catch below.
        { keepReport: true },
      );
      // A replacement gets the person's archived key-management key back (keyRecoveryFor).
      const restores =
        job.requestId && this.deps.requests
          ? await this.deps.requests.keysToRestore(
              { ...actor, correlationId },
              job.requestId,
              device.id,
              policy,
            )
          : (job.options as JobOptions).mobileId && this.deps.mobileIds?.keysToRestore
            ? // A mobile ID recovers the person's archived encryption key when its policy says so.
              await this.deps.mobileIds.keysToRestore({ ...actor, correlationId }, job, device.id, policy)
            : [];
      // Each key's credential is made by its certificate, in the certificate's commit (a failure
      // leaves both or neither: interrupted-jobs and Retry revoke the certificate, and with it the
      // credential's status).
      const target = (profile: CredentialProfile) => ({
        user: {
          id: user.id,
          username: user.username,
          displayName: user.displayName,
          email: user.email,
          upn: user.properties.upn ?? null,
          // Read from the directory's objectSid at sync and sign-in (docs/directory.md).
          sid: user.properties.objectSid ?? null,
          // A mobile ID policy's properties join the person's (certificate templates read both).
          properties: { ...user.properties, ...(job.options as JobOptions).properties },
        },
        profile: { ...profile, validityDays: Math.min(profile.validityDays, days) },
        deviceId: device.id,
        newCredential: { policyId: policy.id, profile: profile.name },
        cardUuid: card.uuid,
        fascn: card.fascn,
      });
      // The DER comes with the issued certificate when the CA gives it.
      const stored = async (cert: { id: string; der?: Uint8Array }) => {
        issuedHere.push(cert.id);
        const der = cert.der ?? Uint8Array.from(pemOrDer((await ca.get(cert.id)).pem, ['CERTIFICATE']));
        return { certificateId: cert.id, der };
      };
      const issued = await personalize(session, {
        profiles: policy.credentialProfiles,
        managementKey: managementKeyFor(masterKey, device.serial, session.version),
        pin,
        puk: known?.secrets?.puk ?? randomPuk(),
        pinRetries: policy.pinPolicy.retries,
        pukRetries: policy.pukRetries,
        cardObjects: prepared.cardObjects,
        checkCard: prepared.checkCard,
        persistPuk: async (puk) => {
          // Stored by the starter with the PIN, committed before this run began.
          if (puk === known?.secrets?.puk) return;
          // Only while the job runs this attempt (job locked first, the sweep's and Retry's lock
          // order): a stale run must not replace the PUK attempt 2 stored for its card (issue #20).
          await db.transaction(async (tx) => {
            if (!runsAttempt(await getJob(tx, job.id, true), job.attempt)) throw attemptEnded(job);
            await this.deps.pins.putPuk(tx, device.id, puk, clock.now());
          });
        },
        issueCertificate: async (profile, publicKey, proveKey) => {
          const cert = await ca.issueForPublicKey(
            { ...actor, correlationId },
            target(profile),
            publicKey,
            proveKey,
          );
          return stored(cert);
        },
        issueArchived: async (profile) => {
          if (!ca.issueWithArchivedKey)
            throw new DomainError('archive_unavailable', 'This server cannot archive keys');
          const out = await ca.issueWithArchivedKey({ ...actor, correlationId }, target(profile));
          return {
            ...(await stored(out.certificate)),
            privateKey: createPrivateKey({ key: out.privateKeyPkcs8, format: 'der', type: 'pkcs8' }),
          };
        },
        restored: restores.map((r) => ({
          profileSlot: r.into === 'slot' ? '9d' : null,
          certificateId: r.certificateId,
          der: r.der,
          privateKey: createPrivateKey({ key: r.pkcs8, format: 'der', type: 'pkcs8' }),
        })),
        stepStarting: async (id, index) => {
          const s = steps.find((x) => x.id === id && x.profileIndex === index);
          const profile = index === null ? '' : ` (${policy.credentialProfiles[index]!.name})`;
          await progress.report(`${s?.label ?? id}${profile}`);
        },
        stepDone: async (id) => {
          progress.stepDone(id);
          // From here the card holds our management key: a retry must wipe it first. Written with the
          // next step's report, which personalize awaits before that step's first command — so it is
          // stored before the card changes, as by an UPDATE here. (A job ended meanwhile by the
          // recovery sweep got cardTouched there; the writer leaves ended jobs alone.)
          if (id === 'authenticate') progress.withNextReport({ cardTouched: true });
        },
      });
      if (print) {
        // Encoded: from here a retry only prints again, and Cancel leaves the card pending.
        await db.transaction(async (tx) => {
          // Only for this run's attempt (job locked first): a run paused past its lease, whose
          // attempt was failed elsewhere and retried, must not mark attempt 2's job encoded (#20).
          if (!runsAttempt(await getJob(tx, job.id, true), job.attempt)) throw attemptEnded(job);
          await mergeJobOptions(tx, job.id, {
            print: {
              ...print,
              encoded: true,
              issuedAt: now.toISOString(),
              expiresAt: cardExpires.toISOString(),
            },
          });
          // Keys restored onto the card (a replacement's key-management key) are the card's now.
          for (const r of restores) await installCredential(tx, r.credentialId, device.id, clock.now());
          // The card's read-back report, kept for the encoding's end.
          const checked = prepared!.checked;
          if (checked) await putDeviceConformance(tx, device.id, checked.report, checked.at);
          await appendAudit(tx, {
            actor: auditActor(actor),
            action: 'issuance.encoded',
            targetType: 'device',
            targetId: device.id,
            details: { jobId: job.id, certificates: issued.length, attempt: job.attempt },
            correlationId,
            at: clock.now(),
          });
        });
        // The encoded card keeps its certificates whatever happens to its print (the sweep and
        // Retry leave an encoded job's alone): not this run's to revoke from here.
        issuedHere.length = 0;
        await this.#print(actor, job, correlationId);
      } else
        await succeedIssuance(this.deps, actor, job, {
          device,
          policy,
          certificates: issued.length,
          correlationId,
          restores,
          checked: prepared.checked,
        });
    } catch (e) {
      // A card checked before the run failed keeps its report, as when the check stored it at once
      // (not a stale attempt's: the device is another attempt's now).
      const checked = prepared?.checked;
      if (checked && !isAttemptEnded(e))
        await putDeviceConformance(db, device.id, checked.report, checked.at).catch(() => undefined);
      await this.#fail(actor, job, e, correlationId, issuedHere, progress.reached);
    } finally {
      // Its statement guards the attempt, so a report written after the end changes nothing; the
      // run is settled once nothing of it is left in flight.
      await progress.settle();
    }
  }

  /**
   * The print step's Continue (reference 002): the operator saw the printed card, so the job
   * succeeds as an unprinted one does — device active with the dates printed on the card, the
   * request completed — in one transaction. A second Continue (or one after Cancel) is refused.
   */
  async confirmPrinted(actor: Actor, jobId: string): Promise<void> {
    const { db } = this.deps;
    const job = await getJob(db, jobId);
    if (!job) throw new NotFoundError('issuance job', jobId);
    must(jobTransition(job.status, 'confirm'));
    const print = (job.options as JobOptions).print!;
    const device = (await getDevice(db, job.deviceId))!;
    const policy = (await getPolicy(db, job.policyId))!;
    await succeedIssuance(this.deps, actor, job, {
      device,
      policy,
      certificates: null,
      correlationId: actor.correlationId ?? randomUUID(),
      printed: { issuedAt: new Date(print.issuedAt!), expiresAt: new Date(print.expiresAt!) },
    });
  }

  /**
   * Fails the run's attempt; nothing when the job no longer runs that attempt (ended elsewhere).
   * Then the certificates this run issued are revoked: the sweep that ended the attempt, and a Retry,
   * revoked the device's certificates of that moment, not those this run got after it.
   */
  async #fail(
    actor: Actor,
    run: Pick<IssuanceJob, 'id' | 'attempt'>,
    cause: unknown,
    correlationId: string,
    issuedHere: readonly string[] = [],
    reached?: ReachedStep,
  ): Promise<void> {
    const jobId = run.id;
    const error = toJobError(cause, correlationId);
    const failed = await this.deps.db.transaction(async (tx) => {
      const at = this.deps.clock.now();
      const job = (await getJob(tx, jobId, true))!;
      if (job.status !== 'running' || job.attempt !== run.attempt) return null;
      await finishJob(tx, jobId, 'failed', error, at, reached);
      if ((job.options as JobOptions).mobileId) await this.deps.mobileIds?.failed(tx, actor, job, error, at);
      const d = (await getDevice(tx, job.deviceId, true))!;
      if (d.state === 'issuing') await moveDevice(tx, d, 'fail', {}, at);
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'issuance.failed',
        targetType: 'device',
        targetId: job.deviceId,
        details: { jobId, attempt: job.attempt, error: { code: error.code, message: error.message } },
        correlationId,
        at,
      });
      return job;
    });
    if (failed && (failed.options as JobOptions).mobileId)
      await this.deps.mobileIds?.afterFailure({ ...actor, correlationId }, failed).catch(() => undefined);
    if (!failed)
      for (const id of issuedHere)
        // Each on its own: one the sweep already revoked is refused, and the others still go.
        await this.deps.ca
          .revoke({ ...actor, correlationId }, id, 'cessationOfOperation')
          .catch(() => undefined);
    this.deps.changes.publish(jobId);
  }
}

/** The policy with only the named credential profiles (a mobile ID's choice); all when none named. */
function onlyProfiles(policy: Policy, names: readonly string[] | undefined): Policy {
  if (!names) return policy;
  return { ...policy, credentialProfiles: policy.credentialProfiles.filter((c) => names.includes(c.name)) };
}

/** The failure as the portal shows and copies it: never with a secret. */
export function toJobError(e: unknown, correlationId: string): JobError {
  if (e instanceof DomainError) {
    const detail = e.details ? JSON.stringify(e.details) : undefined;
    return { code: e.code, message: e.message, ...(detail ? { detail } : {}), correlationId };
  }
  return {
    code: 'internal',
    message: 'The issuance failed unexpectedly. Quote the correlation id when you report it',
    detail: e instanceof Error ? e.message : String(e),
    correlationId,
  };
}
