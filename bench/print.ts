// Card rendering benchmark (issue 13): how long one layout takes to render to PDF (both sides), for
// the built-in PIV layout with a photo and for a layout with every barcode symbology and a logo.
// The budget is 50 ms per layout; the run fails (exit code 1) over it. Options: --runs N (default 50).
import { cpus, loadavg } from 'node:os';
import type { CardData, LayoutDefinition } from '../src/domain/card-layout.js';
import { PIV_LAYOUT } from '../src/domain/piv-layout.js';
import { renderCard } from '../src/print/card-renderer.js';
import { makeJpeg, makePng } from '../test/support/images.js';

const BUDGET_MS = 50;

const data: CardData = {
  person: {
    displayName: 'Alice Archer',
    username: 'alice',
    email: 'alice@example.test',
    properties: { affiliation: 'Contractor', employeeId: 'D-2001', department: 'Engineering' },
  },
  card: {
    serial: 'TSR-0001-7F3A9C',
    expiresAt: '2027-12-06T00:00:00.000Z',
    issuedAt: '2026-12-06T00:00:00.000Z',
    issuer: 'Tessera',
  },
};

function barcodesLayout(logo: string): LayoutDefinition {
  const t = {
    font: 'Helvetica' as const,
    size: 7,
    color: '#000000',
    align: 'left' as const,
    uppercase: false,
  };
  return {
    orientation: 'landscape',
    front: {
      background: '#F4F6FA',
      elements: [
        { kind: 'image', name: 'logo', x: 60, y: 3, width: 22, height: 10, data: logo },
        { kind: 'photo', name: 'photo', x: 60, y: 15, width: 22, height: 30 },
        {
          kind: 'text',
          name: 'name',
          x: 3,
          y: 3,
          width: 50,
          height: 6,
          value: { from: 'person', field: 'displayName' },
          ...t,
          size: 10,
        },
        {
          kind: 'text',
          name: 'id',
          x: 3,
          y: 10,
          width: 50,
          height: 5,
          value: { from: 'property', name: 'employeeId' },
          ...t,
        },
        {
          kind: 'barcode',
          name: 'qr',
          x: 32,
          y: 32,
          width: 18,
          height: 18,
          symbology: 'qr',
          value: { from: 'card', field: 'serial' },
          color: '#000000',
        },
      ],
    },
    back: {
      background: '#FFFFFF',
      elements: [
        {
          kind: 'barcode',
          name: 'pdf417',
          x: 3,
          y: 3,
          width: 79,
          height: 20,
          symbology: 'pdf417',
          value: { from: 'person', field: 'email' },
          color: '#000000',
        },
        {
          kind: 'barcode',
          name: 'code128',
          x: 3,
          y: 30,
          width: 79,
          height: 12,
          symbology: 'code128',
          value: { from: 'card', field: 'serial' },
          color: '#000000',
        },
      ],
    },
  };
}

const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;

export async function run(args: string[]): Promise<void> {
  const i = args.indexOf('--runs');
  const runs = i >= 0 ? Number(args[i + 1]) : 50;
  const photo = await makeJpeg(600, 800);
  const logo = makePng(200, 90, (x, y) => [(x * 5) % 256, (y * 7) % 256, 128]).toString('base64');
  const cases: [string, LayoutDefinition][] = [
    ['PIV (FIPS 201-3) + photo', PIV_LAYOUT],
    ['barcodes + logo + photo', barcodesLayout(logo)],
  ];
  console.log(
    `print benchmark: ${runs} renders per layout, both sides; ${cpus().length} CPUs, load ${loadavg()[0]!.toFixed(2)}`,
  );
  console.log('layout                        median ms   p95 ms   max ms   bytes   budget');
  let over = false;
  for (const [name, layout] of cases) {
    await renderCard({ layout, data, photo }); // warm-up: fonts and the barcode encoder load once
    const times: number[] = [];
    let bytes = 0;
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      bytes = (await renderCard({ layout, data, photo })).length;
      times.push(performance.now() - t0);
    }
    const med = percentile(times, 50);
    const p95 = percentile(times, 95);
    const ok = med <= BUDGET_MS;
    over ||= !ok;
    console.log(
      `${name.padEnd(30)}${med.toFixed(1).padStart(9)}${p95.toFixed(1).padStart(9)}${Math.max(...times)
        .toFixed(1)
        .padStart(9)}${String(bytes).padStart(8)}   ${ok ? 'ok' : 'OVER'} (≤ ${BUDGET_MS} ms)`,
    );
  }
  if (over) process.exitCode = 1;
}
