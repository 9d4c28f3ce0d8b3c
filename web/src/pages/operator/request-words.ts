// How a replacement request reads in a list or a heading: its reason and workflow in words, and
// the devices it concerns (original → replacement).
import { humanize } from '../../format';
import type { ReplacementRequest, RequestWorkflow } from '../../types';

export const WORKFLOW_SHORT: Record<RequestWorkflow, string> = {
  local_issuance: 'local issuance',
  self_enrollment: 'self-enrollment',
  remote_issuance: 'remote issuance',
};

/** "Lost card · local issuance" */
export function requestWhat(r: ReplacementRequest): string {
  const reason = r.reason ? humanize(r.reason) : humanize(r.kind);
  const temp = r.type === 'temporary' ? ' (temporary device)' : '';
  return `${reason}${temp} · ${WORKFLOW_SHORT[r.workflow]}`;
}

/** "10000001 → 10000004", or the original alone while no replacement device is known. */
export function serialsOf(r: ReplacementRequest): string {
  const from = r.targetSerial ?? '—';
  return r.replacementSerial ? `${from} → ${r.replacementSerial}` : from;
}
