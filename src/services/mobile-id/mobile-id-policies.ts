// Mobile ID policies (reference 004, "Options"): the administrator's settings a person's mobile ID
// is ordered under — which of a device policy's certificates are issued, where the QR code goes, how
// long it lives, which person properties go into the enrolment, whether the archived encryption key
// is recovered onto the phone, and whom to notify. Every change is audited.
import { ConflictError, NotFoundError, ValidationError } from '../../domain/errors.js';
import { mobileIdPolicyProblems, type MobileIdPolicyInput } from '../../domain/mobile-id.js';
import { appendAudit } from '../../store/audit-repo.js';
import {
  deleteUnusedMobileIdPolicy,
  getMobileIdPolicy,
  insertMobileIdPolicy,
  listMobileIdPolicies,
  updateMobileIdPolicy,
  type MobileIdPolicy,
} from '../../store/mobile-id-repo.js';
import type { Queryable } from '../../store/db.js';
import { getPolicy } from '../../store/policies-repo.js';
import { isUniqueViolation } from '../../store/sql.js';
import { auditActor, type Actor, type ServiceContext } from '../context.js';

export type { MobileIdPolicy } from '../../store/mobile-id-repo.js';

export class MobileIdPolicies {
  constructor(private readonly ctx: ServiceContext) {}

  list(): Promise<MobileIdPolicy[]> {
    return listMobileIdPolicies(this.ctx.db);
  }

  async get(id: string): Promise<MobileIdPolicy> {
    const p = await getMobileIdPolicy(this.ctx.db, id);
    if (!p) throw new NotFoundError('mobile ID policy', id);
    return p;
  }

  /** The policy a person orders under: the one named, or the first enabled one (by name). */
  async forOrder(id?: string): Promise<MobileIdPolicy> {
    const all = (await this.list()).filter((p) => p.enabled);
    const p = id ? all.find((x) => x.id === id) : all[0];
    if (!p)
      throw new ConflictError(
        id
          ? 'This mobile ID policy does not exist or is disabled'
          : 'Mobile IDs are not offered yet: your administrator has not set up a mobile ID policy',
      );
    return p;
  }

  private async check(db: Queryable, input: MobileIdPolicyInput): Promise<void> {
    const device = await getPolicy(db, input.devicePolicyId);
    const problems = mobileIdPolicyProblems(input, device);
    if (problems.length) throw new ValidationError(problems.join('; '), { problems });
  }

  async create(actor: Actor, input: MobileIdPolicyInput, outer?: Queryable): Promise<MobileIdPolicy> {
    const run = async (tx: Queryable) => {
      await this.check(tx, input);
      const at = this.ctx.clock.now();
      let p: MobileIdPolicy;
      try {
        p = await insertMobileIdPolicy(tx, input, at);
      } catch (e) {
        if (isUniqueViolation(e))
          throw new ConflictError(`A mobile ID policy named "${input.name}" already exists`);
        throw e;
      }
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'mobile_id_policy.created',
        targetType: 'mobile_id_policy',
        targetId: p.id,
        details: { name: p.name },
        correlationId: actor.correlationId ?? null,
        at,
      });
      return p;
    };
    return outer ? run(outer) : this.ctx.db.transaction(run);
  }

  async update(actor: Actor, id: string, input: MobileIdPolicyInput): Promise<MobileIdPolicy> {
    return this.ctx.db.transaction(async (tx) => {
      const before = await getMobileIdPolicy(tx, id);
      if (!before) throw new NotFoundError('mobile ID policy', id);
      await this.check(tx, input);
      const at = this.ctx.clock.now();
      let p: MobileIdPolicy | null;
      try {
        p = await updateMobileIdPolicy(tx, id, input, at);
      } catch (e) {
        if (isUniqueViolation(e))
          throw new ConflictError(`A mobile ID policy named "${input.name}" already exists`);
        throw e;
      }
      const changed = (Object.keys(input) as (keyof MobileIdPolicyInput)[]).filter(
        (k) => JSON.stringify(before[k]) !== JSON.stringify(p![k]),
      );
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'mobile_id_policy.updated',
        targetType: 'mobile_id_policy',
        targetId: id,
        details: { name: p!.name, version: p!.version, changed },
        correlationId: actor.correlationId ?? null,
        at,
      });
      return p!;
    });
  }

  /** Deletes a policy nothing was ordered under; one in use is disabled instead (kept for its mobile IDs). */
  async delete(actor: Actor, id: string): Promise<void> {
    await this.ctx.db.transaction(async (tx) => {
      const p = await getMobileIdPolicy(tx, id);
      if (!p) throw new NotFoundError('mobile ID policy', id);
      if (!(await deleteUnusedMobileIdPolicy(tx, id)))
        throw new ConflictError(
          `Mobile IDs were ordered under "${p.name}": disable it instead (its mobile IDs keep it)`,
        );
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'mobile_id_policy.deleted',
        targetType: 'mobile_id_policy',
        targetId: id,
        details: { name: p.name },
        correlationId: actor.correlationId ?? null,
        at: this.ctx.clock.now(),
      });
    });
  }
}
