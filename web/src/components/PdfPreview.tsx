// A card's PDF shown as images, one per side (reference 002: the print step and the layout editor
// show what is printed). The server's renderer makes the PDF; pdf.js draws its pages here — the
// Content-Security-Policy forbids framing or embedding the PDF itself. pdf.js is loaded only when a
// preview is shown, and its worker comes from this origin (CSP: default-src 'self').
import { useEffect, useRef, useState } from 'react';
import { toApiError, type ApiError } from '../api';
import { ErrorPanel } from './ErrorPanel';

const SIDES = ['Front', 'Back'];

async function loadPdfJs() {
  const [pdfjs, worker] = await Promise.all([
    import('pdfjs-dist'),
    import('pdfjs-dist/build/pdf.worker.min.mjs?url'),
  ]);
  pdfjs.GlobalWorkerOptions.workerSrc = worker.default;
  return pdfjs;
}

/** Draws every page of `load()`'s PDF; `label` names the figure ("Card printed on …"). */
export function PdfPreview({
  load,
  deps,
  label,
}: {
  load: () => Promise<ArrayBuffer>;
  deps: readonly unknown[];
  label: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [pages, setPages] = useState(0);
  const [busy, setBusy] = useState(true);

  useEffect(() => {
    let cancelled = false;
    setBusy(true);
    void (async () => {
      try {
        const [pdfjs, bytes] = await Promise.all([loadPdfJs(), load()]);
        const doc = await pdfjs.getDocument({ data: new Uint8Array(bytes), isEvalSupported: false }).promise;
        const canvases: HTMLCanvasElement[] = [];
        for (let i = 1; i <= doc.numPages; i++) {
          const page = await doc.getPage(i);
          // About 300 px across a card side: sharp enough to read the name and see the photo.
          const base = page.getViewport({ scale: 1 });
          const viewport = page.getViewport({ scale: (300 / base.width) * (window.devicePixelRatio || 1) });
          const canvas = document.createElement('canvas');
          canvas.width = Math.round(viewport.width);
          canvas.height = Math.round(viewport.height);
          canvas.className = 'pdf-preview__page';
          canvas.setAttribute('role', 'img');
          canvas.setAttribute('aria-label', `${SIDES[i - 1] ?? `Page ${i}`} of the card`);
          await page.render({ canvas, viewport }).promise;
          canvases.push(canvas);
        }
        await doc.destroy();
        if (cancelled || !host.current) return;
        host.current.replaceChildren(...canvases);
        setPages(canvases.length);
        setError(null);
      } catch (e) {
        if (!cancelled) setError(toApiError(e));
      } finally {
        if (!cancelled) setBusy(false);
      }
    })();
    return () => {
      cancelled = true;
    };
  }, deps);

  return (
    <figure className="pdf-preview" aria-label={label} aria-busy={busy} data-pages={pages}>
      <div ref={host} className="pdf-preview__pages" />
      {busy && pages === 0 && <p className="muted small">Drawing the card…</p>}
      <ErrorPanel error={error} title="The card could not be shown" />
    </figure>
  );
}
