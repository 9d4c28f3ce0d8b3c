// Finding and reading issued certificates: search by person, device, status, serial or subject;
// one certificate decoded for the operator; its PEM for download.
import { NotFoundError } from '../../domain/errors.js';
import { describeCertificate } from '../../pki/describe.js';
import { toPem } from '../../pki/pem.js';
import {
  getCertificate,
  searchCertificates,
  type CertificateQuery,
  type CertificateRecord,
} from '../../store/certificate-repo.js';
import type { Queryable } from '../../store/db.js';
import { certificateSummary, type CertificateDetail, type CertificateSummary } from './certificate-views.js';

export type { CertificateQuery } from '../../store/certificate-repo.js';

export class CertificateQueries {
  constructor(private readonly deps: { db: Queryable }) {}

  async search(q: CertificateQuery): Promise<{ items: CertificateSummary[]; total: number }> {
    const r = await searchCertificates(this.deps.db, q);
    return { items: r.items.map(certificateSummary), total: r.total };
  }

  async get(id: string): Promise<CertificateDetail> {
    const r = await this.#find(id);
    return { ...certificateSummary(r), pem: toPem(r.der), ...describeCertificate(r.der) };
  }

  async pem(id: string): Promise<string> {
    return toPem((await this.#find(id)).der);
  }

  async #find(id: string): Promise<CertificateRecord> {
    const r = await getCertificate(this.deps.db, id);
    if (!r) throw new NotFoundError('certificate', id);
    return r;
  }
}
