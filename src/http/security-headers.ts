// The security headers of every response. The app's onSend hook sets them; a route that hijacks
// its reply (the server-sent events stream) skips onSend and must set them on the raw response.

/**
 * The web app is one script and one stylesheet from this origin (Vite's build has no inline
 * script); React writes styles through the DOM, which style-src does not govern; the favicon is a
 * data: URL. Nothing may frame the portals (clickjacking on the sign-in and Issue buttons).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
} as const;

/**
 * Strict-Transport-Security when people reach Tessera over https (the external URL says so): a
 * browser that saw it once will not be talked into plain http for two years. Not for subdomains —
 * that is the domain owner's call, not Tessera's.
 */
export const hstsFor = (externalUrl: string): string | null =>
  externalUrl.startsWith('https:') ? 'max-age=63072000' : null;

/**
 * API replies carry sessions' CSRF tokens, initial passwords, pairing tokens and personal data:
 * no cache (browser, proxy) may keep them. A route that means to be cached sets its own header.
 */
export const API_CACHE_CONTROL = 'no-store';
