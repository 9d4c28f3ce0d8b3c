// What the web app knows of the server, taken from the server itself so the two cannot drift:
// - names and rules from the domain (src/domain: pure, browser-safe), as values;
// - the API's request and response types from the TypeBox schemas the server validates and
//   serializes with (src/http/schemas), as types only: `export type` is erased by the compiler, so
//   no server code reaches the bundle (eslint refuses a value import from there).

// ---- Domain names ----------------------------------------------------------------------------

export { ROLES, type Role } from '../../src/domain/roles.ts';
export type { Permission } from '../../src/domain/permissions.ts';
export { USER_STATES, type UserState } from '../../src/domain/user.ts';
export { DEVICE_STATES, DEVICE_TYPES, type DeviceState, type DeviceType } from '../../src/domain/device.ts';
export {
  CREDENTIAL_STATUSES as CERTIFICATE_STATUSES,
  REVOCATION_REASONS,
  type CredentialStatus as CertificateStatus,
  type RevocationReason,
} from '../../src/domain/credential.ts';
export { CARD_KEY_ALGORITHMS, type CardKeyAlgorithm } from '../../src/domain/key-algorithm.ts';
export {
  CERTIFICATE_PROFILE_NAMES,
  PIV_SLOTS,
  PROFILE_SLOT,
  type CertificateProfileName,
  type PivSlot,
} from '../../src/domain/credential-profile.ts';
export {
  DEFAULT_PIN_POLICY,
  PIN_LENGTH_MAX,
  PIN_LENGTH_MIN,
  PIN_RETRIES_MAX,
  PIN_PATTERN_RULES,
  PIN_RETRIES_MIN,
} from '../../src/domain/pin-policy.ts';
export {
  INITIAL_PASSWORD_MAX_ATTEMPTS,
  INITIAL_PASSWORD_VALIDITY_HOURS,
  INITIAL_PIN_DISPLAY_MODES,
  PORTAL_AUTH_METHODS,
  SECURITY_QUESTION_COUNT,
  type InitialPinDisplayMode,
  type PortalAuthMethod,
} from '../../src/domain/security-settings.ts';

// ---- The API ---------------------------------------------------------------------------------

export type { Device, ErrorResponse as ErrorBody, Page, User } from '../../src/http/schemas.ts';
export type { Meta } from '../../src/http/schemas/meta.ts';
export type {
  LiftSignInDelay,
  SignInDelay,
  SignInDelayList,
} from '../../src/http/schemas/sign-in-throttles.ts';
export type { LoginBody, Me, SessionInfo } from '../../src/http/schemas/auth.ts';
export type { NewUser, UserDevices, UserLifecycleAction, UserPatch } from '../../src/http/schemas/users.ts';
export type { DeviceListItem, ImportReport, ImportRow, NewDevice } from '../../src/http/schemas/devices.ts';
export type { CredentialProfile, PinPolicy, Policy, PolicyInput } from '../../src/http/schemas/policies.ts';
export type { Settings } from '../../src/http/schemas/settings.ts';
export type { Mail, MailList, MailQuery } from '../../src/http/schemas/mail.ts';
export type {
  MobileIdPolicy,
  MobileIdPolicyInput,
  MobileIdPolicyList,
  MobileIdView,
  MobileIdOrdered,
  MyMobileIds,
  OrderMobileId,
  MobileIdList,
} from '../../src/http/schemas/mobile-id.ts';
export {
  MOBILE_ID_NOTIFY,
  MOBILE_ID_STATES,
  QR_DELIVERIES,
  type MobileIdState,
} from '../../src/domain/mobile-id.ts';
export type {
  IssueInitialPassword,
  IssuedInitialPassword,
} from '../../src/http/schemas/initial-passwords.ts';
export type {
  SecurityQuestion,
  SecurityQuestionInput,
  SecurityQuestionList,
} from '../../src/http/schemas/security-questions.ts';
export type {
  DirectoryConfig,
  DirectoryInput,
  DirectorySyncReport,
  DirectoryTestResult,
  DirectoryView,
} from '../../src/http/schemas/directory.ts';
export type { AuditEvent, AuditVerification } from '../../src/http/schemas/audit.ts';
export type { CertificateDetail, CertificateSummary } from '../../src/http/schemas/certificates.ts';
export type { Ca as CertificateAuthority, CaImport, CaList, CrlInfo } from '../../src/http/schemas/cas.ts';
export type {
  CardBody,
  ConnectedCard,
  ConnectedCards,
  ConnectedCardStatus,
  DeviceIssuance,
  InitialPin,
  IssuanceAction,
  IssuanceStart,
  IssuanceStarted,
  Job as IssuanceJob,
  JobError,
  OpenIssuance,
} from '../../src/http/schemas/issuance.ts';
export type { Agent, AgentList, PairingCode } from '../../src/http/schemas/agents.ts';
export {
  REQUEST_KINDS,
  REQUEST_STATES,
  REQUEST_WORKFLOWS,
  type RequestKind,
  type RequestState,
  type RequestWorkflow,
} from '../../src/domain/request.ts';
export { REPLACEMENT_REASONS, type ReplacementReason } from '../../src/domain/replacement.ts';
export type {
  DeviceHolds,
  IncidentBody,
  ReplacementBody,
  Request as ReplacementRequest,
  RequestDetail,
  RequestStep,
  Termination,
} from '../../src/http/schemas/requests.ts';
export type {
  ConformanceCheck,
  ConformanceReport,
  DeviceConformance,
} from '../../src/http/schemas/conformance.ts';
export type { WalletLink } from '../../src/http/schemas/wallet.ts';
export type {
  DraftPreview,
  Layout,
  LayoutInput,
  LayoutTemplate,
  PhotoInfo,
  PrinterChoice,
  Printers,
} from '../../src/http/schemas/layouts.ts';
export {
  BARCODE_SYMBOLOGIES,
  CARD_FIELDS,
  DATE_FORMATS,
  LAYOUT_FONTS,
  ORIENTATIONS,
  PERSON_FIELDS,
  cardSize,
  chipZone,
  layoutProblems,
  overlaps,
  type CardSide,
  type LayoutDefinition,
  type LayoutElement,
  type Orientation,
  type ValueSource,
} from '../../src/domain/card-layout.ts';
export { ADDABLE, newElement, type Addable } from '../../src/domain/layout-new-element.ts';
