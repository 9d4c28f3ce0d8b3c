// Which CAs exist, which one issues, and each one ready to sign. The list is re-read after
// CA_CACHE_MS (another server may have imported a CA) or when told the hierarchy changed; a CA's
// Signer is opened once per external URL (its URLs go into what it signs) and kept.
import { NotFoundError, ValidationError } from '../../domain/errors.js';
import type { Signer } from '../../pki/signer.js';
import { signingCa, type SigningCa } from '../../pki/signing-ca.js';
import { getCa, listCas, type CaRecord } from '../../store/ca-repo.js';
import type { Queryable } from '../../store/db.js';

/** What the registry needs of the key store: a sealed key back as a Signer. */
export interface CaKeyOpener {
  open(caId: string, sealed: Buffer): Promise<Signer>;
}

export interface CaList {
  byId: ReadonlyMap<string, CaRecord>;
  activeId: string | null;
}

/** How long the CA list is trusted before re-reading. */
const CA_CACHE_MS = 30_000;

export class CaRegistry {
  readonly #db: Queryable;
  readonly #keys: CaKeyOpener;
  readonly #externalUrl: () => string;
  #list: (CaList & { at: number }) | null = null;
  readonly #signers = new Map<string, SigningCa>();

  constructor(deps: { db: Queryable; keys: CaKeyOpener; externalUrl: () => string }) {
    this.#db = deps.db;
    this.#keys = deps.keys;
    this.#externalUrl = deps.externalUrl;
  }

  async list(): Promise<CaList> {
    const now = Date.now();
    if (this.#list && now - this.#list.at < CA_CACHE_MS) return this.#list;
    const all = await listCas(this.#db);
    this.#list = {
      at: now,
      byId: new Map(all.map((c) => [c.id, c])),
      activeId: all.find((c) => c.kind === 'issuing' && c.active)?.id ?? null,
    };
    return this.#list;
  }

  /** A CA was created or imported: the next call reads the list again. */
  forget(): void {
    this.#list = null;
  }

  async signer(caId: string): Promise<SigningCa> {
    const externalUrl = this.#externalUrl();
    const cacheKey = `${caId} ${externalUrl}`;
    const cached = this.#signers.get(cacheKey);
    if (cached) return cached;
    const rec = (await this.list()).byId.get(caId) ?? (await getCa(this.#db, caId));
    if (!rec) throw new NotFoundError('CA', caId);
    if (!rec.encryptedKey) throw new ValidationError(`CA ${caId} has no private key here`);
    const ca = signingCa({
      id: caId,
      certificateDer: rec.certificate,
      signer: await this.#keys.open(caId, rec.encryptedKey),
      externalUrl,
    });
    this.#signers.set(cacheKey, ca);
    return ca;
  }

  /** The issuing CA that signs new certificates, with its record (for its validity). */
  async active(): Promise<{ ca: SigningCa; record: CaRecord }> {
    const list = await this.list();
    const record = list.activeId ? list.byId.get(list.activeId) : undefined;
    if (!record) throw new ValidationError('No issuing CA exists yet: the server creates one at start-up');
    return { ca: await this.signer(record.id), record };
  }

  /** Every CA whose key is here, ready to sign (OCSP answers for each). */
  async withKeys(): Promise<SigningCa[]> {
    const out: SigningCa[] = [];
    for (const c of (await this.list()).byId.values()) if (c.encryptedKey) out.push(await this.signer(c.id));
    return out;
  }
}
