// Suspending a device by hand (the help desk, before anyone decides on a replacement): every
// credential on it goes on hold, and resuming releases exactly those this suspension held and no
// other cause still holds. Pure: the service loads statuses and holds, and applies the result.
import type { CredentialStatus } from './credential.js';

export interface HoldFacts {
  /** Every credential on the device with its status. */
  readonly statusById: Readonly<Record<string, CredentialStatus>>;
  /** Credentials on hold for another recorded cause (a replacement request, another device's suspension). */
  readonly heldElsewhere: readonly string[];
}

/**
 * Valid credentials are suspended; those already on hold for another recorded cause get this
 * cause's hold beside it; one suspended by hand at the CA (no recorded cause) and revoked ones are
 * left alone, so resuming cannot lift them.
 */
export function planHold(f: HoldFacts): { suspend: string[]; join: string[] } {
  const elsewhere = new Set(f.heldElsewhere);
  const ids = Object.keys(f.statusById).sort();
  return {
    suspend: ids.filter((c) => f.statusById[c] === 'valid'),
    join: ids.filter((c) => f.statusById[c] === 'suspended' && elsewhere.has(c)),
  };
}

/** Of the credentials this cause held, those to reinstate: still suspended and held by nothing else. */
export function planRelease(
  held: readonly string[],
  f: Pick<HoldFacts, 'heldElsewhere'> & { statusById: Readonly<Record<string, CredentialStatus>> },
): string[] {
  const elsewhere = new Set(f.heldElsewhere);
  return [...new Set(held)].sort().filter((c) => f.statusById[c] === 'suspended' && !elsewhere.has(c));
}
