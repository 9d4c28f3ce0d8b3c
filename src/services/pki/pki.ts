// The certificate authority's use cases, wired together once: each module has one job and names
// what it uses; this is the only place that knows how they fit. The runtime, the tests and the
// benchmark build the CA through here.
import type { MasterKey } from '../../secrets/master-key.js';
import { CertificateWriter } from '../../store/certificate-writer.js';
import type { Db } from '../../store/db.js';
import type { Clock } from '../context.js';
import { CaAdmin } from './ca-admin.js';
import { SoftCaKeys, type CaKeyStore } from './ca-keys.js';
import { CaRegistry } from './ca-registry.js';
import { CertificateIssuer } from './certificate-issuer.js';
import { CertificateQueries } from './certificate-queries.js';
import { ContentSigners } from './content-signers.js';
import { CrlPublisher } from './crl-publisher.js';
import { masterKeyArchive } from './key-archive.js';
import { KeyRecovery } from './key-recovery.js';
import { OcspCache } from './ocsp-cache.js';
import { OcspResponder } from './ocsp-responder.js';
import { OcspSigners } from './ocsp-signers.js';
import { pkiSettings, type PkiConfig } from './pki-config.js';
import { Revocation } from './revocation.js';
import { BusStatusChanges, LocalStatusChanges, type StatusChanges } from './status-changes.js';
import type { Bus } from '../cluster/bus.js';

export interface Pki {
  /** The hierarchy: create, import, list; CA certificates and chains. */
  cas: CaAdmin;
  /** Issue from a CSR, for a card's public key, or with an archived key. */
  issuer: CertificateIssuer;
  /** Suspend, reinstate, revoke. */
  revocation: Revocation;
  /** Each CA's CRL, and the timer that keeps it fresh. */
  crls: CrlPublisher;
  ocsp: OcspResponder;
  keyRecovery: KeyRecovery;
  /** Search, read, download issued certificates. */
  certificates: CertificateQueries;
  /** Each issuing CA's PIV content signer (signs cards' CHUID and Security Object). */
  contentSigners: ContentSigners;
}

export interface PkiDeps {
  db: Db;
  /** Encrypts soft CA keys and archived keys at rest. */
  masterKey: MasterKey;
  clock: Clock;
  config: PkiConfig;
  /** Where CA keys live; default: soft keys sealed by the master key. */
  caKeys?: CaKeyStore;
  /** How status changes reach the OCSP caches; default: through `bus`, or this process only. */
  statusChanges?: StatusChanges;
  /**
   * Word between the servers sharing the database: status changes, and "the CA list changed" so
   * every server's next signature sees a new or imported CA at once (not after its 30 s re-read).
   */
  bus?: Bus;
}

export function createPki(deps: PkiDeps): Pki {
  const { db, clock } = deps;
  const settings = pkiSettings(deps.config);
  const keys = deps.caKeys ?? new SoftCaKeys(deps.masterKey);
  const archive = masterKeyArchive(deps.masterKey);
  const registry = new CaRegistry({ db, keys, externalUrl: settings.externalUrl });
  const crls = new CrlPublisher({ db, cas: registry, clock, validityHours: settings.crlValidityHours });
  const bus = deps.bus;
  // A CA created or imported here: this server and the others read the list again.
  const hierarchy = {
    forget: () => {
      registry.forget();
      bus?.publish('cache', 'ca');
    },
  };
  bus?.subscribe('cache', (name, fromHere) => {
    if (name === 'ca' && !fromHere) registry.forget();
    // Another server made a new content signer: the next card here reads it.
    if (name === 'content-signer' && !fromHere) contentSigners.forget();
  });
  const contentSigners = new ContentSigners({
    db,
    clock,
    keys,
    cas: registry,
    organization: settings.organization,
    algorithm: settings.contentSignerAlgorithm,
    onRotated: () => bus?.publish('cache', 'content-signer'),
  });
  const cas = new CaAdmin({ db, clock, keys, registry: hierarchy, crls, settings });
  const statusChanges = deps.statusChanges ?? (bus ? new BusStatusChanges(bus) : new LocalStatusChanges());
  const ocspCache = new OcspCache({ maxEntries: settings.ocspCacheEntries });
  statusChanges.subscribe((change) => ocspCache.invalidate(change));
  // A content signer's certificate revoked or suspended: no card is signed by it from now on.
  statusChanges.subscribe((change) => contentSigners.statusChanged(change));
  // Words may have been missed (the LISTEN connection dropped): re-read the CA list, drop answers.
  bus?.onResync(() => {
    registry.forget();
    ocspCache.clear();
    contentSigners.forget();
  });
  const ocspSigners = new OcspSigners({
    db,
    keys,
    clock,
    algorithm: settings.ocspSignerAlgorithm,
    validityHours: settings.ocspSignerValidityHours,
    // Answers signed by the previous responder stay valid, but new ones carry the new certificate.
    onRollover: (caId) => void statusChanges.announce({ caId, serial: null }),
  });
  return {
    cas,
    issuer: new CertificateIssuer({
      cas: registry,
      store: new CertificateWriter(db),
      archive,
      clock,
      subjectTemplate: settings.subjectTemplate,
      certificatePolicies: settings.certificatePolicies,
    }),
    revocation: new Revocation({ db, clock, crls, statusChanges }),
    crls,
    ocsp: new OcspResponder({
      db,
      cas: registry,
      signers: ocspSigners,
      cache: ocspCache,
      clock,
      validitySeconds: settings.ocspValiditySeconds,
    }),
    keyRecovery: new KeyRecovery({ db, clock, archive, chains: cas }),
    certificates: new CertificateQueries({ db }),
    contentSigners,
  };
}
