// PKCS#12 (RFC 7292) in the profile current OpenSSL writes and reads: the key in a
// pkcs8ShroudedKeyBag encrypted with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC; RFC 8018), the
// certificates in certBags, integrity by an HMAC-SHA256 MacData keyed with the PKCS#12 KDF
// (RFC 7292 Appendix B). Used to hand out a recovered key-management key and to import an
// enterprise issuing CA. Reading also accepts encrypted certificate safes (PBES2 or the
// PKCS#12 3DES PBE); RC2/RC4 from very old tools are refused with a clear message.
import {
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  pbkdf2Sync,
  randomBytes,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { ContentInfo, EncryptedContentInfo } from '@peculiar/asn1-cms';
import {
  AuthenticatedSafe,
  CertBag,
  MacData,
  PFX,
  PKCS12Attribute,
  SafeBag,
  SafeContents,
  id_certBag,
  id_pkcs8ShroudedKeyBag,
  id_keyBag,
  id_x509Certificate,
} from '@peculiar/asn1-pfx';
import { DigestInfo } from '@peculiar/asn1-rsa';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { ValidationError } from '../domain/errors.js';
import { children, content, readTlv, toArrayBuffer } from './der.js';

const ID_DATA = '1.2.840.113549.1.7.1';
const ID_ENCRYPTED_DATA = '1.2.840.113549.1.7.6';
const ID_LOCAL_KEY_ID = '1.2.840.113549.1.9.21';
const ID_FRIENDLY_NAME = '1.2.840.113549.1.9.20';
const ID_PBES2 = '1.2.840.113549.1.5.13';
const ID_PBKDF2 = '1.2.840.113549.1.5.12';
const ID_PBE_SHA_3DES = '1.2.840.113549.1.12.1.3';
const MAC_DIGESTS: Record<string, { name: string; u: number; v: number }> = {
  '1.3.14.3.2.26': { name: 'sha1', u: 20, v: 64 },
  '2.16.840.1.101.3.4.2.1': { name: 'sha256', u: 32, v: 64 },
  '2.16.840.1.101.3.4.2.2': { name: 'sha384', u: 48, v: 128 },
  '2.16.840.1.101.3.4.2.3': { name: 'sha512', u: 64, v: 128 },
};
const PRFS: Record<string, string> = {
  '1.2.840.113549.2.7': 'sha1',
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
};
const CIPHERS: Record<string, { name: string; keyLen: number }> = {
  '2.16.840.1.101.3.4.1.2': { name: 'aes-128-cbc', keyLen: 16 },
  '2.16.840.1.101.3.4.1.22': { name: 'aes-192-cbc', keyLen: 24 },
  '2.16.840.1.101.3.4.1.42': { name: 'aes-256-cbc', keyLen: 32 },
  '1.2.840.113549.3.7': { name: 'des-ede3-cbc', keyLen: 24 },
};
const ITERATIONS = 10_000;

/** The password as PKCS#12 wants it for its own KDF: BMPString, NUL-terminated (RFC 7292 B.1). */
function bmpPassword(password: string): Buffer {
  const out = Buffer.alloc((password.length + 1) * 2);
  for (let i = 0; i < password.length; i++) out.writeUInt16BE(password.charCodeAt(i), i * 2);
  return out;
}

/** RFC 7292 Appendix B.2 key derivation. id 1 = key, 2 = IV, 3 = MAC key. */
export function pkcs12Kdf(
  digest: { name: string; u: number; v: number },
  password: string,
  salt: Uint8Array,
  iterations: number,
  id: 1 | 2 | 3,
  length: number,
): Buffer {
  const { u, v } = digest;
  const D = Buffer.alloc(v, id);
  const fill = (src: Buffer) => {
    if (src.length === 0) return Buffer.alloc(0);
    const n = v * Math.ceil(src.length / v);
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = src[i % src.length]!;
    return out;
  };
  const I = Buffer.concat([fill(Buffer.from(salt)), fill(bmpPassword(password))]);
  const out: Buffer[] = [];
  for (let produced = 0; produced < length; produced += u) {
    let A = createHash(digest.name).update(D).update(I).digest();
    for (let i = 1; i < iterations; i++) A = createHash(digest.name).update(A).digest();
    out.push(A);
    const B = fill(A);
    for (let j = 0; j < I.length; j += v) {
      // I_j = (I_j + B + 1) mod 2^(8v)
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = I[j + k]! + B[k]! + carry;
        I[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(out).subarray(0, length);
}

function attr(id: string, value: ArrayBuffer): PKCS12Attribute {
  // Assigned field by field: PKCS12Attribute's constructor (asn1-pfx 2.x) drops its parameters.
  const a = new PKCS12Attribute();
  a.attrId = id;
  a.attrValues = [value];
  return a;
}

function dataContentInfo(der: ArrayBuffer): ContentInfo {
  return new ContentInfo({
    contentType: ID_DATA,
    content: AsnConvert.serialize(new OctetString(der)),
  });
}

export interface Pkcs12Contents {
  privateKey: KeyObject;
  /** DER certificates in file order; the one matching the key first when known. */
  certificates: Buffer[];
}

/** Writes a PFX holding `privateKey` and `certificates` (the first is the key's certificate). */
export function exportPkcs12(args: {
  privateKey: KeyObject;
  certificates: readonly Uint8Array[];
  password: string;
  friendlyName?: string;
}): Buffer {
  if (args.certificates.length === 0) throw new Error('A PKCS#12 export needs the key’s certificate');
  const localKeyId = createHash('sha1').update(args.certificates[0]!).digest();
  const keyAttrs = [attr(ID_LOCAL_KEY_ID, AsnConvert.serialize(new OctetString(localKeyId)))];
  if (args.friendlyName)
    keyAttrs.push(attr(ID_FRIENDLY_NAME, new asn1js.BmpString({ value: args.friendlyName }).toBER()));
  // Node writes EncryptedPrivateKeyInfo with PBES2 / PBKDF2-HMAC-SHA256 / AES-256-CBC.
  const shrouded = args.privateKey.export({
    type: 'pkcs8',
    format: 'der',
    cipher: 'aes-256-cbc',
    passphrase: args.password,
  });
  const certBags = args.certificates.map(
    (c, i) =>
      new SafeBag({
        bagId: id_certBag,
        bagValue: AsnConvert.serialize(
          new CertBag({
            certId: id_x509Certificate,
            certValue: AsnConvert.serialize(new OctetString(toArrayBuffer(c))),
          }),
        ),
        ...(i === 0 ? { bagAttributes: [keyAttrs[0]!] } : {}),
      }),
  );
  const keyBag = new SafeBag({
    bagId: id_pkcs8ShroudedKeyBag,
    bagValue: toArrayBuffer(shrouded),
    bagAttributes: keyAttrs,
  });
  const authSafe = new AuthenticatedSafe([
    dataContentInfo(AsnConvert.serialize(new SafeContents(certBags))),
    dataContentInfo(AsnConvert.serialize(new SafeContents([keyBag]))),
  ]);
  const authSafeDer = AsnConvert.serialize(authSafe);
  const salt = randomBytes(16);
  const sha256 = MAC_DIGESTS['2.16.840.1.101.3.4.2.1']!;
  const macKey = pkcs12Kdf(sha256, args.password, salt, ITERATIONS, 3, 32);
  const mac = createHmac('sha256', macKey).update(Buffer.from(authSafeDer)).digest();
  const pfx = new PFX({
    version: 3,
    authSafe: dataContentInfo(authSafeDer),
    macData: new MacData({
      mac: new DigestInfo({
        digestAlgorithm: new AlgorithmIdentifier({ algorithm: '2.16.840.1.101.3.4.2.1', parameters: null }),
        digest: new OctetString(mac),
      }),
      macSalt: new OctetString(salt),
      iterations: ITERATIONS,
    }),
  });
  return Buffer.from(AsnConvert.serialize(pfx));
}

function octets(der: ArrayBuffer): Buffer {
  return Buffer.from(AsnConvert.parse(der, OctetString).buffer);
}

/** Decrypts PBES2 or pbeWithSHAAnd3-KeyTripleDES-CBC content (RFC 8018 §6.2, RFC 7292 B). */
function pbeDecrypt(alg: AlgorithmIdentifier, password: string, data: Buffer): Buffer {
  const params = alg.parameters ? Buffer.from(alg.parameters) : Buffer.alloc(0);
  if (alg.algorithm === ID_PBES2) {
    const pbes2 = new pkijs.PBES2Params({ schema: asn1js.fromBER(params).result });
    if (pbes2.keyDerivationFunc.algorithmId !== ID_PBKDF2)
      throw new ValidationError('The PKCS#12 file uses a key derivation other than PBKDF2');
    const kdf = new pkijs.PBKDF2Params({ schema: pbes2.keyDerivationFunc.algorithmParams });
    const cipher = CIPHERS[pbes2.encryptionScheme.algorithmId];
    if (!cipher) throw new ValidationError('The PKCS#12 file uses an unsupported cipher');
    const prf = kdf.prf ? PRFS[kdf.prf.algorithmId] : 'sha1';
    if (!prf) throw new ValidationError('The PKCS#12 file uses an unsupported PBKDF2 hash');
    const salt = Buffer.from((kdf.salt as asn1js.OctetString).valueBlock.valueHexView);
    const key = pbkdf2Sync(password, salt, kdf.iterationCount, cipher.keyLen, prf);
    const iv = Buffer.from(
      (pbes2.encryptionScheme.algorithmParams as asn1js.OctetString).valueBlock.valueHexView,
    );
    const d = createDecipheriv(cipher.name, key, iv);
    return Buffer.concat([d.update(data), d.final()]);
  }
  if (alg.algorithm === ID_PBE_SHA_3DES) {
    const seq = readTlv(params, 0);
    const [saltT, iterT] = children(params, seq);
    const salt = content(params, saltT!);
    const iterations = Number(BigInt(`0x${content(params, iterT!).toString('hex')}`));
    const sha1 = MAC_DIGESTS['1.3.14.3.2.26']!;
    const key = pkcs12Kdf(sha1, password, salt, iterations, 1, 24);
    const iv = pkcs12Kdf(sha1, password, salt, iterations, 2, 8);
    const d = createDecipheriv('des-ede3-cbc', key, iv);
    return Buffer.concat([d.update(data), d.final()]);
  }
  throw new ValidationError(
    'The PKCS#12 file is encrypted with a legacy algorithm (RC2/RC4): re-export it with AES (openssl pkcs12 -export without -legacy)',
  );
}

/** Reads a PFX: checks its MAC, decrypts its safes and returns the private key and certificates. */
export function importPkcs12(der: Uint8Array, password: string): Pkcs12Contents {
  let pfx: PFX;
  try {
    pfx = AsnConvert.parse(Buffer.from(der), PFX);
  } catch {
    throw new ValidationError('The file is not a PKCS#12 (PFX) file');
  }
  if (pfx.authSafe.contentType !== ID_DATA)
    throw new ValidationError('Only password-integrity PKCS#12 files are supported');
  const authSafeDer = octets(pfx.authSafe.content);
  if (pfx.macData) {
    const digest = MAC_DIGESTS[pfx.macData.mac.digestAlgorithm.algorithm];
    if (!digest) throw new ValidationError('The PKCS#12 MAC uses an unsupported digest');
    const salt = Buffer.from(pfx.macData.macSalt.buffer);
    const key = pkcs12Kdf(digest, password, salt, pfx.macData.iterations, 3, digest.u);
    const mac = createHmac(digest.name, key).update(authSafeDer).digest();
    const expected = Buffer.from(pfx.macData.mac.digest.buffer);
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected))
      throw new ValidationError('The PKCS#12 password is wrong (integrity check failed)');
  }
  const safes = AsnConvert.parse(authSafeDer, AuthenticatedSafe);
  const keys: { key: KeyObject; localKeyId: string | null }[] = [];
  const certs: { der: Buffer; localKeyId: string | null }[] = [];
  for (const ci of safes) {
    let safeDer: Buffer;
    if (ci.contentType === ID_DATA) safeDer = octets(ci.content);
    else if (ci.contentType === ID_ENCRYPTED_DATA) {
      const ed = Buffer.from(ci.content);
      const [, eciT] = children(ed, readTlv(ed, 0));
      if (!eciT) throw new ValidationError('The PKCS#12 file has a malformed encrypted safe');
      const eci = AsnConvert.parse(ed.subarray(eciT.start, eciT.end), EncryptedContentInfo);
      const enc = eci.encryptedContent?.value
        ? Buffer.from(eci.encryptedContent.value.buffer)
        : Buffer.concat((eci.encryptedContent?.constructedValue ?? []).map((o) => Buffer.from(o.buffer)));
      safeDer = pbeDecrypt(eci.contentEncryptionAlgorithm, password, enc);
    } else
      throw new ValidationError('The PKCS#12 file holds a public-key-encrypted safe, which is not supported');
    for (const bag of AsnConvert.parse(safeDer, SafeContents)) {
      const lk = bag.bagAttributes?.find((a) => a.attrId === ID_LOCAL_KEY_ID)?.attrValues[0];
      const localKeyId = lk ? Buffer.from(lk).toString('hex') : null;
      if (bag.bagId === id_certBag) {
        const cb = AsnConvert.parse(bag.bagValue, CertBag);
        if (cb.certId === id_x509Certificate) certs.push({ der: octets(cb.certValue), localKeyId });
      } else if (bag.bagId === id_pkcs8ShroudedKeyBag) {
        const epki = Buffer.from(bag.bagValue);
        let key: KeyObject;
        try {
          key = createPrivateKey({ key: epki, format: 'der', type: 'pkcs8', passphrase: password });
        } catch {
          // Node's OpenSSL handles PBES2 and the PKCS#12 PBEs it still ships; decrypt others here.
          const [algT, dataT] = children(epki, readTlv(epki, 0));
          const alg = AsnConvert.parse(epki.subarray(algT!.start, algT!.end), AlgorithmIdentifier);
          const plain = pbeDecrypt(alg, password, content(epki, dataT!));
          key = createPrivateKey({ key: plain, format: 'der', type: 'pkcs8' });
        }
        keys.push({ key, localKeyId });
      } else if (bag.bagId === id_keyBag) {
        keys.push({
          key: createPrivateKey({ key: Buffer.from(bag.bagValue), format: 'der', type: 'pkcs8' }),
          localKeyId,
        });
      }
    }
  }
  if (keys.length !== 1)
    throw new ValidationError(`The PKCS#12 file must hold exactly one private key (found ${keys.length})`);
  const k = keys[0]!;
  const own = certs.findIndex((c) => c.localKeyId !== null && c.localKeyId === k.localKeyId);
  const ordered = own >= 0 ? [certs[own]!, ...certs.filter((_, i) => i !== own)] : certs;
  return { privateKey: k.key, certificates: ordered.map((c) => c.der) };
}
