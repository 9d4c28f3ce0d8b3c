// Subject names built from a person's attributes by a template. A template is a list of
// attributes, most significant first (e.g. C, O, OU, CN); each value may reference the person's
// fields as ${displayName}, ${username}, ${email}, ${upn} or ${properties.<key>}. An attribute
// whose value renders empty is left out, so one template serves people with and without e-mail.
import { AsnConvert } from '@peculiar/asn1-schema';
import { AttributeTypeAndValue, AttributeValue, Name, RelativeDistinguishedName } from '@peculiar/asn1-x509';

export interface SubjectPerson {
  username: string;
  displayName: string;
  email: string | null;
  /** User principal name for Windows smart card logon (from the directory); none: no UPN otherName. */
  upn: string | null;
  /** Windows security identifier (objectSid, S-1-5-21-…) for the SID extension; none: no extension. */
  sid?: string | null;
  properties: Record<string, string>;
}

export type SubjectAttributeType = 'C' | 'ST' | 'L' | 'O' | 'OU' | 'CN' | 'UID' | 'serialNumber' | 'E' | 'DC';

export interface SubjectAttributeTemplate {
  type: SubjectAttributeType;
  value: string;
}

export const DEFAULT_SUBJECT_TEMPLATE: readonly SubjectAttributeTemplate[] = [
  { type: 'CN', value: '${displayName}' },
  { type: 'UID', value: '${username}' },
];

/** Attribute OIDs and their string types: RFC 5280 Appendix A requires PrintableString for
 *  countryName and serialNumber and IA5String for emailAddress and domainComponent;
 *  everything else is UTF8String (RFC 5280 §4.1.2.6: "MUST use UTF8String" for new certificates). */
export const ATTRIBUTE_TYPES: Record<
  SubjectAttributeType,
  { oid: string; string: 'utf8' | 'printable' | 'ia5' }
> = {
  C: { oid: '2.5.4.6', string: 'printable' },
  ST: { oid: '2.5.4.8', string: 'utf8' },
  L: { oid: '2.5.4.7', string: 'utf8' },
  O: { oid: '2.5.4.10', string: 'utf8' },
  OU: { oid: '2.5.4.11', string: 'utf8' },
  CN: { oid: '2.5.4.3', string: 'utf8' },
  UID: { oid: '0.9.2342.19200300.100.1.1', string: 'utf8' },
  serialNumber: { oid: '2.5.4.5', string: 'printable' },
  E: { oid: '1.2.840.113549.1.9.1', string: 'ia5' },
  DC: { oid: '0.9.2342.19200300.100.1.25', string: 'ia5' },
};

export interface RenderedAttribute {
  type: SubjectAttributeType;
  value: string;
}

function lookup(person: SubjectPerson, key: string): string {
  if (key.startsWith('properties.')) return person.properties[key.slice(11)] ?? '';
  switch (key) {
    case 'displayName':
      return person.displayName;
    case 'username':
      return person.username;
    case 'email':
      return person.email ?? '';
    case 'upn':
      return person.upn ?? person.email ?? '';
    default:
      throw new Error(`Unknown subject template field "${key}"`);
  }
}

const FIELDS = new Set(['displayName', 'username', 'email', 'upn']);
const PLACEHOLDER = /\$\{([A-Za-z0-9_.-]+)\}/g;

/**
 * A configured template, checked once at start-up: a list of known attribute types whose values
 * name only known fields. A mistake here would otherwise fail every issuance.
 */
export function checkSubjectTemplate(t: unknown): SubjectAttributeTemplate[] {
  if (!Array.isArray(t) || t.length === 0 || t.length > 16)
    throw new Error('pki.subjectTemplate must be a list of 1 to 16 { type, value } attributes');
  return t.map((a: unknown, i) => {
    const { type, value } = (a ?? {}) as { type?: unknown; value?: unknown };
    if (typeof type !== 'string' || !Object.hasOwn(ATTRIBUTE_TYPES, type))
      throw new Error(
        `pki.subjectTemplate[${i}].type "${String(type)}" is not one of ${Object.keys(ATTRIBUTE_TYPES).join(', ')}`,
      );
    if (typeof value !== 'string' || value.length === 0 || value.length > 256)
      throw new Error(`pki.subjectTemplate[${i}].value must be text of 1 to 256 characters`);
    for (const [, key] of value.matchAll(PLACEHOLDER))
      if (!FIELDS.has(key!) && !/^properties\.[A-Za-z0-9_-]+$/.test(key!))
        throw new Error(
          `pki.subjectTemplate[${i}]: \${${key}} is unknown (use \${displayName}, \${username}, \${email}, \${upn} or \${properties.<name>})`,
        );
    return { type: type as SubjectAttributeType, value };
  });
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

export function renderSubject(
  template: readonly SubjectAttributeTemplate[],
  person: SubjectPerson,
): RenderedAttribute[] {
  const out: RenderedAttribute[] = [];
  for (const a of template) {
    const value = a.value.replace(PLACEHOLDER, (_m, k: string) => lookup(person, k)).trim();
    if (!value) continue;
    const kind = ATTRIBUTE_TYPES[a.type];
    if (!kind) throw new Error(`Unknown subject attribute type "${a.type}"`);
    if (kind.string === 'printable' && !PRINTABLE.test(value))
      throw new Error(`Subject attribute ${a.type} must be a PrintableString; "${value}" is not`);
    if (kind.string === 'ia5' && !/^[\x20-\x7e]*$/.test(value))
      throw new Error(`Subject attribute ${a.type} must be ASCII; "${value}" is not`);
    if (a.type === 'C' && value.length !== 2)
      throw new Error(`countryName must be two letters, got "${value}"`);
    out.push({ type: a.type, value });
  }
  return out;
}

/** The subject as an ASN.1 Name (one attribute per RDN), through the schema classes. */
export function subjectName(attrs: readonly RenderedAttribute[]): Name {
  return new Name(
    attrs.map((a) => {
      const kind = ATTRIBUTE_TYPES[a.type];
      const value =
        kind.string === 'printable'
          ? new AttributeValue({ printableString: a.value })
          : kind.string === 'ia5'
            ? new AttributeValue({ ia5String: a.value })
            : new AttributeValue({ utf8String: a.value });
      return new RelativeDistinguishedName([new AttributeTypeAndValue({ type: kind.oid, value })]);
    }),
  );
}

export function subjectNameDer(attrs: readonly RenderedAttribute[]): Buffer {
  return Buffer.from(AsnConvert.serialize(subjectName(attrs)));
}

/** RFC 4514-style display string, most specific first (as OpenSSL -nameopt RFC2253 prints it). */
export function subjectString(attrs: readonly RenderedAttribute[]): string {
  return [...attrs]
    .reverse()
    .map((a) => `${a.type}=${a.value.replace(/([,+"\\<>;=])/g, '\\$1')}`)
    .join(', ');
}
