// A CRL read two independent ways, so tests compare what it says rather than how it is printed:
// @peculiar/x509 parses the DER, and openssl (the judge) prints it as text that is parsed here
// field by field. Dates become Date objects: openssl pads a one-digit day with a space
// (`Dec  4 18:44:43 2026 GMT`), so counting characters breaks on the 1st–9th of every month.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CRLNumber, id_ce_cRLNumber } from '@peculiar/asn1-x509';
import type { OpensslDir } from './openssl.js';

export interface CrlEntryView {
  /** Upper-case hex, as openssl prints it. */
  serial: string;
  revokedAt: Date;
  /** RFC 5280 name (`certificateHold`, `keyCompromise`, …); absent when the CRL states none. */
  reason?: string;
}

export interface CrlView {
  number: string;
  thisUpdate: Date;
  nextUpdate?: Date;
  entries: CrlEntryView[];
}

/** The CRL as @peculiar/x509 parses its DER. */
export function parseCrlDer(der: Uint8Array): CrlView {
  const crl = new x509.X509Crl(new Uint8Array(der));
  const number = crl.getExtension(id_ce_cRLNumber);
  return {
    number: number ? String(AsnConvert.parse(number.value, CRLNumber).value) : '',
    thisUpdate: crl.thisUpdate,
    ...(crl.nextUpdate ? { nextUpdate: crl.nextUpdate } : {}),
    entries: crl.entries.map((e) => ({
      serial: e.serialNumber.toUpperCase(),
      revokedAt: e.revocationDate,
      ...(e.reason === undefined ? {} : { reason: x509.X509CrlReason[e.reason] }),
    })),
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** openssl's RFC 822-like time (`Dec  4 18:44:43 2026 GMT`), read as the UTC instant it names. */
export function parseOpensslTime(s: string): Date {
  const m = /^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4}) GMT$/.exec(s.trim());
  const month = m ? MONTHS.indexOf(m[1]!) : -1;
  if (!m || month < 0) throw new Error(`Not an openssl time: ${JSON.stringify(s)}`);
  return new Date(Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])));
}

/** openssl's reason text (`Certificate Hold`) as the RFC 5280 name (`certificateHold`). */
function reasonName(text: string): string {
  const squeezed = text.replace(/\s+/g, '').toLowerCase();
  const name = Object.keys(x509.X509CrlReason).find((k) => k.toLowerCase() === squeezed);
  if (!name) throw new Error(`Unknown CRL reason in openssl output: ${JSON.stringify(text)}`);
  return name;
}

/**
 * The CRL as `openssl crl -text` shows it, with whether openssl verified its signature against
 * `caFile` (a chain file in the OpensslDir).
 */
export function opensslReadCrl(
  ssl: OpensslDir,
  derFile: string,
  caFile: string,
): CrlView & { verified: boolean; text: string } {
  const { out } = ssl.run(['crl', '-inform', 'DER', '-in', derFile, '-CAfile', caFile, '-noout', '-text']);
  const field = (re: RegExp) => re.exec(out)?.[1];
  const lastUpdate = field(/Last Update: (.+)/);
  if (!lastUpdate) throw new Error(`openssl did not print a CRL:\n${out}`);
  const nextUpdate = field(/Next Update: (.+)/);
  const entries: CrlEntryView[] = [];
  const revoked = out.split(/^Revoked Certificates:$/m)[1]?.split(/^\s+Signature Algorithm:/m)[0] ?? '';
  for (const block of revoked.split(/^\s+Serial Number: /m).slice(1)) {
    const serial = /^([0-9A-F]+)\s/.exec(block)?.[1];
    const date = /Revocation Date: (.+)/.exec(block)?.[1];
    if (!serial || !date) throw new Error(`Unreadable CRL entry in openssl output:\n${block}`);
    const reason = /X509v3 CRL Reason Code: *\n\s+(.+)/.exec(block)?.[1];
    entries.push({
      serial,
      revokedAt: parseOpensslTime(date),
      ...(reason ? { reason: reasonName(reason) } : {}),
    });
  }
  return {
    verified: /^verify OK$/m.test(out),
    text: out,
    number: field(/X509v3 CRL Number: *\n\s+(\d+)/) ?? '',
    thisUpdate: parseOpensslTime(lastUpdate),
    ...(nextUpdate && nextUpdate.trim() !== 'NONE' ? { nextUpdate: parseOpensslTime(nextUpdate) } : {}),
    entries,
  };
}

/** The instant truncated to whole seconds, as X.509 times carry it. */
export const toSecond = (d: Date): Date => new Date(Math.floor(d.getTime() / 1000) * 1000);
