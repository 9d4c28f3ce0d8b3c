// `tessera card …`: the tools an administrator reaches for when a card misbehaves. `list` shows
// readers and cards, `status` what a PIV card reports, `trace` the APDUs of an operation with
// secrets redacted, and `emulate` inserts a virtual PIV card (kept in a JSON file) into pcscd's
// vsmartcard reader so any PC/SC program can use it.
import 'reflect-metadata';
import { X509Certificate } from 'node:crypto';
import type { Command } from 'commander';
import { FileCardStorage } from '../cards/emulator/file-storage.js';
import { VirtualPivCard } from '../cards/emulator/virtual-piv-card.js';
import { ApduError } from '../cards/errors.js';
import { ALGORITHM, KEY_SLOTS, OBJECT, PIN_REF } from '../cards/piv/constants.js';
import { DomainError } from '../domain/errors.js';
import { PivSession } from '../cards/piv/piv-session.js';
import { type TraceEntry, TracingConnection, redactCommand, redactResponse } from '../cards/trace.js';
import { PcscReaderSet } from '../cards/transport/pcsc.js';
import type { CardConnection, ReaderSet } from '../cards/transport/types.js';
import { VPCD_DEFAULT_PORT, VpcdCardBridge } from '../cards/transport/vpcd.js';

type Out = (s?: string) => void;

export interface CardCommandDeps {
  /** The reader set to use (default: pcsc-lite). Tests and the demo agent pass a memory set. */
  readers?: () => ReaderSet;
  out?: Out;
  /** Resolves when `emulate` should stop (default: SIGINT or SIGTERM). */
  untilStopped?: () => Promise<void>;
}

function untilSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

const hex = (b: Uint8Array | undefined): string => (b ? Buffer.from(b).toString('hex').toUpperCase() : '');

const ALGORITHM_NAMES: Record<number, string> = {
  [ALGORITHM.TDEA_3KEY]: '3DES',
  [ALGORITHM.AES_128]: 'AES-128',
  [ALGORITHM.AES_192]: 'AES-192',
  [ALGORITHM.AES_256]: 'AES-256',
  [ALGORITHM.RSA_1024]: 'RSA 1024',
  [ALGORITHM.RSA_2048]: 'RSA 2048',
  [ALGORITHM.ECC_P256]: 'ECC P-256',
  [ALGORITHM.ECC_P384]: 'ECC P-384',
};

const SLOT_NAMES: Record<number, string> = {
  0x9a: '9A (PIV Authentication)',
  0x9c: '9C (Digital Signature)',
  0x9d: '9D (Key Management)',
  0x9e: '9E (Card Authentication)',
  0xf9: 'F9 (Attestation)',
};

async function withCard<T>(
  readers: ReaderSet,
  name: string | undefined,
  fn: (conn: CardConnection) => Promise<T>,
): Promise<T> {
  try {
    const list = await readers.list();
    const reader = name
      ? list.find((r) => r.name === name || r.name.includes(name))
      : list.find((r) => r.cardPresent);
    if (!reader) {
      throw new Error(
        name ? `No reader matches "${name}"` : `No card in any reader (${list.length} reader(s) found)`,
      );
    }
    const conn = await readers.connect(reader.name);
    try {
      return await fn(conn);
    } finally {
      await conn.close?.();
    }
  } finally {
    await readers.close();
  }
}

async function printStatus(session: PivSession, out: Out): Promise<void> {
  out(
    `Version:          ${session.version ? session.version.join('.') : 'not reported (not a YubiKey-compatible token)'}`,
  );
  try {
    const s = await session.getSerial();
    out(`Serial:           ${s.serial} (${s.source})`);
  } catch (e) {
    if (!(e instanceof ApduError)) throw e;
    out('Serial:           none reported');
  }
  const chuid = await session.getChuid();
  out(`CHUID:            ${chuid ? `GUID ${hex(chuid.guid)}, expires ${chuid.expiration}` : 'none'}`);
  out(`CCC:              ${(await session.getObject(OBJECT.CAPABILITY)) ? 'present' : 'none'}`);
  const pin = await session.getPinStatus();
  try {
    const p = await session.getReferenceMetadata(PIN_REF.PIN);
    const k = await session.getReferenceMetadata(PIN_REF.PUK);
    out(`PIN:              ${p.remaining}/${p.total} tries left${p.isDefault ? ' (default PIN!)' : ''}`);
    out(`PUK:              ${k.remaining}/${k.total} tries left${k.isDefault ? ' (default PUK!)' : ''}`);
    const m = await session.getManagementKeyMetadata();
    out(
      `Management key:   ${ALGORITHM_NAMES[m.algorithm]}${m.isDefault ? ' (default key!)' : ''}${m.touch ? ', touch required' : ''}`,
    );
  } catch (e) {
    if (!(e instanceof ApduError)) throw e;
    out(`PIN:              ${pin.verified ? 'verified' : `${pin.attemptsRemaining} tries left`}`);
  }
  for (const slot of KEY_SLOTS) {
    let algorithm: string | undefined;
    let origin = '';
    try {
      const md = await session.getSlotMetadata(slot);
      if (md) {
        algorithm = ALGORITHM_NAMES[md.algorithm] ?? `algorithm ${md.algorithm}`;
        origin = md.origin === 'generated' ? 'generated on card' : 'imported';
      }
    } catch (e) {
      if (!(e instanceof ApduError)) throw e;
    }
    let der: Uint8Array | undefined;
    try {
      der = await session.getCertificate(slot);
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      out(`Slot ${slot.toString(16).toUpperCase()}: certificate object unreadable (${e.message})`);
    }
    if (!algorithm && !der) continue;
    out(`Slot ${SLOT_NAMES[slot] ?? slot.toString(16).toUpperCase()}:`);
    if (algorithm) out(`  Key:            ${algorithm}, ${origin}`);
    if (der) {
      try {
        const c = new X509Certificate(Buffer.from(der));
        out(`  Subject:        ${c.subject.replace(/\n/g, ', ')}`);
        out(`  Issuer:         ${c.issuer.replace(/\n/g, ', ')}`);
        out(`  Valid:          ${c.validFrom} – ${c.validTo}`);
        out(`  SHA-256:        ${c.fingerprint256}`);
      } catch {
        out(`  Certificate:    ${der.length} bytes that do not parse as X.509`);
      }
    }
  }
  out(`APDUs exchanged:  ${session.apduCount}`);
}

function formatTrace(out: Out): (e: TraceEntry) => void {
  return (e) =>
    out(
      e.direction === 'command'
        ? `> ${e.name.padEnd(22)} ${e.text}`
        : `< ${''.padEnd(22)} ${e.text} (${e.ms} ms)`,
    );
}

export function registerCardCommands(program: Command, deps: CardCommandDeps = {}): Command {
  const out: Out = deps.out ?? ((s = '') => process.stdout.write(`${s}\n`));
  const readers = deps.readers ?? (() => PcscReaderSet.open());
  const card = program.command('card').description('Smart card readers, PIV cards and the virtual card');

  card
    .command('list')
    .description('List the card readers and the cards in them')
    .action(async () => {
      const set = readers();
      try {
        const list = await set.list();
        if (list.length === 0) out('No card readers found.');
        for (const r of list) {
          out(`${r.name}: ${r.cardPresent ? `card present, ATR ${hex(r.atr)}` : 'empty'}`);
        }
      } finally {
        await set.close();
      }
    });

  card
    .command('status')
    .description('Show what the PIV card reports: version, serial, PIN/PUK tries, keys and certificates')
    .option('-r, --reader <name>', 'reader name (or part of it); default: the first reader with a card')
    .action(async (flags: { reader?: string }) => {
      await withCard(readers(), flags.reader, async (conn) => {
        out(`Reader:           ${conn.reader ?? ''}`);
        await printStatus(await PivSession.open(conn), out);
      });
    });

  card
    .command('trace')
    .description('Run an operation and print its APDUs, with PINs, PUKs and keys redacted')
    .argument('[operation]', 'status | verify-pin | serial', 'status')
    .option('-r, --reader <name>', 'reader name (or part of it)')
    .option('--pin <pin>', 'PIN for verify-pin (or set TESSERA_PIN)')
    .action(async (operation: string, flags: { reader?: string; pin?: string }) => {
      if (!['status', 'verify-pin', 'serial'].includes(operation)) {
        throw new Error(`unknown operation "${operation}": use status, verify-pin or serial`);
      }
      await withCard(readers(), flags.reader, async (conn) => {
        const lines: string[] = [];
        const traced = new TracingConnection(
          conn,
          formatTrace((s = '') => lines.push(s)),
        );
        const session = await PivSession.open(traced);
        const report: string[] = [];
        const say: Out = (s = '') => report.push(s);
        if (operation === 'status') await printStatus(session, say);
        if (operation === 'serial') say(`Serial: ${(await session.getSerial()).serial}`);
        if (operation === 'verify-pin') {
          const pin = flags.pin ?? process.env.TESSERA_PIN;
          if (!pin) throw new Error('verify-pin needs --pin or TESSERA_PIN');
          await session.verifyPin(pin).then(
            () => say('PIN verified.'),
            (e: unknown) => say(`PIN not verified: ${e instanceof Error ? e.message : String(e)}`),
          );
        }
        for (const l of lines) out(l);
        out('');
        for (const l of report) out(l);
      });
    });

  card
    .command('emulate')
    .description("Insert a virtual PIV card into pcscd's vsmartcard reader (runs until Ctrl-C)")
    .requiredOption(
      '-f, --file <card.json>',
      'the card file; a new blank card is created if it does not exist',
    )
    .option('--host <host>', 'vpcd host', '127.0.0.1')
    .option('--port <port>', 'vpcd port (35963 is "Virtual PCD 00 00")', String(VPCD_DEFAULT_PORT))
    .option('--serial <n>', 'serial number of a new card')
    .option('--trace', 'print every APDU (secrets redacted)')
    .action(async (flags: { file: string; host: string; port: string; serial?: string; trace?: boolean }) => {
      const storage = new FileCardStorage(flags.file);
      const { state, created } = storage.loadOrCreate(
        flags.serial ? { serial: Number.parseInt(flags.serial, 10) } : {},
      );
      const virtual = new VirtualPivCard(state, { storage });
      out(
        created
          ? `Created a new blank PIV card in ${flags.file}: serial ${virtual.serial}, PIN 123456, PUK 12345678, default management key.`
          : `Loaded the PIV card in ${flags.file}: serial ${virtual.serial}.`,
      );
      const bridge = new VpcdCardBridge(virtual, {
        host: flags.host,
        port: Number.parseInt(flags.port, 10),
        reconnect: true,
        onState: (s, detail) => {
          if (s === 'inserted')
            out(`Card inserted into the vpcd reader at ${detail}; waiting for pcscd to power it…`);
          if (s === 'powered')
            out('Card ready: PC/SC programs see it now (try: yubico-piv-tool -r Virtual -a status).');
          if (s === 'removed') out('vpcd closed the connection: card removed; reconnecting…');
          if (s === 'waiting')
            out(`Waiting for vpcd at ${flags.host}:${flags.port} (is pcscd running?): ${detail}`);
        },
        onApdu: flags.trace
          ? (c, r) => {
              const cmd = redactCommand(c);
              out(`> ${cmd.name.padEnd(22)} ${cmd.text}`);
              out(`< ${''.padEnd(22)} ${redactResponse(r, cmd.secretResponse)}`);
            }
          : undefined,
      });
      await bridge.start();
      await (deps.untilStopped ?? untilSignal)();
      await bridge.stop();
      out(`Card removed; its state is saved in ${flags.file}.`);
    });

  return card;
}
