// Who a card is, as the PIV objects and certificates name it: the card UUID (the CHUID's GUID and
// the certificates' urn:uuid: URI) is the device's id, and the FASC-N is built from the configured
// agency and system codes and a credential number taken from the device (FIPS 201-3 §4.2.1,
// SP 800-73-4 Part 1 §3.1.2). Both go into the certificates and the signed CHUID of one card.
import {
  NON_FEDERAL_FASCN_DEFAULTS,
  credentialNumberFor,
  encodeFascn,
  invalidFascnField,
  type FascnFields,
} from '../domain/fascn.js';

export interface FascnSettings {
  /** 4 digits; default 9999 (an issuer outside the US federal government). */
  agencyCode?: string;
  /** 4 digits; default 9999. */
  systemCode?: string;
}

export interface CardIdentity {
  /** The card UUID, lower-case with hyphens (the device id). */
  uuid: string;
  /** The same 16 bytes, as the CHUID's GUID field. */
  guid: Uint8Array;
  fascn: Uint8Array;
  fascnFields: FascnFields;
}

/** Checks the configured codes once, at start-up, with a message naming the bad setting. */
export function checkFascnSettings(s: FascnSettings = {}): void {
  const bad = invalidFascnField({ ...NON_FEDERAL_FASCN_DEFAULTS, credentialNumber: '000000', ...s });
  if (bad) throw new Error(`pki.fascn.${bad} must be 4 decimal digits`);
}

export function cardIdentity(device: { id: string; serial: string }, s: FascnSettings = {}): CardIdentity {
  const hex = device.id.toLowerCase().replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/.test(hex)) throw new Error('A device id must be a UUID');
  const fascnFields: FascnFields = {
    ...NON_FEDERAL_FASCN_DEFAULTS,
    ...(s.agencyCode ? { agencyCode: s.agencyCode } : {}),
    ...(s.systemCode ? { systemCode: s.systemCode } : {}),
    credentialNumber: credentialNumberFor(device.serial, device.id),
  };
  return {
    uuid: device.id.toLowerCase(),
    guid: Uint8Array.from(Buffer.from(hex, 'hex')),
    fascn: encodeFascn(fascnFields),
    fascnFields,
  };
}
