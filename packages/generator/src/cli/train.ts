/**
 * npm run train -w @coolant/generator [-- --epochs N --cells N --hidden N --embed N --out PATH]
 *
 * Renders the training and held-out pictures, trains the model, quantizes it and writes
 * model/weights.bin. Prints held-out bits per pixel for the float and the integer model.
 * The training is deterministic for a given machine; the committed weights, not the
 * trainer, pin what inference computes.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { foldWeights, WEIGHTS_URL } from '../model';
import { encodeWeights } from '../weights-file';
import { trainModel } from '../train/train-model';
import { quantizeModel } from '../train/quantize';
import { depictionReport, integerBitsPerPixel } from '../train/evaluate';

const { values } = parseArgs({
  options: {
    epochs: { type: 'string', default: '6' },
    cells: { type: 'string', default: '16000' },
    'held-out-cells': { type: 'string', default: '2000' },
    hidden: { type: 'string', default: '32' },
    embed: { type: 'string', default: '8' },
    lr: { type: 'string', default: '0.05' },
    'final-lr': { type: 'string', default: '0.002' },
    out: { type: 'string', default: fileURLToPath(WEIGHTS_URL) },
    'depiction-samples': { type: 'string', default: '20' },
  },
});

const num = (name: keyof typeof values) => {
  const v = Number(values[name]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
};

const started = performance.now();
const result = trainModel({
  hidden: num('hidden'),
  embed: num('embed'),
  epochs: num('epochs'),
  trainCells: num('cells'),
  heldOutCells: num('held-out-cells'),
  learningRate: num('lr'),
  finalLearningRate: num('final-lr'),
  log: (line) => console.log(line),
});
const trainSeconds = (performance.now() - started) / 1000;
const weights = quantizeModel(result.model, result.train, {
  epochs: num('epochs'),
  trainCells: result.train.cells,
  heldOutCells: result.heldOut.cells,
  floatHeldOutBitsPerPixel: Number(result.heldOutBitsPerPixel.toFixed(5)),
});
const bytes = encodeWeights(weights);
const model = foldWeights(bytes);
const intBpp = integerBitsPerPixel(model, result.heldOut);
writeFileSync(values.out, bytes);
console.log(`held-out bits/pixel: float ${result.heldOutBitsPerPixel.toFixed(4)}, integer ${intBpp.toFixed(4)}`);
console.log(`training took ${trainSeconds.toFixed(1)} s`);
console.log(`wrote ${values.out}: ${bytes.length} bytes, model version ${model.version}`);
const depiction = depictionReport(model, num('depiction-samples'));
console.log(
  `depiction: ${(depiction.rate * 100).toFixed(1)} % of ${depiction.total} sampled cells match their character best`,
);
if (depiction.worst.length > 0) console.log(`weakest: ${depiction.worst.join(', ')}`);
