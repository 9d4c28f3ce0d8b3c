// The Federal Agency Smart Credential Number (FASC-N): the identifier a PIV card carries in its
// CHUID and, as the pivFASC-N otherName, in the subject alternative names of its PIV and Card
// Authentication certificates (FIPS 201-3 §4.2.1, SP 800-73-4 Part 1 §3.1.2; the layout is TIG
// SCEPACS v2.3 §6). Forty characters of 4-bit BCD, each with an odd-parity fifth bit, least
// significant bit first — 200 bits, 25 bytes. Pure: the CHUID writer (cards/) and the certificate
// profiles (pki/) both take it from here.

export interface FascnFields {
  /** Agency code, 4 digits (9999 for issuers outside the US federal government). */
  agencyCode: string;
  /** System code, 4 digits: the issuing system within the agency. */
  systemCode: string;
  /** Credential number, 6 digits, unique within the system. */
  credentialNumber: string;
  /** Credential series, 1 digit (a major re-issue of the system's credentials). */
  credentialSeries: string;
  /** Individual credential issue, 1 digit (incremented when a person's credential is re-issued). */
  individualCredentialIssue: string;
  /** Person identifier, 10 digits. */
  personIdentifier: string;
  /** Organizational category, 1 digit: 1 federal, 2 state, 3 commercial, 4 foreign government. */
  organizationalCategory: string;
  /** Organizational identifier, 4 digits. */
  organizationalIdentifier: string;
  /** Person/organization association, 1 digit: 1 employee, 2 civil, 3 executive staff, 4 uniformed, 5 contractor… */
  personAssociation: string;
}

/** What an issuer outside the federal government writes (agency/system/credential 9999/9999/…, commercial). */
export const NON_FEDERAL_FASCN_DEFAULTS: Omit<FascnFields, 'credentialNumber'> = {
  agencyCode: '9999',
  systemCode: '9999',
  credentialSeries: '0',
  individualCredentialIssue: '1',
  personIdentifier: '0000000000',
  organizationalCategory: '3',
  organizationalIdentifier: '0000',
  personAssociation: '1',
};

const WIDTH: Record<keyof FascnFields, number> = {
  agencyCode: 4,
  systemCode: 4,
  credentialNumber: 6,
  credentialSeries: 1,
  individualCredentialIssue: 1,
  personIdentifier: 10,
  organizationalCategory: 1,
  organizationalIdentifier: 4,
  personAssociation: 1,
};

const SS = 0xb;
const FS = 0xd;
const ES = 0xf;

/** The field that is not `width` decimal digits, or null when all are. */
export function invalidFascnField(f: FascnFields): keyof FascnFields | null {
  for (const [k, pattern] of PATTERNS) if (!pattern.test(f[k])) return k;
  return null;
}

/** Each field's pattern, compiled once (every card's identity is checked, more than once). */
const PATTERNS = (Object.keys(WIDTH) as (keyof FascnFields)[]).map(
  (k) => [k, new RegExp(`^\\d{${WIDTH[k]}}$`)] as const,
);

/** The 40 four-bit characters: SS agency FS system FS credential FS CS FS ICI FS PI OC OI POA ES LRC. */
function characters(f: FascnFields): number[] {
  const bad = invalidFascnField(f);
  if (bad) throw new RangeError(`FASC-N ${bad} must be ${WIDTH[bad]} decimal digits`);
  const d = (s: string) => [...s].map((c) => c.charCodeAt(0) - 48);
  const chars = [
    SS,
    ...d(f.agencyCode),
    FS,
    ...d(f.systemCode),
    FS,
    ...d(f.credentialNumber),
    FS,
    ...d(f.credentialSeries),
    FS,
    ...d(f.individualCredentialIssue),
    FS,
    ...d(f.personIdentifier),
    ...d(f.organizationalCategory),
    ...d(f.organizationalIdentifier),
    ...d(f.personAssociation),
    ES,
  ];
  // Longitudinal redundancy: the XOR of every character's four data bits (SCEPACS §6.2).
  chars.push(chars.reduce((a, c) => a ^ c, 0));
  return chars;
}

export function encodeFascn(f: FascnFields): Uint8Array {
  const bits: number[] = [];
  for (const c of characters(f)) {
    let ones = 0;
    for (let i = 0; i < 4; i++) {
      const b = (c >> i) & 1;
      ones += b;
      bits.push(b);
    }
    bits.push(ones % 2 === 0 ? 1 : 0);
  }
  const out = new Uint8Array(25);
  bits.forEach((b, i) => {
    if (b) out[i >> 3]! |= 0x80 >> (i & 7);
  });
  return out;
}

/** The 25-byte FASC-N read back into its fields, or null when it is not one (parity, sentinels, LRC). */
export function decodeFascn(bytes: Uint8Array): FascnFields | null {
  if (bytes.length !== 25) return null;
  const chars: number[] = [];
  for (let i = 0; i < 200; i += 5) {
    let c = 0;
    let ones = 0;
    for (let j = 0; j < 5; j++) {
      const bit = (bytes[(i + j) >> 3]! >> (7 - ((i + j) & 7))) & 1;
      ones += bit;
      if (j < 4) c |= bit << j;
    }
    if (ones % 2 !== 1) return null;
    chars.push(c);
  }
  const digits = (from: number, n: number) => {
    const s = chars.slice(from, from + n);
    return s.every((c) => c <= 9) ? s.join('') : null;
  };
  if (chars[0] !== SS || chars[38] !== ES) return null;
  if ([5, 10, 17, 19, 21].some((i) => chars[i] !== FS)) return null;
  if (chars.slice(0, 39).reduce((a, c) => a ^ c, 0) !== chars[39]) return null;
  const f = {
    agencyCode: digits(1, 4),
    systemCode: digits(6, 4),
    credentialNumber: digits(11, 6),
    credentialSeries: digits(18, 1),
    individualCredentialIssue: digits(20, 1),
    personIdentifier: digits(22, 10),
    organizationalCategory: digits(32, 1),
    organizationalIdentifier: digits(33, 4),
    personAssociation: digits(37, 1),
  };
  return Object.values(f).every((v) => v !== null) ? (f as FascnFields) : null;
}

/**
 * A credential number (6 digits) for a device: the last six digits of its serial when the serial is
 * decimal (a YubiKey's), else the device id (a UUID) folded into six digits. Six digits cannot keep
 * every card apart; the GUID beside the FASC-N does, which is why relying parties outside the
 * federal PKI key on the UUID (FIPS 201-3 §4.2.1).
 */
export function credentialNumberFor(serial: string, deviceId: string): string {
  if (/^\d+$/.test(serial)) return serial.slice(-6).padStart(6, '0');
  let n = 0;
  for (const c of deviceId.toLowerCase().replace(/[^0-9a-f]/g, ''))
    n = (n * 16 + parseInt(c, 16)) % 1_000_000;
  return String(n).padStart(6, '0');
}
