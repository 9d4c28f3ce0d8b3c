// What the user portal's routes (/api/portal/*) send and take, as the server defines them in
// src/http/routes/portal-auth.ts and portal-issuance.ts.
import type { Device, Me, User } from '../types';

export type PortalAuthMethod = 'initial_password' | 'directory_password' | 'security_questions';

export interface Question {
  id: string;
  text: string;
}

/** POST /api/portal/auth/start: the ways of signing in on offer (the same for every name). */
export interface SignInOptions {
  methods: PortalAuthMethod[];
  questions?: Question[];
}

export interface PortalSignedIn {
  user: Me;
  csrfToken: string;
  mustSetQuestions: boolean;
}

export interface Answer {
  questionId: string;
  answer: string;
}

export interface QuestionStatus {
  required: number;
  answered: Question[];
  available: Question[];
  mustSet: boolean;
}

export interface PortalMe {
  user: User;
  devices: Device[];
  securityQuestions: { required: number; answered: number; mustSet: boolean };
  issuanceRetryForUser: boolean;
}

/** GET/POST /api/portal/demo/reader: the demo server's hand-over of one's bound cards. */
export interface DemoReader {
  available: boolean;
  agent: { id: string; name: string; readers: { reader: string; serial: string | null }[] } | null;
  cards: { serial: string; deviceId: string; state: string; inMyReader: boolean }[];
  moved?: string[];
}
