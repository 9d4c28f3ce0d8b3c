// The composition root: opens the store, applies migrations, loads the master key and builds the
// services with their explicit dependencies. The CLI and the tests start Tessera through here.
import { join } from 'node:path';
import type { Config } from './config/config.js';
import { mailerFromConfig, type Mailer } from './mail/mailer.js';
import { MasterKey } from './secrets/master-key.js';
import { AgentHub } from './services/agent-hub.js';
import { AuditService } from './services/audit-service.js';
import { AuthService } from './services/auth-service.js';
import { BootstrapService } from './services/bootstrap-service.js';
import type { CardAccess } from './services/card-access.js';
import { loopbackAgents } from './agent/loopback-agent.js';
import { startDemoAgents, type DemoAgents } from './services/demo-agent.js';
import { systemClock, type Clock, type SelfSetUpDone, type ServiceContext } from './services/context.js';
import { DeviceService } from './services/device-service.js';
import { HealthService } from './services/health-service.js';
import { WalletLinkService } from './services/wallet/wallet-link-service.js';
import { WorkstationRelay } from './services/wallet/workstation-relay.js';
import { WalletPairingService } from './services/wallet/wallet-pairing.js';
import { WalletReset } from './services/wallet/wallet-reset.js';
import { WalletEnrolment } from './services/wallet/wallet-enrolment.js';
import { WalletStatusFeed } from './services/wallet/wallet-status.js';
import { PairingService } from './services/pairing-service.js';
import { DirectoryService } from './services/directory-service.js';
import { InitialPasswordEmail } from './services/initial-password-mail.js';
import { InitialPasswordService } from './services/initial-password-service.js';
import { MailOutbox } from './services/notify/mail-outbox.js';
import { MobileIdPolicies } from './services/mobile-id/mobile-id-policies.js';
import { MobileIdService } from './services/mobile-id/mobile-id-service.js';
import { MobileIdLifecycle } from './services/mobile-id/mobile-id-lifecycle.js';
import { MobileIdOutcomes } from './services/mobile-id/mobile-id-outcomes.js';
import { CardPossession } from './services/mobile-id/card-possession.js';
import { DerivedMobileIds } from './services/mobile-id/derived-mobile-ids.js';
import { PortalAuthService } from './services/portal-auth-service.js';
import { SecurityQuestionService } from './services/security-question-service.js';
import { PolicyService } from './services/policy-service.js';
import { SettingsService } from './services/settings-service.js';
import { DEFAULT_THROTTLE, SignInThrottleService } from './services/sign-in-throttle.js';
import { UserService } from './services/user-service.js';
import { createPki, type Pki } from './services/pki/pki.js';
import type { PkiConfig } from './services/pki/pki-config.js';
import { checkFascnSettings } from './services/card-identity.js';
import { createIssuance, type Issuance } from './services/issuance/issuance.js';
import { CardConformance } from './services/card-conformance.js';
import { LayoutService } from './services/printing/layout-service.js';
import { PhotoService } from './services/printing/photo-service.js';
import { PrintSettingsService } from './services/printing/print-settings.js';
import { PrintService } from './services/printing/print-service.js';
import { createReplacement, type Replacement } from './services/replacement/replacement.js';
import { InstanceRegistry } from './services/cluster/instance-registry.js';
import { AgentRevocations } from './services/cluster/agent-revocations.js';
import { AgentEndings } from './services/wallet/agent-endings.js';
import { LocalBus, PgBus, type Bus } from './services/cluster/bus.js';
import { ClusterCards } from './services/cluster/cluster-cards.js';
import { BusCardRelay } from './services/cluster/card-relay.js';
import { ScheduledWork } from './services/cluster/scheduled-work.js';
import { VERSION } from './config/version.js';
import { openDb, type Db } from './store/db.js';
import { migrate } from './store/migrate.js';
import { getAgent } from './store/agents-repo.js';

export interface Services {
  auth: AuthService;
  users: UserService;
  devices: DeviceService;
  policies: PolicyService;
  settings: SettingsService;
  audit: AuditService;
  bootstrap: BootstrapService;
  /** The certificate authority's use cases (services/pki/). */
  pki: Pki;
  /** Issuance's use cases (services/issuance/). */
  issuance: Issuance;
  /** Device replacement (reference 003) and device suspension (services/replacement/). */
  replacement: Replacement;
  /** Each card's signed PIV objects and its conformance check (services/card-conformance.ts). */
  conformance: CardConformance;
  agents: PairingService;
  walletLinks: WalletLinkService;
  /** What the phone's wallet is told of its device's issuance (services/wallet/wallet-status.ts). */
  walletStatus: WalletStatusFeed;
  /** Remote issuance on the phone: the offer, the start, the PIN, the retry (docs/mobile.md). */
  walletEnrolment: WalletEnrolment;
  /** A phone's wallet as a workstation's smart card: pairings and their checks. */
  walletPairing: WalletPairingService;
  workstationRelay: WorkstationRelay;
  directory: DirectoryService;
  initialPasswords: InitialPasswordService;
  /** Every e-mail Tessera sends, queued in the transaction that causes it (services/notify/). */
  mailOutbox: MailOutbox;
  /** Mobile ID policies (reference 004, administrator settings). */
  mobileIdPolicies: MobileIdPolicies;
  /** People's mobile IDs: ordering in the user portal, the views, the issuance's outcome. */
  mobileIds: MobileIdService;
  /** A mobile ID's life once created: the operator's actions, expiry. */
  mobileIdLifecycle: MobileIdLifecycle;
  /** A derived mobile ID's proof of possession of the person's PIV card (challenge, 9A signature). */
  mobileIdCards: CardPossession;
  securityQuestions: SecurityQuestionService;
  portalAuth: PortalAuthService;
  signInThrottle: SignInThrottleService;
  health: HealthService;
  /** Card printing (reference 002): layouts, photos, whether printing is on. */
  layouts: LayoutService;
  photos: PhotoService;
  printSettings: PrintSettingsService;
  printing: PrintService;
}

export interface Runtime {
  config: Config;
  db: Db;
  clock: Clock;
  masterKey: MasterKey;
  masterKeyCreated: boolean;
  migrationsApplied: string[];
  services: Services;
  /** Outgoing mail (TESSERA_SMTP_URL); null when none is configured and nothing is e-mailed. */
  mailer: Mailer | null;
  /** Live agent sockets (in this process) and the card connections relayed through them. */
  agentHub: AgentHub;
  /** How services reach cards: the readers of a person's paired agents. */
  cardAccess: CardAccess;
  /** This server process among those sharing the database (lease, heartbeat, the list). */
  instance: InstanceRegistry;
  /** Word between the servers (LISTEN/NOTIFY on PostgreSQL; in memory on PGlite). */
  bus: Bus;
  /**
   * The built-in demo agents, once `tessera start` has started them (they need the server
   * listening); null otherwise (`tessera serve`, `--no-demo`, most tests). The user portal's demo
   * hand-over reaches them here. close() stops them if their starter has not.
   */
  demoAgents: DemoAgents | null;
  /**
   * Starts the built-in demo agents (`tessera start`), connected as agents to the server listening
   * at `serverUrl`, and keeps them as demoAgents. `log` hears their progress lines.
   */
  startDemoAgents(serverUrl: string, log?: (line: string) => void): Promise<DemoAgents>;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  clock?: Clock;
  /** In-memory PGlite instead of ./data/db (tests). */
  inMemory?: boolean;
  /** PostgreSQL schema (tests sharing one database). */
  schema?: string;
  /** Start the in-memory PGlite from this dumped, already migrated data directory (tests). */
  pgliteTemplate?: Blob;
  /** How services reach cards (the agent hub in a server; in-process readers in some tests). */
  cardAccess?: CardAccess;
}

export async function openRuntime(config: Config, opts: RuntimeOptions = {}): Promise<Runtime> {
  let bus: Bus | undefined;
  const db = await openDb({
    databaseUrl: config.databaseUrl,
    dataDir: opts.inMemory ? undefined : join(config.dataDir, 'db'),
    schema: opts.schema,
    ...(opts.pgliteTemplate ? { pgliteTemplate: opts.pgliteTemplate } : {}),
  });
  try {
    const migrationsApplied = await migrate(db);
    const { key: masterKey, created: masterKeyCreated } =
      opts.inMemory && !config.masterKey
        ? { key: MasterKey.generate(), created: true }
        : MasterKey.loadOrCreate(config.masterKey, join(config.dataDir, 'master.key'));
    const clock = opts.clock ?? systemClock;
    const ctx: ServiceContext = { db, clock };
    // Registered before anything can start a job: every job this process runs is owned by it.
    const instance = new InstanceRegistry(db, {
      leaseSeconds: config.instance.leaseSeconds,
      ...(config.instance.name ? { name: config.instance.name } : {}),
      version: VERSION,
    });
    await instance.register();
    // PGlite is one process: its bus stays in memory, as does everything `tessera start` does.
    bus = db.notifications ? await PgBus.open(db.notifications, instance.id) : new LocalBus();
    const users = new UserService(ctx);
    const devices = new DeviceService(ctx);
    const policies = new PolicyService(ctx);
    const settings = new SettingsService(ctx);
    const pki = createPki({
      db,
      masterKey,
      clock,
      bus,
      config: {
        externalUrl: config.externalUrl,
        crlValidityHours: config.pki.crlValidityHours,
        caAlgorithm: config.pki.caAlgorithm,
        ...(config.pki.contentSignerAlgorithm
          ? { contentSignerAlgorithm: config.pki.contentSignerAlgorithm }
          : {}),
        ...(config.pki.certificatePolicies
          ? { certificatePolicies: config.pki.certificatePolicies as PkiConfig['certificatePolicies'] }
          : {}),
        ...(config.pki.subjectTemplate
          ? { subjectTemplate: config.pki.subjectTemplate as PkiConfig['subjectTemplate'] }
          : {}),
      },
    });
    checkFascnSettings(config.pki.fascn);
    await pki.cas.ensureHierarchy();
    const agentHub = new AgentHub(ctx, { heartbeatMs: config.agentHeartbeatSeconds * 1000 });
    // On PostgreSQL an agent may be connected to another server: its readers are listed from the
    // presence the holder writes, its cards reached through the holder.
    const relay =
      db.kind === 'postgres'
        ? new BusCardRelay({
            bus,
            instanceId: instance.id,
            key: masterKey.derive('cluster-card-relay'),
            local: agentHub,
          })
        : null;
    const clusterCards = relay
      ? new ClusterCards({ db, hub: agentHub, bus, instanceId: instance.id, remote: relay })
      : null;
    // A workstation pairs with its person's phone wherever each is connected (issue #20).
    const walletPairing = new WalletPairingService(
      ctx,
      clusterCards
        ? {
            liveWallets: (owner) => clusterCards.liveWallets(owner),
            isConnected: (id) => agentHub.isConnected(id),
            sendToWallet: (id, body) => agentHub.sendToWallet(id, body),
            connectedWallets: () => agentHub.connectedWallets(),
          }
        : agentHub,
      bus,
    );
    // A revocation made on any server closes the agent's sockets on every server (issue #20).
    const revocations = new AgentRevocations(bus);
    const endings = new AgentEndings(ctx, revocations, walletPairing);
    const walletsEnded = endings.walletsEnded;
    // Cards are reached through paired agents, unless a test hands in its own readers.
    const cardAccess = opts.cardAccess ?? clusterCards ?? agentHub;
    // TESSERA_LOGIN_MAX_FAILURES: the free failures per name from one address; and
    // TESSERA_LOGIN_LOCKOUT_MINUTES: the longest delay (decision 0022).
    const throttle = {
      ...DEFAULT_THROTTLE,
      freePerNameAddress: config.loginMaxFailures,
      maxDelaySeconds: config.loginLockoutMinutes * 60,
    };
    const auth = new AuthService(ctx, {
      sessionTtlMinutes: config.sessionTtlMinutes,
      sessionIdleMinutes: config.sessionIdleMinutes,
      throttle,
    });
    const photos = new PhotoService(ctx);
    const directory = new DirectoryService(ctx, masterKey, users, photos);
    const mailer = mailerFromConfig(config);
    const mailOutbox = new MailOutbox(ctx, {
      masterKey,
      mailer,
      // A retry is taken up by the next poll: poll at least as often as the first retry is due.
      options: {
        retrySeconds: config.mailRetrySeconds,
        pollMs: Math.min(5_000, config.mailRetrySeconds * 1000),
      },
    });
    const initialPasswords = new InitialPasswordService(ctx, {
      settings,
      mailer: mailer ? new InitialPasswordEmail(mailOutbox, `${config.externalUrl}/portal`) : null,
    });
    const selfSetUpDone =
      (because: 'answers_set' | 'card_issued'): SelfSetUpDone =>
      (tx, actor, userId) =>
        initialPasswords.finish(tx, actor, userId, because);
    const securityQuestions = new SecurityQuestionService(ctx, settings, selfSetUpDone('answers_set'));
    const printSettings = new PrintSettingsService(ctx);
    const layouts = new LayoutService(ctx, {
      printSettings,
      directoryProperties: async (q) => Object.keys((await directory.get(q)).properties),
    });
    // Printers are listed wherever their agent is connected. An issuance's print step runs on that
    // agent's server (the job is queued there, services/issuance/job-dispatch.ts); a print started
    // elsewhere (a sample card) is relayed to it.
    const printers = clusterCards ?? agentHub;
    const printing = new PrintService(ctx, { printers, layouts, settings: printSettings });
    const conformance = new CardConformance(ctx, {
      signers: pki.contentSigners,
      cards: cardAccess,
      ...(config.pki.fascn ? { fascn: config.pki.fascn } : {}),
    });
    const replacement = createReplacement({
      db,
      clock,
      revocation: pki.revocation,
      keyRecovery: pki.keyRecovery,
      walletsEnded,
    });
    // A derived mobile ID follows its PIV card in the transaction that changes the card.
    replacement.followCards(
      new DerivedMobileIds({
        devices: {
          suspendIn: (...a) => replacement.suspension.suspendIn(...a),
          resumeIn: (...a) => replacement.suspension.resumeIn(...a),
          terminateIn: (...a) => replacement.terminate.terminateIn(...a),
        },
        revocation: pki.revocation,
      }),
    );
    const walletLinks = new WalletLinkService(ctx, {
      externalUrl: config.externalUrl,
      linkMinutes: config.walletLinkMinutes,
      mailer,
      outbox: mailOutbox,
      reset: new WalletReset(ctx, { terminate: replacement.terminate, walletsEnded }),
    });
    const mobileIdPolicies = new MobileIdPolicies(ctx);
    const mobileIdCards = new CardPossession(ctx, cardAccess);
    // Issuance tells the mobile ID service how its jobs end; the service starts issuances once
    // issuance exists (its starter is set just below).
    const mobileIdCertificates = {
      search: (q: { deviceId?: string; limit: number; offset: number }) => pki.certificates.search(q),
      revoke: (...a: Parameters<typeof pki.revocation.revoke>) => pki.revocation.revoke(...a),
    };
    // How a mobile ID's issuance ends (issuance calls it in its jobs' transactions).
    const mobileIdOutcomes = new MobileIdOutcomes(ctx, {
      outbox: mailOutbox,
      certificates: mobileIdCertificates,
      keyRecovery: pki.keyRecovery,
      externalUrl: config.externalUrl,
    });
    const mobileIds = new MobileIdService(ctx, {
      policies: mobileIdPolicies,
      links: walletLinks,
      outbox: mailOutbox,
      certificates: mobileIdCertificates,
      outcomes: mobileIdOutcomes,
      cards: cardAccess,
      possession: mobileIdCards,
      externalUrl: config.externalUrl,
    });
    const mobileIdLifecycle = new MobileIdLifecycle(ctx, {
      certificates: {
        search: (q) => pki.certificates.search(q),
        revoke: (...a) => pki.revocation.revoke(...a),
      },
      devices: {
        suspend: (...a) => replacement.suspension.suspend(...a),
        resume: (...a) => replacement.suspension.resume(...a),
        terminate: (...a) => replacement.terminate.terminate(...a),
      },
      views: mobileIds,
    });
    const issuance = createIssuance({
      db,
      clock,
      mobileIds: mobileIdOutcomes,
      // PGlite is one process by construction: any job not running here is a dead process's.
      instance: { id: instance.id, trustLeases: db.kind === 'postgres' },
      bus,
      ...(clusterCards ? { holderOf: (agentId: string) => clusterCards.holderOf(agentId) } : {}),
      masterKey,
      cardAccess,
      ca: {
        // With the DER, so the run does not read the certificate it just stored.
        issueForPublicKey: async (...a) => {
          const { summary, der } = await pki.issuer.issueForPublicKeyWithDer(...a);
          return { ...summary, der };
        },
        issueWithArchivedKey: (...a) => pki.issuer.issueWithArchivedKey(...a),
        // The PEM only: the full detail decodes every field of the certificate for the operator's
        // view, which cost ~15% of the server's CPU per issued card (`npm run bench -- agents`).
        get: async (id) => ({ pem: await pki.certificates.pem(id) }),
        revoke: (...a) => pki.revocation.revoke(...a),
        search: (q) => pki.certificates.search(q),
      },
      settings,
      ...(config.pki.fascn ? { fascn: config.pki.fascn } : {}),
      conformance,
      requests: replacement.issuance,
      onSelfIssued: selfSetUpDone('card_issued'),
      printing: {
        available: async () => (await printSettings.status()).available,
        printers: async (actor) => (await printing.printers(actor)).items,
        layoutName: async (id) => (await layouts.get(id)).name,
        render: (layoutId, userId, card) => layouts.renderFor(layoutId, userId, card),
        print: (actor, printerId, pdf, opts) => printing.print(actor, printerId, pdf, opts),
      },
    });
    mobileIds.starter = issuance.starter;
    mobileIds.recycle = issuance.recycle;
    const workstationRelay = new WorkstationRelay({
      pairing: walletPairing,
      cards: cardAccess,
      heartbeatMs: agentHub.heartbeatMs,
    });
    revocations.on((id) => agentHub.disconnect(id));
    revocations.on(
      (id) => workstationRelay.revoked(id),
      () =>
        void workstationRelay
          .recheck(async (id) => (await getAgent(db, id))?.revokedAt != null)
          .catch(() => undefined),
    );
    const services: Services = {
      auth,
      users,
      devices,
      policies,
      settings,
      audit: new AuditService(ctx),
      bootstrap: new BootstrapService(
        ctx,
        users,
        devices,
        policies,
        { layouts, settings: printSettings },
        mobileIdPolicies,
      ),
      pki,
      issuance,
      replacement,
      conformance,
      agents: new PairingService(
        ctx,
        agentHub,
        clusterCards ? () => clusterCards.elsewhere() : undefined,
        (agent) => endings.revoked(agent),
      ),
      walletLinks,
      walletStatus: new WalletStatusFeed({ db, jobs: issuance.jobs, progress: issuance.progress }),
      walletPairing,
      workstationRelay,
      walletEnrolment: new WalletEnrolment({
        db,
        starter: issuance.starter,
        pinChange: issuance.pinChange,
        retry: issuance.retry,
        jobs: issuance.jobs,
        retryAllowed: async () => (await settings.getSecurity()).issuanceRetryForUser,
      }),
      directory,
      initialPasswords,
      mailOutbox,
      mobileIdPolicies,
      mobileIds,
      mobileIdLifecycle,
      mobileIdCards,
      securityQuestions,
      portalAuth: new PortalAuthService(
        ctx,
        {
          settings,
          auth,
          initialPasswords,
          questions: securityQuestions,
          directory,
          decoyKey: masterKey.derive('portal-auth-decoy'),
        },
        throttle,
      ),
      signInThrottle: new SignInThrottleService(ctx, throttle),
      health: new HealthService(db, instance),
      layouts,
      photos,
      printSettings,
      printing,
    };
    const rt: Runtime = {
      config,
      db,
      clock,
      masterKey,
      masterKeyCreated,
      migrationsApplied,
      services,
      mailer,
      agentHub,
      cardAccess,
      instance,
      bus,
      demoAgents: null,
      startDemoAgents: async (serverUrl, log) => {
        rt.demoAgents = await startDemoAgents({
          db,
          pairing: services.agents,
          dataDir: config.dataDir,
          connect: loopbackAgents(serverUrl, log),
          clock,
          cardAccess,
          ...(log ? { log } : {}),
        });
        return rt.demoAgents;
      },
      close: async () => {
        await mailOutbox.stop();
        await rt.demoAgents?.stop();
        agentHub.close();
        clusterCards?.close();
        relay?.close();
        await clusterCards?.settled().catch(() => undefined);
        await bus?.close().catch(() => undefined);
        // The lease ends now: another server recovers what this one leaves running at once.
        await instance.stop().catch(() => undefined);
        await db.close();
      },
    };
    return rt;
  } catch (e) {
    await bus?.close().catch(() => undefined);
    await db.close().catch(() => undefined);
    throw e;
  }
}

/** Applies the database migrations and closes the store (`tessera migrate`); returns those applied. */
export async function migrateStore(config: Config): Promise<string[]> {
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: join(config.dataDir, 'db') });
  try {
    return await migrate(db);
  } finally {
    await db.close();
  }
}

/**
 * The work a serving process does besides answering requests: renew its lease, fail the issuance
 * jobs a dead process left running (at start, then each half lease: another server's jobs become
 * ours to fail once its lease runs out), keep CRLs fresh, end temporary replacement devices whose
 * validity ran out, delete sign-in throttle counts that no longer matter, and send the mail outbox.
 * Returns the function that stops it.
 */
export async function startBackground(rt: Runtime, onError: (err: unknown) => void): Promise<() => void> {
  const stopHeartbeat = rt.instance.startHeartbeat(onError);
  await rt.services.issuance.interrupted.recover();
  const stopRecovery =
    rt.db.kind === 'postgres'
      ? rt.services.issuance.interrupted.startScheduler({
          intervalMs: (rt.instance.leaseSeconds * 1000) / 2,
          onError,
        })
      : () => undefined;
  // Jobs queued for this server (it holds their card's agent) are claimed when woken on the bus,
  // and every half lease in case a word was lost.
  const stopClaims =
    rt.db.kind === 'postgres'
      ? rt.services.issuance.dispatch.startScheduler({ intervalMs: (rt.instance.leaseSeconds * 1000) / 2 })
      : () => undefined;
  // Periodic sweeps over shared rows run once per period, on whichever server takes the slot.
  const once = new ScheduledWork({ db: rt.db, instanceId: rt.instance.id, onError });
  const stopCrls = once.every({
    name: 'crl-refresh',
    intervalMs: 60_000,
    run: () => rt.services.pki.crls.refreshDue(),
  });
  rt.services.replacement.expiry.onError = onError;
  const stopExpiry = once.every({
    name: 'temporary-device-expiry',
    intervalMs: 60_000,
    run: () => rt.services.replacement.expiry.runDue(),
  });
  const stopThrottlePurge = once.every({
    name: 'sign-in-throttle-purge',
    intervalMs: 10 * 60_000,
    run: () => rt.services.signInThrottle.purgeForgotten(),
  });
  // Each server keeps its own OCSP signers ready (its cache of answers is its own).
  const stopOcsp = rt.services.pki.ocsp.startScheduler({ onError });
  const stopMail = rt.services.mailOutbox.start({ onError });
  const stopMobileIdExpiry = rt.services.mobileIdLifecycle.startScheduler({ onError });
  return () => {
    stopHeartbeat();
    stopRecovery();
    stopMail();
    stopClaims();
    stopMobileIdExpiry();
    stopThrottlePurge();
    stopCrls();
    stopOcsp();
    stopExpiry();
  };
}
