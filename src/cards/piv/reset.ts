// Back to transport state: how a half-personalized or terminated card is recycled. A Yubico-style
// PIV reset is only allowed once PIN and PUK are both blocked, so we block them with wrong tries
// first. Afterwards the card has PIN 123456, PUK 12345678, the default 3DES management key, no
// keys and no objects (its serial does not change).
import { randomInt } from 'node:crypto';
import { ApduError, InvalidPinError, PinBlockedError } from '../errors.js';
import { DEFAULT_MANAGEMENT_KEY } from './constants.js';
import type { PivSession } from './piv-session.js';

/** A wrong value for PIN/PUK tries: random 8 digits (the chance it is right is 1e-8 per try). */
const wrongValue = (): string => String(randomInt(10_000_000, 99_999_999));

async function exhaust(attempt: () => Promise<void>, limit: number): Promise<void> {
  for (let i = 0; i < limit; i += 1) {
    try {
      await attempt();
    } catch (e) {
      if (e instanceof PinBlockedError) return;
      if (e instanceof InvalidPinError) {
        if (e.attemptsRemaining === 0) return;
        continue;
      }
      throw e;
    }
    // A random value happened to be right: keep going, the next one will not be.
  }
  throw new ApduError(0x6983, 'The card did not block after the expected number of wrong tries');
}

export async function resetToTransport(session: PivSession): Promise<{ apdus: number }> {
  const start = session.apduCount;
  // 255 is the largest retry count a card can be given (Yubico SET PIN RETRIES).
  await exhaust(() => session.verifyPin(wrongValue()), 256);
  await exhaust(() => {
    const v = wrongValue();
    return session.changePuk(v, v);
  }, 256);
  await session.reset();
  // Confirm the card is in transport state: the default management key works.
  await session.authenticate(DEFAULT_MANAGEMENT_KEY);
  return { apdus: session.apduCount - start };
}
