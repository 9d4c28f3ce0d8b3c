// A device policy as the editor holds it: one piece per section of the form, each section the only
// one to change its piece. Saving joins them into the body of POST/PUT /api/policies.
import { DEFAULT_PIN_POLICY, type CredentialProfile, type Policy, type PolicyInput } from '../../../types';

export type GeneralPart = Pick<PolicyInput, 'name' | 'description' | 'deviceTypes' | 'defaultLayout'>;
export type PinPart = Pick<PolicyInput, 'pinPolicy' | 'pukRetries' | 'deviceValidityDays'>;

export interface PolicyDraft {
  general: GeneralPart;
  credentialProfiles: CredentialProfile[];
  pin: PinPart;
}

const NEW_POLICY: PolicyInput = {
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
    pin: { pinPolicy: s.pinPolicy, pukRetries: s.pukRetries, deviceValidityDays: s.deviceValidityDays },
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
