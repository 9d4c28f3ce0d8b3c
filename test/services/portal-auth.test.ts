// PortalAuthService: what start() tells a known, an unknown and a suspended person, and each
// sign-in method end to end (initial password, security answers, and the directory password
// against a real slapd, with its lockout).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DIRECTORY_CONFIG } from '../../src/directory/directory-config.js';
import { MasterKey } from '../../src/secrets/master-key.js';
import { AuthService } from '../../src/services/auth-service.js';
import { DirectoryService } from '../../src/services/directory-service.js';
import { InitialPasswordService } from '../../src/services/initial-password-service.js';
import { PortalAuthService } from '../../src/services/portal-auth-service.js';
import { SecurityQuestionService } from '../../src/services/security-question-service.js';
import { UserService } from '../../src/services/user-service.js';
import {
  freePort,
  personLdif,
  ROOT_DN,
  ROOT_PW,
  slapdAvailable,
  startSlapd,
  SUFFIX,
  type Slapd,
} from '../support/slapd.js';
import { admin, auditActions, portalFixture, type PortalFixture } from './portal-support.js';

describe('portal authentication service', () => {
  let f: PortalFixture;
  let portal: PortalAuthService;
  let ip: InitialPasswordService;
  let sq: SecurityQuestionService;
  let dir: DirectoryService;
  let qids: string[];
  let slapd: Slapd | null = null;

  beforeAll(async () => {
    f = await portalFixture('pglite');
    const key = MasterKey.generate();
    const auth = new AuthService(f.ctx, {
      sessionTtlMinutes: 60,
      sessionIdleMinutes: 30,
    });
    ip = new InitialPasswordService(f.ctx, { settings: f.settings });
    sq = new SecurityQuestionService(f.ctx, f.settings);
    dir = new DirectoryService(f.ctx, key, new UserService(f.ctx));
    portal = new PortalAuthService(f.ctx, {
      settings: f.settings,
      auth,
      initialPasswords: ip,
      questions: sq,
      directory: dir,
      decoyKey: key.derive('decoy'),
    });
    const s = await f.settings.getSecurity();
    await f.settings.putSecurity(admin, {
      ...s,
      portalAuthMethods: ['initial_password', 'directory_password', 'security_questions'],
      securityQuestionCount: 2,
    });
    qids = (
      await sq.replace(admin, [
        { text: 'First pet name?', active: true },
        { text: 'Town of birth?', active: true },
        { text: 'Favourite meal?', active: true },
      ])
    ).map((q) => q.id);
  });
  afterAll(async () => {
    await slapd?.stop();
    await f?.t.drop();
  });

  it('start: the methods come from the settings alone, the same for known, unknown and suspended names', async () => {
    const all = ['initial_password', 'directory_password', 'security_questions'] as const;
    const u = await f.user('kim.known');
    const decoy = await portal.start('who.is.this');
    // No directory is enabled, so the directory password is not usable by anyone.
    expect(decoy.methods).toEqual(['initial_password', 'security_questions']);
    expect(decoy.questions).toHaveLength(2);
    expect(await portal.start('who.is.this')).toEqual(decoy);
    // A real person without answers looks exactly like an unknown name: same methods, a stable
    // choice of as many questions (from the same function), whatever they hold.
    const kim = await portal.start('kim.known');
    expect(kim.methods).toEqual(decoy.methods);
    expect(kim.questions).toHaveLength(2);
    expect(Object.keys(kim).sort()).toEqual(Object.keys(decoy).sort());
    expect(await portal.start('kim.known')).toEqual(kim);
    await ip.issue(admin, u.id);
    expect(await portal.start('KIM.known')).toEqual(kim);
    // With answers, the person's own questions.
    await sq.setAnswers(admin, u.id, [
      { questionId: qids[2]!, answer: 'Soup' },
      { questionId: qids[0]!, answer: 'Rex' },
    ]);
    expect(await portal.start('kim.known')).toEqual({
      methods: ['initial_password', 'security_questions'],
      questions: [
        { id: qids[2], text: 'Favourite meal?' },
        { id: qids[0], text: 'First pet name?' },
      ],
    });
    const s = await f.user('sue.suspended', { roles: ['user'] });
    await ip.issue(admin, s.id);
    await sq.setAnswers(admin, s.id, [
      { questionId: qids[1]!, answer: 'Nantes' },
      { questionId: qids[0]!, answer: 'Rex' },
    ]);
    await f.t.db.query("UPDATE users SET state = 'suspended' WHERE id = $1", [s.id]);
    const sue = await portal.start('sue.suspended');
    expect(sue.methods).toEqual(decoy.methods);
    expect(sue.questions).toHaveLength(2);
    // Questions are asked only where there are enough active ones; otherwise none, for anyone.
    const settings = await f.settings.getSecurity();
    await f.settings.putSecurity(admin, { ...settings, securityQuestionCount: 4 });
    expect(await portal.start('kim.known')).toEqual({ methods: ['initial_password'] });
    expect(await portal.start('who.is.this')).toEqual({ methods: ['initial_password'] });
    await f.settings.putSecurity(admin, { ...settings, portalAuthMethods: [...all] });
  });

  it('initial password: good opens a portal session; wrong, expired and unknown give one message', async () => {
    const u = await f.user('pat.portal');
    const { password } = await ip.issue(admin, u.id);
    const e1 = await portal.signInWithInitialPassword('pat.portal', 'wrong').catch((e: Error) => e);
    const e2 = await portal.signInWithInitialPassword('nobody.at.all', 'wrong').catch((e: Error) => e);
    expect(e1).toMatchObject({ code: 'unauthenticated' });
    expect((e1 as Error).message).toBe((e2 as Error).message);
    const s = await portal.signInWithInitialPassword('pat.portal', password!);
    expect(s.mustSetQuestions).toBe(true);
    expect(s.user.permissions).toEqual(['self.read', 'self.issue', 'self.incident']);
    const rows = await f.t.db.query<{ kind: string; auth_method: string }>(
      'SELECT kind, auth_method FROM sessions WHERE user_id = $1',
      [u.id],
    );
    expect(rows).toEqual([{ kind: 'portal', auth_method: 'initial_password' }]);
    const again = await ip.issue(admin, u.id);
    f.clock.advance(73 * 3_600_000);
    await expect(portal.signInWithInitialPassword('pat.portal', again.password!)).rejects.toMatchObject({
      code: 'unauthenticated',
    });
    expect(await auditActions(f, u.id)).toContain('initial_password.expired');
  });

  it('security answers: good, wrong, delayed', async () => {
    const u = await f.user('quinn.q');
    await sq.setAnswers(admin, u.id, [
      { questionId: qids[0]!, answer: 'Toto' },
      { questionId: qids[1]!, answer: 'Le Mans' },
    ]);
    const good = [
      { questionId: qids[0]!, answer: 'T O T O' },
      { questionId: qids[1]!, answer: 'lemans' },
    ];
    const s = await portal.signInWithSecurityQuestions('quinn.q', good);
    expect(s.mustSetQuestions).toBe(false);
    const bad = [good[0]!, { questionId: qids[1]!, answer: 'Paris' }];
    for (let i = 0; i < 5; i++)
      await expect(portal.signInWithSecurityQuestions('quinn.q', bad)).rejects.toMatchObject({
        code: 'unauthenticated',
      });
    // Delayed: the right answers are refused as wrong ones are.
    await expect(portal.signInWithSecurityQuestions('quinn.q', good)).rejects.toMatchObject({
      code: 'unauthenticated',
    });
  });

  it.skipIf(!slapdAvailable)('directory password (slapd): good, wrong, delayed after 5', async () => {
    slapd = await startSlapd();
    slapd.add(`dn: ou=people,${SUFFIX}\nobjectClass: organizationalUnit\nou: people\n`);
    slapd.add(personLdif({ uid: 'lou.ldap', cn: 'Lou Ldap', password: 'Lou-Pass-1' }));
    await dir.put(admin, {
      ...DEFAULT_DIRECTORY_CONFIG,
      enabled: true,
      url: slapd.url,
      bindDn: ROOT_DN,
      bindPassword: ROOT_PW,
      baseDn: `ou=people,${SUFFIX}`,
    });
    expect(await dir.sync(admin)).toMatchObject({ created: 1 });
    expect((await portal.start('lou.ldap')).methods).toEqual([
      'initial_password',
      'directory_password',
      'security_questions',
    ]);
    const s = await portal.signInWithDirectoryPassword('lou.ldap', 'Lou-Pass-1');
    expect(s.user.username).toBe('lou.ldap');
    for (let i = 0; i < 5; i++)
      await expect(portal.signInWithDirectoryPassword('lou.ldap', `nope-${i}`)).rejects.toMatchObject({
        code: 'unauthenticated',
      });
    await expect(portal.signInWithDirectoryPassword('lou.ldap', 'Lou-Pass-1')).rejects.toMatchObject({
      code: 'unauthenticated',
    });
    f.clock.advance(30_000);
    await expect(portal.signInWithDirectoryPassword('lou.ldap', 'Lou-Pass-1')).resolves.toMatchObject({
      user: { username: 'lou.ldap' },
    });
    // Unknown and local names are refused like a wrong password while the directory answers...
    for (const name of ['nobody.here', 'kim.known'])
      await expect(portal.signInWithDirectoryPassword(name, 'Lou-Pass-1')).rejects.toMatchObject({
        code: 'unauthenticated',
      });
    // ...and, when it cannot be reached, get the same 502 as a real directory user.
    await dir.put(admin, {
      ...DEFAULT_DIRECTORY_CONFIG,
      enabled: true,
      url: `ldap://127.0.0.1:${await freePort()}`,
      bindDn: ROOT_DN,
      baseDn: `ou=people,${SUFFIX}`,
    });
    for (const name of ['lou.ldap', 'nobody.here', 'kim.known'])
      await expect(portal.signInWithDirectoryPassword(name, 'Lou-Pass-1'), name).rejects.toMatchObject({
        code: 'directory_unavailable',
      });
  });
});
