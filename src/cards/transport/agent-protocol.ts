// The agent protocol: JSON text frames over one authenticated WebSocket (GET /api/agents/ws with
// `Authorization: Bearer <agent token>`). Every frame carries the protocol version `v`; both sides
// validate every frame against the schemas below and refuse a malformed one with a clear reason
// (the server answers `{type:'error'}` and closes with 4400; the agent logs and drops it).
//
// Agent → server: hello (first frame), readers (a full snapshot), reader-event, the relay replies
// (connect-result/connect-error/apdu-result/apdu-error), printers (a full snapshot: each card
// printer with its embedded encoder, one of the agent's readers), the print replies
// (print-progress, then print-result or print-error), pong.
// Server → agent: welcome (after hello), the relay requests (connect/apdu/disconnect), print (a
// rendered card as a PDF for one of the agent's printers), ping, error.
// Heartbeat: the server pings every `heartbeatMs`; a side that hears nothing for 3 periods treats
// the connection as dead (a pulled cable never sends a close frame).
// It lives beside the relay transport because both ends import it: the agent, and the server's
// agent hub (a service, which may not import agent/).
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

export const PROTOCOL_VERSION = 1;
export const DEFAULT_HEARTBEAT_MS = 15_000;
/** Heartbeat periods a socket may stay silent (no pong, no frame) before it is cut off. */
export const HEARTBEAT_MISSES = 3;

/** WebSocket close codes the two sides use (4000-4999 are for applications, RFC 6455 §7.4.2). */
export const CLOSE = {
  /** The agent was revoked: do not reconnect, pair again. */
  REVOKED: 4001,
  /** The token is not (or no longer) valid. */
  UNAUTHORIZED: 4003,
  /** A frame broke the protocol. */
  PROTOCOL: 4400,
  /** A newer connection of the same agent replaced this one. */
  REPLACED: 4009,
  /** The heartbeat went unanswered. */
  DEAD: 4008,
  /** The server is shutting down: reconnect later. */
  GOING_AWAY: 1001,
} as const;

/**
 * What an agent can do beyond protocol version 1, announced in this header of its WebSocket upgrade
 * (comma-separated). A server that knows none of it ignores the header; a server that does sends
 * the feature's frames only to the agents that announced it. So old agents and old servers keep
 * working with new ones, without a new protocol version.
 *   apdu-batch: the agent runs "apdus" (several commands in one frame) and answers "apdus-result".
 *   apdu-chain (with apdu-batch): the agent takes "apdus" with `chain: true`, and follows each
 *     command's 61xx (GET RESPONSE) and 6Cxx (the command again with the Le the card names) at the
 *     card itself, answering the whole response (iso7816.ts followResponse): a long answer from a
 *     card without extended APDUs costs the server one round trip instead of one per 256 bytes.
 *   card-serial: the agent reads the serial of each card it reports present (in the readers
 *     snapshot, or inserted) and sends it in a "card-serial" frame after that report. The agent is
 *     the one that sends these frames, so it sends them only when the server's welcome lists the
 *     feature; a server lists it only to an agent that announced it. Another server then knows the
 *     card in a reader without a card exchange through the holder (issue #20).
 */
export const FEATURES_HEADER = 'x-tessera-agent-features';
export type AgentFeature = 'apdu-batch' | 'apdu-chain' | 'card-serial';
export const AGENT_FEATURES: readonly AgentFeature[] = ['apdu-batch', 'apdu-chain', 'card-serial'];
/** The features whose frames the agent sends, which the server's welcome confirms. */
export type WelcomedFeature = Extract<AgentFeature, 'card-serial'>;
export const WELCOMED_FEATURES: readonly WelcomedFeature[] = ['card-serial'];

/** Reads the features header of an agent's upgrade request: the ones this server knows. */
export function agentFeatures(header: string | string[] | undefined): Set<AgentFeature> {
  const raw = Array.isArray(header) ? header.join(',') : (header ?? '');
  const known = new Set<string>(AGENT_FEATURES);
  return new Set(
    raw
      .slice(0, 1000)
      .split(',')
      .map((f) => f.trim())
      .filter((f): f is AgentFeature => known.has(f)),
  );
}

/** Most commands in one "apdus" frame. */
export const MAX_BATCH = 16;

const V = { v: Type.Literal(PROTOCOL_VERSION) };
const Id = Type.String({ minLength: 1, maxLength: 64 });
const ReaderName = Type.String({ minLength: 1, maxLength: 256 });
const Hex = Type.String({ pattern: '^([0-9a-fA-F]{2})*$', maxLength: 2 * 70_000 });
const Code = Type.String({ minLength: 1, maxLength: 64 });
const Message = Type.String({ maxLength: 2000 });
/** A card's serial as PivSession.getSerial reads it (decimal, or hex of a CHUID's GUID or CPLC). */
export const CARD_SERIAL_PATTERN = '^[0-9A-Za-z]{1,64}$';
const Serial = Type.String({ pattern: CARD_SERIAL_PATTERN, maxLength: 64 });
const obj = <T extends Record<string, TSchema>>(props: T) =>
  Type.Object({ ...V, ...props }, { additionalProperties: false });

export const ReaderState = Type.Object(
  { name: ReaderName, cardPresent: Type.Boolean(), atr: Type.Union([Hex, Type.Null()]) },
  { additionalProperties: false },
);
export type ReaderState = Static<typeof ReaderState>;

const ReaderEventBody = Type.Union([
  Type.Object({ type: Type.Literal('reader-added'), reader: ReaderName }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('reader-removed'), reader: ReaderName }, { additionalProperties: false }),
  Type.Object(
    { type: Type.Literal('card-inserted'), reader: ReaderName, atr: Hex },
    { additionalProperties: false },
  ),
  Type.Object({ type: Type.Literal('card-removed'), reader: ReaderName }, { additionalProperties: false }),
]);
export type WireReaderEvent = Static<typeof ReaderEventBody>;

const PrinterName = Type.String({ minLength: 1, maxLength: 128 });
const Reasons = Type.Array(Type.String({ maxLength: 64 }), { maxItems: 20 });
/** A print job's document: a PDF, base64 (a card with a 512 KiB photo fits). */
export const PRINT_DOCUMENT_MAX_BYTES = 1024 * 1024;
const Document = Type.String({
  maxLength: Math.ceil(PRINT_DOCUMENT_MAX_BYTES / 3) * 4,
  pattern: '^[A-Za-z0-9+/]*={0,2}$',
});

export const PrinterInfo = Type.Object(
  {
    name: PrinterName,
    /** The embedded smart-card reader that encodes the card in this printer; null: print only. */
    encoder: Type.Union([ReaderName, Type.Null()]),
    state: Type.Union([
      Type.Literal('idle'),
      Type.Literal('processing'),
      Type.Literal('stopped'),
      Type.Literal('unreachable'),
    ]),
    reasons: Reasons,
    message: Message,
  },
  { additionalProperties: false },
);
export type PrinterInfo = Static<typeof PrinterInfo>;

const JobEndState = Type.Union([
  Type.Literal('completed'),
  Type.Literal('aborted'),
  Type.Literal('canceled'),
  Type.Literal('stopped'),
]);
const JobState = Type.Union([
  Type.Literal('pending'),
  Type.Literal('pending-held'),
  Type.Literal('processing'),
  ...JobEndState.anyOf,
]);
const JobId = Type.Integer({ minimum: 0, maximum: 2 ** 31 });

export const AgentMessage = Type.Union([
  obj({
    type: Type.Literal('hello'),
    agentVersion: Type.String({ maxLength: 64 }),
    hostname: Type.String({ maxLength: 255 }),
    platform: Type.String({ maxLength: 64 }),
  }),
  obj({ type: Type.Literal('readers'), readers: Type.Array(ReaderState, { maxItems: 64 }) }),
  obj({ type: Type.Literal('reader-event'), event: ReaderEventBody }),
  // Only to a server whose welcome listed card-serial: the serial of the card last reported present.
  obj({ type: Type.Literal('card-serial'), reader: ReaderName, serial: Serial }),
  obj({ type: Type.Literal('connect-result'), id: Id, session: Id, atr: Hex }),
  obj({ type: Type.Literal('connect-error'), id: Id, code: Code, message: Message }),
  obj({ type: Type.Literal('apdu-result'), id: Id, response: Hex }),
  // Only to a server that sent "apdus" (the agent announced FEATURES_HEADER: apdu-batch).
  obj({ type: Type.Literal('apdus-result'), id: Id, responses: Type.Array(Hex, { maxItems: MAX_BATCH }) }),
  obj({ type: Type.Literal('apdu-error'), id: Id, code: Code, message: Message }),
  obj({ type: Type.Literal('printers'), printers: Type.Array(PrinterInfo, { maxItems: 16 }) }),
  obj({ type: Type.Literal('print-progress'), id: Id, jobId: JobId, state: JobState, reasons: Reasons }),
  obj({
    type: Type.Literal('print-result'),
    id: Id,
    jobId: JobId,
    state: JobEndState,
    reasons: Reasons,
    message: Message,
  }),
  obj({ type: Type.Literal('print-error'), id: Id, code: Code, message: Message }),
  obj({ type: Type.Literal('pong'), at: Type.Number() }),
]);
export type AgentMessage = Static<typeof AgentMessage>;

export const ServerMessage = Type.Union([
  obj({
    type: Type.Literal('welcome'),
    agentId: Id,
    name: Type.String({ maxLength: 200 }),
    heartbeatMs: Type.Integer({ minimum: 100 }),
    // The announced features whose frames this server takes (WELCOMED_FEATURES); sent only to an
    // agent that announced one, so an older agent never sees the field.
    features: Type.Optional(Type.Array(Type.Literal('card-serial'), { maxItems: 8 })),
  }),
  obj({
    type: Type.Literal('connect'),
    id: Id,
    reader: ReaderName,
    // Sent to wallets only: a workstation uses the card (docs/mobile.md "Use at a workstation").
    use: Type.Optional(Type.Literal('workstation')),
    by: Type.Optional(Type.String({ maxLength: 128 })),
  }),
  obj({
    type: Type.Literal('apdu'),
    id: Id,
    session: Id,
    reader: ReaderName,
    apdu: Hex,
    timeoutMs: Type.Integer({ minimum: 1, maximum: 600_000 }),
  }),
  // Only to an agent that announced the apdu-batch feature (FEATURES_HEADER): the commands of one
  // step, run in order, stopping after the first that does not answer 9000.
  obj({
    type: Type.Literal('apdus'),
    id: Id,
    session: Id,
    reader: ReaderName,
    apdus: Type.Array(Hex, { minItems: 1, maxItems: MAX_BATCH }),
    timeoutMs: Type.Integer({ minimum: 1, maximum: 600_000 }),
    // Only to an agent that announced apdu-chain: it follows 61xx and 6Cxx itself.
    chain: Type.Optional(Type.Literal(true)),
  }),
  obj({ type: Type.Literal('disconnect'), session: Id, reader: ReaderName }),
  obj({
    type: Type.Literal('print'),
    id: Id,
    printer: PrinterName,
    jobName: Type.String({ maxLength: 255 }),
    user: Type.String({ maxLength: 255 }),
    document: Document,
    timeoutMs: Type.Integer({ minimum: 1000, maximum: 600_000 }),
  }),
  obj({ type: Type.Literal('ping'), at: Type.Number() }),
  obj({ type: Type.Literal('error'), code: Code, message: Message }),
]);
export type ServerMessage = Static<typeof ServerMessage>;

const agentCheck = TypeCompiler.Compile(AgentMessage);
const serverCheck = TypeCompiler.Compile(ServerMessage);

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** Agent frames are small (APDU answers, reader lists); the server's may carry a print job. */
const MAX_AGENT_FRAME = 256 * 1024;
export const MAX_SERVER_FRAME = 2 * 1024 * 1024;

function parse<T>(raw: string, check: typeof agentCheck | typeof serverCheck, who: string): T {
  const max = who === 'Agent' ? MAX_AGENT_FRAME : MAX_SERVER_FRAME;
  if (raw.length > max) throw new ProtocolError(`${who} frame is larger than ${max} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ProtocolError(`${who} frame is not JSON`);
  }
  if (typeof value === 'object' && value !== null && 'v' in value && value.v !== PROTOCOL_VERSION)
    throw new ProtocolError(
      `${who} speaks protocol version ${String(value.v)}; this side speaks ${PROTOCOL_VERSION}: upgrade the older one`,
    );
  if (!check.Check(value)) {
    const first = check.Errors(value).First();
    const type =
      typeof value === 'object' && value !== null && 'type' in value ? String(value.type) : '(no type)';
    throw new ProtocolError(
      `${who} frame "${type}" is malformed${first ? `: ${first.path || '/'} ${first.message}` : ''}`,
    );
  }
  return value as T;
}

/** Parses and validates a frame the agent sent (server side). */
export const parseAgentMessage = (raw: string): AgentMessage => parse<AgentMessage>(raw, agentCheck, 'Agent');

/** Parses and validates a frame the server sent (agent side). */
export const parseServerMessage = (raw: string): ServerMessage =>
  parse<ServerMessage>(raw, serverCheck, 'Server');

type Body<T> = T extends unknown ? Omit<T, 'v'> : never;
export type AgentBody = Body<AgentMessage>;
export type ServerBody = Body<ServerMessage>;

/** Serializes a message with the protocol version. */
export function frame(message: AgentBody | ServerBody): string {
  return JSON.stringify({ v: PROTOCOL_VERSION, ...message });
}
