// Issuance's use cases, wired together once (the house pattern of services/pki/pki.ts): each
// module has one job and names what it uses; this is the only place that knows how they fit.
// Local issuance is reference 001, self-issuance in the user portal reference 000.
import type { MasterKey } from '../../secrets/master-key.js';
import type { Db } from '../../store/db.js';
import type { CardAccess } from '../card-access.js';
import { LocalBus, type Bus } from '../cluster/bus.js';
import type { CardConformance } from '../card-conformance.js';
import type { FascnSettings } from '../card-identity.js';
import type { Clock, SelfSetUpDone } from '../context.js';
import { AttemptRevocation, type CertificateRevoking } from './attempt-revocation.js';
import { CardReader } from './card-reader.js';
import { ConnectedCards } from './connected-cards.js';
import { InitialPinRetrieval, InitialPinVault } from './initial-pin.js';
import { InterruptedJobs } from './interrupted-jobs.js';
import { IssuanceCancel } from './issuance-cancel.js';
import { IssuanceJobs } from './issuance-jobs.js';
import { IssuanceRetry } from './issuance-retry.js';
import { IssuanceRunner, type CardCertificates, type MobileIdJobOutcome } from './issuance-runner.js';
import { IssuanceStarter, type IssuanceSettings } from './issuance-starter.js';
import { JobProgress } from './job-progress.js';
import { JobDispatch } from './job-dispatch.js';
import { PinChangeAtEnd } from './pin-change-at-end.js';
import { PrintStep, type CardPrinting } from './print-step.js';
import { Recycle } from './recycle.js';
import type { RequestLink } from './request-link.js';

export type { CardRef } from './card-reader.js';
export type { ConnectedCard } from './connected-cards.js';
export type { StartIssuanceInput } from './issuance-starter.js';
export { isSelfIssuance, type JobView } from './job-view.js';
export type { CardPrinting } from './print-step.js';
export type { MobileIdJobOutcome } from './issuance-runner.js';

export interface Issuance {
  /** The cards in the readers of a person's agents, and what Tessera knows of each. */
  cards: ConnectedCards;
  /** Bind or issue (operator), self-issue (portal). */
  starter: IssuanceStarter;
  /** The background card work of a job; `settled`/`drain` wait for it. */
  runner: IssuanceRunner;
  /** Runs a job where its card's agent is connected; claims the jobs queued for this server. */
  dispatch: JobDispatch;
  /** Follow a job as it changes (the event streams). */
  progress: JobProgress;
  /** Read jobs: by id, a device's latest, the portal's open one. */
  jobs: IssuanceJobs;
  retry: IssuanceRetry;
  cancel: IssuanceCancel;
  recycle: Recycle;
  /** The new PIN at the end of issuance. */
  pinChange: PinChangeAtEnd;
  /** Get Initial PIN. */
  initialPin: InitialPinRetrieval;
  /** Start-up and every so often: fail the jobs a dead server left running. */
  interrupted: InterruptedJobs;
  /** The print step (reference 002): Continue, Cancel, the printed card, activating a pending one. */
  printStep: PrintStep;
}

export interface IssuanceDeps {
  db: Db;
  clock: Clock;
  /**
   * This server process: it owns the jobs it runs; `trustLeases` false (PGlite, one process by
   * construction) treats every other owner as gone.
   */
  instance: { id: string; trustLeases: boolean };
  /** Word between servers (job progress, jobs queued for a holder); default: this process only. */
  bus?: Bus;
  /** Which live server holds an agent's socket (several servers); absent: always this one. */
  holderOf?: (agentId: string) => Promise<string | null>;
  /** Seals initial PINs and PUKs; derives each card's management key. */
  masterKey: MasterKey;
  /** The readers of a person's agents. */
  cardAccess: CardAccess;
  /** The CA: certificates for card keys, and revoking a failed attempt's. */
  ca: CardCertificates & CertificateRevoking;
  settings: IssuanceSettings;
  /** The FASC-N's agency and system codes (service config pki.fascn). */
  fascn?: FascnSettings;
  /** Signs each card's CHUID and Security Object and checks the card once written. */
  conformance: Pick<CardConformance, 'prepare'>;
  /** Issuances started for a replacement request (services/replacement/issuance.ts). */
  requests?: RequestLink;
  /** A card issued to the person who asked for it ends their first sign-in's set-up. */
  onSelfIssued?: SelfSetUpDone;
  /** Card printing (reference 002); without it, issuance prints nothing. */
  printing?: CardPrinting;
  /** Mobile ID orders follow their jobs (services/mobile-id/). */
  mobileIds?: MobileIdJobOutcome;
}

export function createIssuance(deps: IssuanceDeps): Issuance {
  const { db, clock } = deps;
  const cards = new CardReader(deps.cardAccess);
  const pins = new InitialPinVault(deps.masterKey);
  const bus = deps.bus ?? new LocalBus();
  const progress = new JobProgress(bus);
  const attempts = new AttemptRevocation(deps.ca);
  const jobs = new IssuanceJobs({ db });
  const runner = new IssuanceRunner({
    db,
    clock,
    instanceId: deps.instance.id,
    masterKey: deps.masterKey,
    pins,
    ca: deps.ca,
    changes: progress,
    ...(deps.fascn ? { fascn: deps.fascn } : {}),
    conformance: deps.conformance,
    ...(deps.requests ? { requests: deps.requests } : {}),
    ...(deps.onSelfIssued ? { onSelfIssued: deps.onSelfIssued } : {}),
    ...(deps.printing ? { printing: deps.printing } : {}),
    ...(deps.mobileIds ? { mobileIds: deps.mobileIds } : {}),
  });
  // Card work runs where the card's agent is connected (several servers): jobs are queued there.
  const dispatch = new JobDispatch({
    db,
    runner,
    cards,
    bus,
    pins,
    ...(deps.holderOf ? { holderOf: deps.holderOf } : {}),
  });
  const requests = deps.requests ? { requests: deps.requests } : {};
  const printing = deps.printing ? { printing: deps.printing } : {};
  return {
    cards: new ConnectedCards({ db, cards: deps.cardAccess }),
    starter: new IssuanceStarter({
      db,
      clock,
      cards,
      pins,
      settings: deps.settings,
      runner: dispatch,
      ...requests,
      ...printing,
    }),
    runner,
    dispatch,
    progress,
    jobs,
    retry: new IssuanceRetry({ db, clock, jobs, cards, attempts, runner: dispatch }),
    cancel: new IssuanceCancel({ db, clock, jobs, attempts, pins, changes: progress, ...requests }),
    recycle: new Recycle({ db, clock, cards, attempts, ...requests }),
    pinChange: new PinChangeAtEnd({ db, clock, jobs, cards, pins, changes: progress }),
    initialPin: new InitialPinRetrieval({ db, clock, pins }),
    interrupted: new InterruptedJobs({
      db,
      clock,
      running: runner,
      attempts,
      instance: deps.instance,
      ...(deps.mobileIds ? { mobileIds: deps.mobileIds } : {}),
    }),
    printStep: new PrintStep({
      db,
      clock,
      jobs,
      pins,
      changes: progress,
      ...requests,
      confirm: (actor, jobId) => runner.confirmPrinted(actor, jobId),
    }),
  };
}
