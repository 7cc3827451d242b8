import { createHash } from 'node:crypto';

/**
 * xoshiro128** on 32-bit integers (Blackman & Vigna). Only Math.imul, shifts and xors, so
 * every JavaScript engine produces the same stream.
 */
export class Xoshiro128 {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(state: readonly [number, number, number, number]) {
    [this.s0, this.s1, this.s2, this.s3] = state.map((v) => v | 0) as [number, number, number, number];
    // The all-zero state is a fixed point of the generator.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next output as an unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /**
   * Uniform integer in [0, n) for 1 <= n <= 2^31, by masking and rejection: exact, and free
   * of the float multiply that a `Math.floor(u * n)` draw would need.
   */
  below(n: number): number {
    if (n <= 1) return 0;
    let mask = n - 1;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    for (;;) {
      const r = (this.nextUint32() & mask) >>> 0;
      if (r < n) return r;
    }
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Domain separation, so this stream never coincides with another use of SHA-256 on a prompt. */
const SEED_DOMAIN = 'coolant-generator/v1';

/**
 * The sampler's starting state for (prompt, seed):
 * SHA-256( UTF-8("coolant-generator/v1") || 0x00 || UTF-8(prompt) || 0x00 || uint32-BE(seed) ),
 * whose first 16 bytes, read as four little-endian uint32 words, are the xoshiro128** state.
 */
export function seedState(prompt: string, seed: number): [number, number, number, number] {
  const seedBytes = Buffer.alloc(4);
  seedBytes.writeUInt32BE(seed >>> 0);
  const digest = createHash('sha256')
    .update(SEED_DOMAIN, 'utf8')
    .update(Buffer.from([0]))
    .update(prompt, 'utf8')
    .update(Buffer.from([0]))
    .update(seedBytes)
    .digest();
  return [digest.readUInt32LE(0), digest.readUInt32LE(4), digest.readUInt32LE(8), digest.readUInt32LE(12)];
}

export function createRng(prompt: string, seed: number): Xoshiro128 {
  return new Xoshiro128(seedState(prompt, seed));
}
