// A fresh CA hierarchy and subject keys for PKI tests (real crypto, no canned certificates). The
// CA keys are soft keys the test keeps, so it can also export them (PEM, PKCS#12) or hand them to
// the checked path as WebCrypto keys.
import { randomUUID, type KeyObject } from 'node:crypto';
import { encodeFascn, NON_FEDERAL_FASCN_DEFAULTS } from '../../src/domain/fascn.js';
import { generateKeyPair, type KeyAlgorithm } from '../../src/pki/algorithms.js';
import { createCaHierarchy } from '../../src/pki/ca-builder.js';
import { webCryptoKey } from '../../src/pki/leaf.js';
import { SoftSigner } from '../../src/pki/signer.js';
import type { SigningCa } from '../../src/pki/signing-ca.js';
import type { SubjectPerson } from '../../src/pki/subject.js';
import { MasterKey } from '../../src/secrets/master-key.js';
import type { Clock } from '../../src/services/context.js';
import type { IssueTarget } from '../../src/services/pki/certificate-issuer.js';
import type { PkiConfig } from '../../src/services/pki/pki-config.js';
import { createPki, type Pki, type PkiDeps } from '../../src/services/pki/pki.js';
import type { Db } from '../../src/store/db.js';

export const EXTERNAL_URL = 'https://cms.example.test';

export interface TestHierarchy {
  root: SigningCa;
  issuing: SigningCa;
  rootKey: KeyObject;
  issuingKey: KeyObject;
  /** The issuing CA's key as WebCrypto wants it (the checked path signs with it). */
  issuingWebKey(): Promise<CryptoKey>;
}

export async function testHierarchy(
  algorithm: KeyAlgorithm = 'ECCP256',
  o: { organization?: string; externalUrl?: string; now?: Date } = {},
): Promise<TestHierarchy> {
  const rootKey = generateKeyPair(algorithm).privateKey;
  const issuingKey = generateKeyPair(algorithm).privateKey;
  const { root, issuing } = await createCaHierarchy({
    root: { id: randomUUID(), signer: new SoftSigner(rootKey) },
    issuing: { id: randomUUID(), signer: new SoftSigner(issuingKey) },
    organization: o.organization ?? 'Example Org',
    externalUrl: o.externalUrl ?? EXTERNAL_URL,
    now: o.now ?? new Date(),
  });
  return { root, issuing, rootKey, issuingKey, issuingWebKey: () => webCryptoKey(issuingKey, algorithm) };
}

/**
 * The CA's use cases as the PKI tests run them: a P-256 hierarchy for "Example Org", CRLs valid
 * 24 hours, URLs on a port nothing listens on, the given clock.
 */
export function testPki(
  db: Db,
  clock: Clock,
  o: Partial<Pick<PkiDeps, 'caKeys'>> & Partial<PkiConfig> = {},
): Pki {
  const { caKeys, ...config } = o;
  return createPki({
    db,
    masterKey: MasterKey.generate(),
    clock,
    config: {
      externalUrl: 'http://127.0.0.1:9/',
      crlValidityHours: 24,
      caAlgorithm: 'ECCP256',
      organization: 'Example Org',
      ...config,
    },
    ...(caKeys ? { caKeys } : {}),
  });
}

/** Alice's PIV Authentication certificate (P-256, 365 days) for a seeded person's device. */
export function pivAuthenticationTarget(p: {
  userId: string;
  deviceId: string;
  credentialId: string;
}): IssueTarget {
  return {
    user: {
      id: p.userId,
      username: 'alice',
      displayName: 'Alice Ångström',
      email: 'alice@example.test',
      upn: null,
      properties: {},
    },
    profile: {
      name: 'PIV Authentication',
      certificateProfile: 'piv_authentication',
      keyAlgorithm: 'ECCP256',
      validityDays: 365,
      slot: '9a',
    },
    deviceId: p.deviceId,
    credentialId: p.credentialId,
  };
}

export const alice: SubjectPerson = {
  username: 'alice',
  displayName: 'Alice Ångström',
  email: 'alice@example.test',
  upn: 'alice@corp.example.test',
  sid: 'S-1-5-21-1004336348-1177238915-682003330-1105',
  properties: { department: 'R&D', employeeId: '4711' },
};

/** A FASC-N of agency 1234, system 5678, credential 000042 (commercial issuer defaults otherwise). */
export const testFascn = encodeFascn({
  ...NON_FEDERAL_FASCN_DEFAULTS,
  agencyCode: '1234',
  systemCode: '5678',
  credentialNumber: '000042',
});
