// Mobile ID (reference 004, "Get mobile ID"): a person orders a mobile smart card for their phone in
// the user portal, under an administrator's mobile ID policy. The order's life:
//
//   awaiting_wallet ──wallet_connected──▶ issuing ──succeed──▶ active ──suspend──▶ suspended
//        │                                 │  └──fail──▶ failed                 ◀──resume──┘
//        └──────────── cancel ─────────────┴─────────────┘ → cancelled
//   active | suspended ──revoke──▶ revoked,  ──terminate──▶ terminated,  ──expire──▶ expired
//
// Outcome as the reference states it: the mobile ID profile "active", its certificates "valid".
import { DomainError } from './errors.js';
import { defineMachine } from './state-machine.js';

export const MOBILE_ID_STATES = [
  'awaiting_wallet',
  'issuing',
  'active',
  'failed',
  'cancelled',
  'suspended',
  'revoked',
  'terminated',
  'expired',
] as const;
export type MobileIdState = (typeof MOBILE_ID_STATES)[number];

export const MOBILE_ID_ACTIONS = [
  'wallet_connected',
  'succeed',
  'fail',
  'cancel',
  'suspend',
  'resume',
  'revoke',
  'terminate',
  'expire',
] as const;
export type MobileIdAction = (typeof MOBILE_ID_ACTIONS)[number];

export const mobileIdMachine = defineMachine<MobileIdState, MobileIdAction>('mobile ID', MOBILE_ID_STATES, {
  wallet_connected: { from: ['awaiting_wallet'], to: 'issuing' },
  succeed: { from: ['issuing'], to: 'active' },
  fail: { from: ['issuing'], to: 'failed' },
  // Cancel closes the order at any step before it is active (reference 004, "Cancel the process").
  cancel: { from: ['awaiting_wallet', 'issuing', 'failed'], to: 'cancelled' },
  suspend: { from: ['active'], to: 'suspended' },
  resume: { from: ['suspended'], to: 'active' },
  revoke: { from: ['active', 'suspended'], to: 'revoked' },
  terminate: { from: ['active', 'suspended'], to: 'terminated' },
  expire: { from: ['active', 'suspended'], to: 'expired' },
});

export const mobileIdTransition = mobileIdMachine.transition;

/** States in which the order is still under way (one per person at a time). */
export const MOBILE_ID_OPEN: readonly MobileIdState[] = ['awaiting_wallet', 'issuing'];

/** Where the QR code goes: shown in the portal, or e-mailed (image and link) to the person. */
export const QR_DELIVERIES = ['portal', 'email'] as const;
export type QrDelivery = (typeof QR_DELIVERIES)[number];

/** Whom the person hears from when the mobile ID is created: on success, failure, both, or never. */
export const MOBILE_ID_NOTIFY = ['none', 'success', 'failure', 'both'] as const;
export type MobileIdNotify = (typeof MOBILE_ID_NOTIFY)[number];

export const notifies = (n: MobileIdNotify, outcome: 'success' | 'failure'): boolean =>
  n === 'both' || n === outcome;

/**
 * What a mobile ID derived from a PIV card (`requireCard`, NIST SP 800-157) becomes when that card
 * is terminated with no card taking its place: suspended (its certificates on hold, until an
 * operator decides) or revoked (its certificates revoked, its phone ended).
 */
export const CARD_END_ACTIONS = ['suspend', 'revoke'] as const;
export type CardEndAction = (typeof CARD_END_ACTIONS)[number];

/** Why the person's PIV card did not prove them (requireCard): each its own code and status. */
export const CARD_PROOF_CODES = [
  'card_required',
  'no_active_card',
  'card_not_inserted',
  'wrong_card',
  'card_pin_wrong',
  'card_pin_blocked',
  'card_certificate_invalid',
  'card_signature_invalid',
  'card_challenge_unknown',
  'card_challenge_expired',
  'card_challenge_used',
] as const;
export type CardProofCode = (typeof CARD_PROOF_CODES)[number];

/** The card's proof of possession failed: a code from CARD_PROOF_CODES, a message saying what to do. */
export class CardProofError extends DomainError {
  constructor(code: CardProofCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

/** A property put into the enrolment: its name and a template over the person's fields. */
export interface MobileIdProperty {
  name: string;
  /** "${username}", "${server}", "${properties.department}", fixed text, or a mix. */
  value: string;
}

const PROPERTY_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const PLACEHOLDER = /\$\{([^}]*)\}/g;
const KNOWN_FIELDS = new Set(['username', 'displayName', 'email', 'userId', 'server']);

/** What the administrator sets (the API's input). */
export interface MobileIdPolicyInput {
  name: string;
  description: string;
  /** The device policy (for mobile devices) whose credential profiles, PIN and PUK rules apply. */
  devicePolicyId: string;
  /** Names of that policy's credential profiles to issue (e.g. authentication and signature only). */
  profiles: string[];
  qrDelivery: QrDelivery;
  /** Days the mobile ID lives; its certificates never outlive it, and then it expires. */
  validityDays: number;
  properties: MobileIdProperty[];
  /** Restore the person's archived key-management key and certificate into the phone's 9D slot. */
  recoverKey: boolean;
  notify: MobileIdNotify;
  /**
   * A derived credential (SP 800-157): the person proves possession of their active PIV card (its
   * 9A key signs a fresh challenge) before ordering, and the mobile ID follows that card.
   */
  requireCard?: boolean;
  /** With requireCard: what the card's termination does to the mobile ID (default suspend). */
  cardEnd?: CardEndAction;
  /** Whether people may order under it now (a policy in use is disabled rather than deleted). */
  enabled: boolean;
}

/**
 * Every problem of a mobile ID policy against its device policy (null when it has none): the
 * caller turns them into one ValidationError.
 */
export function mobileIdPolicyProblems(
  p: MobileIdPolicyInput,
  device: {
    deviceTypes: readonly string[];
    credentialProfiles: readonly { name: string; certificateProfile: string; archiveKey: boolean }[];
  } | null,
): string[] {
  const problems: string[] = [];
  if (!p.name.trim()) problems.push('The policy needs a name');
  if (!Number.isInteger(p.validityDays) || p.validityDays < 1 || p.validityDays > 3650)
    problems.push('A mobile ID lives 1-3650 days');
  if (!device) problems.push('Choose a device policy');
  else {
    if (!device.deviceTypes.includes('mobile'))
      problems.push('The device policy is not for mobile devices: add "mobile" to its device types');
    if (p.profiles.length === 0) problems.push('Choose at least one certificate to issue');
    const names = new Set(device.credentialProfiles.map((c) => c.name));
    const seen = new Set<string>();
    for (const name of p.profiles) {
      if (!names.has(name)) problems.push(`The device policy has no credential profile "${name}"`);
      if (seen.has(name)) problems.push(`The credential profile "${name}" is chosen twice`);
      seen.add(name);
    }
    if (p.recoverKey && !device.credentialProfiles.some((c) => c.certificateProfile === 'key_management'))
      problems.push(
        'Recovering the encryption key needs a key-management profile in the device policy (its slot 9D holds the key)',
      );
  }
  const propNames = new Set<string>();
  for (const prop of p.properties) {
    if (!PROPERTY_NAME.test(prop.name))
      problems.push(
        `Property "${prop.name}": a name is a letter, then letters, digits, _ . or - (64 at most)`,
      );
    if (propNames.has(prop.name)) problems.push(`Property "${prop.name}" is set twice`);
    propNames.add(prop.name);
    for (const [, field] of prop.value.matchAll(PLACEHOLDER))
      if (!KNOWN_FIELDS.has(field!) && !/^properties\.[A-Za-z0-9_.-]{1,64}$/.test(field!))
        problems.push(
          `Property "${prop.name}": \${${field}} is unknown (use \${username}, \${displayName}, \${email}, \${userId}, \${server} or \${properties.<name>})`,
        );
  }
  return problems;
}

/** The properties' values for one person (placeholders filled; an unknown one becomes empty). */
export function renderMobileIdProperties(
  props: readonly MobileIdProperty[],
  person: {
    id: string;
    username: string;
    displayName: string;
    email: string | null;
    properties: Record<string, string>;
  },
  server: string,
): Record<string, string> {
  const field = (f: string): string => {
    if (f === 'username') return person.username;
    if (f === 'displayName') return person.displayName;
    if (f === 'email') return person.email ?? '';
    if (f === 'userId') return person.id;
    if (f === 'server') return server;
    if (f.startsWith('properties.')) return person.properties[f.slice(11)] ?? '';
    return '';
  };
  return Object.fromEntries(
    props.map((p) => [p.name, p.value.replace(PLACEHOLDER, (_, f: string) => field(f))]),
  );
}
