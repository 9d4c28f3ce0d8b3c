// The post-issuance self-check: what a card holds, read back through the same PIV client that
// wrote it, and whether each object is there and correctly signed — the CHUID's signature by one
// of Tessera's content signers over the card's own bytes, the Security Object's signature and each
// hash in it against the object it names, the certificates in the key slots against the CHUID's
// FASC-N and GUID and against what the CA issued for the device. A changed byte in a signed object
// fails the check. The report is plain data (the device page shows it).
import { certificateObjectFor, OBJECT, PIV_AID, RETIRED_SLOTS } from '../cards/piv/constants.js';
import { decodeChuid, decodeKeyHistory, decodeSecurityObject } from '../cards/piv/objects.js';
import type { PivSession } from '../cards/piv/piv-session.js';
import { decodeTlvs, findTlv } from '../cards/tlv.js';
import { decodeFascn } from '../domain/fascn.js';
import { PIV_SLOTS, type PivSlot } from '../domain/credential-profile.js';
import { pivCertificateFacts } from '../pki/piv-certificate-facts.js';
import {
  PIV_CONTENT_OID,
  checkPivSignedData,
  decodeLdsSecurityObject,
  hashMatches,
  type ContentHash,
} from '../pki/piv-signed-data.js';
import { EKU } from '../pki/profiles.js';
import { PIV_SLOT_NUMBER } from './card-keys.js';
import type { WrittenObjectFacts } from './piv-card-objects.js';

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'info';

export interface ConformanceItem {
  /** Stable id: object name, or slot:9a, retired:82 … */
  id: string;
  label: string;
  present: boolean;
  /** Whether the object is signed and the signature holds (null: the object is not a signed one). */
  signed: boolean | null;
  status: CheckStatus;
  /** What was found, and what to do when it fails. */
  details: string[];
}

export interface ConformanceReport {
  checkedAt: string;
  /** Every item passes (warnings allowed). */
  ok: boolean;
  items: ConformanceItem[];
}

export interface ConformanceExpectations {
  /** The card UUID (the device id) the CHUID's GUID and the certificates' URI must name. */
  cardUuid: string;
  /** The DER of the certificate the CA issued for each slot of this device, when known. */
  issued: Partial<Record<PivSlot, Uint8Array>>;
  /** Whether a content signer certificate is one of ours and in good standing. */
  trustSigner(der: Uint8Array): Promise<{ trusted: boolean; why: string | null }>;
  /** Why the PIV Authentication certificate has no SID extension, when the person has none. */
  noSidReason?: string | null;
  now: Date;
  /**
   * The CHUID and Security Object this server wrote to the card in this job, signed by the content
   * signer it had just found in good standing, with what checking them would find. An object read
   * back byte for byte equal to what was written is known: it is not parsed or verified again (that
   * was a quarter of the server's CPU per issued card). Anything else the card returns is checked
   * in full. Absent when checking a card later (an operator's "check again").
   */
  written?: { chuid: Uint8Array; securityObject: Uint8Array; facts: WrittenObjectFacts };
}

const sameBytes = (a: Uint8Array | undefined, b: Uint8Array): boolean =>
  !!a && a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);

const SLOT_LABEL: Record<PivSlot, string> = {
  '9a': 'PIV Authentication (9A)',
  '9c': 'Digital Signature (9C)',
  '9d': 'Key Management (9D)',
  '9e': 'Card Authentication (9E)',
};

/**
 * The objects checkCardConformance reads (a card's retired slots apart), in the order one batch
 * reads them best: a batch stops at the first object the card lacks, so the maker's Discovery
 * object and the key slots the CA issued nothing for (on a fresh card: absent) go last.
 */
export function readBackObjects(issued: readonly PivSlot[]): number[] {
  const slot = (s: PivSlot) => certificateObjectFor(PIV_SLOT_NUMBER[s]);
  return [
    OBJECT.CHUID,
    OBJECT.SECURITY,
    OBJECT.CAPABILITY,
    OBJECT.KEY_HISTORY,
    ...PIV_SLOTS.filter((s) => issued.includes(s)).map(slot),
    OBJECT.DISCOVERY,
    ...PIV_SLOTS.filter((s) => !issued.includes(s)).map(slot),
  ];
}

export async function checkCardConformance(
  session: PivSession,
  expect: ConformanceExpectations,
): Promise<ConformanceReport> {
  const items: ConformanceItem[] = [];
  const item = (i: Omit<ConformanceItem, 'status'> & { status?: CheckStatus }, problems: string[]) => {
    const status: CheckStatus = i.status ?? (problems.length ? 'fail' : 'pass');
    items.push({ ...i, status, details: [...i.details, ...problems] });
  };

  // What the issuance wrote, read in one round trip where the card is behind an agent (unless the
  // issuance's own batch read it already, right after writing it).
  await session.readObjectsAhead(readBackObjects(PIV_SLOTS.filter((s) => expect.issued[s])));

  // Discovery object (Part 1 §3.3.2): the card's maker writes it; it must name the PIV AID.
  const discovery = await session.getObject(OBJECT.DISCOVERY);
  {
    const problems: string[] = [];
    const aid = discovery ? findTlv(decodeTlvs(discovery), 0x4f) : undefined;
    if (discovery && !(aid && Buffer.from(aid).equals(Buffer.from(PIV_AID))))
      problems.push('It does not name the PIV application identifier.');
    item(
      {
        id: 'discovery',
        label: 'Discovery Object',
        present: !!discovery,
        signed: null,
        details: discovery ? ['Names the PIV application and its PIN usage policy.'] : [],
        ...(discovery ? {} : { status: 'warn' as const }),
      },
      discovery ? problems : [],
    );
    if (!discovery) items.at(-1)!.details.push('Absent: the card does not announce its PIN usage policy.');
  }

  const ccc = await session.getObject(OBJECT.CAPABILITY);
  item(
    { id: 'ccc', label: 'Card Capability Container', present: !!ccc, signed: null, details: [] },
    ccc ? [] : ['Absent.'],
  );

  // CHUID: its signature over the card's own bytes, by one of our content signers.
  const chuidValue = await session.getObject(OBJECT.CHUID);
  let chuidFascn: Buffer | null = null;
  {
    const details: string[] = [];
    const problems: string[] = [];
    let signed: boolean | null = false;
    if (!chuidValue) problems.push('Absent: the card was not personalized, or the object was deleted.');
    else {
      const c = decodeChuid(chuidValue);
      chuidFascn = Buffer.from(c.fascn);
      const f = decodeFascn(c.fascn);
      details.push(
        f
          ? `FASC-N: agency ${f.agencyCode}, system ${f.systemCode}, credential ${f.credentialNumber}.`
          : 'FASC-N does not decode.',
      );
      if (!f) problems.push('The FASC-N is not a valid FASC-N (parity, separators or LRC).');
      const guid = Buffer.from(c.guid).toString('hex');
      details.push(`GUID ${guid}, expires ${c.expiration}.`);
      if (guid !== expect.cardUuid.replace(/-/g, '').toLowerCase())
        problems.push('The GUID is not this device’s card UUID.');
      if (c.signature.length === 0) problems.push('Unsigned: the issuer signature field is empty.');
      else if (expect.written && sameBytes(chuidValue, expect.written.chuid)) {
        signed = true;
        details.push(`Signed by ${expect.written.facts.signerSubject}.`);
      } else {
        const v = checkPivSignedData(c.signature, PIV_CONTENT_OID.chuidSecurityObject, c.signedFields);
        signed = v.ok;
        if (!v.ok) problems.push(`Signature: ${v.problem}.`);
        else {
          const t = await expect.trustSigner(v.signerCertificateDer!);
          if (!t.trusted) {
            signed = false;
            problems.push(`Signature: ${t.why}.`);
          } else details.push(`Signed by ${v.signerSubject}.`);
        }
      }
    }
    item(
      { id: 'chuid', label: 'Card Holder Unique Identifier', present: !!chuidValue, signed, details },
      problems,
    );
  }

  // Security Object: signed, and each hash matches the object it maps to.
  const so = await session.getObject(OBJECT.SECURITY);
  {
    const details: string[] = [];
    const problems: string[] = [];
    let signed: boolean | null = false;
    // Each data group's hash against the object its container holds, as read back now.
    const checkGroups = async (
      hash: ContentHash,
      groups: readonly { dataGroup: number; containerId: number | undefined; hash: Uint8Array }[],
    ) => {
      for (const g of groups) {
        const tag = g.containerId === undefined ? undefined : CONTAINER_OBJECT[g.containerId];
        if (!tag) {
          problems.push(`Data group ${g.dataGroup} maps to no known container.`);
          continue;
        }
        const value = tag === OBJECT.CHUID ? chuidValue : await session.getObject(tag);
        const name = `container ${g.containerId!.toString(16).padStart(4, '0')}`;
        if (!value) problems.push(`Data group ${g.dataGroup} (${name}) is hashed but absent.`);
        else if (!hashMatches(hash, value, g.hash))
          problems.push(
            `Data group ${g.dataGroup} (${name}) does not match its hash: the object was changed.`,
          );
        else details.push(`Data group ${g.dataGroup} (${name}) matches its ${hash.toUpperCase()} hash.`);
      }
    };
    if (!so) problems.push('Absent.');
    else if (expect.written && sameBytes(so, expect.written.securityObject)) {
      signed = true;
      await checkGroups(expect.written.facts.hash, expect.written.facts.groups);
    } else {
      const parsed = decodeSecurityObject(so);
      const v = checkPivSignedData(parsed.signedData, PIV_CONTENT_OID.ldsSecurityObject);
      signed = v.ok;
      if (!v.ok) problems.push(`Signature: ${v.problem}.`);
      else {
        const t = await expect.trustSigner(v.signerCertificateDer!);
        if (!t.trusted) {
          signed = false;
          problems.push(`Signature: ${t.why}.`);
        }
        const lds = decodeLdsSecurityObject(v.content!);
        if (!lds) problems.push('The signed content is not an LDS Security Object.');
        else
          await checkGroups(
            lds.hash,
            lds.groups.map((g) => ({
              ...g,
              containerId: parsed.mapping.find((x) => x.dataGroup === g.dataGroup)?.containerId,
            })),
          );
      }
    }
    item({ id: 'security', label: 'Security Object', present: !!so, signed, details }, problems);
  }

  // Key history: how many retired key-management keys the card holds (slots 82–95).
  const kh = await session.getObject(OBJECT.KEY_HISTORY);
  const history = kh ? decodeKeyHistory(kh) : null;
  item(
    {
      id: 'key_history',
      label: 'Key History Object',
      present: !!kh,
      signed: null,
      status: 'info',
      details: history
        ? [
            `${history.onCardCertificates} retired key(s) with certificates on the card, ${history.offCardCertificates} off it.`,
          ]
        : ['Absent: the card holds no retired key-management keys.'],
    },
    [],
  );
  for (let i = 0; i < (history?.onCardCertificates ?? 0); i++) {
    const slot = RETIRED_SLOTS[i]!;
    const cert = await session.getCertificate(slot);
    item(
      {
        id: `retired:${slot.toString(16)}`,
        label: `Retired Key Management ${slot.toString(16).toUpperCase()}`,
        present: !!cert,
        signed: null,
        details: cert ? [`Certificate ${pivCertificateFacts(cert).subject}.`] : [],
      },
      cert ? [] : ['The key history counts this slot, but it holds no certificate.'],
    );
  }

  // The key slots a policy fills.
  for (const slot of PIV_SLOTS) {
    const der = await session.getCertificate(PIV_SLOT_NUMBER[slot]);
    const issued = expect.issued[slot];
    if (!der && !issued) continue;
    const details: string[] = [];
    const problems: string[] = [];
    let status: CheckStatus | undefined;
    if (!der) problems.push('The CA issued a certificate for this slot, but the card holds none.');
    else {
      const f = pivCertificateFacts(der);
      details.push(`${f.subject}, serial ${f.serial}, valid until ${f.notAfter.toISOString().slice(0, 10)}.`);
      if (issued && !Buffer.from(issued).equals(Buffer.from(der)))
        problems.push('It is not the certificate the CA issued for this device.');
      if (f.notAfter < expect.now) problems.push('It has expired.');
      if (slot === '9a' || slot === '9e') {
        if (!f.fascn) problems.push('No FASC-N in the subject alternative name.');
        else if (chuidFascn && !f.fascn.equals(chuidFascn)) problems.push('Its FASC-N is not the CHUID’s.');
        if (f.uuid !== expect.cardUuid.toLowerCase()) problems.push('Its urn:uuid: is not the card UUID.');
      }
      if (slot === '9e' && !(f.extendedKeyUsageCritical && f.extendedKeyUsage.includes(EKU.pivCardAuth)))
        problems.push('Card Authentication needs a critical id-PIV-cardAuth key purpose.');
      if (slot === '9a') {
        if (!f.upn)
          details.push('No UPN: the person has none in the directory (Windows logon needs a mapping).');
        if (f.sid) details.push('Carries the account SID (Windows strong mapping).');
        else {
          details.push(`No SID extension: ${expect.noSidReason ?? 'the person has no objectSid'}.`);
          status = problems.length ? undefined : 'warn';
        }
      }
    }
    item(
      {
        id: `slot:${slot}`,
        label: SLOT_LABEL[slot],
        present: !!der,
        signed: null,
        details,
        ...(status ? { status } : {}),
      },
      problems,
    );
  }

  return { checkedAt: expect.now.toISOString(), ok: items.every((i) => i.status !== 'fail'), items };
}

/** The object each Security Object container ID stands for. */
const CONTAINER_OBJECT: Record<number, number> = {
  0x3000: OBJECT.CHUID,
  0x3001: OBJECT.PRINTED,
  0x6010: OBJECT.FINGERPRINTS,
  0x6030: OBJECT.FACIAL,
};
