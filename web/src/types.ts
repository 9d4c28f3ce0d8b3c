// The entities of the Tessera HTTP API (v1), written by hand from api-contract.md. The server's
// OpenAPI document is the authority; these types are what the web app relies on.

// Names the server's domain defines are taken from it, so the two can never drift apart.
import type { DeviceState, DeviceType } from '../../src/domain/device.ts';
import type { Role } from '../../src/domain/roles.ts';
import type { UserState } from '../../src/domain/user.ts';
export { ROLES, type Role } from '../../src/domain/roles.ts';
export type { Permission } from '../../src/domain/permissions.ts';
export { USER_STATES, type UserState } from '../../src/domain/user.ts';
export { DEVICE_STATES, DEVICE_TYPES, type DeviceState, type DeviceType } from '../../src/domain/device.ts';

export interface Page<T> {
  items: T[];
  total: number;
}

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown>; correlationId: string };
}

// ---- Auth and meta -------------------------------------------------------------------------

export interface Me {
  id: string;
  username: string;
  displayName: string;
  roles: Role[];
  permissions: string[];
}

export interface SessionInfo {
  user: Me;
  csrfToken: string;
}

export interface Meta {
  version: string;
  demo: boolean;
  externalUrl: string;
  /** The server sends e-mail (TESSERA_SMTP_URL is set). */
  mail: boolean;
}

// ---- Users ---------------------------------------------------------------------------------

export interface User {
  id: string;
  username: string;
  displayName: string;
  email: string | null;
  source: 'local' | 'ldap';
  state: UserState;
  roles: Role[];
  properties: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

export interface NewUser {
  username: string;
  displayName: string;
  email?: string;
  roles?: Role[];
  properties?: Record<string, string>;
}

export interface UserPatch {
  displayName?: string;
  /** null removes the address. */
  email?: string | null;
  roles?: Role[];
  properties?: Record<string, string>;
}

export type UserLifecycleAction = 'suspend' | 'reactivate' | 'terminate';

// ---- Devices -------------------------------------------------------------------------------

export interface Device {
  id: string;
  serial: string;
  type: DeviceType;
  model: string | null;
  state: DeviceState;
  userId: string | null;
  policyId: string | null;
  notes: string | null;
  issuedAt: string | null;
  expiresAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface NewDevice {
  serial: string;
  type: DeviceType;
  model?: string;
  notes?: string;
}

export interface ImportRow {
  line: number;
  serial: string | null;
  status: 'created' | 'refused';
  error?: string;
}

export interface ImportReport {
  created: number;
  refused: number;
  rows: ImportRow[];
}

// ---- Device policies -----------------------------------------------------------------------

export type Slot = '9a' | '9c' | '9d' | '9e';
export const SLOTS: readonly Slot[] = ['9a', '9c', '9d', '9e'];

export type KeyAlgorithm = 'RSA2048' | 'ECCP256' | 'ECCP384';
export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['RSA2048', 'ECCP256', 'ECCP384'];

export type CertificateProfileName =
  'piv_authentication' | 'card_authentication' | 'digital_signature' | 'key_management';
export const CERTIFICATE_PROFILES: readonly CertificateProfileName[] = [
  'piv_authentication',
  'digital_signature',
  'key_management',
  'card_authentication',
];

export interface CredentialProfile {
  name: string;
  slot: Slot;
  keyAlgorithm: KeyAlgorithm;
  certificateProfile: CertificateProfileName;
  validityDays: number;
  archiveKey: boolean;
}

export interface PinPolicy {
  minLength: number;
  maxLength: number;
  charset: 'digits' | 'alphanumeric';
  noRepeatedDigits: boolean;
  noSequences: boolean;
  retries: number;
}

export interface Policy {
  id: string;
  name: string;
  description: string;
  deviceTypes: DeviceType[];
  credentialProfiles: CredentialProfile[];
  pinPolicy: PinPolicy;
  pukRetries: number;
  deviceValidityDays: number;
  defaultLayout: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** The body of POST /api/policies and PUT /api/policies/:id. */
export type PolicyInput = Omit<Policy, 'id' | 'createdAt' | 'updatedAt' | 'version'>;

// ---- Security settings ---------------------------------------------------------------------

export type InitialPinDisplayMode = 'displayed' | 'disguised' | 'not_displayed';
export type PortalAuthMethod = 'initial_password' | 'directory_password' | 'security_questions';
export const PORTAL_AUTH_METHODS: readonly PortalAuthMethod[] = [
  'initial_password',
  'directory_password',
  'security_questions',
];

export interface Settings {
  initialPinDisplayMode: InitialPinDisplayMode;
  changePinDuringIssuance: boolean;
  issuanceRetryForUser: boolean;
  portalAuthMethods: PortalAuthMethod[];
  securityQuestionCount: number;
  /** Hours an initial password stays valid once issued (1-720). */
  initialPasswordValidityHours: number;
  /** Wrong tries that burn an initial password (1-20). */
  initialPasswordMaxAttempts: number;
}

// ---- User portal prerequisites: initial passwords, security questions, directory -------------

/** POST /api/users/:id/initial-password (201). `password` is absent when it was e-mailed. */
export interface IssuedInitialPassword {
  password?: string;
  /** The address it was sent to, when e-mailed. */
  email?: string;
  expiresAt: string;
  delivery: 'displayed' | 'email';
}

/** One entry of GET /api/security-questions. */
export interface SecurityQuestion {
  id: string;
  text: string;
  active: boolean;
}

/** One entry of PUT /api/security-questions: without an id it is added. */
export interface SecurityQuestionInput {
  id?: string;
  text: string;
  active: boolean;
}

/** The directory (LDAP) connection settings, as PUT /api/directory takes them (less the password). */
export interface DirectoryConfig {
  enabled: boolean;
  /** ldap://host:port or ldaps://host:port */
  url: string;
  startTls: boolean;
  tlsVerify: boolean;
  caCertificatePem: string | null;
  bindDn: string;
  baseDn: string;
  userFilter: string;
  externalId: 'entryUUID' | 'dn';
  attributes: { username: string; displayName: string; email: string | null };
  /** Tessera property name → LDAP attribute. */
  properties: Record<string, string>;
  groups: { baseDn: string | null; filter: string; memberAttribute: string };
  groupRoles: { group: string; roles: Role[] }[];
  timeoutSeconds: number;
}

/** GET/PUT /api/directory: the settings, never the bind password — only whether one is set. */
export interface DirectoryView extends DirectoryConfig {
  configured: boolean;
  hasBindPassword: boolean;
  updatedAt: string | null;
}

/** The body of PUT /api/directory: bindPassword omitted keeps it, null removes it. */
export interface DirectoryInput extends DirectoryConfig {
  bindPassword?: string | null;
}

export interface DirectoryTestResult {
  ok: boolean;
  userCount: number;
  /** Said when the connection works but is unsafe (not encrypted, certificate not verified). */
  warnings?: string[];
}

export interface DirectorySyncReport {
  created: number;
  updated: number;
  suspended: number;
  unchanged: number;
  errors: string[];
}

// ---- Audit ---------------------------------------------------------------------------------

export interface AuditEvent {
  seq: number;
  at: string;
  actorId: string | null;
  actorName: string;
  action: string;
  targetType: string;
  targetId: string | null;
  details: Record<string, unknown> | null;
  correlationId: string | null;
}

export interface AuditVerification {
  ok: boolean;
  checked: number;
  brokenAt?: number;
  reason?: string;
}

// ---- Certificates --------------------------------------------------------------------------

export type CertificateStatus = 'valid' | 'suspended' | 'revoked';
export const CERTIFICATE_STATUSES: readonly CertificateStatus[] = ['valid', 'suspended', 'revoked'];

export type RevocationReason =
  | 'unspecified'
  | 'keyCompromise'
  | 'caCompromise'
  | 'affiliationChanged'
  | 'superseded'
  | 'cessationOfOperation'
  | 'privilegeWithdrawn';
export const REVOCATION_REASONS: readonly RevocationReason[] = [
  'unspecified',
  'keyCompromise',
  'caCompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'privilegeWithdrawn',
];

export interface CertificateSummary {
  id: string;
  serial: string;
  caId: string;
  userId: string | null;
  deviceId: string | null;
  credentialId: string | null;
  profile: string;
  slot: string | null;
  subject: string;
  notBefore: string;
  notAfter: string;
  status: CertificateStatus;
  revocationReason: string | null;
  revokedAt: string | null;
}

export interface CertificateDetail extends CertificateSummary {
  pem: string;
  issuer: string;
  subjectAltNames: string[];
  keyUsage: string[];
  extendedKeyUsage: string[];
  publicKeyAlgorithm: string;
  signatureAlgorithm: string;
  crlDistributionPoints: string[];
  ocspUrls: string[];
  caIssuersUrls: string[];
}

// ---- Certificate authorities ---------------------------------------------------------------

export interface CrlInfo {
  number: string;
  thisUpdate: string;
  nextUpdate: string;
}

export interface CertificateAuthority {
  id: string;
  name: string;
  kind: 'root' | 'issuing';
  subject: string;
  issuer: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  keyAlgorithm: string;
  active: boolean;
  imported: boolean;
  crl: CrlInfo | null;
}

export type CaImport =
  { certificateChainPem: string; privateKeyPem: string } | { pkcs12Base64: string; password: string };

// ---- Issuance ------------------------------------------------------------------------------

export type ConnectedCardStatus = 'blank' | 'bound' | 'in_use' | 'unreadable' | 'empty';

/** A reader of one of the operator's paired agents, and the card in it (GET /api/issuance/cards). */
export interface ConnectedCard {
  agentId: string;
  agentName: string;
  reader: string;
  cardPresent: boolean;
  serial: string | null;
  cardType: string | null;
  status: ConnectedCardStatus;
  device: { id: string; state: string; userId: string | null; type: string } | null;
  error: string | null;
}

export type IssuanceAction = 'issue' | 'bind';

export interface IssuanceStart {
  userId: string;
  agentId: string;
  reader: string;
  action: IssuanceAction;
  policyId: string;
  pin?: string;
  pinConfirmation?: string;
}

export interface JobError {
  code: string;
  message: string;
  detail?: string;
  correlationId: string;
}

export interface IssuanceJob {
  id: string;
  deviceId: string;
  userId: string;
  policyId: string;
  status: 'running' | 'succeeded' | 'failed' | 'cancelled';
  progress: number;
  step: string;
  attempt: number;
  error: JobError | null;
  pinChangePending: boolean;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export interface DeviceIssuance {
  job: IssuanceJob | null;
  initialPinAvailable: boolean;
}

// ---- Agents --------------------------------------------------------------------------------

export interface PairingCode {
  code: string;
  expiresAt: string;
}

export interface Agent {
  id: string;
  name: string;
  hostname: string;
  connected: boolean;
  lastSeenAt: string | null;
  readers: { name: string; cardPresent: boolean; atr?: string | null }[];
}
