// What an agent says when the server refuses its token for good (revoked, unpaired, never paired):
// retrying cannot help, so it stops and tells the person the one way back, pairing again.

/**
 * "the server refused this agent's token (<why>) …: pair it again …". `then` is the command to run
 * once paired (`tessera agent --wallet` for the phone's bridge).
 */
export function tokenRefused(server: string, why: string, then?: string): string {
  return (
    `the server refused this agent's token (${why}): it was revoked or is not paired. ` +
    `Pair it again with a new code from the portal's Agents page: tessera agent --server ${server} --pair CODE` +
    (then ? `, then ${then}` : '')
  );
}
