// A state shown as a word in a coloured pill: the colour helps, the word carries the meaning.
import { humanize } from '../format';

const TONE: Record<string, 'ok' | 'warn' | 'bad' | 'info' | 'neutral'> = {
  active: 'ok',
  valid: 'ok',
  created: 'ok',
  suspended: 'warn',
  pending: 'warn',
  issuing: 'info',
  bound: 'info',
  inventory: 'neutral',
  awaiting_recycle: 'warn',
  failed: 'bad',
  invalid: 'bad',
  revoked: 'bad',
  refused: 'bad',
  terminated: 'neutral',
  pass: 'ok',
  fail: 'bad',
  warn: 'warn',
  info: 'info',
};

export function Badge({ value, label }: { value: string; label?: string }) {
  return <span className={`badge badge--${TONE[value] ?? 'neutral'}`}>{label ?? humanize(value)}</span>;
}
