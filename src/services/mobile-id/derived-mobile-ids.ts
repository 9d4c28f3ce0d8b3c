// A derived mobile ID follows its PIV card (NIST SP 800-157: the derived credential's validity
// rests on the card's), in the transaction that changes the card (decision 0033):
// - the card suspended → its mobile IDs suspended along (certificates on hold); resumed → resumed;
// - the card ended with a card taking its place (a permanent replacement issued, a temporary one
//   ended with the original back) → re-bound to that card, usable throughout;
// - the card ended with none in its place → suspended (policy cardEnd "suspend") or revoked.
// A card being replaced (invalid) changes nothing: the phone is not lost with the card.
import { isPivDevice } from '../../domain/device.js';
import { must } from '../../domain/errors.js';
import { mobileIdTransition } from '../../domain/mobile-id.js';
import { appendAudit } from '../../store/audit-repo.js';
import { listDeviceCredentials } from '../../store/credentials-repo.js';
import type { Queryable } from '../../store/db.js';
import { getDevice, type Device } from '../../store/devices-repo.js';
import { getDeviceSuspension } from '../../store/holds-repo.js';
import {
  getMobileIdPolicy,
  lockMobileIdsDerivedFrom,
  updateMobileId,
  type CardHold,
  type MobileIdRecord,
} from '../../store/mobile-id-repo.js';
import { openRequestsForTarget, requestsNamingDevice } from '../../store/requests-repo.js';
import { auditActor, type Actor } from '../context.js';
import type { ChangedCertificates, Revocation } from '../pki/revocation.js';
import type { CardFollower } from '../replacement/common.js';

type InTx = { device: Device; caIds: ChangedCertificates };

/** The phone's device lifecycle, inside the card's transaction. */
export interface PhoneDevicesInTx {
  suspendIn(tx: Queryable, actor: Actor, deviceId: string, note: string, at: Date): Promise<InTx>;
  resumeIn(tx: Queryable, actor: Actor, deviceId: string, at: Date): Promise<InTx>;
  terminateIn(tx: Queryable, actor: Actor, deviceId: string, at: Date): Promise<InTx>;
}

/** A card that may carry derived mobile IDs: a PIV card or token in use. */
const live = (d: Device): boolean => isPivDevice(d.type) && (d.state === 'active' || d.state === 'suspended');

export class DerivedMobileIds implements CardFollower {
  constructor(
    private readonly deps: {
      devices: PhoneDevicesInTx;
      revocation: Pick<Revocation, 'changeCredentials'>;
    },
  ) {}

  async cardMoved(
    tx: Queryable,
    actor: Actor,
    before: Device,
    card: Device,
    at: Date,
  ): Promise<ChangedCertificates> {
    if (!isPivDevice(card.type)) return [];
    if (card.state !== 'suspended' && card.state !== 'active' && card.state !== 'terminated') return [];
    const derived = await lockMobileIdsDerivedFrom(tx, card.id);
    if (derived.length === 0) return [];
    const changed: ChangedCertificates[number][] = [];
    const why = { cardId: card.id, cardSerial: card.serial, cardFrom: before.state, cardTo: card.state };
    for (const m of derived) {
      if (card.state === 'suspended') {
        if (m.state === 'active')
          changed.push(...(await this.suspend(tx, actor, m, 'card_suspended', at, why)));
      } else if (card.state === 'active') {
        if (m.cardHold) changed.push(...(await this.resume(tx, actor, m, at, why)));
      } else {
        const next = await this.successorOf(tx, card);
        if (next) changed.push(...(await this.rebind(tx, actor, m, next, at, why)));
        else if ((await getMobileIdPolicy(tx, m.policyId))?.cardEnd === 'revoke')
          changed.push(...(await this.revoke(tx, actor, m, at, why)));
        else if (m.state === 'active')
          changed.push(...(await this.suspend(tx, actor, m, 'card_terminated', at, why)));
        else if (m.cardHold !== 'card_terminated') {
          // Already suspended (by an operator or the card's own suspension): now its card is gone.
          await updateMobileId(tx, m.id, { cardHold: 'card_terminated' }, at);
          await this.audit(tx, actor, m, 'mobile_id.card_ended', at, why);
        }
      }
    }
    return changed;
  }

  /**
   * The card that takes an ended card's place in the same transaction: the device of a permanent
   * replacement of it, or — for an ended temporary card — the original given back; followed on
   * when that one ended too (a permanent replacement issued over a temporary one).
   */
  private async successorOf(tx: Queryable, card: Device, depth = 0): Promise<Device | null> {
    if (depth > 3) return null;
    const requests = await requestsNamingDevice(tx, card.id);
    const candidates: string[] = [];
    for (const r of requests) {
      if (r.state === 'cancelled' || r.state === 'rejected') continue;
      if (r.targetDeviceId === card.id && r.type !== 'temporary' && r.replacementDeviceId)
        candidates.push(r.replacementDeviceId);
    }
    for (const r of requests)
      if (r.type === 'temporary' && r.replacementDeviceId === card.id && r.targetDeviceId)
        candidates.push(r.targetDeviceId);
    for (const id of candidates) {
      const d = await getDevice(tx, id);
      if (d && live(d)) return d;
      if (d && isPivDevice(d.type) && d.state === 'terminated' && d.id !== card.id) {
        const further = await this.successorOf(tx, d, depth + 1);
        if (further) return further;
      }
    }
    return null;
  }

  private async rebind(
    tx: Queryable,
    actor: Actor,
    m: MobileIdRecord,
    next: Device,
    at: Date,
    why: Record<string, unknown>,
  ): Promise<ChangedCertificates> {
    const rebound = await updateMobileId(tx, m.id, { derivedFrom: next.id }, at);
    await this.audit(tx, actor, m, 'mobile_id.rebound', at, {
      ...why,
      newCardId: next.id,
      newCardSerial: next.serial,
    });
    // It lives as the new card does: held while that one is suspended, free when it is active.
    if (next.state === 'suspended' && m.state === 'active')
      return this.suspend(tx, actor, rebound, 'card_suspended', at, why);
    if (next.state === 'active' && m.cardHold) return this.resume(tx, actor, rebound, at, why);
    return [];
  }

  private async suspend(
    tx: Queryable,
    actor: Actor,
    m: MobileIdRecord,
    hold: CardHold,
    at: Date,
    why: Record<string, unknown>,
  ): Promise<ChangedCertificates> {
    const to = must(mobileIdTransition(m.state, 'suspend'));
    const phone = m.deviceId ? await getDevice(tx, m.deviceId) : null;
    // A phone under replacement has its certificates on hold already: only the mobile ID changes.
    const out =
      phone?.state === 'active'
        ? await this.deps.devices.suspendIn(
            tx,
            actor,
            phone.id,
            `its card ${String(why.cardSerial)} ${hold === 'card_suspended' ? 'is suspended' : 'ended'}`,
            at,
          )
        : null;
    await updateMobileId(tx, m.id, { state: to, cardHold: hold }, at);
    await this.audit(tx, actor, m, 'mobile_id.suspended', at, { ...why, because: hold });
    return out?.caIds ?? [];
  }

  private async resume(
    tx: Queryable,
    actor: Actor,
    m: MobileIdRecord,
    at: Date,
    why: Record<string, unknown>,
  ): Promise<ChangedCertificates> {
    const to = must(mobileIdTransition(m.state, 'resume'));
    const out =
      m.deviceId && (await getDeviceSuspension(tx, m.deviceId))
        ? await this.deps.devices.resumeIn(tx, actor, m.deviceId, at)
        : null;
    await updateMobileId(tx, m.id, { state: to, cardHold: null }, at);
    await this.audit(tx, actor, m, 'mobile_id.resumed', at, { ...why, because: 'card_back' });
    return out?.caIds ?? [];
  }

  /** Policy cardEnd "revoke": the phone's own certificates revoked, the phone ended. */
  private async revoke(
    tx: Queryable,
    actor: Actor,
    m: MobileIdRecord,
    at: Date,
    why: Record<string, unknown>,
  ): Promise<ChangedCertificates> {
    const to = must(mobileIdTransition(m.state, 'revoke'));
    const changed: ChangedCertificates[number][] = [];
    const phone = m.deviceId ? await getDevice(tx, m.deviceId) : null;
    if (phone) {
      if (await getDeviceSuspension(tx, phone.id))
        changed.push(...(await this.deps.devices.resumeIn(tx, actor, phone.id, at)).caIds);
      const now = (await getDevice(tx, phone.id))!;
      if (
        (now.state === 'active' || now.state === 'suspended') &&
        !(await openRequestsForTarget(tx, now.id)).length
      )
        changed.push(...(await this.deps.devices.terminateIn(tx, actor, now.id, at)).caIds);
      else {
        // A phone being replaced is left to its request; what it holds is revoked all the same.
        const own = (await listDeviceCredentials(tx, phone.id)).filter(
          (c) => c.status !== 'revoked' && c.deviceIds.length === 1,
        );
        changed.push(
          ...(await this.deps.revocation.changeCredentials(
            tx,
            actor,
            own.map((c) => ({
              credentialId: c.id,
              action: 'revoke' as const,
              reason: 'cessationOfOperation',
            })),
            at,
            { mobileId: m.id, why: 'its card ended' },
          )),
        );
      }
    }
    await updateMobileId(tx, m.id, { state: to, cardHold: null }, at);
    await this.audit(tx, actor, m, 'mobile_id.revoked', at, { ...why, because: 'card_terminated' });
    return changed;
  }

  private async audit(
    tx: Queryable,
    actor: Actor,
    m: MobileIdRecord,
    action: string,
    at: Date,
    details: Record<string, unknown>,
  ): Promise<void> {
    await appendAudit(tx, {
      actor: auditActor(actor),
      action,
      targetType: 'mobile_id',
      targetId: m.id,
      details: { deviceId: m.deviceId, from: m.state, ...details },
      correlationId: actor.correlationId ?? null,
      at,
    });
  }
}
