// First start: the first administrator, and (tessera start only) a clearly labelled demo
// organisation so a newcomer can try every workflow at once.
import { hashPassword, randomPassword } from '../secrets/password.js';
import { getSetting, putSetting } from '../store/settings-repo.js';
import { searchUsers } from '../store/users-repo.js';
import { systemActor, type ServiceContext } from './context.js';
import type { DeviceService } from './device-service.js';
import type { PolicyService } from './policy-service.js';
import type { UserService } from './user-service.js';
import type { LayoutService } from './printing/layout-service.js';
import type { MobileIdPolicies } from './mobile-id/mobile-id-policies.js';
import type { PrintSettingsService } from './printing/print-settings.js';
import type { PolicyInput } from '../store/policies-repo.js';
import type { Role } from '../domain/permissions.js';

export interface FirstAdmin {
  username: string;
  /** Present only when the administrator was created now: shown once, never stored in clear. */
  password?: string;
}

export interface DemoSeed {
  password: string;
  people: { username: string; displayName: string; roles: Role[] }[];
}

export const DEMO_PEOPLE: {
  username: string;
  displayName: string;
  email: string;
  roles: Role[];
  properties: Record<string, string>;
}[] = [
  {
    username: 'hannah.help',
    displayName: 'Hannah Help (demo)',
    email: 'hannah.help@demo.example',
    roles: ['helpdesk'],
    properties: { employeeId: 'D-1001', department: 'Service desk', affiliation: 'Employee' },
  },
  {
    username: 'ivan.issuer',
    displayName: 'Ivan Issuer (demo)',
    email: 'ivan.issuer@demo.example',
    roles: ['issuance_officer'],
    properties: { employeeId: 'D-1002', department: 'Badge office', affiliation: 'Employee' },
  },
  {
    username: 'vera.valid',
    displayName: 'Vera Valid (demo)',
    email: 'vera.valid@demo.example',
    roles: ['validation_officer'],
    properties: { employeeId: 'D-1003', department: 'Security', affiliation: 'Employee' },
  },
  {
    username: 'alice',
    displayName: 'Alice Archer (demo)',
    email: 'alice@demo.example',
    roles: ['user'],
    properties: { employeeId: 'D-2001', department: 'Engineering', affiliation: 'Employee' },
  },
  {
    username: 'bob',
    displayName: 'Bob Baker (demo)',
    email: 'bob@demo.example',
    roles: ['user'],
    properties: { employeeId: 'D-2002', department: 'Finance', affiliation: 'Employee' },
  },
  {
    username: 'carol',
    displayName: 'Carol Chen (demo)',
    email: 'carol@demo.example',
    roles: ['user'],
    properties: { employeeId: 'D-2003', department: 'Legal', affiliation: 'Contractor' },
  },
];

const pin = {
  minLength: 6,
  maxLength: 8,
  charset: 'digits' as const,
  noRepeatedDigits: true,
  noSequences: true,
  retries: 3,
};

export const DEMO_POLICIES: PolicyInput[] = [
  {
    name: 'PIV RSA-2048 (demo)',
    description: 'Demo: a PIV card with the four PIV keys as RSA-2048, generated on the card',
    deviceTypes: ['piv_card', 'piv_token'],
    credentialProfiles: [
      {
        name: 'PIV Authentication',
        slot: '9a',
        keyAlgorithm: 'RSA2048',
        certificateProfile: 'piv_authentication',
        validityDays: 365,
        archiveKey: false,
      },
      {
        name: 'Digital Signature',
        slot: '9c',
        keyAlgorithm: 'RSA2048',
        certificateProfile: 'digital_signature',
        validityDays: 365,
        archiveKey: false,
      },
      {
        name: 'Key Management',
        slot: '9d',
        keyAlgorithm: 'RSA2048',
        certificateProfile: 'key_management',
        validityDays: 365,
        archiveKey: false,
      },
      {
        name: 'Card Authentication',
        slot: '9e',
        keyAlgorithm: 'RSA2048',
        certificateProfile: 'card_authentication',
        validityDays: 365,
        archiveKey: false,
      },
    ],
    pinPolicy: pin,
    pukRetries: 3,
    deviceValidityDays: 1095,
    defaultLayout: null,
  },
  {
    name: 'PIV ECC P-256 (demo)',
    description: 'Demo: a PIV card, token or phone wallet with ECC P-256 keys, generated on the device',
    deviceTypes: ['piv_card', 'piv_token', 'mobile'],
    credentialProfiles: [
      {
        name: 'PIV Authentication',
        slot: '9a',
        keyAlgorithm: 'ECCP256',
        certificateProfile: 'piv_authentication',
        validityDays: 365,
        archiveKey: false,
      },
      {
        name: 'Digital Signature',
        slot: '9c',
        keyAlgorithm: 'ECCP256',
        certificateProfile: 'digital_signature',
        validityDays: 365,
        archiveKey: false,
      },
      {
        name: 'Card Authentication',
        slot: '9e',
        keyAlgorithm: 'ECCP256',
        certificateProfile: 'card_authentication',
        validityDays: 365,
        archiveKey: false,
      },
    ],
    pinPolicy: pin,
    pukRetries: 3,
    deviceValidityDays: 1095,
    defaultLayout: null,
  },
];

/**
 * Serials of the demo inventory. The built-in demo agent's emulated cards carry them, three per
 * agent, and report them as a Yubico-style GET SERIAL (decimal), which is how issuance
 * finds a card's device record.
 */
export const DEMO_DEVICE_SERIALS = ['10000001', '10000002', '10000003', '10000004', '10000005', '10000006'];

/** The settings key that records the demo seed. */
const DEMO_SEEDED = 'demo_seeded';

export class BootstrapService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly users: UserService,
    private readonly devices: DeviceService,
    private readonly policies: PolicyService,
    private readonly printing?: { layouts: LayoutService; settings: PrintSettingsService },
    /** The demo offers a mobile ID (reference 004) under its mobile device policy. */
    private readonly mobileIdPolicies?: MobileIdPolicies,
  ) {}

  /** Creates the administrator "admin" with a random password if no administrator exists yet. */
  async ensureFirstAdmin(): Promise<FirstAdmin> {
    const admins = await searchUsers(this.ctx.db, { role: 'admin', state: 'active', limit: 1, offset: 0 });
    if (admins.items[0]) return { username: admins.items[0].username };
    const { user, password } = await this.users.createWithPassword(systemActor('first start'), {
      username: 'admin',
      displayName: 'Administrator',
      roles: ['admin'],
    });
    return { username: user.username, password };
  }

  /** Whether the demo organisation was seeded here (the web app labels demo data then). */
  async demoSeeded(): Promise<boolean> {
    return (await getSetting<boolean>(this.ctx.db, DEMO_SEEDED)) === true;
  }

  /** Seeds the demo organisation once; returns what was created (null when already seeded). */
  async seedDemo(): Promise<DemoSeed | null> {
    if (await this.demoSeeded()) return null;
    const password = randomPassword(3);
    const hash = await hashPassword(password);
    const actor = systemActor('demo seed');
    await this.ctx.db.transaction(async (tx) => {
      for (const p of DEMO_PEOPLE)
        await this.users.create(actor, { ...p, passwordHash: hash, demo: true }, tx);
      const created = [];
      for (const p of DEMO_POLICIES)
        created.push(await this.policies.create(actor, { ...p, demo: true }, tx));
      const mobile = created.find((p) => p.deviceTypes.includes('mobile'));
      if (this.mobileIdPolicies && mobile)
        await this.mobileIdPolicies.create(
          actor,
          {
            name: 'Mobile ID (demo)',
            description: 'Authentication and signature certificates on the phone, for a year',
            devicePolicyId: mobile.id,
            profiles: mobile.credentialProfiles
              .filter(
                (c) =>
                  c.certificateProfile === 'piv_authentication' ||
                  c.certificateProfile === 'digital_signature',
              )
              .map((c) => c.name),
            qrDelivery: 'portal',
            validityDays: 365,
            properties: [
              { name: 'server', value: '${server}' },
              { name: 'userId', value: '${username}' },
            ],
            recoverKey: false,
            notify: 'both',
            enabled: true,
          },
          tx,
        );
      for (const serial of DEMO_DEVICE_SERIALS)
        await this.devices.register(
          actor,
          {
            serial,
            type: 'piv_card',
            model: 'Tessera virtual PIV card',
            notes: 'Demo inventory',
            demo: true,
          },
          tx,
        );
      if (this.printing) {
        // The demo prints (reference 002): the PIV layout, and printing turned on.
        const piv = this.printing.layouts.templates().find((t) => t.id === 'piv')!;
        await this.printing.layouts.create(
          actor,
          { name: piv.name, description: piv.description, definition: piv.definition },
          tx,
        );
        await this.printing.settings.put(actor, { enabled: true, issuerName: 'Tessera Demo Agency' }, tx);
      }
      await putSetting(tx, DEMO_SEEDED, true, this.ctx.clock.now());
    });
    return {
      password,
      people: DEMO_PEOPLE.map(({ username, displayName, roles }) => ({ username, displayName, roles })),
    };
  }
}
