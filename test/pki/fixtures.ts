// A fresh CA hierarchy and subject keys for PKI tests (real crypto, no canned certificates).
import { randomUUID } from 'node:crypto';
import type { KeyAlgorithm } from '../../src/pki/algorithms.js';
import { createCaHierarchy } from '../../src/pki/ca-builder.js';
import { signingCa, type SigningCa } from '../../src/pki/signing-ca.js';
import type { SubjectPerson } from '../../src/pki/subject.js';

export const EXTERNAL_URL = 'https://cms.example.test';

export async function testHierarchy(
  algorithm: KeyAlgorithm = 'ECCP256',
): Promise<{ root: SigningCa; issuing: SigningCa }> {
  const { root, issuing } = await createCaHierarchy({
    rootId: randomUUID(),
    issuingId: randomUUID(),
    algorithm,
    organization: 'Example Org',
    externalUrl: EXTERNAL_URL,
    now: new Date(),
  });
  return {
    root: signingCa({ ...root, externalUrl: EXTERNAL_URL }),
    issuing: signingCa({ ...issuing, externalUrl: EXTERNAL_URL }),
  };
}

export const alice: SubjectPerson = {
  username: 'alice',
  displayName: 'Alice Ångström',
  email: 'alice@example.test',
  upn: 'alice@corp.example.test',
  properties: { department: 'R&D', employeeId: '4711' },
};
