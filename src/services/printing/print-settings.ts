// Whether card printing is on (reference 002: "printing configured"), and what the cards say about
// their issuer. Printing is available only when an administrator turned it on and at least one
// layout exists: either alone would offer a printer tile that cannot print anything.
import { ValidationError } from '../../domain/errors.js';
import { appendAudit } from '../../store/audit-repo.js';
import type { Queryable } from '../../store/db.js';
import { countLayouts } from '../../store/layouts-repo.js';
import { getSetting, putSetting } from '../../store/settings-repo.js';
import { auditActor, type Actor, type ServiceContext } from '../context.js';

export interface PrintSettings {
  enabled: boolean;
  /** Printed where a layout names the card's issuer (FIPS 201 zones 10F and 2B). */
  issuerName: string;
}

export interface PrintStatus extends PrintSettings {
  layoutCount: number;
  /** enabled and at least one layout: the printer tile may show. */
  available: boolean;
}

export const DEFAULT_PRINT_SETTINGS: PrintSettings = { enabled: false, issuerName: 'Tessera' };

const KEY = 'printing';

export class PrintSettingsService {
  constructor(private readonly ctx: ServiceContext) {}

  async get(db: Queryable = this.ctx.db): Promise<PrintSettings> {
    return { ...DEFAULT_PRINT_SETTINGS, ...(await getSetting<Partial<PrintSettings>>(db, KEY)) };
  }

  async status(db: Queryable = this.ctx.db): Promise<PrintStatus> {
    const s = await this.get(db);
    const layoutCount = await countLayouts(db);
    return { ...s, layoutCount, available: s.enabled && layoutCount > 0 };
  }

  async put(actor: Actor, s: PrintSettings, tx?: Queryable): Promise<PrintStatus> {
    if (!s.issuerName.trim()) throw new ValidationError('The issuer name printed on cards cannot be empty');
    const run = async (t: Queryable) => {
      const before = await this.get(t);
      const at = this.ctx.clock.now();
      await putSetting(t, KEY, s, at);
      const changed = (Object.keys(s) as (keyof PrintSettings)[]).filter((k) => before[k] !== s[k]);
      await appendAudit(t, {
        actor: auditActor(actor),
        action: 'settings.updated',
        targetType: 'settings',
        targetId: KEY,
        details: { changed, settings: s },
        correlationId: actor.correlationId ?? null,
        at,
      });
      return this.status(t);
    };
    return tx ? run(tx) : this.ctx.db.transaction(run);
  }
}
