/**
 * Rewrites test/golden.json from the committed model. Run after retraining, and commit the
 * result with the new weights: the golden test then pins the new pictures.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { rasterSha256 } from '../checksum';
import { generate } from '../generate';
import { GOLDEN_REQUESTS } from '../golden-cases';
import { modelVersion } from '../model-info';
import { encodePng } from '../png';

const cases = GOLDEN_REQUESTS.map((request) => {
  const r = generate(request);
  return {
    request,
    width: r.width,
    height: r.height,
    rasterSha256: rasterSha256(r.pixels),
    pngSha256: createHash('sha256').update(encodePng(r)).digest('hex'),
    checksum: r.checksum,
  };
});
const out = new URL('../../test/golden.json', import.meta.url);
writeFileSync(out, `${JSON.stringify({ modelVersion: modelVersion(), cases }, null, 2)}\n`);
console.log(`wrote ${cases.length} golden cases for model ${modelVersion()}`);
