//! AVX2 matrix–matrix tiles (Q4_0, Q4_1, Q5_0, Q8_0, Q4_K, Q6_K): `R` weight rows × `C` activation rows at once, for batched
//! prompt processing. Each weight block is unpacked once for all `C` tokens and each
//! activation block loaded once for all `R` rows (the idea of ggml's `vec_dot` with
//! `nrc > 1` and llamafile's tinyBLAS), while every output keeps exactly the float
//! operations of the single-row kernel in `super` — the same products of scales, the same
//! fused multiply-adds into one 8-lane accumulator per output, block by block, and the same
//! final reduction — so each tile result is bit-identical to [`super::vec_dot`]'s. Only
//! integer sums (exact) are regrouped.

use std::arch::x86_64::*;

use super::super::super::q4_0::BlockQ4_0;
use super::super::super::q4_1::BlockQ4_1;
use super::super::super::q4_k::BlockQ4K;
use super::super::super::q5_0::BlockQ5_0;
use super::super::super::q6_k::BlockQ6K;
use super::super::super::q8_0::BlockQ8_0;
use super::super::super::q8_1::BlockQ8_1;
use super::super::super::q8_k::BlockQ8K;
use super::super::super::{RawBlock, as_blocks};
use super::super::{DotFn, TileFn};
use super::{
    bytes_from_bits, h2f, h2f_pair, hsum_ps, k4_mins_prod, k4_scales_mins, ld16u, ld32i, ld32u,
    mul_sum_us8, nibbles, scale_products, shuffle_one,
};
use crate::GgmlType;

/// The AVX2 tile kernel for `ty`, if there is one and the CPU has the features.
pub(crate) fn dot_tile(ty: GgmlType) -> Option<TileFn> {
    if !super::detected() {
        return None;
    }
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
pub(super) fn drive<W: RawBlock, X: RawBlock, const R: usize, const C: usize>(
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
    ($($name:ident => $imp:ident ( $w:ty, $x:ty ) [$r:literal x $c:literal] $([$d:literal x 1])?, $one:ident;)*) => {$(
        fn $name(w: &[u8], wb: usize, x: &[u8], xb: usize, out: &mut [f32]) {
            $(if x.len() == xb {
                // One token (decode): `$d` rows at a time, `$d` independent accumulators.
                return drive::<$w, $x, $d, 1>(
                    w,
                    wb,
                    x,
                    xb,
                    out,
                    // SAFETY: as below.
                    |ws, xs| unsafe { $imp::<$d, 1>(ws, xs) },
                    super::$one,
                );
            })?
            drive::<$w, $x, $r, $c>(
                w,
                wb,
                x,
                xb,
                out,
                // SAFETY: only handed out by `dot_tile`, after `detected()` confirmed
                // AVX2, FMA and F16C on this CPU.
                |ws, xs| unsafe { $imp::<$r, $c>(ws, xs) },
                super::$one,
            )
        }
    )*};
}

tile_wrappers! {
    tile_q4_0 => q4_0(BlockQ4_0, BlockQ8_0) [2 x 4] [4 x 1], dot_q4_0;
    tile_q4_1 => q4_1(BlockQ4_1, BlockQ8_1) [2 x 4] [4 x 1], dot_q4_1;
    tile_q5_0 => q5_0(BlockQ5_0, BlockQ8_0) [2 x 4] [4 x 1], dot_q5_0;
    tile_q8_0 => q8_0(BlockQ8_0, BlockQ8_0) [2 x 4] [4 x 1], dot_q8_0;
    tile_q4_k => q4_k(BlockQ4K, BlockQ8K) [2 x 2], dot_q4_k;
    tile_q6_k => q6_k(BlockQ6K, BlockQ8K) [2 x 2], dot_q6_k;
}

/// The `R` weight rows after a tile's, which follow them in memory. With one token
/// (decode) the tile fetches them line by line, a few per block, while it computes its own,
/// so memory sees one sequential stream: `R` interleaved row streams defeat the hardware
/// prefetchers when the weights come from DRAM (decode then ran slower than with the
/// single-row kernel), and fetching a whole group at once stalled on the miss buffers.
pub(super) struct NextRows {
    start: *const u8,
    lines: usize,
    per_block: usize,
}

impl NextRows {
    #[inline(always)]
    pub(super) fn after<W, const R: usize>(w: &[&[W]; R]) -> Self {
        let group = R * std::mem::size_of_val(w[0]);
        let lines = group.div_ceil(64);
        NextRows {
            start: w[0].as_ptr().cast::<u8>().wrapping_add(group),
            lines,
            per_block: lines.div_ceil(w[0].len().max(1)),
        }
    }

    /// The lines due at block `b`.
    #[inline(always)]
    pub(super) fn fetch(&self, b: usize) {
        for line in b * self.per_block..((b + 1) * self.per_block).min(self.lines) {
            // SAFETY: a hint; it never faults, whatever the address.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(self.start.wrapping_add(64 * line).cast()) };
        }
    }
}

/// Blocks per row, checked equal across the tile (the driver hands out whole rows).
#[inline(always)]
pub(super) fn blocks<W, X, const R: usize, const C: usize>(w: &[&[W]; R], x: &[&[X]; C]) -> usize {
    let n = w[0].len();
    assert!(w.iter().all(|r| r.len() == n) && x.iter().all(|r| r.len() == n));
    n
}

// ---------------------------------------------------------------------------
// 32-element blocks against Q8_0 / Q8_1.

/// Q4_0 and Q8_0: `acc = fma(d_w · d_x, Σ w·x, acc)` per block, where the signed product
/// goes through `maddubs` as `|w| · sign(x, w)` (as `mul_sum_i8`); `load` gives a block's
/// f16 scale and its quants.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn signed_tile<W, const R: usize, const C: usize>(
    w: [&[W]; R],
    x: [&[BlockQ8_0]; C],
    load: impl Fn(&W) -> ([u8; 2], __m256i),
) -> [[f32; C]; R] {
    let n = blocks(&w, &x);
    // One token: fetch the next rows as one stream (see `NextRows`).
    let next = (C == 1).then(|| NextRows::after(&w));
    let mut acc = [[_mm256_setzero_ps(); C]; R];
    for b in 0..n {
        if let Some(next) = &next {
            next.fetch(b);
        }
        let qy: [__m256i; C] = std::array::from_fn(|c| ld32i(&x[c][b].qs));
        let wq: [([u8; 2], __m256i); R] = std::array::from_fn(|r| load(&w[r][b]));
        let d = scale_products::<R, C>(wq.map(|(d, _)| d), std::array::from_fn(|c| x[c][b].d));
        for r in 0..R {
            let qx = wq[r].1;
            let ax = _mm256_sign_epi8(qx, qx);
            for c in 0..C {
                let s = mul_sum_us8(ax, _mm256_sign_epi8(qy[c], qx));
                acc[r][c] = _mm256_fmadd_ps(_mm256_broadcast_ss(&d[r][c]), s, acc[r][c]);
            }
        }
    }
    acc.map(|row| row.map(|a| hsum_ps(a)))
}

#[target_feature(enable = "avx2,fma,f16c")]
fn q4_0<const R: usize, const C: usize>(
    w: [&[BlockQ4_0]; R],
    x: [&[BlockQ8_0]; C],
) -> [[f32; C]; R] {
    let off = _mm256_set1_epi8(8);
    signed_tile(w, x, |bw| (bw.d, _mm256_sub_epi8(nibbles(&bw.qs), off)))
}

#[target_feature(enable = "avx2,fma,f16c")]
fn q5_0<const R: usize, const C: usize>(
    w: [&[BlockQ5_0]; R],
    x: [&[BlockQ8_0]; C],
) -> [[f32; C]; R] {
    let f0 = _mm256_set1_epi8(0xF0u8 as i8);
    signed_tile(w, x, |bw| {
        // Elements without their fifth bit get 0xF0 or'ed in: `q - 16` as i8.
        let hi = _mm256_andnot_si256(bytes_from_bits(bw.qh), f0);
        (bw.d, _mm256_or_si256(nibbles(&bw.qs), hi))
    })
}

#[target_feature(enable = "avx2,fma,f16c")]
fn q8_0<const R: usize, const C: usize>(
    w: [&[BlockQ8_0]; R],
    x: [&[BlockQ8_0]; C],
) -> [[f32; C]; R] {
    signed_tile(w, x, |bw| (bw.d, ld32i(&bw.qs)))
}

#[target_feature(enable = "avx2,fma,f16c")]
fn q4_1<const R: usize, const C: usize>(
    w: [&[BlockQ4_1]; R],
    x: [&[BlockQ8_1]; C],
) -> [[f32; C]; R] {
    const { assert!(C <= 4) };
    let n = blocks(&w, &x);
    // One token: fetch the next rows as one stream (see `NextRows`).
    let next = (C == 1).then(|| NextRows::after(&w));
    let mut acc = [[_mm256_setzero_ps(); C]; R];
    // Lane c of row r: Σ m_w · s_x for token c, added in block order from +0.0 (what lane 1
    // of the single kernel's `summs` holds).
    let mut summs = [_mm_setzero_ps(); R];
    for b in 0..n {
        if let Some(next) = &next {
            next.fetch(b);
        }
        let dx: [__m128; C] = std::array::from_fn(|c| h2f_pair(x[c][b].d, x[c][b].s));
        let mut xd = [0f32; 4];
        let mut xs = [0f32; 4];
        for c in 0..C {
            xd[c] = _mm_cvtss_f32(dx[c]);
            xs[c] = _mm_cvtss_f32(_mm_movehdup_ps(dx[c]));
        }
        // SAFETY: 4 readable floats; `loadu` has no alignment requirement.
        let xs4 = unsafe { _mm_loadu_ps(xs.as_ptr()) };
        let qy: [__m256i; C] = std::array::from_fn(|c| ld32i(&x[c][b].qs));
        for r in 0..R {
            let bw = &w[r][b];
            let dw = h2f_pair(bw.d, bw.m);
            let (wd, wm) = (_mm_cvtss_f32(dw), _mm_cvtss_f32(_mm_movehdup_ps(dw)));
            summs[r] = _mm_add_ps(summs[r], _mm_mul_ps(_mm_set1_ps(wm), xs4));
            let qx = nibbles(&bw.qs);
            for c in 0..C {
                let d = _mm256_set1_ps(wd * xd[c]);
                acc[r][c] = _mm256_fmadd_ps(d, mul_sum_us8(qx, qy[c]), acc[r][c]);
            }
        }
    }
    let mut out = [[0f32; C]; R];
    for r in 0..R {
        let mut s = [0f32; 4];
        // SAFETY: 4 writable floats; `storeu` has no alignment requirement.
        unsafe { _mm_storeu_ps(s.as_mut_ptr(), summs[r]) };
        for c in 0..C {
            out[r][c] = hsum_ps(acc[r][c]) + s[c];
        }
    }
    out
}

// ---------------------------------------------------------------------------
// K-quants against Q8_K: each weight super-block is unpacked once into eight 32-byte
// quant vectors and their eight i16 scale vectors, then used for every token.

/// The single Q4_K kernel's final reduction of its four-lane min accumulator.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn hsum_m(acc_m: __m128) -> f32 {
    let acc_m = _mm_add_ps(acc_m, _mm_movehl_ps(acc_m, acc_m));
    let acc_m = _mm_add_ss(acc_m, _mm_movehdup_ps(acc_m));
    _mm_cvtss_f32(acc_m)
}

#[target_feature(enable = "avx2,fma,f16c")]
fn q4_k<const R: usize, const C: usize>(w: [&[BlockQ4K]; R], x: [&[BlockQ8K]; C]) -> [[f32; C]; R] {
    q4_k_with(w, x, |acc, s, p| {
        _mm256_add_epi32(acc, _mm256_madd_epi16(s, p))
    })
}

/// The Q4_K tile with `madd_add(acc, s, p)` = `acc + madd(s, p)` (i16 pairs multiplied and
/// summed into i32 lanes, exactly): `madd` + `add` here, one `vpdpwssd` in the VNNI tiles.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn q4_k_with<const R: usize, const C: usize>(
    w: [&[BlockQ4K]; R],
    x: [&[BlockQ8K]; C],
    madd_add: impl Fn(__m256i, __m256i, __m256i) -> __m256i,
) -> [[f32; C]; R] {
    let n = blocks(&w, &x);
    let m4 = _mm256_set1_epi8(0xF);
    let mut acc = [[_mm256_setzero_ps(); C]; R];
    let mut acc_m = [[_mm_setzero_ps(); C]; R];
    for b in 0..n {
        let mut q = [[_mm256_setzero_si256(); 8]; R];
        let mut s = [[_mm256_setzero_si256(); 8]; R];
        let mut ms = [_mm256_setzero_si256(); R];
        for r in 0..R {
            let bw = &w[r][b];
            ms[r] = k4_scales_mins(&bw.scales);
            let sc128 = _mm256_castsi256_si128(ms[r]);
            let scales = _mm256_set_m128i(sc128, sc128);
            for (j, q4) in bw.qs.as_chunks::<32>().0.iter().enumerate() {
                let bits = ld32u(q4);
                q[r][2 * j] = _mm256_and_si256(bits, m4);
                q[r][2 * j + 1] = _mm256_and_si256(_mm256_srli_epi16::<4>(bits), m4);
                s[r][2 * j] = _mm256_shuffle_epi8(scales, shuffle_one(2 * j as i8));
                s[r][2 * j + 1] = _mm256_shuffle_epi8(scales, shuffle_one(2 * j as i8 + 1));
            }
        }
        for c in 0..C {
            let bx = &x[c][b];
            let q8 = bx.qs.as_chunks::<32>().0;
            let mut sumi = [_mm256_setzero_si256(); R];
            for (i, y) in q8.iter().enumerate() {
                let y = ld32i(y);
                for r in 0..R {
                    sumi[r] = madd_add(sumi[r], s[r][i], _mm256_maddubs_epi16(q[r][i], y));
                }
            }
            for r in 0..R {
                let bw = &w[r][b];
                let d = bx.d() * h2f(bw.d);
                let dmin = -bx.d() * h2f(bw.dmin);
                let prod = k4_mins_prod(ms[r], bx);
                acc_m[r][c] = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(prod), acc_m[r][c]);
                acc[r][c] =
                    _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi[r]), acc[r][c]);
            }
        }
    }
    let mut out = [[0f32; C]; R];
    for r in 0..R {
        for c in 0..C {
            out[r][c] = hsum_ps(acc[r][c]) + hsum_m(acc_m[r][c]);
        }
    }
    out
}

#[target_feature(enable = "avx2,fma,f16c")]
fn q6_k<const R: usize, const C: usize>(w: [&[BlockQ6K]; R], x: [&[BlockQ8K]; C]) -> [[f32; C]; R] {
    q6_k_with(w, x, |acc, s, p| {
        _mm256_add_epi32(acc, _mm256_madd_epi16(s, p))
    })
}

/// The Q6_K tile with `madd_add` as in [`q4_k_with`] (the quants are at most 63, so the
/// `maddubs` pairs stay below 2¹⁵ and both forms are exact).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn q6_k_with<const R: usize, const C: usize>(
    w: [&[BlockQ6K]; R],
    x: [&[BlockQ8K]; C],
    madd_add: impl Fn(__m256i, __m256i, __m256i) -> __m256i,
) -> [[f32; C]; R] {
    let n = blocks(&w, &x);
    let m3 = _mm256_set1_epi8(3);
    let m15 = _mm256_set1_epi8(15);
    let mut acc = [[_mm256_setzero_ps(); C]; R];
    for b in 0..n {
        let mut q = [[_mm256_setzero_si256(); 8]; R];
        let mut s = [[_mm256_setzero_si256(); 8]; R];
        let mut sc16 = [_mm256_setzero_si256(); R];
        for r in 0..R {
            let bw = &w[r][b];
            let scales = ld16u(&bw.scales.map(|s| s as u8));
            sc16[r] = _mm256_cvtepi8_epi16(scales);
            let ql = bw.ql.as_chunks::<32>().0;
            let qh = bw.qh.as_chunks::<32>().0;
            for j in 0..2 {
                let b1 = ld32u(&ql[2 * j]);
                let b2 = ld32u(&ql[2 * j + 1]);
                let bh = ld32u(&qh[j]);
                let h0 = _mm256_slli_epi16::<4>(_mm256_and_si256(bh, m3));
                let h1 = _mm256_slli_epi16::<2>(_mm256_and_si256(bh, _mm256_set1_epi8(12)));
                let h2 = _mm256_and_si256(bh, _mm256_set1_epi8(48));
                let h3 = _mm256_srli_epi16::<2>(_mm256_and_si256(bh, _mm256_set1_epi8(-64)));
                q[r][4 * j] = _mm256_or_si256(_mm256_and_si256(b1, m15), h0);
                q[r][4 * j + 1] = _mm256_or_si256(_mm256_and_si256(b2, m15), h1);
                q[r][4 * j + 2] =
                    _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16::<4>(b1), m15), h2);
                q[r][4 * j + 3] =
                    _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16::<4>(b2), m15), h3);
            }
            for i in 0..8 {
                // Scales 2i and 2i+1, eight times each, widened to i16.
                let i8_ = i as i8;
                let sh = _mm_set_epi64x(
                    i64::from_ne_bytes([2 * i8_ + 1; 8].map(|v| v as u8)),
                    i64::from_ne_bytes([2 * i8_; 8].map(|v| v as u8)),
                );
                s[r][i] = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales, sh));
            }
        }
        for c in 0..C {
            let bx = &x[c][b];
            let q8 = bx.qs.as_chunks::<32>().0;
            let bsums = ld32u(&bx.bsums);
            let mut sumi = [_mm256_setzero_si256(); R];
            for (i, y) in q8.iter().enumerate() {
                let y = ld32i(y);
                for r in 0..R {
                    sumi[r] = madd_add(sumi[r], s[r][i], _mm256_maddubs_epi16(q[r][i], y));
                }
            }
            for r in 0..R {
                // The `-32` offset of every quant, through the Q8_K group sums.
                let sub = _mm256_slli_epi32::<5>(_mm256_madd_epi16(bsums, sc16[r]));
                let sumi = _mm256_sub_epi32(sumi[r], sub);
                let d = bx.d() * h2f(w[r][b].d);
                acc[r][c] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc[r][c]);
            }
        }
    }
    acc.map(|row| row.map(|a| hsum_ps(a)))
}
