// User-portal sign-in (reference 000 step 5: "you might be prompted to enter the LDAP password
// instead of an Initial Password or to provide answers to security questions"). The security
// settings say which methods the portal offers; a person can use those they hold right now. A
// successful sign-in opens a portal session, which carries only self-service permissions.
//
// Nothing here reveals whether a username exists: start() answers an unknown (or inactive) name
// with the shape of a fully provisioned person — every offered method and a stable pseudo-random
// choice of questions — and every failed sign-in gives the same message after the same work.
import { createHmac } from 'node:crypto';
import { ExternalError, UnauthenticatedError } from '../domain/errors.js';
import { normalizeAnswer } from '../domain/security-questions.js';
import { verifyPassword } from '../secrets/password.js';
import type { Device } from '../store/devices-repo.js';
import { listUserDevices } from '../store/devices-repo.js';
import { getUserByUsername, type User } from '../store/users-repo.js';
import type { AuthService, SignedIn } from './auth-service.js';
import type { Actor, ServiceContext } from './context.js';
import type { DirectoryService } from './directory-service.js';
import type { InitialPasswordService } from './initial-password-service.js';
import {
  DEFAULT_PORTAL_LOCKOUT,
  assertNotLocked,
  clearPortalFailures,
  recordPortalFailure,
  type LockoutPolicy,
} from './portal-lockout.js';
import type { AnswerInput, QuestionStatus, SecurityQuestionService } from './security-question-service.js';
import type { PortalAuthMethod, SettingsService } from './settings-service.js';
import { USERNAME_PATTERN } from './user-service.js';

export interface PortalStart {
  methods: PortalAuthMethod[];
  /** The questions to answer when signing in with security questions. */
  questions?: { id: string; text: string }[];
  /** The person must choose and answer security questions once signed in. */
  mustSetQuestions: boolean;
}

export interface PortalSignedIn extends SignedIn {
  mustSetQuestions: boolean;
}

export interface PortalMe {
  user: User;
  devices: Device[];
  securityQuestions: { required: number; answered: number; mustSet: boolean };
  issuanceRetryForUser: boolean;
}

const DIRECTORY_METHOD = 'directory_password';
const FAILED =
  'Those sign-in details are not right, or this way of signing in is not available to you. Check them, or ask the help desk';

export class PortalAuthService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly deps: {
      settings: SettingsService;
      auth: AuthService;
      initialPasswords: InitialPasswordService;
      questions: SecurityQuestionService;
      directory: DirectoryService;
      /** Keys the stable decoy question choice for unknown usernames (a master-key subkey). */
      decoyKey: Buffer;
    },
    private readonly lockout: LockoutPolicy = DEFAULT_PORTAL_LOCKOUT,
  ) {}

  /** An active person by username, or null (unknown, malformed, suspended or terminated). */
  private async activeUser(username: string): Promise<User | null> {
    if (!USERNAME_PATTERN.test(username)) return null;
    const u = await getUserByUsername(this.ctx.db, username);
    return u && u.state === 'active' ? u : null;
  }

  async start(username: string): Promise<PortalStart> {
    const settings = await this.deps.settings.getSecurity();
    const offered = settings.portalAuthMethods;
    const directoryOn = offered.includes('directory_password') && (await this.deps.directory.enabled());
    const user = await this.activeUser(username);
    if (!user) return this.decoy(username, offered, directoryOn, settings.securityQuestionCount);
    const st = await this.deps.questions.status(user.id);
    const holds: Record<PortalAuthMethod, boolean> = {
      initial_password: await this.deps.initialPasswords.hasOutstanding(user.id),
      directory_password: directoryOn && user.source === 'ldap',
      security_questions: st.answered.length > 0,
    };
    const methods = offered.filter((m) => holds[m]);
    return {
      methods,
      ...(methods.includes('security_questions') ? { questions: st.answered } : {}),
      mustSetQuestions: offered.includes('security_questions') && st.mustSet,
    };
  }

  private async decoy(
    username: string,
    offered: PortalAuthMethod[],
    directoryOn: boolean,
    count: number,
  ): Promise<PortalStart> {
    const active = (await this.deps.questions.list()).filter((q) => q.active);
    const withQuestions = offered.includes('security_questions') && active.length >= count;
    const methods = offered.filter(
      (m) =>
        m === 'initial_password' ||
        (m === 'directory_password' && directoryOn) ||
        (m === 'security_questions' && withQuestions),
    );
    if (!withQuestions) return { methods, mustSetQuestions: false };
    // Rank the questions by an HMAC of the name: the same unknown name always gets the same ones.
    const rank = (id: string) =>
      createHmac('sha256', this.deps.decoyKey)
        .update(`${normalizeAnswer(username)}\u0000${id}`)
        .digest('hex');
    const picked = [...active].sort((a, b) => (rank(a.id) < rank(b.id) ? -1 : 1)).slice(0, count);
    const order = new Map(active.map((q, i) => [q.id, i]));
    picked.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
    return { methods, questions: picked.map((q) => ({ id: q.id, text: q.text })), mustSetQuestions: false };
  }

  private async offered(method: PortalAuthMethod): Promise<void> {
    const s = await this.deps.settings.getSecurity();
    if (!s.portalAuthMethods.includes(method)) throw new UnauthenticatedError(FAILED, { method });
  }

  private async open(user: User, method: PortalAuthMethod): Promise<PortalSignedIn> {
    const s = await this.deps.auth.startSession(user, 'portal', method);
    const settings = await this.deps.settings.getSecurity();
    const st = await this.deps.questions.status(user.id);
    return {
      ...s,
      mustSetQuestions: settings.portalAuthMethods.includes('security_questions') && st.mustSet,
    };
  }

  async signInWithInitialPassword(username: string, password: string): Promise<PortalSignedIn> {
    await this.offered('initial_password');
    const user = await this.activeUser(username);
    if (!user) {
      await verifyPassword(password, null);
      throw new UnauthenticatedError(FAILED);
    }
    const r = await this.deps.initialPasswords.check(user.id, password);
    if (!r.ok) throw new UnauthenticatedError(FAILED);
    return this.open(user, 'initial_password');
  }

  async signInWithDirectoryPassword(username: string, password: string): Promise<PortalSignedIn> {
    await this.offered('directory_password');
    const user = await this.activeUser(username);
    if (!user || user.source !== 'ldap') {
      await verifyPassword(password, null);
      throw new UnauthenticatedError(FAILED);
    }
    await assertNotLocked(this.ctx.db, user.id, DIRECTORY_METHOD, this.ctx.clock.now());
    if (!(await this.checkDirectoryPassword(user, password))) {
      await this.ctx.db.transaction((tx) =>
        recordPortalFailure(tx, user.id, DIRECTORY_METHOD, this.lockout, this.ctx.clock.now()),
      );
      throw new UnauthenticatedError(FAILED);
    }
    await this.ctx.db.transaction((tx) => clearPortalFailures(tx, user.id, DIRECTORY_METHOD));
    return this.open(user, 'directory_password');
  }

  /**
   * The directory's verdict. Its failures are the operator's to fix, so the person is told only that
   * it cannot be reached and what to do now — not its address, certificate or TLS details, which
   * the operator sees in Test connection.
   */
  private async checkDirectoryPassword(user: User, password: string): Promise<boolean> {
    try {
      return await this.deps.directory.checkPassword(user, password);
    } catch (e) {
      if (!(e instanceof ExternalError)) throw e;
      throw new ExternalError(
        'directory_unavailable',
        'Your directory password cannot be checked right now. Try again in a few minutes, sign in another way, or contact your help desk',
        { cause: e.code },
        { cause: e },
      );
    }
  }

  async signInWithSecurityQuestions(
    username: string,
    answers: readonly AnswerInput[],
  ): Promise<PortalSignedIn> {
    await this.offered('security_questions');
    const user = await this.activeUser(username);
    if (!user) {
      for (const a of answers) await verifyPassword(normalizeAnswer(a.answer), null);
      throw new UnauthenticatedError(FAILED);
    }
    try {
      await this.deps.questions.verify(user.id, answers);
    } catch (e) {
      if (e instanceof UnauthenticatedError) throw new UnauthenticatedError(FAILED);
      throw e;
    }
    return this.open(user, 'security_questions');
  }

  questionStatus(userId: string): Promise<QuestionStatus> {
    return this.deps.questions.status(userId);
  }

  setQuestions(actor: Actor, answers: readonly AnswerInput[]): Promise<QuestionStatus> {
    return this.deps.questions.setAnswers(actor, actor.id!, answers);
  }

  async me(user: User): Promise<PortalMe> {
    const st = await this.deps.questions.status(user.id);
    return {
      user,
      devices: await listUserDevices(this.ctx.db, user.id),
      securityQuestions: { required: st.required, answered: st.answered.length, mustSet: st.mustSet },
      issuanceRetryForUser: (await this.deps.settings.getSecurity()).issuanceRetryForUser,
    };
  }
}
