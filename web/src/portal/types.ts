// What the user portal's routes (/api/portal/*) send and take: the server's schemas, as types only.
export type { PortalAuthMethod } from '../types';
export type {
  Answer,
  PortalMe,
  PortalSignedIn,
  Question,
  QuestionStatus,
  SignInOptions,
} from '../../../src/http/schemas/portal-auth.ts';
export type { DemoHandover, DemoReaderView } from '../../../src/http/schemas/portal-demo.ts';
