// A device policy as the editor holds it: one piece per section of the form, each section the only
// one to change its piece. Saving joins them into the body of POST/PUT /api/policies.
import { DEFAULT_PIN_POLICY, type CredentialProfile, type Policy, type PolicyInput } from '../../../types';

export type GeneralPart = Pick<PolicyInput, 'name' | 'description' | 'deviceTypes' | 'defaultLayout'>;
// The policy's validity of a temporary (forgotten-card) device is always sent: the editor shows
// the stored value, so leaving it untouched keeps it.
export type PinPart = Pick<PolicyInput, 'pinPolicy' | 'pukRetries' | 'deviceValidityDays'> & {
  temporaryValidityDays: number;
};

export interface PolicyDraft {
  general: GeneralPart;
  credentialProfiles: CredentialProfile[];
  pin: PinPart;
}

const NEW_POLICY: PolicyInput & { temporaryValidityDays: number } = {
  name: '',
  description: '',
  deviceTypes: ['piv_card'],
  credentialProfiles: [
    {
      name: 'Authentication',
      slot: '9a',
      keyAlgorithm: 'ECCP256',
      certificateProfile: 'piv_authentication',
      validityDays: 1095,
      archiveKey: false,
    },
  ],
  pinPolicy: DEFAULT_PIN_POLICY,
  pukRetries: 3,
  deviceValidityDays: 1825,
  temporaryValidityDays: 7, // the server's default for a new policy
  defaultLayout: null,
};

/** The draft of a stored policy, or of a new one. */
export function draftOf(p: Policy | null): PolicyDraft {
  const s = p ?? NEW_POLICY;
  return {
    general: {
      name: s.name,
      description: s.description,
      deviceTypes: s.deviceTypes,
      defaultLayout: s.defaultLayout,
    },
    credentialProfiles: s.credentialProfiles,
    pin: {
      pinPolicy: s.pinPolicy,
      pukRetries: s.pukRetries,
      deviceValidityDays: s.deviceValidityDays,
      temporaryValidityDays: s.temporaryValidityDays,
    },
  };
}

/** What is sent: an empty default layout is none. */
export function bodyOf(d: PolicyDraft): PolicyInput {
  const layout = d.general.defaultLayout?.trim();
  return {
    ...d.general,
    credentialProfiles: d.credentialProfiles,
    ...d.pin,
    defaultLayout: layout ? layout : null,
  };
}
