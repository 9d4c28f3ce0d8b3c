// Agents: a pairing code, and a paired agent with the readers it reports.
import { Type, type Static } from '@sinclair/typebox';
import { NullableTimestamp, Timestamp, Uuid, literalUnion } from '../schemas.js';

export const PairingCode = Type.Object({
  code: Type.String({ description: 'Shown once: type it into `tessera agent --pair CODE`' }),
  expiresAt: Timestamp,
});
export type PairingCode = Static<typeof PairingCode>;

export const AgentReader = Type.Object({
  name: Type.String(),
  cardPresent: Type.Boolean(),
  atr: Type.Union([Type.String(), Type.Null()]),
});
export type AgentReader = Static<typeof AgentReader>;

export const Agent = Type.Object({
  id: Uuid,
  name: Type.String(),
  hostname: Type.String(),
  ownerUserId: Uuid,
  ownerKind: literalUnion(['operator', 'portal', 'wallet'] as const),
  connected: Type.Boolean(),
  lastSeenAt: NullableTimestamp,
  createdAt: Timestamp,
  demo: Type.Boolean(),
  readers: Type.Array(AgentReader),
});
export type Agent = Static<typeof Agent>;

export const AgentList = Type.Object({ items: Type.Array(Agent), total: Type.Integer() });
export type AgentList = Static<typeof AgentList>;
