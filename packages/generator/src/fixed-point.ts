/**
 * Integer helpers for inference. Math.exp, Math.pow and friends are not required to be
 * correctly rounded, so two engines may disagree in the last bit; everything here is
 * integer arithmetic (BigInt where a value could pass 2^53), which every engine computes
 * the same way.
 */

/** Fraction bits of the power-of-two table. */
export const POW2_TABLE_BITS = 16;

function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = n;
  let y = (x + 1n) >> 1n;
  while (y < x) {
    x = y;
    y = (x + n / x) >> 1n;
  }
  return x;
}

/**
 * POW2_NEG[f] = round(2^16 · 2^(-f/256)) for f = 0..255, computed exactly in Q62:
 * 2^(-1/256) is 0.5 square-rooted eight times, and its powers are taken by repeated
 * multiplication; the truncation error stays below 2^-53, far under the final rounding.
 */
export const POW2_NEG: Int32Array = (() => {
  const one = 1n << 62n;
  let r = one >> 1n;
  for (let i = 0; i < 8; i++) r = isqrt(r << 62n);
  const table = new Int32Array(256);
  let p = one;
  for (let f = 0; f < 256; f++) {
    table[f] = Number((p * (1n << BigInt(POW2_TABLE_BITS)) + (one >> 1n)) >> 62n);
    p = (p * r) >> 62n;
  }
  return table;
})();

/** Temperature as the sampler uses it: an integer number of thousandths. */
export function temperatureMilli(temperature: number): number {
  return Math.round(temperature * 1000);
}

/** Q12 reciprocal of the temperature, floor(4096 · 1000 / milli), by integer division. */
export function inverseTemperatureQ12(milli: number): number {
  if (!Number.isInteger(milli) || milli <= 0) throw new Error(`temperature ${milli}/1000 has no inverse`);
  return Number(4_096_000n / BigInt(milli));
}
