// GET /api/meta: what the web app needs to know before anyone signs in.
import { Type, type Static } from '@sinclair/typebox';

export const Meta = Type.Object({
  version: Type.String(),
  demo: Type.Boolean(),
  externalUrl: Type.String(),
  mail: Type.Boolean({ description: 'Whether the server sends e-mail (TESSERA_SMTP_URL)' }),
});
export type Meta = Static<typeof Meta>;

/** GET /healthz: the process answers. */
export const Health = Type.Object({ status: Type.Literal('ok') });
/** GET /readyz: the process answers and its database too. */
export const Readiness = Type.Object({ status: Type.Literal('ready') });
