// People holding issued devices, for the replacement tests: a person, an active PIV card with two
// credentials whose certificates the real CA issued (PIV Authentication, Key Management), the key
// management credential also installed on the person's phone (a shared credential), a device
// policy, and blank cards in the inventory. Rows are written as issuance leaves them.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { Pki } from '../../src/services/pki/pki.js';
import type { Actor } from '../../src/services/context.js';
import type { Db } from '../../src/store/db.js';
import { insertCredential, installCredential } from '../../src/store/credentials-repo.js';

const system: Actor = { id: null, name: 'seed', roles: ['admin'] };

export interface SeededHolder {
  userId: string;
  username: string;
  cardId: string;
  phoneId: string;
  policyId: string;
  credentials: { auth: string; km: string; phoneOnly: string };
  /** Certificate ids by credential key, and their PEM. */
  certs: Record<'auth' | 'km' | 'phoneOnly', { id: string; serial: string; pem: string }>;
}

const hex = () => randomBytes(4).toString('hex');

export async function seedPolicy(db: Db): Promise<string> {
  const [p] = await db.query<{ id: string }>(
    `INSERT INTO device_policies (name, device_types, credential_profiles, pin_policy, puk_retries, device_validity_days)
     VALUES ($1, '{piv_card,piv_token,mobile}', '[]'::jsonb, '{}'::jsonb, 3, 365) RETURNING id`,
    [`Policy ${hex()}`],
  );
  return p!.id;
}

export async function seedUser(db: Db, name: string, roles: string[] = ['user']): Promise<string> {
  const [u] = await db.query<{ id: string }>(
    `INSERT INTO users (username, display_name, email, roles) VALUES ($1, $2, $3, $4) RETURNING id`,
    [`${name}_${hex()}`, name, `${name}@example.test`, roles],
  );
  return u!.id;
}

export async function seedBlank(db: Db, type = 'piv_card'): Promise<string> {
  const [d] = await db.query<{ id: string }>(
    `INSERT INTO devices (serial, type) VALUES ($1, $2) RETURNING id`,
    [`BLANK${hex()}`.toUpperCase(), type],
  );
  return d!.id;
}

export async function seedActiveDevice(
  db: Db,
  userId: string,
  policyId: string,
  type = 'piv_card',
): Promise<string> {
  const [d] = await db.query<{ id: string }>(
    `INSERT INTO devices (serial, type, state, user_id, policy_id, issued_at) VALUES ($1, $2, 'active', $3, $4, now()) RETURNING id`,
    [`SN${hex()}`.toUpperCase(), type, userId, policyId],
  );
  return d!.id;
}

/** A credential on `deviceId` with a certificate from the CA for a fresh P-256 key. */
export async function seedCredential(
  db: Db,
  pki: Pki,
  o: {
    userId: string;
    username: string;
    deviceId: string;
    policyId: string;
    slot: '9a' | '9d' | '9c';
    at: Date;
  },
): Promise<{ credentialId: string; cert: { id: string; serial: string; pem: string } }> {
  const c = await insertCredential(db, {
    userId: o.userId,
    policyId: o.policyId,
    profile:
      o.slot === '9d' ? 'Key Management' : o.slot === '9c' ? 'Digital Signature' : 'PIV Authentication',
    slot: o.slot,
    deviceId: o.deviceId,
    at: o.at,
  });
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const cert = await pki.issuer.issueForPublicKey(
    system,
    {
      user: {
        id: o.userId,
        username: o.username,
        displayName: o.username,
        email: null,
        upn: null,
        properties: {},
      },
      profile: {
        name: 'seed',
        certificateProfile: o.slot === '9d' ? 'key_management' : 'piv_authentication',
        keyAlgorithm: 'ECCP256',
        validityDays: 365,
        slot: o.slot,
      },
      deviceId: o.deviceId,
      credentialId: c.id,
    },
    publicKey.export({ type: 'spki', format: 'der' }),
    () => true,
  );
  await db.query('UPDATE credentials SET certificate_serial = $1 WHERE id = $2', [cert.serial, c.id]);
  return {
    credentialId: c.id,
    cert: { id: cert.id, serial: cert.serial, pem: await pki.certificates.pem(cert.id) },
  };
}

/** A person with an active card (auth + km) and an active phone sharing km and holding its own auth. */
export async function seedHolder(
  db: Db,
  pki: Pki,
  name: string,
  at: Date,
  policyId?: string,
): Promise<SeededHolder> {
  const policy = policyId ?? (await seedPolicy(db));
  const userId = await seedUser(db, name);
  const [{ username }] = (await db.query<{ username: string }>('SELECT username FROM users WHERE id = $1', [
    userId,
  ])) as [{ username: string }];
  const cardId = await seedActiveDevice(db, userId, policy);
  const phoneId = await seedActiveDevice(db, userId, policy, 'mobile');
  const base = { userId, username, policyId: policy, at };
  const auth = await seedCredential(db, pki, { ...base, deviceId: cardId, slot: '9a' });
  const km = await seedCredential(db, pki, { ...base, deviceId: cardId, slot: '9d' });
  await installCredential(db, km.credentialId, phoneId, at);
  const phoneOnly = await seedCredential(db, pki, { ...base, deviceId: phoneId, slot: '9a' });
  return {
    userId,
    username,
    cardId,
    phoneId,
    policyId: policy,
    credentials: { auth: auth.credentialId, km: km.credentialId, phoneOnly: phoneOnly.credentialId },
    certs: { auth: auth.cert, km: km.cert, phoneOnly: phoneOnly.cert },
  };
}
