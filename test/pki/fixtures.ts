// A fresh CA hierarchy and subject keys for PKI tests (real crypto, no canned certificates). The
// CA keys are soft keys the test keeps, so it can also export them (PEM, PKCS#12) or hand them to
// the checked path as WebCrypto keys.
import { randomUUID, type KeyObject } from 'node:crypto';
import { generateKeyPair, type KeyAlgorithm } from '../../src/pki/algorithms.js';
import { createCaHierarchy } from '../../src/pki/ca-builder.js';
import { webCryptoKey } from '../../src/pki/leaf.js';
import { SoftSigner } from '../../src/pki/signer.js';
import type { SigningCa } from '../../src/pki/signing-ca.js';
import type { SubjectPerson } from '../../src/pki/subject.js';

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

export const alice: SubjectPerson = {
  username: 'alice',
  displayName: 'Alice Ångström',
  email: 'alice@example.test',
  upn: 'alice@corp.example.test',
  properties: { department: 'R&D', employeeId: '4711' },
};
