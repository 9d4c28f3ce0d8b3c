// The security headers of every response. The app's onSend hook sets them; a route that hijacks
// its reply (the server-sent events stream) skips onSend and must set them on the raw response.
export const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
} as const;
