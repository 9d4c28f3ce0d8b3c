// Rows a test needs to exist before the code under test runs, written straight into a migrated
// database (PGlite or a PostgreSQL schema from ./db.ts).
import { randomBytes } from 'node:crypto';
import type { Db } from '../../src/store/db.js';

/**
 * A person holding a PIV card that is being issued, and a PIV Authentication credential for it:
 * what an issuance has created by the time it asks the CA for a certificate.
 */
export async function seedPerson(
  db: Db,
): Promise<{ userId: string; deviceId: string; credentialId: string }> {
  const [u] = await db.query<{ id: string }>(
    `INSERT INTO users (username, display_name, email) VALUES ($1, 'Alice Ångström', 'alice@example.test') RETURNING id`,
    [`alice_${randomBytes(4).toString('hex')}`],
  );
  const [d] = await db.query<{ id: string }>(
    `INSERT INTO devices (serial, type, state, user_id) VALUES ($1, 'piv_card', 'issuing', $2) RETURNING id`,
    [`SN${randomBytes(4).toString('hex')}`, u!.id],
  );
  const [c] = await db.query<{ id: string }>(
    `INSERT INTO credentials (user_id, profile, slot) VALUES ($1, 'PIV Authentication', '9a') RETURNING id`,
    [u!.id],
  );
  return { userId: u!.id, deviceId: d!.id, credentialId: c!.id };
}
