// Tessera's configuration: defaults, then an optional JSON file (TESSERA_CONFIG or --config), then
// environment variables, then command-line flags. Validated once at start-up with a message that
// names the bad setting.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export interface Config {
  host: string;
  port: number;
  /** Base URL people and relying parties reach this server at (CRL, OCSP, AIA URLs, e-mails). */
  externalUrl: string;
  dataDir: string;
  databaseUrl: string | undefined;
  masterKey: string | undefined;
  logLevel: string;
  sessionTtlMinutes: number;
  sessionIdleMinutes: number;
  loginMaxFailures: number;
  loginLockoutMinutes: number;
  /** How long a wallet link (QR code) stays valid: single use, bound to one person and purpose. */
  walletLinkMinutes: number;
  /** Cookies marked Secure: on when externalUrl is https. */
  secureCookies: boolean;
  /**
   * The reverse proxies whose X-Forwarded-For is believed (comma-separated addresses or CIDR
   * ranges, TESSERA_TRUST_PROXY): the client's address then comes from that header, so that sign-in
   * throttling counts clients, not the proxy (decision 0022). Unset: the TCP peer is the client.
   */
  trustProxy: string | undefined;
  pki: {
    caAlgorithm: string;
    /** Key algorithm of a new PIV content signer (TESSERA_CONTENT_SIGNER_ALGORITHM); unset: ECDSA-P256. */
    contentSignerAlgorithm?: string;
    crlValidityHours: number;
    /**
     * certificatePolicies OIDs per certificate profile (or one list for all); unset: Tessera's demo
     * policies (docs/pki.md). Checked when the CA starts.
     */
    certificatePolicies?: Record<string, string[]> | string[];
    /**
     * The subject of issued certificates, most significant attribute first, each value a template
     * over the person's fields and properties (docs/pki.md); unset: CN=${displayName}, UID=${username}.
     * A mobile ID policy's properties reach certificates through ${properties.<name>} here.
     * Checked when the CA starts.
     */
    subjectTemplate?: { type: string; value: string }[];
    /** The FASC-N's agency and system codes (4 digits each; default 9999, a non-federal issuer). */
    fascn?: { agencyCode?: string; systemCode?: string };
  };
  /**
   * Outgoing mail: `smtp://[user:pass@]host[:port]` (STARTTLS required) or `smtps://…` (TLS from
   * the start); `smtp://…?tls=none` sends in plain text (test servers only). Unset: no e-mail is
   * sent (initial passwords are shown to the operator). Holds a secret: print it only through
   * redactSmtpUrl().
   */
  smtpUrl: string | undefined;
  /**
   * A PEM file of CA certificates trusted for the mail server's TLS certificate (a private CA or
   * a test server); unset: the system's CAs.
   */
  smtpCaFile: string | undefined;
  /** The From of Tessera's e-mails. */
  mailFrom: string;
  /**
   * The mail outbox's wait before retrying a message the mail server did not take (doubling at
   * each further attempt, at most an hour); TESSERA_MAIL_RETRY_SECONDS, 1-3600, default 30.
   */
  mailRetrySeconds: number;
  /**
   * Where the agent's executables are served from (GET /downloads/…); unset: dist/downloads, where
   * `npm run build` puts the one it builds.
   */
  downloadsDir: string | undefined;
  /**
   * How often the server pings each agent's socket and each workstation relay (`tessera agent
   * --wallet`); one silent for three periods is cut off and what it held released.
   * TESSERA_AGENT_HEARTBEAT_SECONDS, 1-300, default 15.
   */
  agentHeartbeatSeconds: number;
  /**
   * Several servers on one PostgreSQL (docs/operations.md): how long a server counts as alive after
   * its last heartbeat (it beats every third of it), and how it is named in the list of instances.
   */
  instance: { leaseSeconds: number; name: string | undefined };
}

export type ConfigOverrides = Partial<Omit<Config, 'pki' | 'instance'>> & {
  pki?: Partial<Config['pki']>;
  instance?: Partial<Config['instance']>;
};

const envNumber = (v: string | undefined): number | undefined => {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`Expected a number, got "${v}"`);
  return n;
};

/** The SMTP URL with its password (and user name) replaced, fit for logs and messages. */
export function redactSmtpUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username) u.username = '***';
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(unparseable URL)';
  }
}

/**
 * Whether the SMTP URL asks for plain text (`smtp://…?tls=none`). Without it an smtp:// URL
 * requires STARTTLS: nodemailer would otherwise quietly send the login and the message in clear
 * whenever the server (or someone in between) does not offer STARTTLS.
 */
export const smtpPlainText = (u: URL): boolean => u.searchParams.get('tls') === 'none';

const SMTP_URL_SHAPE =
  'TESSERA_SMTP_URL must look like smtp://user:password@host:587 or smtps://user:password@host:465';

/** Checks the SMTP URL; messages name the expected shape and never echo the value (it holds a password). */
function checkSmtpUrl(smtpUrl: string): void {
  let u: URL | undefined;
  try {
    u = new URL(smtpUrl);
  } catch {
    u = undefined;
  }
  if (!u || (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') || !u.hostname)
    throw new Error(SMTP_URL_SHAPE);
  try {
    decodeURIComponent(u.username);
    decodeURIComponent(u.password);
  } catch {
    throw new Error(
      `${SMTP_URL_SHAPE}, with special characters in the user name and password percent-encoded (% as %25, @ as %40, : as %3A, / as %2F)`,
    );
  }
  const params = [...u.searchParams.keys()];
  if (params.some((k) => k !== 'tls') || (params.length && u.searchParams.get('tls') !== 'none'))
    throw new Error(
      `${SMTP_URL_SHAPE}; the only option it takes is ?tls=none (plain text, for a test server)`,
    );
  if (smtpPlainText(u) && u.protocol === 'smtps:')
    throw new Error('TESSERA_SMTP_URL: ?tls=none is for smtp:// (an smtps:// connection is always TLS)');
}

// One address (local@domain), bare or in angle brackets after a display name (plain, or quoted
// when it holds a comma), and nothing before or after it: a CR or LF would let the value add
// header lines to every message, a comma or a second @ would make it a list.
const MAIL_FROM =
  /^(?:[^@\s<>,;"]+@[^@\s<>,;"]+|(?:[^<>@,;"\r\n]*|"[^"\r\n]*") *<[^@\s<>,;"]+@[^@\s<>,;"]+>)$/;

const pick = <T>(...vals: (T | undefined)[]): T | undefined => vals.find((v) => v !== undefined);

export function loadConfig(overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const file = env.TESSERA_CONFIG;
  let fromFile: ConfigOverrides = {};
  if (file) {
    if (!existsSync(file)) throw new Error(`TESSERA_CONFIG points at ${file}, which does not exist`);
    try {
      fromFile = JSON.parse(readFileSync(file, 'utf8')) as ConfigOverrides;
    } catch (e) {
      throw new Error(`TESSERA_CONFIG file ${file} is not valid JSON: ${(e as Error).message}`);
    }
  }
  const host = pick(overrides.host, env.HOST, fromFile.host) ?? '127.0.0.1';
  const port = pick(overrides.port, envNumber(env.PORT), fromFile.port) ?? 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`PORT must be 0-65535, got ${port}`);
  const externalUrl = (
    pick(overrides.externalUrl, env.TESSERA_EXTERNAL_URL, fromFile.externalUrl) ??
    `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`
  ).replace(/\/+$/, '');
  try {
    new URL(externalUrl);
  } catch {
    throw new Error(`TESSERA_EXTERNAL_URL must be an absolute URL, got "${externalUrl}"`);
  }
  const smtpUrl = pick(overrides.smtpUrl, env.TESSERA_SMTP_URL || undefined, fromFile.smtpUrl);
  // The value carries the mail password, maybe where a scheme or host should be: name the
  // expected shape, never echo what was given.
  if (smtpUrl !== undefined) checkSmtpUrl(smtpUrl);
  const smtpCaFile = pick(overrides.smtpCaFile, env.TESSERA_SMTP_CA_FILE || undefined, fromFile.smtpCaFile);
  if (smtpCaFile !== undefined && !existsSync(smtpCaFile))
    throw new Error(`TESSERA_SMTP_CA_FILE points at ${smtpCaFile}, which does not exist`);
  const mailFrom =
    pick(overrides.mailFrom, env.TESSERA_MAIL_FROM || undefined, fromFile.mailFrom) ??
    `Tessera <tessera@${new URL(externalUrl).hostname.replace(/^\[|\]$/g, '')}>`;
  if (!MAIL_FROM.test(mailFrom.trim()) || /[\r\n]/.test(mailFrom))
    throw new Error(
      `TESSERA_MAIL_FROM must be one address (name@example.org or "Name <name@example.org>"), got ${JSON.stringify(mailFrom)}`,
    );
  const downloadsDir = pick(
    overrides.downloadsDir,
    env.TESSERA_DOWNLOADS_DIR || undefined,
    fromFile.downloadsDir,
  );
  if (downloadsDir !== undefined && !existsSync(downloadsDir))
    throw new Error(`TESSERA_DOWNLOADS_DIR points at ${downloadsDir}, which does not exist`);
  const dataDir = resolve(pick(overrides.dataDir, env.TESSERA_DATA_DIR, fromFile.dataDir) ?? './data');
  const cfg: Config = {
    host,
    port,
    externalUrl,
    dataDir,
    databaseUrl: pick(overrides.databaseUrl, env.DATABASE_URL || undefined, fromFile.databaseUrl),
    masterKey: pick(overrides.masterKey, env.TESSERA_MASTER_KEY || undefined, fromFile.masterKey),
    logLevel: pick(overrides.logLevel, env.LOG_LEVEL, fromFile.logLevel) ?? 'info',
    sessionTtlMinutes:
      pick(
        overrides.sessionTtlMinutes,
        envNumber(env.TESSERA_SESSION_TTL_MINUTES),
        fromFile.sessionTtlMinutes,
      ) ?? 480,
    sessionIdleMinutes:
      pick(
        overrides.sessionIdleMinutes,
        envNumber(env.TESSERA_SESSION_IDLE_MINUTES),
        fromFile.sessionIdleMinutes,
      ) ?? 30,
    loginMaxFailures:
      pick(
        overrides.loginMaxFailures,
        envNumber(env.TESSERA_LOGIN_MAX_FAILURES),
        fromFile.loginMaxFailures,
      ) ?? 5,
    loginLockoutMinutes:
      pick(
        overrides.loginLockoutMinutes,
        envNumber(env.TESSERA_LOGIN_LOCKOUT_MINUTES),
        fromFile.loginLockoutMinutes,
      ) ?? 15,
    walletLinkMinutes: Math.min(
      60,
      Math.max(
        1,
        pick(
          overrides.walletLinkMinutes,
          envNumber(env.TESSERA_WALLET_LINK_MINUTES),
          fromFile.walletLinkMinutes,
        ) ?? 10,
      ),
    ),
    secureCookies: pick(overrides.secureCookies, fromFile.secureCookies) ?? externalUrl.startsWith('https:'),
    trustProxy: pick(overrides.trustProxy, env.TESSERA_TRUST_PROXY || undefined, fromFile.trustProxy),
    pki: {
      caAlgorithm:
        pick(overrides.pki?.caAlgorithm, env.TESSERA_CA_ALGORITHM, fromFile.pki?.caAlgorithm) ?? 'ECCP384',
      ...contentSignerAlgorithmOf(
        pick(
          overrides.pki?.contentSignerAlgorithm,
          env.TESSERA_CONTENT_SIGNER_ALGORITHM,
          fromFile.pki?.contentSignerAlgorithm,
        ),
      ),
      crlValidityHours:
        pick(
          overrides.pki?.crlValidityHours,
          envNumber(env.TESSERA_CRL_VALIDITY_HOURS),
          fromFile.pki?.crlValidityHours,
        ) ?? 24,
      ...((overrides.pki?.certificatePolicies ?? fromFile.pki?.certificatePolicies)
        ? { certificatePolicies: overrides.pki?.certificatePolicies ?? fromFile.pki?.certificatePolicies }
        : {}),
      ...((overrides.pki?.subjectTemplate ?? fromFile.pki?.subjectTemplate)
        ? { subjectTemplate: overrides.pki?.subjectTemplate ?? fromFile.pki?.subjectTemplate }
        : {}),
      ...((overrides.pki?.fascn ?? fromFile.pki?.fascn)
        ? { fascn: overrides.pki?.fascn ?? fromFile.pki?.fascn }
        : {}),
    },
    smtpUrl,
    smtpCaFile,
    mailFrom,
    mailRetrySeconds: Math.min(
      3600,
      Math.max(
        1,
        pick(
          overrides.mailRetrySeconds,
          envNumber(env.TESSERA_MAIL_RETRY_SECONDS),
          fromFile.mailRetrySeconds,
        ) ?? 30,
      ),
    ),
    downloadsDir: downloadsDir === undefined ? undefined : resolve(downloadsDir),
    agentHeartbeatSeconds: Math.min(
      300,
      Math.max(
        1,
        pick(
          overrides.agentHeartbeatSeconds,
          envNumber(env.TESSERA_AGENT_HEARTBEAT_SECONDS),
          fromFile.agentHeartbeatSeconds,
        ) ?? 15,
      ),
    ),
    instance: {
      leaseSeconds: Math.min(
        600,
        Math.max(
          1,
          pick(
            overrides.instance?.leaseSeconds,
            envNumber(env.TESSERA_INSTANCE_LEASE_SECONDS),
            fromFile.instance?.leaseSeconds,
          ) ?? 30,
        ),
      ),
      name: pick(
        overrides.instance?.name,
        env.TESSERA_INSTANCE_NAME || undefined,
        fromFile.instance?.name,
      )?.slice(0, 100),
    },
  };
  return cfg;
}

const contentSignerAlgorithmOf = (a: string | undefined) => (a ? { contentSignerAlgorithm: a } : {});
