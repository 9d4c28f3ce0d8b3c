// Card layouts: kept, checked against the people and the directory, and rendered (the preview and
// the printed job come from the same renderer, src/print/card-renderer.ts).
import {
  CARD_SIDES,
  layoutProblems,
  PERSON_FIELDS,
  type CardData,
  type CardSide,
  type LayoutDefinition,
} from '../../domain/card-layout.js';
import { ConflictError, NotFoundError, ValidationError } from '../../domain/errors.js';
import { checkPhoto } from '../../domain/photo.js';
import { PIV_LAYOUT, PIV_LAYOUT_NAME } from '../../domain/piv-layout.js';
import { appendAudit } from '../../store/audit-repo.js';
import type { Queryable } from '../../store/db.js';
import {
  deleteLayout,
  getLayout,
  getUserPhoto,
  insertLayout,
  listLayouts,
  personPropertyNames,
  updateLayout,
  type Layout,
  type LayoutInput,
} from '../../store/layouts-repo.js';
import { isUniqueViolation } from '../../store/sql.js';
import { getUser } from '../../store/users-repo.js';
import { auditActor, holds, type Actor, type ServiceContext } from '../context.js';
import type { PrintSettingsService } from './print-settings.js';

export type { Layout, LayoutInput } from '../../store/layouts-repo.js';

export interface LayoutTemplate {
  id: string;
  name: string;
  description: string;
  definition: LayoutDefinition;
}

/** Layouts an administrator can start from (the editor copies one into a new layout). */
export const LAYOUT_TEMPLATES: readonly LayoutTemplate[] = [
  {
    id: 'piv',
    name: PIV_LAYOUT_NAME,
    description:
      'FIPS 201-3 §4.1.4 zones: photo, name, affiliation, agency, expiry, affiliation band; serial and issuer on the back',
    definition: PIV_LAYOUT,
  },
];

const DAY_MS = 86_400_000;

export interface LayoutDeps {
  printSettings: PrintSettingsService;
  /** The person properties the directory maps (they exist once a sync ran, or will). */
  directoryProperties(db: Queryable): Promise<string[]>;
}

export class LayoutService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly deps: LayoutDeps,
  ) {}

  list(): Promise<Layout[]> {
    return listLayouts(this.ctx.db);
  }

  async get(id: string, db: Queryable = this.ctx.db): Promise<Layout> {
    const l = await getLayout(db, id);
    if (!l) throw new NotFoundError('card layout', id);
    return l;
  }

  templates(): readonly LayoutTemplate[] {
    return LAYOUT_TEMPLATES;
  }

  /** The property names a layout may print: those some person has, and those the directory maps. */
  async knownProperties(db: Queryable = this.ctx.db): Promise<string[]> {
    const names = new Set([...(await personPropertyNames(db)), ...(await this.deps.directoryProperties(db))]);
    return [...names].sort();
  }

  /** Throws one ValidationError listing every problem, each naming its side and element. */
  async check(input: LayoutInput, db: Queryable = this.ctx.db): Promise<void> {
    const problems: string[] = [];
    if (!input.name.trim()) problems.push('The layout needs a name');
    problems.push(
      ...layoutProblems(input.definition, { knownProperties: new Set(await this.knownProperties(db)) }),
    );
    for (const side of CARD_SIDES)
      for (const e of input.definition[side].elements)
        if (e.kind === 'image' && e.data)
          try {
            checkPhoto(Buffer.from(e.data, 'base64'));
          } catch (err) {
            problems.push(
              `${side} element "${e.name}": ${(err as Error).message.replace(/photo/g, 'image')}`,
            );
          }
    if (problems.length) throw new ValidationError(problems.join('; '), { problems });
  }

  async create(actor: Actor, input: LayoutInput, tx?: Queryable): Promise<Layout> {
    const run = async (t: Queryable) => {
      await this.check(input, t);
      const at = this.ctx.clock.now();
      let layout: Layout;
      try {
        layout = await insertLayout(t, input, at);
      } catch (e) {
        if (isUniqueViolation(e)) throw new ConflictError(`A layout named "${input.name}" already exists`);
        throw e;
      }
      await this.audit(t, actor, 'layout.created', layout, at);
      return layout;
    };
    return tx ? run(tx) : this.ctx.db.transaction(run);
  }

  async update(actor: Actor, id: string, input: LayoutInput): Promise<Layout> {
    return this.ctx.db.transaction(async (tx) => {
      if (!(await getLayout(tx, id, true))) throw new NotFoundError('card layout', id);
      await this.check(input, tx);
      const at = this.ctx.clock.now();
      let layout: Layout;
      try {
        layout = await updateLayout(tx, id, input, at);
      } catch (e) {
        if (isUniqueViolation(e)) throw new ConflictError(`A layout named "${input.name}" already exists`);
        throw e;
      }
      await this.audit(tx, actor, 'layout.updated', layout, at);
      return layout;
    });
  }

  async remove(actor: Actor, id: string): Promise<void> {
    await this.ctx.db.transaction(async (tx) => {
      const layout = await getLayout(tx, id, true);
      if (!layout) throw new NotFoundError('card layout', id);
      await deleteLayout(tx, id);
      await this.audit(tx, actor, 'layout.deleted', layout, this.ctx.clock.now());
    });
  }

  /**
   * The layout drawn for a person (or for a sample person when none is named) with a sample card:
   * the serial and dates the card will get are not known before it is issued.
   */
  async preview(
    actor: Actor,
    source: { layoutId: string } | { definition: LayoutDefinition },
    opts: { userId?: string; side?: CardSide } = {},
  ): Promise<Buffer> {
    // A saved layout, or the editor's unsaved draft (its live preview).
    const layout = 'layoutId' in source ? await this.get(source.layoutId) : null;
    const definition = 'definition' in source ? source.definition : layout!.definition;
    const now = this.ctx.clock.now();
    const card = {
      serial: 'TSR-SAMPLE-0001',
      issuedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 365 * DAY_MS).toISOString(),
    };
    let person: CardData['person'] = {
      displayName: 'Sample Person',
      username: 'sample',
      email: 'sample@example.org',
      properties: Object.fromEntries((await this.knownProperties()).map((k) => [k, `Sample ${k}`])),
    };
    let photo: Uint8Array | null = null;
    if (opts.userId) {
      // Printing a person's data needs the right to read it (the route asked only for layouts).
      if (!holds(actor, 'user.read')) throw new NotFoundError('user', opts.userId);
      const user = await getUser(this.ctx.db, opts.userId);
      if (!user) throw new NotFoundError('user', opts.userId);
      person = user;
      photo = (await getUserPhoto(this.ctx.db, user.id))?.data ?? null;
    }
    return this.render(definition, person, card, photo, opts.side ? [opts.side] : CARD_SIDES, layout?.name);
  }

  /** A person's card with a saved layout, as issuance prints it (its real serial and dates). */
  async renderFor(layoutId: string, userId: string, card: Omit<CardData['card'], 'issuer'>): Promise<Buffer> {
    const layout = await this.get(layoutId);
    const user = await getUser(this.ctx.db, userId);
    if (!user) throw new NotFoundError('user', userId);
    const photo = (await getUserPhoto(this.ctx.db, user.id))?.data ?? null;
    return this.render(layout.definition, user, card, photo, CARD_SIDES, layout.name);
  }

  /** A card for a person, as printed (the print job's document). */
  async render(
    definition: LayoutDefinition,
    person: CardData['person'],
    card: Omit<CardData['card'], 'issuer'>,
    photo: Uint8Array | null,
    sides: readonly CardSide[] = CARD_SIDES,
    title?: string,
  ): Promise<Buffer> {
    const { issuerName } = await this.deps.printSettings.get();
    const data: CardData = {
      person: {
        ...Object.fromEntries(PERSON_FIELDS.map((f) => [f, person[f]])),
        properties: person.properties,
      } as CardData['person'],
      card: { ...card, issuer: issuerName },
    };
    // pdfkit and bwip-js (~30 MB) are loaded on the first render, not at start-up.
    const { renderCard } = await import('../../print/card-renderer.js');
    return renderCard({ layout: definition, data, photo, sides, ...(title ? { title } : {}) });
  }

  private audit(tx: Queryable, actor: Actor, action: string, layout: Layout, at: Date) {
    return appendAudit(tx, {
      actor: auditActor(actor),
      action,
      targetType: 'layout',
      targetId: layout.id,
      details: { name: layout.name },
      correlationId: actor.correlationId ?? null,
      at,
    });
  }
}
