import { PROFILE_SLOT } from '../domain/credential-profile.js';
import { DEVICE_TYPES } from '../domain/device.js';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.js';
import { validatePinPolicy } from '../domain/pin-policy.js';
import { appendAudit } from '../store/audit-repo.js';
import type { Queryable } from '../store/db.js';
import {
  getPolicy,
  insertPolicy,
  listPolicies,
  updatePolicy,
  type Policy,
  type PolicyInput,
} from '../store/policies-repo.js';
import { isUniqueViolation } from '../store/sql.js';
import { auditActor, type Actor, type ServiceContext } from './context.js';

/** A device policy as the use cases take (PolicyInput) and give it (Policy). */
export type { Policy, PolicyInput } from '../store/policies-repo.js';

/** Checks the rules a device policy must satisfy; throws one ValidationError listing every problem. */
export function validatePolicy(p: PolicyInput): void {
  const problems: string[] = [];
  if (!p.name.trim()) problems.push('The policy needs a name');
  if (p.deviceTypes.length === 0) problems.push('Choose at least one device type');
  for (const t of p.deviceTypes)
    if (!(DEVICE_TYPES as readonly string[]).includes(t)) problems.push(`Unknown device type "${t}"`);
  if (p.credentialProfiles.length === 0) problems.push('Add at least one credential profile');
  const slots = new Set<string>();
  const names = new Set<string>();
  p.credentialProfiles.forEach((c, i) => {
    const label = `Credential profile ${i + 1}${c.name ? ` ("${c.name}")` : ''}`;
    if (!c.name.trim()) problems.push(`${label}: give it a name`);
    if (names.has(c.name.toLowerCase())) problems.push(`${label}: the name is used twice`);
    names.add(c.name.toLowerCase());
    if (slots.has(c.slot)) problems.push(`${label}: slot ${c.slot.toUpperCase()} is used twice`);
    slots.add(c.slot);
    if (PROFILE_SLOT[c.certificateProfile] !== c.slot)
      problems.push(
        `${label}: a ${c.certificateProfile.replace(/_/g, ' ')} certificate belongs in slot ${PROFILE_SLOT[c.certificateProfile].toUpperCase()}, not ${c.slot.toUpperCase()}`,
      );
    if (c.validityDays < 1 || c.validityDays > 3650) problems.push(`${label}: validity must be 1-3650 days`);
    if (c.validityDays > p.deviceValidityDays)
      problems.push(
        `${label}: certificate validity (${c.validityDays} days) exceeds the device validity (${p.deviceValidityDays} days)`,
      );
    if (c.archiveKey && c.certificateProfile !== 'key_management')
      problems.push(
        `${label}: only key-management keys can be archived (signing keys must never leave the card)`,
      );
  });
  const pin = validatePinPolicy(p.pinPolicy);
  if (!pin.ok) problems.push(`PIN policy: ${pin.error.message}`);
  if (p.pukRetries < 1 || p.pukRetries > 15) problems.push('PUK retries must be 1-15');
  if (p.deviceValidityDays < 1 || p.deviceValidityDays > 3650)
    problems.push('Device validity must be 1-3650 days');
  const temporary = p.temporaryValidityDays;
  if (temporary !== undefined && !(Number.isInteger(temporary) && temporary >= 1 && temporary <= 7))
    problems.push('A temporary replacement device lives 1-7 days');
  if (problems.length) throw new ValidationError(problems.join('; '), { problems });
}

export class PolicyService {
  constructor(private readonly ctx: ServiceContext) {}

  list(): Promise<Policy[]> {
    return listPolicies(this.ctx.db);
  }

  async get(id: string): Promise<Policy> {
    const p = await getPolicy(this.ctx.db, id);
    if (!p) throw new NotFoundError('device policy', id);
    return p;
  }

  async create(actor: Actor, input: PolicyInput & { demo?: boolean }, tx?: Queryable): Promise<Policy> {
    validatePolicy(input);
    const run = async (t: Queryable) => {
      const at = this.ctx.clock.now();
      let policy: Policy;
      try {
        policy = await insertPolicy(t, input, at);
      } catch (e) {
        if (isUniqueViolation(e)) throw new ConflictError(`A policy named "${input.name}" already exists`);
        throw e;
      }
      await appendAudit(t, {
        actor: auditActor(actor),
        action: 'policy.created',
        targetType: 'policy',
        targetId: policy.id,
        details: { name: policy.name },
        correlationId: actor.correlationId ?? null,
        at,
      });
      return policy;
    };
    return tx ? run(tx) : this.ctx.db.transaction(run);
  }

  async update(actor: Actor, id: string, input: PolicyInput): Promise<Policy> {
    validatePolicy(input);
    return this.ctx.db.transaction(async (tx) => {
      const before = await getPolicy(tx, id, true);
      if (!before) throw new NotFoundError('device policy', id);
      const at = this.ctx.clock.now();
      let policy: Policy;
      try {
        policy = await updatePolicy(tx, id, input, at);
      } catch (e) {
        if (isUniqueViolation(e)) throw new ConflictError(`A policy named "${input.name}" already exists`);
        throw e;
      }
      const changed = (Object.keys(input) as (keyof PolicyInput)[]).filter(
        (k) => JSON.stringify(before[k]) !== JSON.stringify(policy[k]),
      );
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'policy.updated',
        targetType: 'policy',
        targetId: id,
        details: { name: policy.name, version: policy.version, changed },
        correlationId: actor.correlationId ?? null,
        at,
      });
      return policy;
    });
  }
}
