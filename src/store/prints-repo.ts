// What issuance printed (the print step shows it) and each operator's remembered printer and
// encoder per workstation (migration 042).
import type { Queryable } from './db.js';
import { iso } from './sql.js';

export interface IssuancePrint {
  jobId: string;
  printerId: string;
  layoutId: string | null;
  ippJobId: number | null;
  sha256: string;
  pdf: Buffer;
  createdAt: string;
}

/** Keeps the document a job sent to the printer; a retried print replaces it. */
export async function putIssuancePrint(tx: Queryable, p: Omit<IssuancePrint, 'createdAt'>, at: Date) {
  await tx.query(
    `INSERT INTO issuance_prints (job_id, printer_id, layout_id, ipp_job_id, sha256, pdf, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (job_id) DO UPDATE SET printer_id = $2, layout_id = $3, ipp_job_id = $4, sha256 = $5,
       pdf = $6, created_at = $7`,
    [p.jobId, p.printerId, p.layoutId, p.ippJobId, p.sha256, p.pdf, at],
  );
}

export async function getIssuancePrint(db: Queryable, jobId: string): Promise<IssuancePrint | null> {
  const rows = await db.query<{
    job_id: string;
    printer_id: string;
    layout_id: string | null;
    ipp_job_id: number | null;
    sha256: string;
    pdf: Uint8Array;
    created_at: Date;
  }>('SELECT * FROM issuance_prints WHERE job_id = $1', [jobId]);
  const r = rows[0];
  return r
    ? {
        jobId: r.job_id,
        printerId: r.printer_id,
        layoutId: r.layout_id,
        ippJobId: r.ipp_job_id,
        sha256: r.sha256,
        pdf: Buffer.from(r.pdf),
        createdAt: iso(r.created_at)!,
      }
    : null;
}

export interface PrinterPreference {
  agentId: string;
  printer: string;
  encoder: string;
  updatedAt: string;
}

export async function putPrinterPreference(
  tx: Queryable,
  userId: string,
  p: Omit<PrinterPreference, 'updatedAt'>,
  at: Date,
): Promise<void> {
  const params: unknown[] = [];
  await tx.query(printerPreferenceUpsert(params, userId, p, at), params);
}

/**
 * The upsert of putPrinterPreference as SQL text (its parameters go on `params`), for a statement
 * that writes more (an issuance's start); with `when` (a SQL condition), only when it holds.
 */
export function printerPreferenceUpsert(
  params: unknown[],
  userId: string,
  p: Omit<PrinterPreference, 'updatedAt'>,
  at: Date,
  when?: string,
): string {
  const v = (x: unknown) => `$${params.push(x)}`;
  return `INSERT INTO printer_preferences (user_id, agent_id, printer, encoder, updated_at)
     SELECT ${v(userId)}::uuid, ${v(p.agentId)}::uuid, ${v(p.printer)}::text, ${v(p.encoder)}::text,
            ${v(at)}::timestamptz ${when ? `WHERE ${when}` : ''}
     ON CONFLICT (user_id, agent_id) DO UPDATE
       SET printer = EXCLUDED.printer, encoder = EXCLUDED.encoder, updated_at = EXCLUDED.updated_at`;
}

/** The operator's choices, one per workstation, the latest first. */
export async function listPrinterPreferences(db: Queryable, userId: string): Promise<PrinterPreference[]> {
  const rows = await db.query<{ agent_id: string; printer: string; encoder: string; updated_at: Date }>(
    `SELECT agent_id, printer, encoder, updated_at FROM printer_preferences WHERE user_id = $1
      ORDER BY updated_at DESC, agent_id`,
    [userId],
  );
  return rows.map((r) => ({
    agentId: r.agent_id,
    printer: r.printer,
    encoder: r.encoder,
    updatedAt: iso(r.updated_at)!,
  }));
}
