// The directory connection record and the directory's view of the users table (people whose
// source is 'ldap', keyed by external id, and the mark a sync leaves on those it suspended).
import type { Queryable } from './db.js';

export interface StoredDirectoryConfig<C> {
  config: C;
  /** The bind password, encrypted with the master key; null when none is set. */
  bindPassword: Buffer | null;
  updatedAt: Date;
}

export async function getDirectoryConfig<C>(db: Queryable): Promise<StoredDirectoryConfig<C> | null> {
  const rows = await db.query<{ config: C; bind_password: Uint8Array | null; updated_at: Date }>(
    'SELECT config, bind_password, updated_at FROM directory_config WHERE id = 1',
  );
  const r = rows[0];
  return r
    ? {
        config: r.config,
        bindPassword: r.bind_password ? Buffer.from(r.bind_password) : null,
        updatedAt: new Date(r.updated_at),
      }
    : null;
}

export async function putDirectoryConfig<C>(
  tx: Queryable,
  config: C,
  bindPassword: Buffer | null,
  at: Date,
): Promise<void> {
  await tx.query(
    `INSERT INTO directory_config (id, config, bind_password, updated_at) VALUES (1, $1, $2, $3)
     ON CONFLICT (id) DO UPDATE SET config = EXCLUDED.config, bind_password = EXCLUDED.bind_password, updated_at = EXCLUDED.updated_at`,
    [JSON.stringify(config), bindPassword, at],
  );
}

export interface DirectoryUserRef {
  id: string;
  username: string;
  externalId: string | null;
  state: 'active' | 'suspended' | 'terminated';
  directoryRemovedAt: Date | null;
}

/** Every person imported from the directory (source 'ldap'). */
export async function listDirectoryUsers(db: Queryable): Promise<DirectoryUserRef[]> {
  const rows = await db.query<{
    id: string;
    username: string;
    external_id: string | null;
    state: DirectoryUserRef['state'];
    directory_removed_at: Date | null;
  }>(
    "SELECT id, username, external_id, state, directory_removed_at FROM users WHERE source = 'ldap' ORDER BY id",
  );
  return rows.map((r) => ({
    id: r.id,
    username: r.username,
    externalId: r.external_id,
    state: r.state,
    directoryRemovedAt: r.directory_removed_at ? new Date(r.directory_removed_at) : null,
  }));
}

export async function setDirectoryRemoved(tx: Queryable, userId: string, at: Date | null): Promise<void> {
  await tx.query('UPDATE users SET directory_removed_at = $1 WHERE id = $2', [at, userId]);
}

/** Points an LDAP user at a (new) external id, e.g. after the DN changed but entryUUID did not. */
export async function setExternalId(tx: Queryable, userId: string, externalId: string): Promise<void> {
  await tx.query('UPDATE users SET external_id = $1 WHERE id = $2', [externalId, userId]);
}
