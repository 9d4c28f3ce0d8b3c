import { ValidationError } from '../domain/errors.js';
import {
  INITIAL_PASSWORD_MAX_ATTEMPTS,
  INITIAL_PASSWORD_VALIDITY_HOURS,
  SECURITY_QUESTION_COUNT,
  type InitialPinDisplayMode,
  type PortalAuthMethod,
} from '../domain/security-settings.js';
import { appendAudit } from '../store/audit-repo.js';
import type { Queryable } from '../store/db.js';
import { getSetting, putSetting } from '../store/settings-repo.js';
import { auditActor, type Actor, type ServiceContext } from './context.js';

export interface SecuritySettings {
  initialPinDisplayMode: InitialPinDisplayMode;
  changePinDuringIssuance: boolean;
  issuanceRetryForUser: boolean;
  portalAuthMethods: PortalAuthMethod[];
  securityQuestionCount: number;
  /** How long an initial password stays valid once issued (hours). */
  initialPasswordValidityHours: number;
  /** Wrong tries that burn an initial password. */
  initialPasswordMaxAttempts: number;
}

export const DEFAULT_SECURITY_SETTINGS: SecuritySettings = {
  initialPinDisplayMode: 'disguised',
  changePinDuringIssuance: false,
  issuanceRetryForUser: true,
  portalAuthMethods: ['initial_password', 'security_questions'],
  securityQuestionCount: 3,
  initialPasswordValidityHours: 72,
  initialPasswordMaxAttempts: 5,
};

const intIn = (v: number, r: { min: number; max: number }) => Number.isInteger(v) && v >= r.min && v <= r.max;

const KEY = 'security';

export class SettingsService {
  /** The settings row of the security settings, for a caller that reads it with other rows. */
  readonly securityKey = KEY;

  constructor(private readonly ctx: ServiceContext) {}

  async getSecurity(db: Queryable = this.ctx.db): Promise<SecuritySettings> {
    return this.securityOf(await getSetting<Partial<SecuritySettings>>(db, KEY));
  }

  /** The security settings from their stored row's value (undefined: none stored, the defaults). */
  securityOf(stored: unknown): SecuritySettings {
    return { ...DEFAULT_SECURITY_SETTINGS, ...(stored as Partial<SecuritySettings> | undefined) };
  }

  async putSecurity(actor: Actor, s: SecuritySettings): Promise<SecuritySettings> {
    if (s.portalAuthMethods.length === 0)
      throw new ValidationError(
        'Enable at least one user-portal authentication method, or no user could self-issue',
      );
    if (new Set(s.portalAuthMethods).size !== s.portalAuthMethods.length)
      throw new ValidationError('Each authentication method may be listed once');
    const Q = SECURITY_QUESTION_COUNT;
    if (!intIn(s.securityQuestionCount, Q))
      throw new ValidationError(`The number of security questions must be ${Q.min}-${Q.max}`);
    const V = INITIAL_PASSWORD_VALIDITY_HOURS;
    if (!intIn(s.initialPasswordValidityHours, V))
      throw new ValidationError(
        `The initial password validity must be a whole number of hours, ${V.min}-${V.max} (${V.max} h = 30 days)`,
      );
    const A = INITIAL_PASSWORD_MAX_ATTEMPTS;
    if (!intIn(s.initialPasswordMaxAttempts, A))
      throw new ValidationError(`The initial password attempts must be ${A.min}-${A.max}`);
    return this.ctx.db.transaction(async (tx) => {
      // Read inside the transaction: PGlite has one connection, and a read outside would wait on it.
      const before = await this.getSecurity(tx);
      const at = this.ctx.clock.now();
      await putSetting(tx, KEY, s, at);
      const changed = (Object.keys(s) as (keyof SecuritySettings)[]).filter(
        (k) => JSON.stringify(before[k]) !== JSON.stringify(s[k]),
      );
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'settings.updated',
        targetType: 'settings',
        targetId: KEY,
        details: { changed, settings: s },
        correlationId: actor.correlationId ?? null,
        at,
      });
      return s;
    });
  }
}
