// The ISO 7816-4 protocol over a CardConnection: command chaining for data that does not fit a short
// APDU, extended APDUs when the card supports them, response chaining (61xx → GET RESPONSE, §5.3.4)
// and the 6Cxx "wrong Le" retry. Bounded everywhere: a card that answers 61xx forever, or promises
// more than it sends, gets a CardProtocolError instead of a hang.
import type { CommandApdu, ResponseApdu } from './apdu.js';
import { CLA_CHAINING, INS_GET_RESPONSE, SW, decodeResponse, encodeCommand } from './apdu.js';
import { ApduError, CardProtocolError } from './errors.js';
import type { CardConnection, TransmitOptions } from './transport/types.js';

export interface ProtocolOptions {
  /** Send data > 255 bytes and ask for long answers in one extended APDU instead of chaining. */
  extended?: boolean;
  /** Upper bound on a whole (chained) response; PIV objects are at most a few KiB. */
  maxResponseBytes?: number;
  /** Upper bound on GET RESPONSE rounds for one command. */
  maxResponseRounds?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

const SHORT_CHUNK = 255;
/** Most APDUs sent in one batch (agent-protocol.ts MAX_BATCH). */
const MAX_BATCH_APDUS = 16;

export class SmartCardProtocol {
  extended: boolean;
  private readonly maxResponseBytes: number;
  private readonly maxResponseRounds: number;
  private readonly txOpts: TransmitOptions;
  /** Number of APDUs exchanged since creation, for measurements and the trace CLI. */
  apduCount = 0;

  constructor(
    readonly connection: CardConnection,
    opts: ProtocolOptions = {},
  ) {
    this.extended = opts.extended ?? false;
    this.maxResponseBytes = opts.maxResponseBytes ?? 65536;
    this.maxResponseRounds = opts.maxResponseRounds ?? 300;
    this.txOpts = { timeoutMs: opts.timeoutMs, signal: opts.signal };
  }

  private async exchange(cmd: CommandApdu): Promise<ResponseApdu> {
    this.apduCount += 1;
    // In extended mode "as much as you have" is Le 0000 (65536), so long answers come in one APDU.
    const le = this.extended && cmd.le === 256 ? 65536 : cmd.le;
    // Short form whenever it fits (commands without answers stay short); extended only when needed.
    const raw = await this.connection.transmit(encodeCommand({ ...cmd, le }), this.txOpts);
    const r = decodeResponse(raw);
    // Copy: transports may reuse their buffers.
    return { data: Uint8Array.from(r.data), sw: r.sw };
  }

  /**
   * Sends a command and returns the final data and status word, having followed command and
   * response chaining. Does not throw on a non-9000 status; see `send`.
   */
  async transceive(cmd: CommandApdu): Promise<ResponseApdu> {
    const data = cmd.data ?? new Uint8Array(0);
    let first: ResponseApdu;
    if (data.length > SHORT_CHUNK && !this.extended) {
      // Command chaining (7816-4 §5.1.1.1): all but the last piece carry CLA bit 0x10.
      let at = 0;
      for (;;) {
        const piece = data.subarray(at, at + SHORT_CHUNK);
        at += piece.length;
        const last = at >= data.length;
        const r = await this.exchange({
          ...cmd,
          cla: last ? cmd.cla : cmd.cla | CLA_CHAINING,
          data: piece,
          le: last ? cmd.le : 0,
        });
        if (last) {
          first = r;
          break;
        }
        if (r.sw !== SW.OK) return r;
      }
    } else {
      first = await this.exchange(cmd);
    }
    return this.finish(cmd, first);
  }

  /** After a command's (last) answer: the 6Cxx retry and response chaining (61xx → GET RESPONSE). */
  private finish(cmd: CommandApdu, answer: ResponseApdu): Promise<ResponseApdu> {
    return followResponse((c) => this.exchange(c), cmd, answer, {
      maxResponseBytes: this.maxResponseBytes,
      maxResponseRounds: this.maxResponseRounds,
    });
  }

  /**
   * Like `transceive` for each command in order, stopping after the first whose status is not 9000
   * (its answer is the last returned, the commands after it unsent) — in one exchange with the
   * card where the transport runs batches (an agent over the network: one round trip instead of
   * one per command), else one by one.
   */
  async transceiveAll(cmds: readonly CommandApdu[]): Promise<ResponseApdu[]> {
    const batch = this.connection.transmitBatch?.bind(this.connection);
    const out: ResponseApdu[] = [];
    const oneByOne = async (rest: readonly CommandApdu[]) => {
      for (const c of rest) {
        const r = await this.transceive(c);
        out.push(r);
        if (r.sw !== SW.OK) break;
      }
      return out;
    };
    if (!batch || cmds.length < 2) return oneByOne(cmds);
    // Each command as the APDUs it takes (command chaining splits long data), all expecting 9000.
    const script = cmds.map((c) => this.pieces(c));
    const flat = script.flat();
    if (flat.length > MAX_BATCH_APDUS) {
      const half = Math.ceil(cmds.length / 2);
      const first = await this.transceiveAll(cmds.slice(0, half));
      if (first.length < half || first.at(-1)!.sw !== SW.OK) return first;
      return [...first, ...(await this.transceiveAll(cmds.slice(half)))];
    }
    const raws = await batch(
      flat.map((c) => encodeCommand(c)),
      this.txOpts,
    );
    this.apduCount += raws.length;
    let at = 0;
    for (const [i, pieces] of script.entries()) {
      const got = raws.slice(at, at + pieces.length);
      at += pieces.length;
      // The answers ran out before this command (the agent stopped early, under its frame
      // limit): it and the rest one by one.
      if (got.length === 0) return oneByOne(cmds.slice(i));
      let last: ResponseApdu = decodeResponse(got.at(-1)!);
      if (got.length < pieces.length) {
        // A piece of a chained command refused: as transceive, that status is the answer.
        if (last.sw !== SW.OK) {
          out.push({ data: Uint8Array.from(last.data), sw: last.sw });
          return out;
        }
        // Stopped early within the chain: its remaining pieces one by one.
        for (const p of pieces.slice(got.length)) last = await this.exchange(p);
      }
      const r = await this.finish(cmds[i]!, { data: Uint8Array.from(last.data), sw: last.sw });
      out.push(r);
      if (r.sw !== SW.OK) return out;
    }
    return out;
  }

  /** The APDUs one command takes: command chaining when its data does not fit a short APDU. */
  private pieces(cmd: CommandApdu): CommandApdu[] {
    const le = this.extended && cmd.le === 256 ? 65536 : cmd.le;
    const data = cmd.data ?? new Uint8Array(0);
    if (data.length <= SHORT_CHUNK || this.extended) return [{ ...cmd, le }];
    const out: CommandApdu[] = [];
    for (let at = 0; at < data.length; at += SHORT_CHUNK) {
      const last = at + SHORT_CHUNK >= data.length;
      out.push({
        ...cmd,
        cla: last ? cmd.cla : cmd.cla | CLA_CHAINING,
        data: data.subarray(at, at + SHORT_CHUNK),
        le: last ? le : 0,
      });
    }
    return out;
  }

  /** Like transceive, but any status other than 9000 throws ApduError. */
  async send(cmd: CommandApdu): Promise<Uint8Array> {
    const r = await this.transceive(cmd);
    if (r.sw !== SW.OK) throw new ApduError(r.sw);
    return r.data;
  }

  /** SELECT by DF name / AID (7816-4 §11.2.2), returning the FCI / application property template. */
  async select(aid: Uint8Array): Promise<ResponseApdu> {
    return this.transceive({ cla: 0, ins: 0xa4, p1: 0x04, p2: 0x00, data: aid, le: 256 });
  }
}

/**
 * What follows a command's (last) answer, as ISO 7816 says: 6Cxx, the command again once with the
 * Le the card names (7816-3 §12.2.3); 61xx, GET RESPONSE until the card has said all (7816-4
 * §5.3.4), bounded in rounds and bytes. The server's protocol runs it, and an agent that follows
 * a batch's responses itself (agent-protocol.ts, apdu-chain), with the same rules.
 */
export async function followResponse(
  exchange: (cmd: CommandApdu) => Promise<ResponseApdu>,
  cmd: CommandApdu,
  answer: ResponseApdu,
  limits: { maxResponseBytes: number; maxResponseRounds: number } = {
    maxResponseBytes: 65536,
    maxResponseRounds: 300,
  },
): Promise<ResponseApdu> {
  let first = answer;
  // 6Cxx: the card tells us the exact Le to use; retry once (7816-3 §12.2.3).
  if (first.sw >> 8 === 0x6c) {
    const le = first.sw & 0xff || 256;
    first = await exchange({ ...cmd, le });
    if (first.sw >> 8 === 0x6c) {
      throw new CardProtocolError('The card asked twice for a different Le', { sw: first.sw.toString(16) });
    }
  }

  const parts: Uint8Array[] = [first.data];
  let total = first.data.length;
  let sw = first.sw;
  let rounds = 0;
  while (sw >> 8 === 0x61) {
    rounds += 1;
    if (rounds > limits.maxResponseRounds) {
      throw new CardProtocolError(
        `The card kept answering 61xx after ${limits.maxResponseRounds} GET RESPONSE`,
      );
    }
    const le = sw & 0xff || 256;
    const r = await exchange({
      cla: cmd.cla & ~CLA_CHAINING,
      ins: INS_GET_RESPONSE,
      p1: 0,
      p2: 0,
      le,
    });
    total += r.data.length;
    if (total > limits.maxResponseBytes) {
      throw new CardProtocolError(`The card's response exceeds ${limits.maxResponseBytes} bytes`);
    }
    if (r.data.length === 0 && r.sw >> 8 === 0x61) {
      throw new CardProtocolError('The card answered GET RESPONSE with no data and more to come');
    }
    parts.push(r.data);
    sw = r.sw;
  }
  if (parts.length === 1) return { data: first.data, sw };
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return { data: out, sw };
}
