// The signed PIV data objects of one card, made at issuance: the CHUID with the issuer's signature
// over its FASC-N, GUID and expiration date (SP 800-73-4 Part 1 §3.1.2, FIPS 201-3 §4.2.1), and the
// Security Object, a signed list of the hashes of the card's signed objects (Part 1 §3.1.3).
// Both signed by the issuing CA's PIV content signer; the card gets them in their TLV form.
import { CONTAINER_ID, chuidSignedFields, encodeChuid, encodeSecurityObject } from '../cards/piv/objects.js';
import { createHash } from 'node:crypto';
import {
  PIV_CONTENT_OID,
  contentHashOf,
  contentSignerSubject,
  type ContentHash,
  encodeLdsSecurityObject,
  signPivContent,
  type ContentSigning,
} from '../pki/piv-signed-data.js';
import type { CardIdentity } from './card-identity.js';

export interface SignedCardObjects {
  /** The CHUID object's value (what goes inside tag 53). */
  chuid: Uint8Array;
  /** The Security Object's value. */
  securityObject: Uint8Array;
  /**
   * What checking these two objects would find, known from building them: read back byte for byte
   * equal, they need no parsing or signature check (services/piv-conformance.ts).
   */
  facts: WrittenObjectFacts;
}

export interface WrittenObjectFacts {
  /** The content signer's subject, as the check names it. */
  signerSubject: string;
  /** The Security Object's hash algorithm, and its data groups with their container and hash. */
  hash: ContentHash;
  groups: { dataGroup: number; containerId: number; hash: Buffer }[];
}

/** YYYYMMDD of a date in UTC (the CHUID's expiration field). */
export function chuidDate(d: Date): string {
  return `${String(d.getUTCFullYear()).padStart(4, '0')}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(
    d.getUTCDate(),
  ).padStart(2, '0')}`;
}

export async function signedCardObjects(
  cs: ContentSigning,
  card: Pick<CardIdentity, 'fascn' | 'guid'>,
  expires: Date,
): Promise<SignedCardObjects> {
  const fields = { fascn: card.fascn, guid: card.guid, expiration: chuidDate(expires) };
  const signature = await signPivContent(cs, PIV_CONTENT_OID.chuidSecurityObject, chuidSignedFields(fields), {
    detached: true,
  });
  const chuid = encodeChuid({ ...fields, signature });
  // Data group 1 is the CHUID: the only signed object Tessera writes (no biometrics, no printed info).
  const hash = contentHashOf(cs);
  const lds = encodeLdsSecurityObject(hash, [{ dataGroup: 1, value: chuid }]);
  const signedData = await signPivContent(cs, PIV_CONTENT_OID.ldsSecurityObject, lds, { detached: false });
  return {
    chuid,
    securityObject: encodeSecurityObject({
      mapping: [{ dataGroup: 1, containerId: CONTAINER_ID.CHUID }],
      signedData,
    }),
    facts: {
      signerSubject: contentSignerSubject(cs.certificateDer),
      hash,
      groups: [
        { dataGroup: 1, containerId: CONTAINER_ID.CHUID, hash: createHash(hash).update(chuid).digest() },
      ],
    },
  };
}
