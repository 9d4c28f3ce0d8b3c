// Decoded fields of a certificate for the API's CertificateDetail (what an operator reads on the
// certificate page), through @peculiar/x509's parsed view.
import { x509 } from './x509-lib.js';

export interface CertificateDecoded {
  issuer: string;
  subjectAltNames: string[];
  keyUsage: string[];
  extendedKeyUsage: string[];
  publicKeyAlgorithm: string;
  signatureAlgorithm: string;
  crlDistributionPoints: string[];
  ocspUrls: string[];
  caIssuersUrls: string[];
}

const EKU_NAMES: Record<string, string> = {
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
  '1.3.6.1.4.1.311.20.2.2': 'smartcardLogon',
  '2.16.840.1.101.3.6.8': 'pivCardAuth',
  '2.16.840.1.101.3.6.7': 'pivContentSigning',
  '1.3.6.1.5.2.3.4': 'pkinitClientAuth',
  '1.3.6.1.5.5.7.3.36': 'documentSigning',
  '1.3.6.1.4.1.311.10.3.12': 'msDocumentSigning',
  '1.2.840.113583.1.1.5': 'adobeAuthenticDocuments',
  '1.3.6.1.4.1.311.10.3.4': 'efs',
};

const KU_NAMES: [number, string][] = [
  [x509.KeyUsageFlags.digitalSignature, 'digitalSignature'],
  [x509.KeyUsageFlags.nonRepudiation, 'nonRepudiation'],
  [x509.KeyUsageFlags.keyEncipherment, 'keyEncipherment'],
  [x509.KeyUsageFlags.dataEncipherment, 'dataEncipherment'],
  [x509.KeyUsageFlags.keyAgreement, 'keyAgreement'],
  [x509.KeyUsageFlags.keyCertSign, 'keyCertSign'],
  [x509.KeyUsageFlags.cRLSign, 'cRLSign'],
  [x509.KeyUsageFlags.encipherOnly, 'encipherOnly'],
  [x509.KeyUsageFlags.decipherOnly, 'decipherOnly'],
];

function publicKeyName(cert: x509.X509Certificate): string {
  const alg = cert.publicKey.algorithm as { name: string; namedCurve?: string; modulusLength?: number };
  if (alg.namedCurve) return `EC ${alg.namedCurve}`;
  if (alg.modulusLength) return `RSA ${alg.modulusLength}`;
  return alg.name;
}

export function describeCertificate(der: Uint8Array): CertificateDecoded {
  const cert = new x509.X509Certificate(new Uint8Array(der));
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  const cdp = cert.getExtension(x509.CRLDistributionPointsExtension);
  const aia = cert.getExtension(x509.AuthorityInfoAccessExtension);
  const urls = (items: { type: string; value: string }[] | undefined) =>
    (items ?? []).filter((g) => g.type === 'url').map((g) => g.value);
  return {
    issuer: cert.issuer,
    subjectAltNames: (san?.names.toJSON() ?? []).map((n) => `${n.type}:${n.value}`),
    keyUsage: ku ? KU_NAMES.filter(([bit]) => ku.usages & bit).map(([, n]) => n) : [],
    extendedKeyUsage: (eku?.usages ?? []).map((u) => EKU_NAMES[String(u)] ?? String(u)),
    publicKeyAlgorithm: publicKeyName(cert),
    signatureAlgorithm: signatureName(cert),
    crlDistributionPoints: (cdp?.distributionPoints ?? []).flatMap((dp) =>
      (dp.distributionPoint?.fullName ?? []).flatMap((g) =>
        g.uniformResourceIdentifier ? [g.uniformResourceIdentifier] : [],
      ),
    ),
    ocspUrls: urls(aia?.ocsp.map((g) => g.toJSON())),
    caIssuersUrls: urls(aia?.caIssuers.map((g) => g.toJSON())),
  };
}

function signatureName(cert: x509.X509Certificate): string {
  const alg = cert.signatureAlgorithm as { name: string; hash?: { name: string } };
  const hash = alg.hash?.name.replace('-', '') ?? '';
  if (alg.name === 'ECDSA') return `ecdsa-with-${hash}`;
  if (alg.name === 'RSASSA-PKCS1-v1_5') return `${hash.toLowerCase()}WithRSAEncryption`;
  return alg.name;
}
