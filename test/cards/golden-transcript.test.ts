// Golden APDU transcript of a personalization (command headers, lengths and status words): a change
// in what or how many APDUs an issuance sends shows up here as a diff to review, not by accident.
// Regenerate with UPDATE_GOLDEN=1 after checking the change is intended; a missing file fails.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALGORITHM, SLOT } from '../../src/cards/piv/constants.js';
import { signCsr } from '../../src/cards/piv/csr.js';
import { newChuid } from '../../src/cards/piv/objects.js';
import { PivSession } from '../../src/cards/piv/piv-session.js';
import { decodeCommand, swHex } from '../../src/cards/apdu.js';
import type { CardConnection } from '../../src/cards/transport/types.js';
import { memoryCard } from '../support/card-memory.js';
import { SCENARIO_MGMT_KEY } from '../support/card-scenario.js';

const GOLDEN = join(import.meta.dirname, 'golden', 'personalization.apdu.txt');

function shapeRecorder(inner: CardConnection, lines: string[]): CardConnection {
  return {
    reader: inner.reader,
    async transmit(apdu, opts) {
      const c = decodeCommand(apdu);
      const head = Buffer.from(apdu.subarray(0, 4)).toString('hex').toUpperCase();
      const r = await inner.transmit(apdu, opts);
      const sw = (r[r.length - 2]! << 8) | r[r.length - 1]!;
      lines.push(
        `${head} Lc=${c.data.length} Le=${c.le}${c.extended ? ' ext' : ''} -> ${r.length - 2} bytes SW=${swHex(sw)}`,
      );
      return r;
    },
  };
}

describe('golden APDU transcript', () => {
  it('a personalization sends the same APDUs as recorded', async () => {
    const { readers } = await memoryCard();
    const lines: string[] = [];
    const s = await PivSession.open(shapeRecorder(await readers.connect('Memory Reader 0'), lines));
    await s.getSerial();
    await s.authenticate(undefined, ALGORITHM.TDEA_3KEY);
    await s.setManagementKey(SCENARIO_MGMT_KEY, ALGORITHM.AES_192);
    await s.authenticate(SCENARIO_MGMT_KEY, ALGORITHM.AES_192);
    await s.verifyPin('123456');
    await s.setPinRetries(5, 3);
    await s.changePuk('12345678', '87878787');
    const { spki } = await s.generateKey(SLOT.AUTHENTICATION, ALGORITHM.ECC_P256);
    await s.verifyPin('123456');
    const csr = await signCsr(s, SLOT.AUTHENTICATION, spki, 'CN=Golden');
    await s.putCertificate(SLOT.AUTHENTICATION, csr); // any DER of a stable size will do here
    await s.putChuid(newChuid(new Date('2030-01-01T00:00:00Z')));
    await s.putCcc();
    await s.changePin('123456', '24682468');
    // ECDSA signatures vary in length by a byte or two: normalise that answer.
    const text =
      lines.map((l) => l.replace(/^(0087119A.*-> )\d+ bytes/, '$1(signature) bytes')).join('\n') + '\n';
    const normalised = text.replace(/^(00DB3FFF Lc=)\d+/m, '$1(cert)');
    if (process.env.UPDATE_GOLDEN) writeFileSync(GOLDEN, normalised);
    // A missing golden file is a failure, never a silent re-recording: the file is the review.
    expect(
      existsSync(GOLDEN),
      `${GOLDEN} is missing: restore it from git, or record it with UPDATE_GOLDEN=1 after checking the transcript`,
    ).toBe(true);
    expect(normalised).toBe(readFileSync(GOLDEN, 'utf8'));
    expect(lines.length).toBe(18);
  });
});
