/**
 * Trains the float model by plain per-example SGD over shuffled pixels. Per-example updates
 * keep the sparse tables (one embedding row per character and position key) cheap to
 * train, which a dense minibatch optimizer would not.
 */
import { createRng } from '../prng';
import { neighbourFeatures, neighbourOffsets, NUM_NEIGHBOURS } from '../model-spec';
import { makeDataset, TRAIN_STRIDE, type TDataset } from './dataset';
import { backwardAndStep, createFloatModel, createScratch, forward, type TFloatModel } from './float-model';

export type TTrainOptions = {
  hidden: number;
  embed: number;
  epochs: number;
  trainCells: number;
  heldOutCells: number;
  learningRate: number;
  finalLearningRate: number;
  log?: (line: string) => void;
};

export type TTrainResult = {
  model: TFloatModel;
  train: TDataset;
  heldOut: TDataset;
  heldOutBitsPerPixel: number;
  seconds: number;
};

export function trainModel(opts: TTrainOptions): TTrainResult {
  const log = opts.log ?? (() => {});
  const started = performance.now();
  // A different seed name gives an independent stream: the held-out pictures are new ones.
  const train = makeDataset({ seedName: 'train', cells: opts.trainCells });
  const heldOut = makeDataset({ seedName: 'held-out', cells: opts.heldOutCells });
  log(
    `data: ${train.cells} training cells (${train.count} pixels), ${heldOut.cells} held-out cells (${heldOut.count} pixels)`,
  );
  const rng = createRng('init', 0);
  const model = createFloatModel(opts.hidden, opts.embed, rng);
  const scratch = createScratch(model);
  const offsets = neighbourOffsets(TRAIN_STRIDE);
  const feats = new Int32Array(NUM_NEIGHBOURS);
  const order = Int32Array.from({ length: train.count }, (_, i) => i);
  const totalSteps = opts.epochs * train.count;
  let step = 0;
  let lr = opts.learningRate;
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    // Fisher–Yates with the seeded generator: training is reproducible run to run.
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.below(i + 1);
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    let loss = 0;
    for (let n = 0; n < order.length; n++, step++) {
      const e = order[n]!;
      // Cosine decay from the initial to the final rate, recomputed every 4096 steps.
      if ((step & 4095) === 0) {
        lr =
          opts.finalLearningRate +
          0.5 * (opts.learningRate - opts.finalLearningRate) * (1 + Math.cos((Math.PI * step) / totalSteps));
      }
      const idx = train.index[e]!;
      const nf = neighbourFeatures(train.pixels, idx, offsets, feats);
      const cls = train.cls[e]!;
      const pos = train.pos[e]!;
      const key = train.key[e]!;
      const target = train.pixels[idx]!;
      forward(model, cls, pos, key, feats, nf, scratch);
      loss -= Math.log(Math.max(scratch.p[target]!, 1e-12));
      backwardAndStep(model, cls, pos, key, feats, nf, target, scratch, lr);
    }
    const heldBpp = bitsPerPixel(model, heldOut);
    log(
      `epoch ${epoch + 1}/${opts.epochs}: train ${(loss / order.length / Math.LN2).toFixed(4)} bits/pixel, ` +
        `held-out ${heldBpp.toFixed(4)} bits/pixel, ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  }
  const heldOutBitsPerPixel = bitsPerPixel(model, heldOut);
  return { model, train, heldOut, heldOutBitsPerPixel, seconds: (performance.now() - started) / 1000 };
}

/** Mean -log2 p(pixel | causal context, prompt) of the float model over a data set. */
export function bitsPerPixel(model: TFloatModel, data: TDataset): number {
  const scratch = createScratch(model);
  const offsets = neighbourOffsets(TRAIN_STRIDE);
  const feats = new Int32Array(NUM_NEIGHBOURS);
  let bits = 0;
  for (let e = 0; e < data.count; e++) {
    const idx = data.index[e]!;
    const nf = neighbourFeatures(data.pixels, idx, offsets, feats);
    forward(model, data.cls[e]!, data.pos[e]!, data.key[e]!, feats, nf, scratch);
    bits -= Math.log2(Math.max(scratch.p[data.pixels[idx]!]!, 1e-12));
  }
  return bits / data.count;
}
