// APDU tracing with secrets redacted, for `tessera card trace` and the server's debug log. The data
// of commands that carry PINs, PUKs or keys (VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER,
// management-key GENERAL AUTHENTICATE, SET MANAGEMENT KEY, IMPORT KEY) and the answers to the
// management-key authentication are replaced by their length; everything else is shown in hex.
import { decodeCommand, swHex } from './apdu.js';
import { INS, SLOT } from './piv/constants.js';
import type { CardConnection, TransmitOptions } from './transport/types.js';

const NAMES: Record<number, string> = {
  [INS.SELECT]: 'SELECT',
  [INS.GET_DATA]: 'GET DATA',
  [INS.PUT_DATA]: 'PUT DATA',
  [INS.VERIFY]: 'VERIFY',
  [INS.CHANGE_REFERENCE_DATA]: 'CHANGE REFERENCE DATA',
  [INS.RESET_RETRY_COUNTER]: 'RESET RETRY COUNTER',
  [INS.GENERAL_AUTHENTICATE]: 'GENERAL AUTHENTICATE',
  [INS.GENERATE_ASYMMETRIC]: 'GENERATE ASYMMETRIC KEY PAIR',
  [INS.GET_RESPONSE]: 'GET RESPONSE',
  [INS.GP_GET_DATA]: 'GET DATA (GlobalPlatform)',
  [INS.GET_METADATA]: 'GET METADATA',
  [INS.GET_SERIAL]: 'GET SERIAL',
  [INS.ATTEST]: 'ATTEST',
  [INS.SET_PIN_RETRIES]: 'SET PIN RETRIES',
  [INS.RESET]: 'RESET',
  [INS.GET_VERSION]: 'GET VERSION',
  [INS.IMPORT_KEY]: 'IMPORT KEY',
  [INS.SET_MGMT_KEY]: 'SET MANAGEMENT KEY',
};

const SECRET_DATA: ReadonlySet<number> = new Set([
  INS.VERIFY,
  INS.CHANGE_REFERENCE_DATA,
  INS.RESET_RETRY_COUNTER,
  INS.SET_MGMT_KEY,
  INS.IMPORT_KEY,
]);

export interface TraceEntry {
  direction: 'command' | 'response';
  /** Hex with secrets replaced by "<n bytes redacted>". */
  text: string;
  /** The command's name, e.g. "VERIFY". */
  name: string;
  /** Time the exchange took (responses only). */
  ms?: number;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();
const redacted = (n: number): string => (n ? `<${n} bytes redacted>` : '');

export interface RedactedCommand {
  text: string;
  name: string;
  /** True when the answer must be hidden as well. */
  secretResponse: boolean;
}

/** Formats a command APDU with its secrets redacted. */
export function redactCommand(apdu: Uint8Array): RedactedCommand {
  let cmd: ReturnType<typeof decodeCommand>;
  try {
    cmd = decodeCommand(apdu);
  } catch {
    return { text: `<malformed, ${apdu.length} bytes redacted>`, name: 'malformed', secretResponse: true };
  }
  const name = NAMES[cmd.ins] ?? `INS ${cmd.ins.toString(16).toUpperCase().padStart(2, '0')}`;
  const header = hex(apdu.subarray(0, 4));
  const mgmtAuth = cmd.ins === INS.GENERAL_AUTHENTICATE && cmd.p2 === SLOT.CARD_MANAGEMENT;
  const secret = SECRET_DATA.has(cmd.ins) || mgmtAuth;
  const data = secret ? redacted(cmd.data.length) : hex(cmd.data);
  const le = cmd.le ? ` Le=${cmd.le}` : '';
  const lc = cmd.data.length ? ` Lc=${cmd.data.length} ` : '';
  return {
    text: `${header}${lc}${data}${le}`.trim(),
    name,
    secretResponse: mgmtAuth || cmd.ins === INS.IMPORT_KEY,
  };
}

/** Formats a response APDU, redacting its data when the command asked for it. */
export function redactResponse(response: Uint8Array, secret: boolean): string {
  if (response.length < 2) return `<${response.length} bytes: no status word>`;
  const data = response.subarray(0, response.length - 2);
  const sw = (response[response.length - 2]! << 8) | response[response.length - 1]!;
  const body = secret ? redacted(data.length) : hex(data);
  return `${body}${body ? ' ' : ''}SW=${swHex(sw)}`;
}

/** Wraps a connection so every exchange is reported to `sink`, secrets redacted. */
export class TracingConnection implements CardConnection {
  private secretChain = false;

  constructor(
    private readonly inner: CardConnection,
    private readonly sink: (entry: TraceEntry) => void,
  ) {}

  get reader(): string | undefined {
    return this.inner.reader;
  }

  get atr(): Uint8Array | undefined {
    return this.inner.atr;
  }

  async transmit(apdu: Uint8Array, opts?: TransmitOptions): Promise<Uint8Array> {
    const c = redactCommand(apdu);
    // GET RESPONSE continues the previous answer: it stays as secret as that one was.
    const secret = c.name === 'GET RESPONSE' ? this.secretChain : c.secretResponse;
    this.secretChain = secret;
    this.sink({ direction: 'command', text: c.text, name: c.name });
    const started = Date.now();
    const response = await this.inner.transmit(apdu, opts);
    this.sink({
      direction: 'response',
      text: redactResponse(response, secret),
      name: c.name,
      ms: Date.now() - started,
    });
    return response;
  }

  close(): Promise<void> {
    return this.inner.close?.() ?? Promise.resolve();
  }
}
