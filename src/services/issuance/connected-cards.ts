// The cards in the readers of a person's agents, with what Tessera knows of each: the list the
// operator's Add Device dialog and the portal's Connect Card step choose from.
import { PivSession } from '../../cards/piv/piv-session.js';
import type { CardConnection } from '../../cards/transport/types.js';
import type { Queryable } from '../../store/db.js';
import { getDeviceBySerial, type Device } from '../../store/devices-repo.js';
import type { CardAccess } from '../card-access.js';
import { closeQuietly } from './card-reader.js';

export interface ConnectedCard {
  agentId: string;
  agentName: string;
  reader: string;
  cardPresent: boolean;
  serial: string | null;
  cardType: string | null;
  /** blank: in inventory or unknown; bound: bound to a person for self-issuance; in_use: anything else. */
  status: 'blank' | 'bound' | 'in_use' | 'unreadable' | 'empty';
  device: Pick<Device, 'id' | 'state' | 'userId' | 'type'> | null;
  error: string | null;
}

export class ConnectedCards {
  constructor(private readonly deps: { db: Queryable; cards: Pick<CardAccess, 'listReaders' | 'connect'> }) {}

  /** The cards in the readers of this person's agents, with what Tessera knows of each. */
  async list(ownerUserId: string): Promise<ConnectedCard[]> {
    const readers = await this.deps.cards.listReaders(ownerUserId);
    const out: ConnectedCard[] = [];
    for (const r of readers) {
      const base = {
        agentId: r.agentId,
        agentName: r.agentName,
        reader: r.reader,
        cardPresent: r.cardPresent,
      };
      if (!r.cardPresent) {
        out.push({ ...base, serial: null, cardType: null, status: 'empty', device: null, error: null });
        continue;
      }
      let conn: CardConnection | undefined;
      try {
        conn = await this.deps.cards.connect(ownerUserId, r.agentId, r.reader);
        const session = await PivSession.open(conn);
        const { serial } = await session.getSerial();
        const device = await getDeviceBySerial(this.deps.db, serial);
        const status: ConnectedCard['status'] =
          !device || device.state === 'inventory' ? 'blank' : device.state === 'bound' ? 'bound' : 'in_use';
        out.push({
          ...base,
          serial,
          cardType: session.version
            ? `PIV token (YubiKey-compatible ${session.version.join('.')})`
            : 'PIV card',
          status,
          device: device
            ? { id: device.id, state: device.state, userId: device.userId, type: device.type }
            : null,
          error: null,
        });
      } catch (e) {
        out.push({
          ...base,
          serial: null,
          cardType: null,
          status: 'unreadable',
          device: null,
          error: (e as Error).message,
        });
      } finally {
        if (conn) await closeQuietly(conn);
      }
    }
    return out;
  }
}
