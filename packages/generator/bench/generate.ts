/**
 * Throughput of the reference generator, in-process and on a worker thread:
 *   npx tsx bench/generate.ts [--runs N]
 * Worker figures are wall-clock from the call and include starting the worker (and, from
 * TypeScript source, registering tsx in it), which is what a caller waits for.
 */
import { parseArgs } from 'node:util';
import { generate, generateInWorker, type TGenerateRequest } from '../src/index';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
const runs = Math.max(1, Number(values.runs));

const cases: { label: string; request: TGenerateRequest }[] = [
  { label: '"OK" 28x18', request: { prompt: 'OK', seed: 1 } },
  { label: '16 chars 224x18', request: { prompt: 'COOLANT SMOKE 16', seed: 2 } },
  {
    label: '64 chars 224x72',
    request: {
      prompt: 'THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG 0123456789 ■□●○▲ +-=',
      seed: 3,
      width: 224,
      height: 72,
    },
  },
  { label: '"BENCH" 256x256', request: { prompt: 'BENCH', seed: 4, width: 256, height: 256 } },
  { label: '"BENCH" 512x512', request: { prompt: 'BENCH', seed: 5, width: 512, height: 512 } },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function inWorker(request: TGenerateRequest) {
  const started = performance.now();
  let firstRowMs = 0;
  const r = await generateInWorker(request, {
    onRow: (y) => {
      if (y === 0) firstRowMs = performance.now() - started;
    },
  });
  return { firstRowMs, totalMs: performance.now() - started, pixels: r.width * r.height };
}

// Warm up the JIT and the model tables once so the first case is not charged for them.
generate({ prompt: 'WARM UP', seed: 0, width: 128, height: 128 });

const rows: string[][] = [];
for (const { label, request } of cases) {
  const local = Array.from({ length: runs }, () => {
    const r = generate(request);
    return { firstRowMs: r.timings.firstRowMs, totalMs: r.timings.totalMs, pixels: r.width * r.height };
  });
  const worker = [];
  for (let i = 0; i < runs; i++) worker.push(await inWorker(request));
  const pixels = local[0]!.pixels;
  const fmt = (xs: { firstRowMs: number; totalMs: number }[]) => [
    (pixels / (median(xs.map((x) => x.totalMs)) / 1000) / 1e6).toFixed(2),
    median(xs.map((x) => x.firstRowMs)).toFixed(2),
    median(xs.map((x) => x.totalMs)).toFixed(1),
  ];
  rows.push([label, String(pixels), ...fmt(local), ...fmt(worker)]);
}

const header = [
  'size',
  'pixels',
  'in-process Mpx/s',
  'first row ms',
  'total ms',
  'worker Mpx/s',
  'first row ms',
  'total ms',
];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) =>
  `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
console.log(`median of ${runs} runs, Node ${process.version}`);
console.log(line(header));
console.log(`|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 1) + '-' : '-'.repeat(w + 1) + ':')).join('|')}|`);
for (const r of rows) console.log(line(r));
