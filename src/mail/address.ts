// What counts as an e-mail address: the rule the API applies to `format: 'email'` (ajv-formats,
// full mode), so an address Tessera sends to passes the same check as one typed into the API.
// One bare address only: no display name, no list, no comments, no whitespace, so a value such
// as "a@x.org, b@evil.org" or "x <b@evil.org>" can never widen who receives a message.
import { fullFormats } from 'ajv-formats/dist/formats.js';

const EMAIL = fullFormats.email as RegExp;

export const isEmailAddress = (s: string): boolean => s.length <= 254 && EMAIL.test(s);
