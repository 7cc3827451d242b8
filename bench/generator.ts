// Reference generator: a 64×64 image on one core (in-process, and on a
// worker thread as the console and agent run it), total time and first-row
// latency, against the goal (≤ 1 s, ≤ 50 ms). Also the model's size and its
// held-out bits per pixel, measured here on a fresh held-out set.
//   npx tsx bench/generator.ts [--runs 7]
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generate, generateInWorker, modelVersion } from '../packages/generator/src/index';
import { loadModel } from '../packages/generator/src/model';
import { integerBitsPerPixel } from '../packages/generator/src/train/evaluate';
import { makeDataset } from '../packages/generator/src/train/dataset';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' } } });
const runs = Number(values.runs);
const request = { prompt: 'GPU OK 64X', seed: 1, width: 64, height: 64 };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const inProc: { total: number; first: number }[] = [];
for (let i = 0; i < runs; i++) {
  const r = generate({ ...request, seed: i + 1 });
  inProc.push({ total: r.timings.totalMs, first: r.timings.firstRowMs });
}
const worker: { total: number; first: number; wall: number }[] = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  let first = -1;
  const r = await generateInWorker(
    { ...request, seed: i + 1 },
    { onRow: () => (first = first < 0 ? performance.now() - t0 : first) },
  );
  worker.push({ total: r.timings.totalMs, first: r.timings.firstRowMs, wall: performance.now() - t0 });
}
const weights = statSync(join(import.meta.dirname, '../packages/generator/model/weights.bin')).size;
const model = loadModel() as unknown as Record<string, unknown>;
const params = Object.values(model).reduce<number>(
  (n, v) => n + (ArrayBuffer.isView(v) ? (v as unknown as { length: number }).length : 0),
  0,
);
const heldOut = makeDataset({ seedName: 'bench-held-out', cells: 2000 });
const bpp = integerBitsPerPixel(loadModel(), heldOut);

console.log(`\nReference generator, 64×64 (${64 * 64} pixels), median of ${runs} runs, one core\n`);
console.log('| how | total ms | first row ms | goal |');
console.log('|---|---|---|---|');
console.log(
  `| in-process | ${median(inProc.map((r) => r.total)).toFixed(1)} | ${median(inProc.map((r) => r.first)).toFixed(2)} | ≤ 1000 / ≤ 50 |`,
);
console.log(
  `| worker thread (generation itself) | ${median(worker.map((r) => r.total)).toFixed(1)} | ${median(worker.map((r) => r.first)).toFixed(2)} | ≤ 1000 / ≤ 50 |`,
);
console.log(
  `| worker thread, wall incl. thread start | ${median(worker.map((r) => r.wall)).toFixed(1)} | ${median(worker.map((r) => r.first)).toFixed(2)} (in worker) | |`,
);
console.log(
  `\nmodel ${modelVersion().slice(0, 16)}…: ${params.toLocaleString()} integer parameters after folding, weights file ${(weights / 1024).toFixed(0)} KiB, held-out bits/pixel (integer model, 2,000 new cells) ${bpp.toFixed(4)}`,
);
