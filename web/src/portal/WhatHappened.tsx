// A failure as a cardholder should read it: what happened, in plain words, from the error's code;
// the code, correlation id and technical message — which the help desk needs and the person does
// not — folded under "Details for your help desk".
import type { ApiError } from '../api';
import { ErrorPanel, HelpDeskDetailsFolded } from '../components/ErrorPanel';

const PLAIN: Record<string, string> = {
  card_removed: 'Your card was taken out of the reader before the set-up was finished.',
  card_transport:
    'The connection to your card was lost: the card reader, or the Tessera agent on this computer, stopped answering.',
  card_timeout: 'Your card stopped answering.',
  card_protocol: 'Your card did not answer as a smart card should.',
  card_apdu_error: 'Your card refused one of the set-up steps.',
  card_error: 'Your card refused one of the set-up steps.',
  interrupted: 'The set-up was interrupted because the server restarted.',
  wallet_link_lost: 'The connection to your phone was lost.',
};

/** The plain sentence for an error's code (never the code or the technical message). */
export function plainFailure(code: string): string {
  return PLAIN[code] ?? 'Something went wrong on our side.';
}

export function WhatHappened({ error, step }: { error: ApiError | null; step: string }) {
  if (!error) return null;
  return (
    <>
      <p className="portal-notice" role="alert">
        {plainFailure(error.code)} Nothing on it can be used yet.
      </p>
      <details className="help-desk-details">
        <summary>Details for your help desk</summary>
        {/* Already under the help desk's details: not folded a second time. */}
        <HelpDeskDetailsFolded.Provider value={false}>
          <ErrorPanel error={error} title={`It stopped at “${step}”`} />
        </HelpDeskDetailsFolded.Provider>
      </details>
    </>
  );
}
