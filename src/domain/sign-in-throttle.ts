// The sign-in throttle's vocabulary (decision 0022): the secrets it guards, the scopes it counts
// in, and where an attempt comes from as it counts it. An IPv4 address
// counts as itself (an IPv4-mapped IPv6 address as its IPv4 form); an IPv6 address as its /64,
// because one host holds a whole /64 and could otherwise take a fresh address for every guess.

/** The guessable sign-in secrets: the operator password and the user portal's three methods. */
export const THROTTLED_SECRETS = [
  'password',
  'initial_password',
  'security_questions',
  'directory_password',
] as const;
export type ThrottledSecret = (typeof THROTTLED_SECRETS)[number];

/** A count per name (from everywhere), per source address, and per name from one address. */
export const THROTTLE_SCOPES = ['name', 'address', 'name_address'] as const;
export type ThrottleScope = (typeof THROTTLE_SCOPES)[number];

/** The attempts made in-process (CLI, tests) rather than over the network. */
export const LOCAL_SOURCE = 'local';

/** The throttle's key for a remote address; anything unparsable is kept as given, lower-cased. */
export function sourceKey(address: string | undefined): string {
  if (!address) return LOCAL_SOURCE;
  const a = address.trim().toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(a);
  if (mapped) return mapped[1]!;
  if (!a.includes(':')) return a;
  const groups = expandIpv6(a.split('%')[0]!);
  return groups ? `${groups.slice(0, 4).join(':')}::/64` : a;
}

/** The eight 16-bit groups of an IPv6 address (no zone), or null when it is not one. */
function expandIpv6(a: string): string[] | null {
  const halves = a.split('::');
  if (halves.length > 2) return null;
  const part = (s: string) => (s === '' ? [] : s.split(':'));
  const head = part(halves[0]!);
  const tail = halves.length === 2 ? part(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  return groups.map((g) => g.replace(/^0+(?=.)/, ''));
}

export interface ThrottleLimits {
  /** Failures let through unhindered per name from one address, per name, per address. */
  freePerNameAddress: number;
  freePerName: number;
  freePerAddress: number;
  /** The delay after the last free failure; each further failure doubles it, up to maxDelaySeconds. */
  firstDelaySeconds: number;
  maxDelaySeconds: number;
  /** A count whose last failure is this old starts again from nothing. */
  forgetSeconds: number;
}

/** One scope's count of failures, as stored. */
export interface ThrottleCount {
  failures: number;
  lastFailureAt: Date | null;
  /** Before this time an attempt is refused unseen; null: no delay in force. */
  nextAt: Date | null;
  /** name_address only: this name has signed in from this address. */
  trusted: boolean;
}

export type ThrottleCounts = Record<ThrottleScope, ThrottleCount>;

const freeOf = (scope: ThrottleScope, l: ThrottleLimits) =>
  scope === 'name' ? l.freePerName : scope === 'address' ? l.freePerAddress : l.freePerNameAddress;

/** The failures a count stands at now (a forgotten count stands at 0). */
function standing(c: ThrottleCount, l: ThrottleLimits, now: Date): number {
  const forgotten = !c.lastFailureAt || c.lastFailureAt.getTime() <= now.getTime() - l.forgetSeconds * 1000;
  return forgotten ? 0 : c.failures;
}

/**
 * The rule for one attempt. Each scope lets it through while its failures are within the free
 * ones or its delay has run out; the attempt is checked when the name-from-address and the address
 * let it through, and the name too unless the pair is trusted (so strangers elsewhere cannot keep
 * a person out of where they sign in). A checked attempt counts as a failure in every scope until
 * it succeeds; once a count passes its free failures, each failure sets a delay that doubles, up
 * to the longest. An attempt refused unseen changes nothing: hammering wins nothing and costs
 * nobody more.
 */
export function decideAttempt(
  counts: ThrottleCounts,
  l: ThrottleLimits,
  now: Date,
): { admitted: boolean; after: ThrottleCounts } {
  const lets = (s: ThrottleScope) => {
    const c = counts[s];
    return standing(c, l, now) < freeOf(s, l) || !c.nextAt || c.nextAt.getTime() <= now.getTime();
  };
  const admitted = lets('name_address') && lets('address') && (lets('name') || counts.name_address.trusted);
  if (!admitted) return { admitted, after: counts };
  const failed = (s: ThrottleScope): ThrottleCount => {
    const failures = standing(counts[s], l, now) + 1;
    const over = failures - freeOf(s, l);
    const delay = over >= 0 ? Math.min(l.maxDelaySeconds, l.firstDelaySeconds * 2 ** Math.min(over, 30)) : 0;
    return {
      failures,
      lastFailureAt: now,
      nextAt: over >= 0 ? new Date(now.getTime() + delay * 1000) : null,
      trusted: counts[s].trusted,
    };
  };
  return {
    admitted,
    after: { name: failed('name'), address: failed('address'), name_address: failed('name_address') },
  };
}
