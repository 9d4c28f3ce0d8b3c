// One LDAP directory, reached with ldapts: search the people the configuration selects (as the
// service account), read group memberships, and check a person's password by binding as them.
// Every failure to reach or use the server becomes an ExternalError with a stable code (sorted in
// ldap-errors.ts: certificate, TLS, StartTLS, network), so a sync or sign-in can stop cleanly
// before changing anything.
import { isIP } from 'node:net';
import { rootCertificates, type ConnectionOptions } from 'node:tls';
import { Client, InvalidCredentialsError, ResultCodeError, type Entry } from 'ldapts';
import { ExternalError } from '../domain/errors.js';
import type { DirectoryConfig } from './directory-config.js';
import { connectionError, resultError } from './ldap-errors.js';
import { andFilter, equalityFilter, normalizeDn } from './ldap-filter.js';

export interface DirectoryPerson {
  dn: string;
  /** entryUUID or DN, as the configuration says. */
  externalId: string;
  username: string;
  displayName: string;
  email: string | null;
  properties: Record<string, string>;
  /** The picture in the mapped photo attribute (jpegPhoto), as bytes; null when absent or unmapped. */
  photo: Buffer | null;
}

export interface DirectoryGroup {
  dn: string;
  /** Member DNs, normalized (normalizeDn). */
  members: Set<string>;
}

const PAGE_SIZE = 500;

const first = (v: Entry[string] | undefined): string | null => {
  if (v === undefined) return null;
  const x = Array.isArray(v) ? v[0] : v;
  if (x === undefined) return null;
  return Buffer.isBuffer(x) ? x.toString('utf8') : String(x);
};

/** Attributes that hold a binary SID (Active Directory's objectSid), read as bytes. */
const SID_ATTRIBUTE = /^objectsid$/i;

/**
 * A SID in its string form (MS-DTYP §2.4.2.2): revision 1, sub-authority count, a 48-bit
 * big-endian identifier authority, then that many 32-bit little-endian sub-authorities. A value
 * already in string form (S-1-…, as some directories store it) is taken as it is; anything else is
 * null, and the person's certificate goes without the SID extension.
 */
export function sidString(v: Buffer | string): string | null {
  if (typeof v === 'string') return /^S-1-\d+(-\d+)+$/.test(v) ? v : null;
  if (v.length < 8 || v[0] !== 1)
    return /^S-1-\d+(-\d+)+$/.test(v.toString('latin1')) ? v.toString('latin1') : null;
  const count = v[1]!;
  if (v.length !== 8 + 4 * count) return null;
  const authority = v.readUIntBE(2, 6);
  const subs = Array.from({ length: count }, (_, i) => v.readUInt32LE(8 + 4 * i));
  return ['S', '1', String(authority), ...subs.map(String)].join('-');
}

const firstBuffer = (v: Entry[string] | undefined): Buffer | null => {
  const x = Array.isArray(v) ? v[0] : v;
  return Buffer.isBuffer(x) && x.length > 0 ? x : null;
};

const all = (v: Entry[string] | undefined): string[] =>
  v === undefined
    ? []
    : (Array.isArray(v) ? v : [v]).map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));

export class LdapDirectory {
  constructor(
    private readonly cfg: DirectoryConfig,
    /** The service account's password, decrypted only for the life of this object. */
    private readonly bindPassword: string | null,
  ) {}

  private tlsOptions(): ConnectionOptions {
    const host = new URL(this.cfg.url).hostname.replace(/^\[|\]$/g, '');
    return {
      rejectUnauthorized: this.cfg.tlsVerify,
      // SNI carries host names only (RFC 6066 §3; Node warns, DEP0123): for an IP address Node
      // checks the certificate's IP subjectAltName against the address it connected to anyway.
      ...(isIP(host) ? {} : { servername: host }),
      // The configured CAs are trusted in addition to Node's public roots, not instead of them:
      // `ca` alone would replace the roots.
      ...(this.cfg.caCertificatePem?.trim() ? { ca: [...rootCertificates, this.cfg.caCertificatePem] } : {}),
    };
  }

  private async connect(): Promise<Client> {
    const url = new URL(this.cfg.url);
    const client = new Client({
      url: this.cfg.url,
      timeout: this.cfg.timeoutSeconds * 1000,
      connectTimeout: this.cfg.timeoutSeconds * 1000,
      strictDN: false,
      ...(url.protocol === 'ldaps:' ? { tlsOptions: this.tlsOptions() } : {}),
    });
    if (this.cfg.startTls)
      try {
        await client.startTLS(this.tlsOptions());
      } catch (e) {
        await client.unbind().catch(() => undefined);
        throw connectionError(this.cfg, e, 'starttls');
      }
    return client;
  }

  /** A connection bound as the service account (or anonymous when no bind DN is set). */
  private async serviceClient(): Promise<Client> {
    const client = await this.connect();
    try {
      if (this.cfg.bindDn) await client.bind(this.cfg.bindDn, this.bindPassword ?? '');
      else await client.bind('', '');
      return client;
    } catch (e) {
      await client.unbind().catch(() => undefined);
      if (e instanceof InvalidCredentialsError)
        throw new ExternalError(
          'directory_bind_failed',
          'The directory refused the service account (bind DN or password is wrong)',
          { bindDn: this.cfg.bindDn },
          { cause: e },
        );
      if (e instanceof ResultCodeError) throw resultError(this.cfg, e, 'to bind');
      throw connectionError(this.cfg, e);
    }
  }

  private async withService<T>(fn: (c: Client) => Promise<T>): Promise<T> {
    const client = await this.serviceClient();
    try {
      return await fn(client);
    } catch (e) {
      if (e instanceof ExternalError) throw e;
      if (e instanceof ResultCodeError) throw resultError(this.cfg, e, 'a search');
      throw connectionError(this.cfg, e);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  private attributesToRead(): string[] {
    const a = this.cfg.attributes;
    return [
      ...new Set(
        [
          a.username,
          a.displayName,
          a.email,
          a.photo ?? null,
          ...Object.values(this.cfg.properties),
          this.cfg.externalId === 'entryUUID' ? 'entryUUID' : null,
        ].filter((x): x is string => !!x),
      ),
    ];
  }

  private toPerson(e: Entry): DirectoryPerson | string {
    const a = this.cfg.attributes;
    const username = first(e[a.username]);
    if (!username) return `${e.dn}: no ${a.username} attribute`;
    const externalId = this.cfg.externalId === 'dn' ? e.dn : first(e.entryUUID);
    if (!externalId)
      return `${e.dn}: no entryUUID (the server must return it, or use the DN as the external id)`;
    const properties: Record<string, string> = {};
    for (const [prop, attr] of Object.entries(this.cfg.properties)) {
      if (SID_ATTRIBUTE.test(attr)) {
        const raw = e[attr];
        const x = Array.isArray(raw) ? raw[0] : raw;
        const sid = x === undefined ? null : sidString(x as Buffer | string);
        if (sid !== null) properties[prop] = sid;
        continue;
      }
      const v = first(e[attr]);
      if (v !== null) properties[prop] = v;
    }
    return {
      dn: e.dn,
      externalId,
      username,
      displayName: first(e[a.displayName]) ?? username,
      email: a.email ? first(e[a.email]) : null,
      properties,
      photo: a.photo ? firstBuffer(e[a.photo]) : null,
    };
  }

  private async searchPeople(
    c: Client,
    filter: string,
  ): Promise<{ people: DirectoryPerson[]; problems: string[] }> {
    const people: DirectoryPerson[] = [];
    const problems: string[] = [];
    const res = await c.search(this.cfg.baseDn, {
      scope: 'sub',
      filter,
      attributes: this.attributesToRead(),
      // A SID and a picture are binary: read as bytes, never decoded as text.
      explicitBufferAttributes: this.attributesToRead().filter(
        (a) => SID_ATTRIBUTE.test(a) || a === this.cfg.attributes.photo,
      ),
      paged: { pageSize: PAGE_SIZE },
    });
    for (const e of res.searchEntries) {
      const p = this.toPerson(e);
      if (typeof p === 'string') problems.push(p);
      else people.push(p);
    }
    return { people, problems };
  }

  /** Connects, binds as the service account and counts the people the filter selects. */
  async test(): Promise<{ userCount: number }> {
    return this.withService(async (c) => {
      const res = await c.search(this.cfg.baseDn, {
        scope: 'sub',
        filter: this.cfg.userFilter,
        attributes: ['1.1'],
        paged: { pageSize: PAGE_SIZE },
      });
      return { userCount: res.searchEntries.length };
    });
  }

  /** Every person and every group, read in one service session (a sync's input). */
  async readAll(): Promise<{ people: DirectoryPerson[]; problems: string[]; groups: DirectoryGroup[] }> {
    return this.withService(async (c) => {
      const { people, problems } = await this.searchPeople(c, this.cfg.userFilter);
      const groups: DirectoryGroup[] = [];
      if (this.cfg.groupRoles.length) {
        const res = await c.search(this.cfg.groups.baseDn || this.cfg.baseDn, {
          scope: 'sub',
          filter: this.cfg.groups.filter,
          attributes: [this.cfg.groups.memberAttribute],
          paged: { pageSize: PAGE_SIZE },
        });
        for (const g of res.searchEntries)
          groups.push({
            dn: g.dn,
            members: new Set(all(g[this.cfg.groups.memberAttribute]).map(normalizeDn)),
          });
      }
      return { people, problems, groups };
    });
  }

  /** The one person with this username, or null (none, or ambiguous). The value is escaped. */
  async findPerson(username: string): Promise<DirectoryPerson | null> {
    return this.withService(async (c) => {
      const filter = andFilter(this.cfg.userFilter, equalityFilter(this.cfg.attributes.username, username));
      const { people } = await this.searchPeople(c, filter);
      return people.length === 1 ? people[0]! : null;
    });
  }

  /**
   * Checks a password by binding as the person's DN on a fresh connection. An empty password is
   * refused here: LDAP treats a simple bind without a password as an anonymous bind that succeeds
   * (RFC 4513 §5.1.2, "unauthenticated authentication").
   */
  async checkPassword(dn: string, password: string): Promise<boolean> {
    if (password.length === 0) return false;
    const client = await this.connect();
    try {
      await client.bind(dn, password);
      return true;
    } catch (e) {
      if (e instanceof InvalidCredentialsError) return false;
      if (e instanceof ResultCodeError) throw resultError(this.cfg, e, 'the sign-in');
      throw connectionError(this.cfg, e);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }
}
