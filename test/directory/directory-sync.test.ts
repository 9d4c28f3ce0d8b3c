// The directory against a real OpenLDAP slapd: configuration (bind password encrypted, write-only),
// connection test, sync (create, update, suspend removed, reactivate returning, groups → roles, a
// mail attribute that is not one address left out and reported),
// password checks by bind, an unreachable server, and LDAP-injection attempts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DIRECTORY_CONFIG } from '../../src/directory/directory-config.js';
import { MasterKey } from '../../src/secrets/master-key.js';
import { DirectoryService, type DirectoryInput } from '../../src/services/directory-service.js';
import { UserService } from '../../src/services/user-service.js';
import { getUserByUsername, insertUser } from '../../src/store/users-repo.js';
import { engines } from '../support/db.js';
import {
  freePort,
  personDn,
  personLdif,
  ROOT_DN,
  ROOT_PW,
  slapdAvailable,
  startSlapd,
  SUFFIX,
  type Slapd,
} from '../support/slapd.js';
import { admin, portalFixture, type PortalFixture } from '../services/portal-support.js';

const GROUPS = `ou=groups,${SUFFIX}`;

function config(url: string, extra: Partial<DirectoryInput> = {}): DirectoryInput {
  return {
    ...DEFAULT_DIRECTORY_CONFIG,
    enabled: true,
    url,
    bindDn: ROOT_DN,
    bindPassword: ROOT_PW,
    baseDn: `ou=people,${SUFFIX}`,
    properties: { employeeId: 'employeeNumber', department: 'departmentNumber' },
    groups: { baseDn: GROUPS, filter: '(objectClass=groupOfNames)', memberAttribute: 'member' },
    groupRoles: [
      { group: `cn=helpdesk,${GROUPS}`, roles: ['helpdesk'] },
      { group: `CN=Admins, ${GROUPS}`, roles: ['admin', 'issuance_officer'] },
    ],
    timeoutSeconds: 3,
    ...extra,
  };
}

const engineList = slapdAvailable ? await engines() : [];

async function directoryWithPeople(): Promise<Slapd> {
  const slapd = await startSlapd();
  slapd.add(
    `dn: ou=people,${SUFFIX}\nobjectClass: organizationalUnit\nou: people\n\ndn: ${GROUPS}\nobjectClass: organizationalUnit\nou: groups\n`,
  );
  slapd.add(
    [
      personLdif({
        uid: 'alice',
        cn: 'Alice Martin',
        mail: 'alice@example.org',
        employeeNumber: 'E100',
        departmentNumber: 'IT',
        password: 'Alice-Secret-1',
      }),
      personLdif({
        uid: 'bob',
        cn: 'Bob Durand',
        employeeNumber: 'E101',
        departmentNumber: 'Sales',
        password: 'Bob-Secret-1',
      }),
      personLdif({ uid: 'carol', cn: 'Carol Petit', password: 'Carol-Secret-1' }),
      personLdif({ uid: 'dave', cn: 'Dave Local' }),
    ].join('\n'),
  );
  slapd.add(
    [
      `dn: cn=helpdesk,${GROUPS}\nobjectClass: groupOfNames\ncn: helpdesk\nmember: ${personDn('alice')}\n`,
      `dn: cn=admins,${GROUPS}\nobjectClass: groupOfNames\ncn: admins\nmember: ${personDn('carol')}\n`,
    ].join('\n'),
  );
  return slapd;
}

describe.skipIf(!slapdAvailable)('directory (slapd)', () => {
  for (const engine of engineList) {
    describe(`on ${engine}`, () => {
      let f: PortalFixture;
      let svc: DirectoryService;
      let key: MasterKey;
      let slapd: Slapd;
      beforeAll(async () => {
        slapd = await directoryWithPeople();
        f = await portalFixture(engine);
        key = MasterKey.generate();
        svc = new DirectoryService(f.ctx, key, new UserService(f.ctx));
        await insertUser(f.t.db, {
          username: 'dave',
          displayName: 'Dave (local)',
          roles: ['user'],
          at: f.clock.now(),
        });
      });
      afterAll(async () => {
        await slapd?.stop();
        await f?.t.drop();
      });

      it('keeps the bind password encrypted and write-only', async () => {
        expect((await svc.get()).configured).toBe(false);
        const view = await svc.put(admin, config(slapd.url));
        expect(view).toMatchObject({ configured: true, hasBindPassword: true, url: slapd.url });
        expect(JSON.stringify(view)).not.toContain(ROOT_PW);
        const rows = await f.t.db.query<{ c: string; p: Uint8Array }>(
          'SELECT config::text AS c, bind_password AS p FROM directory_config',
        );
        expect(rows[0]!.c).not.toContain(ROOT_PW);
        expect(Buffer.from(rows[0]!.p).toString('latin1')).not.toContain(ROOT_PW);
        // Omitting the password keeps it.
        const { bindPassword: _omit, ...rest } = config(slapd.url);
        expect((await svc.put(admin, rest)).hasBindPassword).toBe(true);
        const audit = await f.t.db.query<{ d: string }>(
          "SELECT details::text AS d FROM audit_events WHERE action = 'directory.updated'",
        );
        expect(audit.map((a) => a.d).join(' ')).not.toContain(ROOT_PW);
        await expect(svc.put(admin, { ...rest, userFilter: 'uid=*' })).rejects.toMatchObject({
          code: 'validation_failed',
        });
        await expect(svc.put(admin, { ...rest, url: 'http://x' })).rejects.toMatchObject({
          code: 'validation_failed',
        });
      });

      it('tests the connection and counts people', async () => {
        expect(await svc.test()).toEqual({ ok: true, userCount: 4 });
      });

      it('syncs: creates people with groups mapped to roles, refuses a clash with a local user', async () => {
        const r = await svc.sync(admin);
        expect(r).toMatchObject({ created: 3, updated: 0, suspended: 0, unchanged: 0 });
        expect(r.errors).toHaveLength(1);
        expect(r.errors[0]).toMatch(/dave.*local user/);
        const alice = (await getUserByUsername(f.t.db, 'alice'))!;
        expect(alice).toMatchObject({
          source: 'ldap',
          displayName: 'Alice Martin',
          email: 'alice@example.org',
          roles: ['user', 'helpdesk'],
          properties: { employeeId: 'E100', department: 'IT' },
          state: 'active',
        });
        expect(alice.externalId).toMatch(/^[0-9a-f-]{36}$/);
        expect((await getUserByUsername(f.t.db, 'carol'))!.roles).toEqual([
          'user',
          'issuance_officer',
          'admin',
        ]);
        expect((await getUserByUsername(f.t.db, 'dave'))!.source).toBe('local');
        expect(await svc.sync(admin)).toMatchObject({ created: 0, updated: 0, suspended: 0, unchanged: 3 });
      });

      it('syncs changes, suspends people removed from the directory and reactivates them on return', async () => {
        slapd.modify(
          `dn: ${personDn('bob')}\nchangetype: modify\nreplace: cn\ncn: Robert Durand\n-\ndelete: departmentNumber\n`,
        );
        slapd.modify(
          `dn: cn=helpdesk,${GROUPS}\nchangetype: modify\nadd: member\nmember: ${personDn('bob')}\n`,
        );
        slapd.remove(personDn('carol'));
        const r = await svc.sync(admin);
        expect(r).toMatchObject({ created: 0, updated: 1, suspended: 1, unchanged: 1 });
        const bob = (await getUserByUsername(f.t.db, 'bob'))!;
        expect(bob).toMatchObject({
          displayName: 'Robert Durand',
          roles: ['user', 'helpdesk'],
          properties: { employeeId: 'E101' },
        });
        const carol = (await getUserByUsername(f.t.db, 'carol'))!;
        expect(carol.state).toBe('suspended');
        const ev = await f.t.db.query<{ details: { reason: string } }>(
          "SELECT details FROM audit_events WHERE action = 'user.suspended' AND target_id = $1",
          [carol.id],
        );
        expect(ev[0]!.details.reason).toBe('removed from the directory');
        slapd.add(personLdif({ uid: 'carol', cn: 'Carol Petit', password: 'Carol-Secret-2' }));
        const back = await svc.sync(admin);
        expect(back).toMatchObject({ created: 0, updated: 1, suspended: 0 });
        expect((await getUserByUsername(f.t.db, 'carol'))!.state).toBe('active');
      });

      it('a mail attribute that is not exactly one address is not stored; the report says so', async () => {
        // Initial passwords are e-mailed to it: a list or "Name <addr>" would reach someone else.
        slapd.modify(
          `dn: ${personDn('alice')}\nchangetype: modify\nreplace: mail\nmail: alice@example.org, attacker@evil.test\n`,
        );
        slapd.add(personLdif({ uid: 'erin', cn: 'Erin Evans', mail: 'Erin <attacker@evil.test>' }));
        try {
          const r = await svc.sync(admin);
          expect(r).toMatchObject({ created: 1, updated: 1 });
          // In the order the directory returned the entries, which LDAP does not promise: compared sorted.
          const lines = r.errors.filter((e) => /e-mail attribute/.test(e)).sort();
          expect(lines).toEqual([
            `${personDn('alice')}: the e-mail attribute is not a single e-mail address; stored without one (fix it in the directory)`,
            `${personDn('erin')}: the e-mail attribute is not a single e-mail address; stored without one (fix it in the directory)`,
          ]);
          expect((await getUserByUsername(f.t.db, 'alice'))!.email).toBeNull();
          expect((await getUserByUsername(f.t.db, 'erin'))!.email).toBeNull();
        } finally {
          slapd.modify(
            `dn: ${personDn('alice')}\nchangetype: modify\nreplace: mail\nmail: alice@example.org\n`,
          );
          slapd.remove(personDn('erin'));
        }
        const fixed = await svc.sync(admin);
        expect(fixed.errors.filter((e) => /e-mail attribute/.test(e))).toEqual([]);
        expect((await getUserByUsername(f.t.db, 'alice'))!.email).toBe('alice@example.org');
      });

      it('checks passwords by LDAP bind: good, wrong, empty', async () => {
        const alice = (await getUserByUsername(f.t.db, 'alice'))!;
        expect(await svc.checkPassword(alice, 'Alice-Secret-1')).toBe(true);
        expect(await svc.checkPassword(alice, 'alice-secret-1')).toBe(false);
        expect(await svc.checkPassword(alice, '')).toBe(false);
        const dave = (await getUserByUsername(f.t.db, 'dave'))!;
        expect(await svc.checkPassword(dave, 'anything')).toBe(false);
      });

      it('an LDAP-injection username matches nobody', async () => {
        const dir = (await svc.connection())!;
        for (const evil of ['*', '*)(uid=*', 'alice)(|(uid=*', 'al*', '*)(objectClass=*'])
          expect(await dir.findPerson(evil)).toBeNull();
        expect((await dir.findPerson('alice'))!.dn).toBe(personDn('alice'));
        // Even a user record whose username is an injection attempt cannot bind as someone else.
        const alice = (await getUserByUsername(f.t.db, 'alice'))!;
        expect(await svc.checkPassword({ ...alice, username: '*)(uid=*' }, 'Alice-Secret-1')).toBe(false);
      });

      it('a wrong service password is directory_bind_failed; an unreachable server changes nothing', async () => {
        const { bindPassword: _omit, ...rest } = config(slapd.url);
        await svc.put(admin, { ...rest, bindPassword: 'wrong' });
        await expect(svc.test()).rejects.toMatchObject({ code: 'directory_bind_failed' });
        await expect(svc.sync(admin)).rejects.toMatchObject({ code: 'directory_bind_failed' });
        const port = await freePort();
        await svc.put(admin, config(`ldap://127.0.0.1:${port}`));
        const before = await f.t.db.query(
          'SELECT id, state, display_name, roles, updated_at FROM users ORDER BY id',
        );
        const seqBefore = await f.t.db.query('SELECT max(seq) AS s FROM audit_events');
        const err = await svc.sync(admin).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'directory_unreachable' });
        expect((err as Error).message).toMatch(/could not be reached/);
        await expect(svc.test()).rejects.toMatchObject({ code: 'directory_unreachable' });
        const alice = (await getUserByUsername(f.t.db, 'alice'))!;
        await expect(svc.checkPassword(alice, 'Alice-Secret-1')).rejects.toMatchObject({
          code: 'directory_unreachable',
        });
        expect(
          await f.t.db.query('SELECT id, state, display_name, roles, updated_at FROM users ORDER BY id'),
        ).toEqual(before);
        expect(await f.t.db.query('SELECT max(seq) AS s FROM audit_events')).toEqual(seqBefore);
        await svc.put(admin, config(slapd.url));
      });
    });
  }
});
