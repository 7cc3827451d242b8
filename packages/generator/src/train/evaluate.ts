import { CELL_HEIGHT, CELL_WIDTH, DRAWABLE_CHARACTERS, PALETTE_SIZE } from '../constants';
import { extractCell, judgeCell } from '../depiction';
import { generate } from '../generate';
import { pixelLogits } from '../integer-inference';
import { LOGIT_FRACTION_BITS, type TIntModel } from '../model';
import { neighbourOffsets, POSITION_KEYS } from '../model-spec';
import { TRAIN_STRIDE, type TDataset } from './dataset';

/**
 * Held-out bits per pixel of the integer model at temperature 1: its Q8 log2 logits turned
 * into probabilities (in float; this is a report, not inference).
 */
export function integerBitsPerPixel(model: TIntModel, data: TDataset): number {
  const offsets = neighbourOffsets(TRAIN_STRIDE);
  const acc = new Int32Array(model.hidden);
  const logits = new Int32Array(PALETTE_SIZE);
  let bits = 0;
  for (let e = 0; e < data.count; e++) {
    const idx = data.index[e]!;
    pixelLogits(
      model,
      data.pos[e]!,
      data.cls[e]! * POSITION_KEYS + data.key[e]!,
      data.pixels,
      idx,
      offsets,
      acc,
      logits,
    );
    const max = Math.max(...logits);
    let sum = 0;
    for (const l of logits) sum += 2 ** ((l - max) / 2 ** LOGIT_FRACTION_BITS);
    bits -= (logits[data.pixels[idx]!]! - max) / 2 ** LOGIT_FRACTION_BITS - Math.log2(sum);
  }
  return bits / data.count;
}

/** Draws every drawable character `samples` times (one line of cells, default settings) and judges each cell. */
export function depictionReport(
  model: TIntModel,
  samples: number,
  sampling: { temperature?: number; topK?: number } = {},
  seedBase = 1_000_000,
) {
  const chars = Array.from(DRAWABLE_CHARACTERS);
  const perChar = new Map<string, { ok: number; n: number; confusions: Map<string, number> }>();
  for (let s = 0; s < samples; s++) {
    // Characters in a shuffled-by-seed order on one line, so neighbours vary too.
    const line = chars.slice(s % chars.length).concat(chars.slice(0, s % chars.length));
    for (let i = 0; i < line.length; i += 16) {
      const prompt = line.slice(i, i + 16).join('');
      const n = Array.from(prompt).length;
      const r = generate(
        { prompt, seed: seedBase + s, width: n * CELL_WIDTH, height: CELL_HEIGHT, ...sampling },
        undefined,
        model,
      );
      Array.from(prompt).forEach((ch, col) => {
        const v = judgeCell(extractCell(r.pixels, r.width, col, 0), ch);
        const st = perChar.get(ch) ?? { ok: 0, n: 0, confusions: new Map() };
        st.n++;
        if (v.correct) st.ok++;
        else st.confusions.set(v.seen, (st.confusions.get(v.seen) ?? 0) + 1);
        perChar.set(ch, st);
      });
    }
  }
  let ok = 0;
  let total = 0;
  for (const st of perChar.values()) {
    ok += st.ok;
    total += st.n;
  }
  const worst = [...perChar.entries()]
    .filter(([, st]) => st.ok < st.n)
    .sort((a, b) => a[1].ok / a[1].n - b[1].ok / b[1].n)
    .slice(0, 8)
    .map(([ch, st]) => `${ch} ${st.ok}/${st.n} (as ${[...st.confusions.keys()].join('')})`);
  return { rate: total === 0 ? 0 : ok / total, total, worst, perChar };
}
