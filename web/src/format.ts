// Words and dates as the portals show them. Codes stay codes in the API; people read these.
import type { CardKeyAlgorithm, DeviceType } from './types';

const DEVICE_TYPE_LABELS: Record<DeviceType, string> = {
  piv_card: 'PIV smart card',
  piv_token: 'PIV USB token',
  mobile: 'Mobile smart card',
};

export const deviceTypeLabel = (t: string): string => DEVICE_TYPE_LABELS[t as DeviceType] ?? humanize(t);

export const KEY_ALGORITHM_LABELS: Record<CardKeyAlgorithm, string> = {
  RSA2048: 'RSA 2048',
  ECCP256: 'ECC P-256',
  ECCP384: 'ECC P-384',
};

const SPECIAL: Record<string, string> = {
  admin: 'Administrator',
  helpdesk: 'Help desk',
  issuance_officer: 'Issuance officer',
  validation_officer: 'Validation officer',
  user: 'User',
  not_displayed: 'Not displayed',
  initial_password: 'Initial password',
  directory_password: 'Directory (LDAP) password',
  security_questions: 'Security questions',
  piv_authentication: 'PIV authentication',
  card_authentication: 'Card authentication',
  digital_signature: 'Digital signature',
  key_management: 'Key management',
  keyCompromise: 'Key compromise',
  caCompromise: 'CA compromise',
  affiliationChanged: 'Affiliation changed',
  cessationOfOperation: 'Cessation of operation',
  privilegeWithdrawn: 'Privilege withdrawn',
  awaiting_recycle: 'Awaiting recycle',
};

/** "issuance_officer" → "Issuance officer"; camelCase codes are split too. */
export function humanize(code: string): string {
  if (SPECIAL[code]) return SPECIAL[code];
  const words = code
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/[_.-]+/g, ' ')
    .trim()
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateTime.format(d);
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateOnly.format(d);
}

/** A hex serial grouped in pairs, the way certificate viewers print it. */
export function formatSerial(hex: string): string {
  return hex.replace(/(..)(?=.)/g, '$1:');
}

/**
 * A long serial (a CA's are 20 random bytes) as its first and last two bytes, "5b:2f…7f:41", for
 * tables where the full one would push columns off the page; short ones are shown whole.
 */
export function shortSerial(hex: string): string {
  if (hex.length <= 16) return formatSerial(hex);
  return `${formatSerial(hex.slice(0, 4))}…${formatSerial(hex.slice(-4))}`;
}
