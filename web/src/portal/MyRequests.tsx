// The person's replacement requests in the user portal, each in plain words: what happens next and
// who does it. A self-enrollment replacement whose new card is ready offers "Set up my new card".
import { ErrorPanel } from '../components/ErrorPanel';
import { formatDateTime } from '../format';
import type { Loaded } from '../hooks';
import type { ReplacementRequest } from '../types';

const REASON_WORDS: Record<string, string> = {
  lost: 'lost',
  stolen: 'stolen',
  forgotten: 'left at home',
  damaged: 'damaged',
  expired: 'expired',
};

/** Ready for the person to set up here: a self-enrollment replacement with its card bound. */
export const readyToEnroll = (r: ReplacementRequest) => r.waitingFor === 'self_enrollment';

function nextStep(r: ReplacementRequest): string {
  switch (r.state) {
    case 'submitted':
      return 'Waiting for a validation officer to approve it. Your card is on hold meanwhile.';
    case 'approved':
    case 'bound':
      if (r.waitingFor === 'temporary_end')
        return `You have a temporary card until ${formatDateTime(r.dueAt)}. When you find your card, bring it to the help desk: it works again once they end the temporary one.`;
      if (r.waitingFor === 'activation')
        return `Your new card ${r.replacementSerial ?? ''} is printed: the help desk activates it when they hand it to you.`;
      if (readyToEnroll(r))
        return `Your new card ${r.replacementSerial ?? ''} is ready: insert it and set it up.`;
      if (r.workflow === 'self_enrollment')
        return 'Approved. The help desk prepares a new card for you to set up here; come back when they tell you it is ready.';
      if (r.workflow === 'remote_issuance') return 'Approved. You will set up your new card on your phone.';
      return r.type === 'temporary'
        ? 'Approved. The help desk gives you a temporary card.'
        : 'Approved. The help desk prepares your new card and hands it to you.';
    case 'completed':
      return r.type === 'temporary'
        ? 'Finished: the temporary card has ended and your own card works again.'
        : 'Finished: your new card is in use.';
    case 'rejected':
      return 'Not approved: your card works again. Contact your help desk if you still need help.';
    case 'cancelled':
      return 'Cancelled: your card works again.';
  }
}

interface Props {
  requests: Loaded<{ items: ReplacementRequest[] }>;
  onEnroll: (r: ReplacementRequest) => void;
}

export function MyRequests({ requests, onEnroll }: Props) {
  const items = requests.data?.items ?? [];
  if (!requests.error && items.length === 0) return null;
  return (
    <>
      <h2>Your reports</h2>
      <ErrorPanel error={requests.error} title="Your reports could not be read" />
      <ul className="portal-requests" aria-label="Your reports">
        {items.map((r) => (
          <li key={r.id}>
            <strong>
              Request #{r.number}: card {r.targetSerial ?? ''} {REASON_WORDS[r.reason ?? ''] ?? 'replaced'}
            </strong>
            <span className="muted small"> · {formatDateTime(r.createdAt)}</span>
            <p>{nextStep(r)}</p>
            {readyToEnroll(r) && (
              <button type="button" className="btn btn-primary" onClick={() => onEnroll(r)}>
                Set up my new card
              </button>
            )}
          </li>
        ))}
      </ul>
    </>
  );
}
