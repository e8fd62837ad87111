//! simd128 matrix–matrix tiles (Q4_0, Q4_1, Q5_0, Q8_0, Q4_K, Q6_K): `R` weight rows × `C` activation
//! rows at once, for batched prompt processing, as the AVX2 tiles do on x86-64. Each weight
//! block is unpacked and widened to i16 once for all `C` tokens, each activation block
//! widened once for all `R` rows (the single-row kernels in `super` widen both for every
//! pair). Every output keeps exactly the single kernel's float steps — the same four-lane
//! i32 block sums (integer sums, regrouped only within a lane, are exact), the same
//! `convert · splat(d_w · d_x)` added into one f32x4 accumulator per output block by block,
//! the same final reduction — so each tile result is bit-identical to [`super::vec_dot`]'s.
//! The K-quant tiles keep each super-block's sums in integers to the end as the single
//! kernels do (any grouping of exact integer sums is the same integer), then take the
//! single kernels' float steps.
//!
//! A single token (decode) of Q4_1 is widened once for all rows ([`Wide`]); each row then
//! takes the single kernel's steps (SmolLM2 Q4_1 decode in Node about 39 → 42–44 tokens/s).

use core::arch::wasm32::*;

use super::super::super::q4_0::BlockQ4_0;
use super::super::super::q4_1::BlockQ4_1;
use super::super::super::q4_k::{BlockQ4K, mins_dot_bsums, scales_mins_k4};
use super::super::super::q5_0::BlockQ5_0;
use super::super::super::q6_k::BlockQ6K;
use super::super::super::q8_0::BlockQ8_0;
use super::super::super::q8_1::BlockQ8_1;
use super::super::super::q8_k::BlockQ8K;
use super::super::super::{RawBlock, as_blocks, f16_to_f32};
use super::super::{DotFn, TileFn};
use super::{fifth_bits, halves, hsum_f, hsum_i, ld, ldi, nibbles};
use crate::GgmlType;

/// The simd128 tile kernel for `ty`, if there is one.
pub(crate) fn dot_tile(ty: GgmlType) -> Option<TileFn> {
    use GgmlType::*;
    Some(match ty {
        Q4_0 => tile_q4_0,
        Q4_1 => tile_q4_1,
        Q5_0 => tile_q5_0,
        Q8_0 => tile_q8_0,
        Q4_K => tile_q4_k,
        Q6_K => tile_q6_k,
        _ => return None,
    })
}

/// Walks `rows × toks` in `R × C` tiles (row-major `out[r · toks + t]`), the edges with
/// the single-row kernel `one` (the same results, by construction of the tiles).
#[inline(always)]
fn drive<W: RawBlock, X: RawBlock, const R: usize, const C: usize>(
    w: &[u8],
    wb: usize,
    x: &[u8],
    xb: usize,
    out: &mut [f32],
    tile: impl Fn([&[W]; R], [&[X]; C]) -> [[f32; C]; R],
    one: DotFn,
) {
    let rows = w.len() / wb;
    let toks = x.len() / xb;
    let wrow = |r: usize| &w[r * wb..(r + 1) * wb];
    let xrow = |t: usize| &x[t * xb..(t + 1) * xb];
    let full_r = rows / R * R;
    let full_c = toks / C * C;
    for r0 in (0..full_r).step_by(R) {
        let ws: [&[W]; R] = std::array::from_fn(|i| as_blocks(wrow(r0 + i)));
        for t0 in (0..full_c).step_by(C) {
            let xs: [&[X]; C] = std::array::from_fn(|j| as_blocks(xrow(t0 + j)));
            let res = tile(ws, xs);
            for (i, row) in res.iter().enumerate() {
                let o = (r0 + i) * toks + t0;
                out[o..o + C].copy_from_slice(row);
            }
        }
        for t in full_c..toks {
            for i in 0..R {
                out[(r0 + i) * toks + t] = one(wrow(r0 + i), xrow(t));
            }
        }
    }
    for r in full_r..rows {
        for t in 0..toks {
            out[r * toks + t] = one(wrow(r), xrow(t));
        }
    }
}

macro_rules! tile_wrappers {
    ($($name:ident => $imp:ident ( $w:ty, $x:ty ) [$r:literal x $c:literal] $(wide $widen:ident, $row:ident)?, $one:ident;)*) => {$(
        fn $name(w: &[u8], wb: usize, x: &[u8], xb: usize, out: &mut [f32]) {
            // One token (decode): its blocks widened once for every row.
            $(if x.len() == xb {
                return one_token::<$w, $x>(w, wb, as_blocks(x), out, $widen, $row);
            })?
            drive::<$w, $x, $r, $c>(w, wb, x, xb, out, $imp::<$r, $c>, |w, x| {
                super::$one(as_blocks(w), as_blocks(x))
            })
        }
    )*};
}

// Two by two: the widened operands and accumulators of a larger tile would not fit the 16
// vector registers engines give wasm on x86-64, and spilling costs more than it saves.
tile_wrappers! {
    tile_q4_0 => q4_0(BlockQ4_0, BlockQ8_0) [2 x 2], q4_0;
    tile_q4_1 => q4_1(BlockQ4_1, BlockQ8_1) [2 x 2] wide wide_q8_1, row_q4_1, q4_1;
    tile_q5_0 => q5_0(BlockQ5_0, BlockQ8_0) [2 x 2], q5_0;
    tile_q8_0 => q8_0(BlockQ8_0, BlockQ8_0) [2 x 2], q8_0;
    tile_q4_k => q4_k(BlockQ4K, BlockQ8K) [2 x 2], q4_k;
    tile_q6_k => q6_k(BlockQ6K, BlockQ8K) [2 x 2], q6_k;
}

/// A token's activation block, widened once for every weight row of a single-token call:
/// its scale and `s` as f32, its quants as four i16x8. Per row the single Q4_1 kernel
/// converts four f16 scales and widens both operands; half of that is the token's, the same
/// for every row. (Done for Q4_1 only: for Q4_0, Q5_0 and Q8_0, which convert two scales
/// per block, reading the widened token was no faster in Node than widening it per row.)
#[derive(Clone, Copy)]
struct Wide {
    d: f32,
    s: f32,
    q: [v128; 4],
}

std::thread_local! {
    /// The current single-token call's widened token (kept: no allocation per call).
    static WIDE: std::cell::RefCell<Vec<Wide>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// One token `x` against every row of `w` (`wb` bytes each) into `out[r]`: `widen` once per
/// token block, then `row` per weight row.
#[inline(always)]
fn one_token<W: RawBlock, X: RawBlock>(
    w: &[u8],
    wb: usize,
    x: &[X],
    out: &mut [f32],
    widen: fn(&X) -> Wide,
    row: fn(&[W], &[Wide]) -> f32,
) {
    WIDE.with_borrow_mut(|wide| {
        wide.clear();
        wide.extend(x.iter().map(widen));
        for (r, o) in out.iter_mut().enumerate() {
            *o = row(as_blocks(&w[r * wb..(r + 1) * wb]), wide);
        }
    });
}

fn wide_q8_1(bx: &BlockQ8_1) -> Wide {
    let (d, q) = q8_1x(bx);
    Wide {
        d,
        s: f16_to_f32(bx.s),
        q,
    }
}

/// One weight row against a widened token: per block `acc += convert(Σ w·x) · (d_w · d_x)`,
/// the single kernel's float steps (and its integer sums, regrouped exactly).
#[inline(always)]
fn row32<W>(w: &[W], x: &[Wide], load: impl Fn(&W) -> (f32, [v128; 4])) -> v128 {
    let mut acc = f32x4_splat(0.0);
    for (bw, xw) in w.iter().zip(x) {
        let (wd, q) = load(bw);
        let s = block_sum(&q, &xw.q);
        acc = f32x4_add(
            acc,
            f32x4_mul(f32x4_convert_i32x4(s), f32x4_splat(wd * xw.d)),
        );
    }
    acc
}

fn row_q4_1(w: &[BlockQ4_1], x: &[Wide]) -> f32 {
    // `Σ m_w · s_x` in block order from +0.0, as the single kernel's `summs`.
    let summs = w
        .iter()
        .zip(x)
        .fold(0f32, |s, (bw, xw)| s + f16_to_f32(bw.m) * xw.s);
    hsum_f(row32(w, x, q4_1w)) + summs
}

/// Blocks per row, checked equal across the tile (the driver hands out whole rows).
#[inline(always)]
fn blocks<W, X, const R: usize, const C: usize>(w: &[&[W]; R], x: &[&[X]; C]) -> usize {
    let n = w[0].len();
    assert!(w.iter().all(|r| r.len() == n) && x.iter().all(|r| r.len() == n));
    n
}

/// 32 i8 quants (two halves) widened to four i16x8 vectors, in element order.
#[inline(always)]
fn widen(a: v128, b: v128) -> [v128; 4] {
    [
        i16x8_extend_low_i8x16(a),
        i16x8_extend_high_i8x16(a),
        i16x8_extend_low_i8x16(b),
        i16x8_extend_high_i8x16(b),
    ]
}

/// The single kernel's block sum `dot16(a0, y0) + dot16(a1, y1)` from widened operands:
/// lane `l` holds the same products, summed in another (exact, integer) order.
#[inline(always)]
fn block_sum(w: &[v128; 4], x: &[v128; 4]) -> v128 {
    i32x4_add(
        i32x4_add(i32x4_dot_i16x8(w[0], x[0]), i32x4_dot_i16x8(w[1], x[1])),
        i32x4_add(i32x4_dot_i16x8(w[2], x[2]), i32x4_dot_i16x8(w[3], x[3])),
    )
}

/// Weight blocks against Q8_0 or Q8_1 activations: `load` and `xload` give a block's `d`
/// and widened quants; returns the per-output accumulators before their reduction.
#[inline(always)]
fn tile32<W, X, const R: usize, const C: usize>(
    w: [&[W]; R],
    x: [&[X]; C],
    load: impl Fn(&W) -> (f32, [v128; 4]),
    xload: impl Fn(&X) -> (f32, [v128; 4]),
) -> [[v128; C]; R] {
    let n = blocks(&w, &x);
    let mut acc = [[f32x4_splat(0.0); C]; R];
    for b in 0..n {
        let xs: [(f32, [v128; 4]); C] = std::array::from_fn(|c| xload(&x[c][b]));
        for r in 0..R {
            let (wd, q) = load(&w[r][b]);
            for c in 0..C {
                let s = block_sum(&q, &xs[c].1);
                let d = wd * xs[c].0;
                acc[r][c] = f32x4_add(acc[r][c], f32x4_mul(f32x4_convert_i32x4(s), f32x4_splat(d)));
            }
        }
    }
    acc
}

#[inline(always)]
fn q8_0x(bx: &BlockQ8_0) -> (f32, [v128; 4]) {
    let (y0, y1) = halves(&bx.qs);
    (f16_to_f32(bx.d), widen(y0, y1))
}

#[inline(always)]
fn q8_1x(bx: &BlockQ8_1) -> (f32, [v128; 4]) {
    let (y0, y1) = halves(&bx.qs);
    (f16_to_f32(bx.d), widen(y0, y1))
}

/// A Q4_0 block's scale and its quants (`nibble - 8`), widened.
#[inline(always)]
fn q4_0w(bw: &BlockQ4_0) -> (f32, [v128; 4]) {
    let eight = i8x16_splat(8);
    let (lo, hi) = nibbles(&bw.qs);
    (
        f16_to_f32(bw.d),
        widen(i8x16_sub(lo, eight), i8x16_sub(hi, eight)),
    )
}

/// A Q5_0 block's scale and its quants, widened.
#[inline(always)]
fn q5_0w(bw: &BlockQ5_0) -> (f32, [v128; 4]) {
    let f0 = u8x16_splat(0xF0);
    let (lo, hi) = nibbles(&bw.qs);
    let (b0, b1) = fifth_bits(bw.qh);
    // Without the fifth bit the quant is `nibble - 16`: or in 0xF0.
    let lo = v128_or(lo, v128_andnot(f0, b0));
    let hi = v128_or(hi, v128_andnot(f0, b1));
    (f16_to_f32(bw.d), widen(lo, hi))
}

/// A Q4_1 block's scale and its (unsigned) quants, widened.
#[inline(always)]
fn q4_1w(bw: &BlockQ4_1) -> (f32, [v128; 4]) {
    let (lo, hi) = nibbles(&bw.qs);
    (f16_to_f32(bw.d), widen(lo, hi))
}

fn q4_0<const R: usize, const C: usize>(
    w: [&[BlockQ4_0]; R],
    x: [&[BlockQ8_0]; C],
) -> [[f32; C]; R] {
    let acc = tile32(w, x, q4_0w, q8_0x);
    acc.map(|row| row.map(hsum_f))
}

fn q5_0<const R: usize, const C: usize>(
    w: [&[BlockQ5_0]; R],
    x: [&[BlockQ8_0]; C],
) -> [[f32; C]; R] {
    let acc = tile32(w, x, q5_0w, q8_0x);
    acc.map(|row| row.map(hsum_f))
}

fn q8_0<const R: usize, const C: usize>(
    w: [&[BlockQ8_0]; R],
    x: [&[BlockQ8_0]; C],
) -> [[f32; C]; R] {
    let acc = tile32(w, x, q8_0x, q8_0x);
    acc.map(|row| row.map(hsum_f))
}

fn q4_1<const R: usize, const C: usize>(
    w: [&[BlockQ4_1]; R],
    x: [&[BlockQ8_1]; C],
) -> [[f32; C]; R] {
    let acc = tile32(w, x, q4_1w, q8_1x);
    // `Σ m_w · s_x` per output, in block order from +0.0, as the single kernel's `summs`.
    let mut out = [[0f32; C]; R];
    for r in 0..R {
        for c in 0..C {
            let summs = w[r]
                .iter()
                .zip(x[c])
                .fold(0f32, |s, (bw, bx)| s + f16_to_f32(bw.m) * f16_to_f32(bx.s));
            out[r][c] = hsum_f(acc[r][c]) + summs;
        }
    }
    out
}

/// 32 activation quants of a Q8_K block (`q8[i]`, `q8[i + 1]`: 16 each), widened.
#[inline(always)]
fn q8k_32(bx: &BlockQ8K, i: usize) -> [v128; 4] {
    let q8 = bx.qs.as_chunks::<16>().0;
    widen(ldi(&q8[i]), ldi(&q8[i + 1]))
}

/// The single `q4_k`'s integer sums per super-block: for each 64-element chunk `c`, the low
/// nibbles (scale `2c`) and the high nibbles (scale `2c + 1`) against their 32 quants.
fn q4_k<const R: usize, const C: usize>(w: [&[BlockQ4K]; R], x: [&[BlockQ8K]; C]) -> [[f32; C]; R] {
    let n = blocks(&w, &x);
    let mut sumf = [[0f32; C]; R];
    for b in 0..n {
        let sm: [([u8; 8], [u8; 8]); R] = std::array::from_fn(|r| scales_mins_k4(&w[r][b].scales));
        let mut isum = [[i32x4_splat(0); C]; R];
        for c in 0..4 {
            for half in 0..2 {
                let xs: [[v128; 4]; C] =
                    std::array::from_fn(|t| q8k_32(&x[t][b], 4 * c + 2 * half));
                for r in 0..R {
                    let q4 = &w[r][b].qs.as_chunks::<16>().0[2 * c..2 * c + 2];
                    let (l0, h0) = nibbles(&q4[0]);
                    let (l1, h1) = nibbles(&q4[1]);
                    let q = if half == 0 {
                        widen(l0, l1)
                    } else {
                        widen(h0, h1)
                    };
                    let sc = i32x4_splat(sm[r].0[2 * c + half] as i32);
                    for t in 0..C {
                        isum[r][t] = i32x4_add(isum[r][t], i32x4_mul(block_sum(&q, &xs[t]), sc));
                    }
                }
            }
        }
        for r in 0..R {
            let bw = &w[r][b];
            for t in 0..C {
                let bx = &x[t][b];
                let d = f16_to_f32(bw.d) * bx.d();
                let dmin = f16_to_f32(bw.dmin) * bx.d();
                sumf[r][t] +=
                    d * hsum_i(isum[r][t]) as f32 - dmin * mins_dot_bsums(&sm[r].1, bx) as f32;
            }
        }
    }
    sumf
}

/// The single `q6_k`'s integer sums per super-block: 16-element groups `8h + 2k + p`,
/// taken two at a time (`p = 0, 1`), each times its scale.
fn q6_k<const R: usize, const C: usize>(w: [&[BlockQ6K]; R], x: [&[BlockQ8K]; C]) -> [[f32; C]; R] {
    let n = blocks(&w, &x);
    let m4 = u8x16_splat(0x0F);
    let m3 = u8x16_splat(3);
    let off = i8x16_splat(32);
    let mut sumf = [[0f32; C]; R];
    for b in 0..n {
        let mut isum = [[i32x4_splat(0); C]; R];
        for h in 0..2 {
            for k in 0..4 {
                // Groups g0 = 8h + 2k and g0 + 1 (p = 0, 1), 32 quants.
                let g0 = 8 * h + 2 * k;
                let xs: [[v128; 4]; C] = std::array::from_fn(|t| q8k_32(&x[t][b], g0));
                for r in 0..R {
                    let bw = &w[r][b];
                    let ql = bw.ql.as_chunks::<16>().0;
                    let qh = bw.qh.as_chunks::<16>().0;
                    let q: [v128; 2] = std::array::from_fn(|p| {
                        // Element group k of the single kernel's (h, p) step.
                        let src = ld(&ql[4 * h + (k % 2) * 2 + p]);
                        let lo = if k < 2 {
                            v128_and(src, m4)
                        } else {
                            u8x16_shr(src, 4)
                        };
                        let hb = ld(&qh[2 * h + p]);
                        let hi = i8x16_shl(v128_and(u8x16_shr(hb, 2 * k as u32), m3), 4);
                        i8x16_sub(v128_or(lo, hi), off)
                    });
                    let q = widen(q[0], q[1]);
                    // The two groups' products, each times its own scale.
                    for t in 0..C {
                        let s0 = i32x4_add(
                            i32x4_dot_i16x8(q[0], xs[t][0]),
                            i32x4_dot_i16x8(q[1], xs[t][1]),
                        );
                        let s1 = i32x4_add(
                            i32x4_dot_i16x8(q[2], xs[t][2]),
                            i32x4_dot_i16x8(q[3], xs[t][3]),
                        );
                        let sc0 = i32x4_splat(bw.scales[g0] as i32);
                        let sc1 = i32x4_splat(bw.scales[g0 + 1] as i32);
                        isum[r][t] = i32x4_add(isum[r][t], i32x4_mul(s0, sc0));
                        isum[r][t] = i32x4_add(isum[r][t], i32x4_mul(s1, sc1));
                    }
                }
            }
        }
        for r in 0..R {
            for t in 0..C {
                let bx = &x[t][b];
                sumf[r][t] += f16_to_f32(w[r][b].d) * bx.d() * hsum_i(isum[r][t]) as f32;
            }
        }
    }
    sumf
}
