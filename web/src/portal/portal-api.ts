// The user portal's calls. A 401 never sends the person to the operator's sign-in page: on a
// sign-in call it is the answer (wrong password); elsewhere it means the portal session ended, and
// the portal page is told so it can stop what it was doing and ask the person to sign in again.
import { ApiError, request, setCsrfToken } from '../api';
import type {
  AgentList,
  CardBody,
  ConnectedCards,
  IssuanceJob,
  IssuanceStarted,
  OpenIssuance,
  PairingCode,
  IncidentBody,
  PinPolicy,
  ReplacementRequest,
  SessionInfo,
  WalletLink,
} from '../types';
import type { JobSource } from '../issuance/useJob';
import type { MobileIdOrdered, MobileIdView, MyMobileIds, OrderMobileId } from '../types';
import type {
  Answer,
  DemoHandover,
  DemoReaderView,
  PortalMe,
  PortalSignedIn,
  QuestionStatus,
  SignInOptions,
} from './types';

const enc = encodeURIComponent;

let sessionEnded: (() => void) | null = null;

/** The portal page's reaction to a session that ended mid-way (expired, signed out elsewhere). */
export function onPortalSessionEnded(handler: (() => void) | null): void {
  sessionEnded = handler;
}

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  try {
    return await request<T>(method, path, { body, redirectOn401: false });
  } catch (e) {
    if (e instanceof ApiError && e.status === 401 && !path.startsWith('/api/portal/auth/')) sessionEnded?.();
    throw e;
  }
}
const get = <T>(path: string) => call<T>('GET', path);
const post = <T>(path: string, body: unknown = {}) => call<T>('POST', path, body);
/** For the probe at page load, where "not signed in" is the expected answer. */
const quietGet = <T>(path: string) => request<T>('GET', path, { redirectOn401: false });

async function signIn(path: string, body: unknown): Promise<PortalSignedIn> {
  const s = await post<PortalSignedIn>(path, body);
  setCsrfToken(s.csrfToken);
  return s;
}

export const portalApi = {
  start: (username: string) => post<SignInOptions>('/api/portal/auth/start', { username }),
  withInitialPassword: (username: string, password: string) =>
    signIn('/api/portal/auth/initial-password', { username, password }),
  withDirectoryPassword: (username: string, password: string) =>
    signIn('/api/portal/auth/directory-password', { username, password }),
  withSecurityQuestions: (username: string, answers: Answer[]) =>
    signIn('/api/portal/auth/security-questions', { username, answers }),
  signOut: async () => {
    try {
      await request<void>('POST', '/api/auth/logout', { redirectOn401: false });
    } finally {
      setCsrfToken(null);
    }
  },
  /** The signed-in person; also restores the CSRF token after a reload. */
  me: async () => {
    const session = await quietGet<SessionInfo>('/api/auth/session');
    setCsrfToken(session.csrfToken);
    return quietGet<PortalMe>('/api/portal/me');
  },
  questions: () => get<QuestionStatus>('/api/portal/security-questions'),
  setQuestions: (answers: Answer[]) => post<QuestionStatus>('/api/portal/security-questions', { answers }),

  agents: async () => {
    const r = await get<AgentList>('/api/agents');
    return r.items;
  },
  /** Demo servers only: move the cards bound to me from the help desk's demo reader into mine. */
  demoReader: () => get<DemoReaderView>('/api/portal/demo/reader'),
  takeDemoCard: () => post<DemoHandover>('/api/portal/demo/reader'),
  pairingCode: () => post<PairingCode>('/api/agents/pairing-codes'),
  /** A one-time link (QR code) that makes my phone's wallet appear as a card in a reader. */
  walletLink: () => post<WalletLink>('/api/wallet/links'),
  cards: () => get<ConnectedCards>('/api/portal/cards'),
  /** Mobile ID (reference 004): mine, and whether I may order one now. */
  mobileIds: () => get<MyMobileIds>('/api/portal/mobile-id'),
  orderMobileId: (body: OrderMobileId) => post<MobileIdOrdered>('/api/portal/mobile-id', body),
  /** A one-time challenge for my PIV card to sign (policies that require the card). */
  mobileIdCardChallenge: () =>
    post<{ challengeId: string; expiresAt: string }>('/api/portal/mobile-id/card-challenge', {}),
  mobileId: (id: string) => get<MobileIdView>(`/api/portal/mobile-id/${enc(id)}`),
  cancelMobileId: (id: string) => post<MobileIdView>(`/api/portal/mobile-id/${enc(id)}/cancel`),
  /** With `requestId`: the self-enrollment of a replacement (reference 003). */
  issue: (card: CardBody, requestId?: string) =>
    post<IssuanceStarted>('/api/portal/issuance', requestId ? { ...card, requestId } : card),
  /** "Report a problem with my device": the device goes on hold, a request waits for approval. */
  reportProblem: (deviceId: string, body: IncidentBody) =>
    post<ReplacementRequest>(`/api/portal/devices/${enc(deviceId)}/incident`, body),
  myRequests: () => get<{ items: ReplacementRequest[] }>('/api/portal/requests'),
  /** My issuance that still needs me (running, waiting for my PIN, failed), after a reload. */
  openIssuance: () => get<OpenIssuance>('/api/portal/issuance/open'),
  /** Retry, on the card where it is now (another reader, another computer). */
  retry: (jobId: string, card?: CardBody) =>
    call<IssuanceJob>('POST', `/api/portal/issuance/jobs/${enc(jobId)}/retry`, card),
  pinPolicy: (jobId: string) => get<PinPolicy>(`/api/portal/issuance/jobs/${enc(jobId)}/pin-policy`),
  setPin: (jobId: string, pin: string, confirmation: string) =>
    post<IssuanceJob>(`/api/portal/issuance/jobs/${enc(jobId)}/pin`, { pin, confirmation }),
};

/** The portal follows its own jobs through its own routes. */
export const PORTAL_JOBS: JobSource = {
  eventsUrl: (id) => `/api/portal/issuance/jobs/${enc(id)}/events`,
  get: (id) => get<IssuanceJob>(`/api/portal/issuance/jobs/${enc(id)}`),
};
