/**
 * The scalar reference for the WebGL prototype: GGUF Q4_1 / Q8_0 rows
 * dequantized from the same bytes and multiplied in float64.
 */

import { BLOCK_BYTES, type QuantType } from './matmul.js';

/** IEEE half → number. */
export function f16(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Row `r` of a `cols`-wide matrix of `type`, as numbers. */
export function dequantizeRow(
  type: QuantType,
  bytes: Uint8Array,
  cols: number,
  r: number,
  out: Float64Array,
): void {
  const bb = BLOCK_BYTES[type];
  const base = r * (cols / 32) * bb;
  for (let b = 0; b < cols / 32; b++) {
    const o = base + b * bb;
    const d = f16((bytes[o] ?? 0) | ((bytes[o + 1] ?? 0) << 8));
    if (type === 'Q4_1') {
      const m = f16((bytes[o + 2] ?? 0) | ((bytes[o + 3] ?? 0) << 8));
      for (let j = 0; j < 16; j++) {
        const q = bytes[o + 4 + j] ?? 0;
        out[b * 32 + j] = (q & 15) * d + m;
        out[b * 32 + j + 16] = (q >> 4) * d + m;
      }
    } else {
      for (let j = 0; j < 32; j++) out[b * 32 + j] = (((bytes[o + 2 + j] ?? 0) << 24) >> 24) * d;
    }
  }
}

/**
 * `out` (token-major) = x · Wᵀ in float64, and per output the sum of |w·x| terms
 * (the scale that rounding errors of any summation order are proportional to).
 */
export function referenceMatmul(
  type: QuantType,
  bytes: Uint8Array,
  rows: number,
  cols: number,
  x: Float32Array,
  nTok: number,
): { out: Float64Array; absSum: Float64Array } {
  const out = new Float64Array(nTok * rows);
  const absSum = new Float64Array(nTok * rows);
  const w = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    dequantizeRow(type, bytes, cols, r, w);
    for (let t = 0; t < nTok; t++) {
      let s = 0;
      let a = 0;
      for (let c = 0; c < cols; c++) {
        const p = (w[c] ?? 0) * (x[t * cols + c] ?? 0);
        s += p;
        a += Math.abs(p);
      }
      out[t * rows + r] = s;
      absSum[t * rows + r] = a;
    }
  }
  return { out, absSum };
}

/** Largest |got − want| / absSum over all outputs (0 when identical). */
export function maxScaledError(
  got: ArrayLike<number>,
  want: Float64Array,
  absSum: Float64Array,
): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs((got[i] ?? Number.NaN) - (want[i] ?? 0)) / Math.max(absSum[i] ?? 0, 1e-30);
    // A NaN output is the worst possible error.
    if (!(e <= worst)) worst = Number.isNaN(e) ? Number.POSITIVE_INFINITY : e;
  }
  return worst;
}

/** A deterministic activation vector: N(0,1)-like values from a seeded xorshift. */
export function activations(n: number, seed: number): Float32Array {
  const x = new Float32Array(n);
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
  // Sum of 4 uniforms, centred and scaled: close enough to normal for a test input.
  for (let i = 0; i < n; i++) x[i] = (next() + next() + next() + next() - 2) * Math.sqrt(3);
  return x;
}
