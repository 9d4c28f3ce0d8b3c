// A small typed client for the Tessera HTTP API (v1). Every call goes through `request`: it sends
// and reads JSON with the session cookie, adds the CSRF token on state-changing calls, turns the
// server's error shape into an ApiError, and sends the browser to the sign-in page on a 401.
import type {
  Agent,
  AgentList,
  DraftPreview,
  Layout,
  LayoutInput,
  LayoutTemplate,
  PhotoInfo,
  PrinterChoice,
  Printers,
  AuditEvent,
  AuditVerification,
  CaImport,
  CaList,
  CardBody,
  CertificateAuthority,
  CertificateDetail,
  CertificateSummary,
  ConformanceCheck,
  ConformanceReport,
  ConnectedCards,
  Device,
  DeviceConformance,
  DeviceIssuance,
  DeviceListItem,
  DirectoryInput,
  DirectorySyncReport,
  DirectoryTestResult,
  DirectoryView,
  ErrorBody,
  ImportReport,
  InitialPin,
  IssueInitialPassword,
  IssuedInitialPassword,
  IssuanceJob,
  IssuanceStart,
  IssuanceStarted,
  LoginBody,
  Meta,
  NewDevice,
  NewUser,
  Page,
  PairingCode,
  WalletLink,
  Policy,
  PolicyInput,
  RevocationReason,
  SecurityQuestionInput,
  SecurityQuestionList,
  SessionInfo,
  Settings,
  User,
  UserDevices,
  UserLifecycleAction,
  UserPatch,
  SignInDelay,
  SignInDelayList,
  MobileIdPolicy,
  MobileIdPolicyInput,
  MobileIdPolicyList,
  Mail,
  MailList,
  MailQuery,
  LiftSignInDelay,
  DeviceHolds,
  ReplacementBody,
  ReplacementRequest,
  RequestDetail,
  Termination,
} from './types';

/** A failed call, carrying what the server said: shown by ErrorPanel, copied for support. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> | undefined,
    readonly correlationId: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Anything thrown by a call becomes an ApiError, so the UI has one shape to show. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ApiError(0, 'client_error', message, undefined, '');
}

let csrfToken: string | null = null;

/** The token from login or GET /api/auth/session; sent as x-csrf-token on every change. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

function defaultUnauthenticated(): void {
  const here = window.location.pathname + window.location.search;
  if (window.location.pathname !== '/login')
    window.location.assign(`/login?next=${encodeURIComponent(here)}`);
}
let onUnauthenticated: () => void = defaultUnauthenticated;

/** The app installs a router-aware handler; without one a 401 reloads onto /login?next=…. */
export function setUnauthenticatedHandler(handler: (() => void) | null): void {
  onUnauthenticated = handler ?? defaultUnauthenticated;
}

type QueryValue = string | number | boolean | null | undefined;
export type Query = Record<string, QueryValue>;

interface RequestOptions {
  body?: unknown;
  query?: Query;
  /** false for calls whose 401 is an answer, not a lost session (login, the session probe). */
  redirectOn401?: boolean;
}

const CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (CHANGING.has(method) && csrfToken) headers['x-csrf-token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(withQuery(path, opts.query), {
      method,
      headers,
      credentials: 'same-origin',
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
  } catch (err) {
    throw new ApiError(
      0,
      'network_error',
      `The server could not be reached (${err instanceof Error ? err.message : String(err)}). Check your connection and try again.`,
      undefined,
      '',
    );
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  if (!res.ok) {
    const body = parsed as Partial<ErrorBody> | undefined;
    const e = body?.error;
    const correlationId =
      e?.correlationId ?? res.headers.get('x-correlation-id') ?? res.headers.get('x-request-id') ?? '';
    const error = e
      ? new ApiError(res.status, e.code, e.message, e.details, correlationId)
      : new ApiError(
          res.status,
          res.status >= 500 ? 'internal' : 'http_error',
          `The server answered ${res.status} ${res.statusText || ''}`.trim(),
          undefined,
          correlationId,
        );
    if (res.status === 401 && opts.redirectOn401 !== false) onUnauthenticated();
    throw error;
  }
  if (parsed === undefined && text)
    throw new ApiError(res.status, 'bad_response', 'The server sent a reply that is not JSON', undefined, '');
  return parsed as T;
}

/**
 * A PDF from the API (a layout preview, the printed card): its bytes, or the server's error as an
 * ApiError (the error body is JSON, as for every call).
 */
export async function requestPdf(method: string, path: string, body?: unknown): Promise<ArrayBuffer> {
  const headers: Record<string, string> = { accept: 'application/pdf, application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (CHANGING.has(method) && csrfToken) headers['x-csrf-token'] = csrfToken;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  }).catch((err: unknown) => {
    throw new ApiError(0, 'network_error', `The server could not be reached (${String(err)})`, undefined, '');
  });
  if (res.ok) return res.arrayBuffer();
  const e = ((await res.json().catch(() => undefined)) as Partial<ErrorBody> | undefined)?.error;
  if (res.status === 401) onUnauthenticated();
  throw e
    ? new ApiError(res.status, e.code, e.message, e.details, e.correlationId ?? '')
    : new ApiError(res.status, 'http_error', `The server answered ${res.status}`, undefined, '');
}

const enc = encodeURIComponent;
const post = <T>(path: string, body: unknown = {}) => request<T>('POST', path, { body });

export const api = {
  meta: () => request<Meta>('GET', '/api/meta', { redirectOn401: false }),

  auth: {
    login: (username: string, password: string) =>
      request<SessionInfo>('POST', '/api/auth/login', {
        body: { username, password } satisfies LoginBody,
        redirectOn401: false,
      }),
    logout: () => request<void>('POST', '/api/auth/logout', { redirectOn401: false }),
    session: () => request<SessionInfo>('GET', '/api/auth/session', { redirectOn401: false }),
  },

  users: {
    list: (query: Query) => request<Page<User>>('GET', '/api/users', { query }),
    get: (id: string) => request<User>('GET', `/api/users/${enc(id)}`),
    create: (body: NewUser) => post<User>('/api/users', body),
    update: (id: string, body: UserPatch) => request<User>('PATCH', `/api/users/${enc(id)}`, { body }),
    lifecycle: (id: string, action: UserLifecycleAction, reason?: string) =>
      post<User>(`/api/users/${enc(id)}/${action}`, reason ? { reason } : {}),
    devices: (id: string) => request<UserDevices>('GET', `/api/users/${enc(id)}/devices`),
    /** A one-time password for the user portal; supersedes any earlier one. Shown once. */
    /** 'auto': e-mailed when the server sends mail and the person has an address, else shown. */
    issueInitialPassword: (id: string, delivery: IssueInitialPassword['delivery'] = 'auto') =>
      post<IssuedInitialPassword>(`/api/users/${enc(id)}/initial-password`, {
        delivery,
      } satisfies IssueInitialPassword),
  },

  mail: {
    list: (q: MailQuery = {}) => request<MailList>('GET', '/api/mail', { query: q }),
    resend: (id: string) => post<Mail>(`/api/mail/${encodeURIComponent(id)}/resend`, {}),
  },
  signInDelays: {
    list: (username?: string) =>
      request<SignInDelayList>('GET', '/api/sign-in-throttles', { query: username ? { username } : {} }),
    lift: (d: LiftSignInDelay) =>
      post<SignInDelay>('/api/sign-in-throttles/lift', {
        secret: d.secret,
        scope: d.scope,
        subject: d.subject,
      } satisfies LiftSignInDelay),
  },

  devices: {
    list: (query: Query) => request<Page<DeviceListItem>>('GET', '/api/devices', { query }),
    get: (id: string) => request<Device>('GET', `/api/devices/${enc(id)}`),
    register: (body: NewDevice) => post<Device>('/api/devices', body),
    importCsv: (csv: string) => post<ImportReport>('/api/devices/import', { csv }),
    issuance: (id: string) => request<DeviceIssuance>('GET', `/api/devices/${enc(id)}/issuance`),
    recycle: (id: string, card: CardBody) => post<Device>(`/api/devices/${enc(id)}/recycle`, card),
    initialPin: (id: string) => post<InitialPin>(`/api/devices/${enc(id)}/initial-pin`),
    /** Why a device and its credentials are on hold: the requests naming it, its suspension. */
    holds: (id: string) => request<DeviceHolds>('GET', `/api/devices/${enc(id)}/holds`),
    suspend: (id: string, note?: string) =>
      post<Device>(`/api/devices/${enc(id)}/suspend`, note ? { note } : {}),
    resume: (id: string) => post<Device>(`/api/devices/${enc(id)}/resume`),
    terminate: (id: string) => post<Termination>(`/api/devices/${enc(id)}/terminate`),
    replace: (id: string, body: ReplacementBody) =>
      post<RequestDetail>(`/api/devices/${enc(id)}/replacement`, body),
    conformance: (id: string) => request<DeviceConformance>('GET', `/api/devices/${enc(id)}/conformance`),
    checkConformance: (id: string, card: ConformanceCheck) =>
      post<ConformanceReport>(`/api/devices/${enc(id)}/conformance`, card),
    /** A pending device (its print step was cancelled) becomes active. */
    activate: (id: string) => post<Device>(`/api/devices/${enc(id)}/activate`),
  },

  /** Replacement requests (reference 003): the queues, one request with its history, each step. */
  requests: {
    list: (query: Query) => request<Page<ReplacementRequest>>('GET', '/api/requests', { query }),
    get: (id: string) => request<RequestDetail>('GET', `/api/requests/${enc(id)}`),
    decide: (id: string, action: 'approve' | 'reject' | 'cancel', version: number, note?: string) =>
      post<RequestDetail>(`/api/requests/${enc(id)}/${action}`, { version, ...(note ? { note } : {}) }),
    bind: (id: string, deviceId: string, version: number) =>
      post<RequestDetail>(`/api/requests/${enc(id)}/bind`, { deviceId, version }),
    /** Remote issuance: a one-time link for the person's phone, shown here or e-mailed to them. */
    showWalletLink: (id: string) =>
      post<WalletLink>(`/api/requests/${enc(id)}/wallet-link`, { delivery: 'show' }),
    mailWalletLink: (id: string) =>
      post<{ sentTo: string; expiresAt: string }>(`/api/requests/${enc(id)}/wallet-link`, {
        delivery: 'email',
      }),
  },

  /** A phone's wallet (docs/mobile.md): a one-time link for the person's phone, as a QR code. */
  wallet: {
    link: (userId: string) => post<WalletLink>('/api/wallet/links', { userId }),
  },

  issuance: {
    cards: () => request<ConnectedCards>('GET', '/api/issuance/cards'),
    /** With `requestId`: the issuance of a replacement request's new device (reference 003). */
    start: (body: IssuanceStart) => post<IssuanceStarted>('/api/issuance', body),
    job: (id: string) => request<IssuanceJob>('GET', `/api/issuance/jobs/${enc(id)}`),
    eventsUrl: (id: string) => `/api/issuance/jobs/${enc(id)}/events`,
    retry: (id: string) => post<IssuanceJob>(`/api/issuance/jobs/${enc(id)}/retry`),
    cancel: (id: string) => post<IssuanceJob>(`/api/issuance/jobs/${enc(id)}/cancel`),
    changePin: (id: string, pin: string, confirmation: string) =>
      post<IssuanceJob>(`/api/issuance/jobs/${enc(id)}/pin`, { pin, confirmation }),
    /** The print step (reference 002): the card as printed, Continue, Cancel. */
    printed: (id: string) => requestPdf('GET', `/api/issuance/jobs/${enc(id)}/print`),
    printContinue: (id: string) => post<IssuanceJob>(`/api/issuance/jobs/${enc(id)}/print/continue`),
    printCancel: (id: string) => post<IssuanceJob>(`/api/issuance/jobs/${enc(id)}/print/cancel`),
  },

  printing: {
    printers: () => request<Printers>('GET', '/api/printers'),
    configure: (body: PrinterChoice) => request<Printers>('PUT', '/api/printers/preference', { body }),
  },

  layouts: {
    list: () => request<Page<Layout>>('GET', '/api/layouts'),
    get: (id: string) => request<Layout>('GET', `/api/layouts/${enc(id)}`),
    templates: () => request<{ items: LayoutTemplate[] }>('GET', '/api/layouts/templates'),
    create: (body: LayoutInput) => post<Layout>('/api/layouts', body),
    remove: (id: string) => request<void>('DELETE', `/api/layouts/${enc(id)}`),
    update: (id: string, body: LayoutInput) => request<Layout>('PUT', `/api/layouts/${enc(id)}`, { body }),
    properties: () => request<{ items: string[] }>('GET', '/api/layouts/properties'),
    /** An unsaved layout drawn (the editor's live preview). */
    previewDraft: (body: DraftPreview) => requestPdf('POST', '/api/layouts/preview', body),
  },

  photos: {
    put: (userId: string, data: string) =>
      request<PhotoInfo>('PUT', `/api/users/${enc(userId)}/photo`, { body: { data } }),
    url: (userId: string) => `/api/users/${enc(userId)}/photo`,
  },

  agents: {
    list: () => request<AgentList>('GET', '/api/agents'),
    pairingCode: () => post<PairingCode>('/api/agents/pairing-codes'),
    revoke: (id: string) => post<Agent>(`/api/agents/${enc(id)}/revoke`),
  },

  policies: {
    list: () => request<Page<Policy>>('GET', '/api/policies'),
    get: (id: string) => request<Policy>('GET', `/api/policies/${enc(id)}`),
    create: (body: PolicyInput) => post<Policy>('/api/policies', body),
    update: (id: string, body: PolicyInput) => request<Policy>('PUT', `/api/policies/${enc(id)}`, { body }),
  },

  mobileIdPolicies: {
    list: () => request<MobileIdPolicyList>('GET', '/api/mobile-id-policies'),
    create: (body: MobileIdPolicyInput) => post<MobileIdPolicy>('/api/mobile-id-policies', body),
    update: (id: string, body: MobileIdPolicyInput) =>
      request<MobileIdPolicy>('PUT', `/api/mobile-id-policies/${enc(id)}`, { body }),
    remove: (id: string) => request<void>('DELETE', `/api/mobile-id-policies/${enc(id)}`),
  },

  settings: {
    get: () => request<Settings>('GET', '/api/settings'),
    put: (body: Settings) => request<Settings>('PUT', '/api/settings', { body }),
  },

  securityQuestions: {
    list: () => request<SecurityQuestionList>('GET', '/api/security-questions'),
    /** Replaces the whole list: entries with an id are edited, without one added, missing ones removed. */
    replace: (items: SecurityQuestionInput[]) =>
      request<SecurityQuestionList>('PUT', '/api/security-questions', { body: { items } }),
  },

  directory: {
    get: () => request<DirectoryView>('GET', '/api/directory'),
    put: (body: DirectoryInput) => request<DirectoryView>('PUT', '/api/directory', { body }),
    test: () => post<DirectoryTestResult>('/api/directory/test'),
    sync: () => post<DirectorySyncReport>('/api/directory/sync'),
  },

  audit: {
    list: (query: Query) => request<Page<AuditEvent>>('GET', '/api/audit', { query }),
    verify: () => request<AuditVerification>('GET', '/api/audit/verify'),
  },

  certificates: {
    list: (query: Query) => request<Page<CertificateSummary>>('GET', '/api/certificates', { query }),
    get: (id: string) => request<CertificateDetail>('GET', `/api/certificates/${enc(id)}`),
    suspend: (id: string) => post<CertificateSummary>(`/api/certificates/${enc(id)}/suspend`),
    reinstate: (id: string) => post<CertificateSummary>(`/api/certificates/${enc(id)}/reinstate`),
    revoke: (id: string, reason: RevocationReason) =>
      post<CertificateSummary>(`/api/certificates/${enc(id)}/revoke`, { reason }),
    pemUrl: (id: string) => `/api/certificates/${enc(id)}/pem`,
  },

  cas: {
    list: () => request<CaList>('GET', '/api/cas'),
    import: (body: CaImport) => post<CertificateAuthority>('/api/cas/import', body),
    crtUrl: (id: string) => `/pki/ca/${enc(id)}.crt`,
    pemUrl: (id: string) => `/pki/ca/${enc(id)}.pem`,
    chainUrl: (id: string) => `/pki/ca/${enc(id)}/chain.pem`,
    crlUrl: (id: string) => `/pki/crl/${enc(id)}.crl`,
  },
};
