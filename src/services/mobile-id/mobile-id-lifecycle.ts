// A mobile ID's life after its creation: the operator suspends, resumes, revokes or terminates it
// (each through the phone's device lifecycle: holds with their cause, the administrator's
// terminate), and its validity running out ends it on its own, like a temporary card.
import { ConflictError, NotFoundError, must } from '../../domain/errors.js';
import { mobileIdTransition, type MobileIdAction } from '../../domain/mobile-id.js';
import type { RevocationReason } from '../../domain/credential.js';
import { appendAudit } from '../../store/audit-repo.js';
import { getDevice } from '../../store/devices-repo.js';
import { claimExpiredMobileIds, getMobileId, updateMobileId } from '../../store/mobile-id-repo.js';
import { auditActor, systemActor, type Actor, type ServiceContext } from '../context.js';
import { revokeDeviceCertificates, type MobileIdCertificates } from './mobile-id-outcomes.js';
import type { MobileIdService, MobileIdView } from './mobile-id-service.js';

/** A device's lifecycle as the replacement services run it (hold, release, end). */
export interface MobileIdDevices {
  suspend(actor: Actor, deviceId: string, note?: string): Promise<unknown>;
  resume(actor: Actor, deviceId: string): Promise<unknown>;
  terminate(actor: Actor, deviceId: string): Promise<unknown>;
}

export class MobileIdLifecycle {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly deps: {
      certificates: MobileIdCertificates;
      devices: MobileIdDevices;
      views: Pick<MobileIdService, 'view'>;
      onError?: (err: unknown) => void;
    },
  ) {}

  /** Suspend (certificates on hold), resume, revoke (certificates revoked, device ended) or terminate. */
  async act(
    actor: Actor,
    id: string,
    action: Extract<MobileIdAction, 'suspend' | 'resume' | 'revoke' | 'terminate'>,
    reason: RevocationReason = 'cessationOfOperation',
  ): Promise<MobileIdView> {
    const m = await getMobileId(this.ctx.db, id);
    if (!m) throw new NotFoundError('mobile ID', id);
    must(mobileIdTransition(m.state, action));
    if (!m.deviceId) throw new ConflictError('This mobile ID has no device');
    if (action === 'resume' && m.cardHold && m.derivedFrom) {
      // Its card holds it: the card's return lifts it, not the operator (decision 0033).
      const card = await getDevice(this.ctx.db, m.derivedFrom);
      throw new ConflictError(
        m.cardHold === 'card_suspended'
          ? `This mobile ID is derived from card ${card?.serial ?? ''}, which is suspended: resume the card and the mobile ID follows`
          : `This mobile ID is derived from card ${card?.serial ?? ''}, which ended with no card in its place: revoke it; the person orders a new one with their new card`,
        { derivedFrom: m.derivedFrom, cardHold: m.cardHold },
      );
    }
    if (action === 'suspend') await this.deps.devices.suspend(actor, m.deviceId, 'mobile ID suspended');
    else if (action === 'resume') await this.deps.devices.resume(actor, m.deviceId);
    else {
      // Revoked with the reason given, then the device ends (its certificates already revoked).
      if (action === 'revoke')
        await revokeDeviceCertificates(this.deps.certificates, actor, m.deviceId, reason);
      const device = await getDevice(this.ctx.db, m.deviceId);
      if (device && device.state === 'suspended')
        await this.deps.devices.resume(actor, m.deviceId).catch(() => undefined);
      // Ending the phone is part of revoking or terminating a mobile ID, whoever may do either.
      await this.deps.devices.terminate(
        { ...actor, permissions: [...(actor.permissions ?? []), 'device.lifecycle'] },
        m.deviceId,
      );
    }
    const at = this.ctx.clock.now();
    const done = await this.ctx.db.transaction(async (tx) => {
      const cur = (await getMobileId(tx, id, true))!;
      const to = must(mobileIdTransition(cur.state, action));
      const out = await updateMobileId(tx, id, { state: to }, at);
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: `mobile_id.${to}`,
        targetType: 'mobile_id',
        targetId: id,
        details: { deviceId: m.deviceId, ...(action === 'revoke' ? { reason } : {}) },
        correlationId: actor.correlationId ?? null,
        at,
      });
      return out;
    });
    return this.deps.views.view(done);
  }

  /** Ends every mobile ID whose validity ran out (several servers end each once); returns how many. */
  async expireDue(max = 50): Promise<number> {
    const actor = systemActor('mobile ID expiry');
    const due = await this.ctx.db.transaction((tx) => claimExpiredMobileIds(tx, this.ctx.clock.now(), max));
    let n = 0;
    for (const m of due) {
      try {
        if (m.deviceId) {
          const device = await getDevice(this.ctx.db, m.deviceId);
          if (device?.state === 'suspended') await this.deps.devices.resume(actor, m.deviceId);
          if (device && device.state !== 'terminated') await this.deps.devices.terminate(actor, m.deviceId);
        }
        await this.ctx.db.transaction(async (tx) => {
          const cur = await getMobileId(tx, m.id, true);
          if (!cur || (cur.state !== 'active' && cur.state !== 'suspended')) return;
          const at = this.ctx.clock.now();
          await updateMobileId(tx, m.id, { state: must(mobileIdTransition(cur.state, 'expire')) }, at);
          await appendAudit(tx, {
            actor: auditActor(actor),
            action: 'mobile_id.expired',
            targetType: 'mobile_id',
            targetId: m.id,
            details: { validUntil: cur.validUntil },
            at,
          });
        });
        n++;
      } catch (e) {
        this.deps.onError?.(e);
      }
    }
    return n;
  }

  /** Runs the expiry now and then every `intervalMs`; returns the function that stops it. */
  startScheduler(o: { intervalMs?: number; onError: (err: unknown) => void }): () => void {
    let running: Promise<unknown> = Promise.resolve();
    const tick = () => {
      running = running.then(() => this.expireDue()).catch(o.onError);
    };
    tick();
    const timer = setInterval(tick, o.intervalMs ?? 60_000);
    timer.unref();
    return () => clearInterval(timer);
  }
}
