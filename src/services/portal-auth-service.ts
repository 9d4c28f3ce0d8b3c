// User-portal sign-in (reference 000 step 5: "you might be prompted to enter the LDAP password
// instead of an Initial Password or to provide answers to security questions"). The security
// settings say which methods the portal offers; start() lists those usable at all (a method the
// person does not hold simply fails like a wrong password). A successful sign-in opens a portal session, which carries only self-service permissions.
//
// Nothing here reveals whether a username exists: start() answers from the settings alone (every
// offered, usable method) with the person's own questions or, for anyone without answers (unknown
// and inactive names included), a stable pseudo-random choice; every failed sign-in gives the same
// message after comparable work — the directory is asked about unknown names too.
import { createHmac } from 'node:crypto';
import { ExternalError, UnauthenticatedError } from '../domain/errors.js';
import { normalizeAnswer } from '../domain/security-questions.js';
import type { PortalAuthMethod } from '../domain/security-settings.js';
import { verifyPassword } from '../secrets/password.js';
import type { Device } from '../store/devices-repo.js';
import { listUserDevices } from '../store/devices-repo.js';
import { getUserByUsername, type User } from '../store/users-repo.js';
import type { AuthService, SignedIn } from './auth-service.js';
import type { Actor, ServiceContext } from './context.js';
import type { DirectoryService } from './directory-service.js';
import type { InitialPasswordService } from './initial-password-service.js';
import {
  DEFAULT_THROTTLE,
  admitAttempt,
  attemptSucceeded,
  auditFailure,
  type Attempt,
  type ThrottleLimits,
} from './sign-in-throttle.js';
import type { AnswerInput, QuestionStatus, SecurityQuestionService } from './security-question-service.js';
import type { SettingsService } from './settings-service.js';
import { USERNAME_PATTERN } from './user-service.js';

export interface PortalStart {
  methods: PortalAuthMethod[];
  /** The questions to answer when signing in with security questions. */
  questions?: { id: string; text: string }[];
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

/** The right initial password, already used to finish setting up (answers set or a card issued). */
const INITIAL_USED =
  'This initial password was already used: you finished setting up with it. Sign in with your security answers or your directory password, or ask your help desk for a new initial password';
const INITIAL_EXPIRED = 'This initial password has expired. Ask your help desk for a new one';
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
    private readonly throttle: ThrottleLimits = DEFAULT_THROTTLE,
  ) {}

  /** An active person by username, or null (unknown, malformed, suspended or terminated). */
  private async activeUser(username: string): Promise<User | null> {
    if (!USERNAME_PATTERN.test(username)) return null;
    const u = await getUserByUsername(this.ctx.db, username);
    return u && u.state === 'active' ? u : null;
  }

  /**
   * The sign-in methods and questions for `username`. The methods depend on the settings only (what
   * is offered and usable at all), never on what this person holds, so the reply is the same for a
   * real and an unknown name. The questions are the person's own when they have answers; otherwise
   * (no answers yet, unknown, inactive) the stable HMAC choice, so those cases look alike too.
   */
  async start(username: string): Promise<PortalStart> {
    const settings = await this.deps.settings.getSecurity();
    const offered = settings.portalAuthMethods;
    const directoryOn = offered.includes('directory_password') && (await this.deps.directory.enabled());
    const active = (await this.deps.questions.list()).filter((q) => q.active);
    const withQuestions =
      offered.includes('security_questions') && active.length >= settings.securityQuestionCount;
    const methods = offered.filter(
      (m) =>
        m === 'initial_password' ||
        (m === 'directory_password' && directoryOn) ||
        (m === 'security_questions' && withQuestions),
    );
    if (!withQuestions) return { methods };
    const user = await this.activeUser(username);
    const answered = user ? (await this.deps.questions.status(user.id)).answered : [];
    if (answered.length > 0) return { methods, questions: answered };
    return { methods, questions: this.decoyQuestions(username, active, settings.securityQuestionCount) };
  }

  /** A stable pseudo-random choice of `count` questions, keyed by an HMAC of the name. */
  private decoyQuestions(
    username: string,
    active: readonly { id: string; text: string }[],
    count: number,
  ): { id: string; text: string }[] {
    const rank = (id: string) =>
      createHmac('sha256', this.deps.decoyKey)
        .update(`${normalizeAnswer(username)}\u0000${id}`)
        .digest('hex');
    const picked = [...active].sort((a, b) => (rank(a.id) < rank(b.id) ? -1 : 1)).slice(0, count);
    const order = new Map(active.map((q, i) => [q.id, i]));
    picked.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
    return picked.map((q) => ({ id: q.id, text: q.text }));
  }

  private async offered(method: PortalAuthMethod): Promise<void> {
    const s = await this.deps.settings.getSecurity();
    if (!s.portalAuthMethods.includes(method)) throw new UnauthenticatedError(FAILED, { method });
  }

  private async open(user: User, method: PortalAuthMethod, attempt: Attempt): Promise<PortalSignedIn> {
    const s = await this.deps.auth.startSession(user, 'portal', method, (tx) =>
      attemptSucceeded(tx, attempt),
    );
    const settings = await this.deps.settings.getSecurity();
    const st = await this.deps.questions.status(user.id);
    return {
      ...s,
      mustSetQuestions: settings.portalAuthMethods.includes('security_questions') && st.mustSet,
    };
  }

  /**
   * One throttled sign-in (decision 0022): the attempt is counted first; `check` then does its slow
   * work in every case — handed null for an unknown or inactive name and for an attempt made while
   * a delay is in force, when it must do the same work as for a wrong secret and say no — and the
   * session opens only when the attempt was admitted and the check says yes. Every refusal is the
   * same error.
   */
  private async guarded(
    method: PortalAuthMethod,
    username: string,
    from: string | undefined,
    check: (user: User | null) => Promise<boolean>,
  ): Promise<PortalSignedIn> {
    await this.offered(method);
    const attempt = await admitAttempt(this.ctx, this.throttle, method, username, from);
    const known = await this.activeUser(username);
    const user = attempt.admitted ? known : null;
    if (!(await check(user)) || !user) {
      // The initial password audits its own outcomes (it counts and burns on its own record).
      if (user && method !== 'initial_password')
        await auditFailure(this.ctx, attempt, user.id, 'portal_auth.failed', { method });
      throw new UnauthenticatedError(FAILED);
    }
    return this.open(user, method, attempt);
  }

  async signInWithInitialPassword(
    username: string,
    password: string,
    from?: string,
  ): Promise<PortalSignedIn> {
    return this.guarded('initial_password', username, from, async (user) => {
      if (!user) return verifyPassword(password, null);
      const r = await this.deps.initialPasswords.check(user.id, password);
      // Said only to someone who typed the right password: it tells a guesser nothing.
      if (!r.ok && 'rightPassword' in r && r.rightPassword)
        throw new UnauthenticatedError(r.reason === 'used' ? INITIAL_USED : INITIAL_EXPIRED, {
          reason: r.reason === 'used' ? 'initial_password_used' : 'initial_password_expired',
        });
      return r.ok;
    });
  }

  async signInWithDirectoryPassword(
    username: string,
    password: string,
    from?: string,
  ): Promise<PortalSignedIn> {
    return this.guarded('directory_password', username, from, async (user) => {
      if (!user || user.source !== 'ldap') {
        // Ask the directory as for a real person, so an outage is the same 502 for everyone and an
        // unknown name costs a directory round trip too; then the same refusal as a wrong password.
        await this.askDirectory(() => this.deps.directory.lookUp(username));
        return verifyPassword(password, null);
      }
      return this.askDirectory(() => this.deps.directory.checkPassword(user, password));
    });
  }

  /**
   * A call to the directory. Its failures are the operator's to fix, so the person is told only that
   * it cannot be reached and what to do now — not its address, certificate or TLS details, which
   * the operator sees in Test connection.
   */
  private async askDirectory<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
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
    from?: string,
  ): Promise<PortalSignedIn> {
    return this.guarded('security_questions', username, from, async (user) => {
      if (!user) {
        for (const a of answers) await verifyPassword(normalizeAnswer(a.answer), null);
        return false;
      }
      try {
        await this.deps.questions.verify(user.id, answers);
        return true;
      } catch (e) {
        if (e instanceof UnauthenticatedError) return false;
        throw e;
      }
    });
  }

  questionStatus(userId: string): Promise<QuestionStatus> {
    return this.deps.questions.status(userId);
  }

  setQuestions(actor: Actor, answers: readonly AnswerInput[]): Promise<QuestionStatus> {
    return this.deps.questions.setAnswers(actor, actor.id!, answers);
  }

  async me(user: User): Promise<PortalMe> {
    const settings = await this.deps.settings.getSecurity();
    const st = await this.deps.questions.status(user.id);
    return {
      user,
      devices: await listUserDevices(this.ctx.db, user.id),
      securityQuestions: {
        required: st.required,
        answered: st.answered.length,
        // As at sign-in (open()): answers are asked for only while the portal offers them.
        mustSet: settings.portalAuthMethods.includes('security_questions') && st.mustSet,
      },
      issuanceRetryForUser: settings.issuanceRetryForUser,
    };
  }
}
