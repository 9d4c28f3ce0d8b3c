// A wallet reset on the phone, seen by the server (docs/mobile.md "A wallet reset"): the phone's
// wallet comes back with its link's token but a card of another serial — its card was wiped (Reset,
// or its storage lost) and a blank one took its place. The keys of the old card are gone for good,
// so the server ends what it held as the lifecycle says for a device that can no longer be used: an
// active, suspended or pending phone is terminated and its own certificates revoked
// (cessationOfOperation; a credential also on another device stays there); a phone that a
// replacement request names (invalid) is left to that request; one being issued fails with its
// lost connection. Every case is audited (device.wiped), and the wallet's link ends: the phone is
// linked anew, to whomever a new link names.
import { ConflictError } from '../../domain/errors.js';
import type { DeviceState } from '../../domain/device.js';
import { appendAudit } from '../../store/audit-repo.js';
import { markAgentRevoked, type AgentRecord } from '../../store/agents-repo.js';
import { getDeviceBySerial } from '../../store/devices-repo.js';
import { systemActor, type ServiceContext } from '../context.js';
import type { WalletsEnded } from '../replacement/common.js';
import type { TerminateDevice } from '../replacement/terminate.js';

/** States in which a wiped phone's device is ended at once. */
const ENDED_WHEN_WIPED: readonly DeviceState[] = ['active', 'suspended', 'pending'];

export interface WipeOutcome {
  deviceId: string | null;
  /** The device's state before, and whether it was terminated now. */
  state: DeviceState | null;
  terminated: boolean;
}

export class WalletReset {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly deps: {
      terminate: Pick<TerminateDevice, 'terminate'>;
      /** The wallet's link ended: any socket of it still open on a server closes (on commit). */
      walletsEnded?: WalletsEnded;
    },
  ) {}

  /** `wallet` came back holding `newSerial` instead of `oldSerial`: the old card was wiped. */
  async cardWiped(wallet: AgentRecord, oldSerial: string, newSerial: string): Promise<WipeOutcome> {
    const { db, clock } = this.ctx;
    const found = await getDeviceBySerial(db, oldSerial);
    // Only the wallet owner's own phone: a serial that is anything else is not this wallet's to end.
    const device =
      found && found.type === 'mobile' && (!found.userId || found.userId === wallet.ownerUserId)
        ? found
        : null;
    const ends = device !== null && ENDED_WHEN_WIPED.includes(device.state);
    const actor = { id: wallet.ownerUserId, name: wallet.name };
    await db.transaction(async (tx) => {
      const at = clock.now();
      if (device)
        await appendAudit(tx, {
          actor,
          action: 'device.wiped',
          targetType: 'device',
          targetId: device.id,
          details: {
            serial: oldSerial,
            state: device.state,
            reportedBy: 'wallet',
            walletId: wallet.id,
            newSerial,
            outcome: ends
              ? 'terminated'
              : device.state === 'invalid'
                ? 'left to its replacement request'
                : 'unchanged',
          },
          at,
        });
      if (await markAgentRevoked(tx, wallet.id, at)) {
        this.deps.walletsEnded?.(tx, [wallet.id]);
        await appendAudit(tx, {
          actor,
          action: 'wallet.unlinked',
          targetType: 'agent',
          targetId: wallet.id,
          details: { why: 'wallet reset', serial: oldSerial, newSerial },
          at,
        });
      }
    });
    let terminated = false;
    if (device && ends) {
      try {
        await this.deps.terminate.terminate(systemActor('wallet reset'), device.id);
        terminated = true;
      } catch (e) {
        // A replacement request took it meanwhile: that request decides what becomes of it.
        if (!(e instanceof ConflictError)) throw e;
      }
    }
    return { deviceId: device?.id ?? null, state: device?.state ?? null, terminated };
  }
}
