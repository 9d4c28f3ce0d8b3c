// The demo's virtual card printer (`tessera start`): it "prints" each job as the PDF it received,
// written to a folder the console names, so a newcomer can open what a card printer would have
// printed. Like the demo's virtual readers, only the device is virtual: the server renders, the
// agent submits and follows the job exactly as with an IPP printer.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PrinterInfo } from '../cards/transport/agent-protocol.js';
import type { JobProgress } from '../print/ipp-client.js';

export class FolderPrinter {
  constructor(
    readonly name: string,
    readonly encoder: string | null,
    /** Where each job is written, as NNNN-<job name>.pdf. */
    readonly folder: string,
    /** Called once a job is written (the demo feeds the next blank card into the encoder). */
    private readonly onPrinted?: (file: string) => Promise<void> | void,
  ) {}

  snapshot(): PrinterInfo {
    return { name: this.name, encoder: this.encoder, state: 'idle', reasons: [], message: this.folder };
  }

  async print(
    pdf: Buffer,
    opts: { jobName: string; onProgress?: (p: JobProgress) => void },
  ): Promise<JobProgress> {
    // An IPP Everywhere printer given application/pdf refuses anything else (document-format).
    if (pdf.subarray(0, 5).toString('latin1') !== '%PDF-')
      return { jobId: 0, state: 'aborted', reasons: ['document-format-error'], message: 'Not a PDF' };
    mkdirSync(this.folder, { recursive: true });
    const jobId = readdirSync(this.folder).filter((f) => f.endsWith('.pdf')).length + 1;
    const safe = opts.jobName.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 80);
    const file = join(this.folder, `${String(jobId).padStart(4, '0')}-${safe}.pdf`);
    opts.onProgress?.({ jobId, state: 'processing', reasons: [], message: `Writing ${file}` });
    writeFileSync(file, pdf, { mode: 0o600 });
    await this.onPrinted?.(file);
    return { jobId, state: 'completed', reasons: [], message: `Printed to ${file}` };
  }
}
