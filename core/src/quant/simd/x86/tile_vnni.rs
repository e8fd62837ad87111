//! AVX-512 VNNI matrix–matrix tiles (Q4_0, Q4_1, Q5_0, Q8_0 against Q8_0/Q8_1), used
//! instead of the AVX2 ones in `tile.rs` where the CPU has AVX-512 F/BW/VL/VNNI.
//!
//! The AVX2 tiles spend most of their time on integer work per weight row × token ×
//! block: two `vpsignb` (signed × signed products through `maddubs`), `maddubs`, and a
//! `madd` to widen to i32. Here each pair is one 256-bit `vpdpbusd` (unsigned × signed
//! bytes summed in fours into i32 lanes): the weight quants are made unsigned by an
//! offset once per row and block (`w + o`, `o` = 8 for Q4_0, 16 for Q5_0, 128 for Q8_0),
//! and the offset's contribution `o · Σ x` over each group of four is subtracted exactly
//! by starting the accumulation from `-o · Σ x` — computed once per token and block, with
//! one more `vpdpbusd`, and shared by every row. The i32 lanes are the AVX2 kernels' lanes
//! (the same four bytes summed, exactly), and the float work per output — one FMA of the
//! block's scale product into one 8-lane accumulator, block by block, then the same final
//! reduction — is theirs, so every result is bit-identical to the single-row kernels.
//! Weights are read in place (GGUF layout); nothing is repacked.

use std::arch::x86_64::*;

use super::super::super::q4_0::BlockQ4_0;
use super::super::super::q4_1::BlockQ4_1;
use super::super::super::q5_0::BlockQ5_0;
use super::super::super::q8_0::BlockQ8_0;
use super::super::super::q8_1::BlockQ8_1;
use super::super::TileFn;
use super::tile::{blocks, drive};
use super::{bytes_from_bits, h2f, h2f_pair, hsum_ps, ld32i, nibbles};
use crate::GgmlType;

/// The VNNI tile kernel for `ty`, if there is one and the CPU has the features.
pub(crate) fn dot_tile(ty: GgmlType) -> Option<TileFn> {
    if !super::super::x86_avx512::detected() {
        return None;
    }
    kernel(ty)
}

/// The kernel for `ty` without the detection check.
fn kernel(ty: GgmlType) -> Option<TileFn> {
    use GgmlType::*;
    Some(match ty {
        Q4_0 => tile_q4_0,
        Q4_1 => tile_q4_1,
        Q5_0 => tile_q5_0,
        Q8_0 => tile_q8_0,
        _ => return None,
    })
}

/// For tests: the kernel for `ty` when this CPU has the features, whatever
/// `HEARTH_NO_AVX512` or `HEARTH_NO_SIMD` say.
#[cfg(test)]
pub(crate) fn kernel_if_supported(ty: GgmlType) -> Option<TileFn> {
    if super::super::x86_avx512::supported() {
        kernel(ty)
    } else {
        None
    }
}

macro_rules! tile_wrappers {
    ($($name:ident => $imp:ident ( $w:ty, $x:ty ) [$r:literal x $c:literal], $one:ident;)*) => {$(
        fn $name(w: &[u8], wb: usize, x: &[u8], xb: usize, out: &mut [f32]) {
            drive::<$w, $x, $r, $c>(
                w,
                wb,
                x,
                xb,
                out,
                // SAFETY: only handed out by `kernel`, whose callers confirmed AVX2, FMA,
                // F16C and AVX-512 F/BW/VL/VNNI on this CPU.
                |ws, xs| unsafe { $imp::<$r, $c>(ws, xs) },
                super::$one,
            )
        }
    )*};
}

tile_wrappers! {
    tile_q4_0 => q4_0(BlockQ4_0, BlockQ8_0) [4 x 4], dot_q4_0;
    tile_q4_1 => q4_1(BlockQ4_1, BlockQ8_1) [4 x 4], dot_q4_1;
    tile_q5_0 => q5_0(BlockQ5_0, BlockQ8_0) [4 x 4], dot_q5_0;
    tile_q8_0 => q8_0(BlockQ8_0, BlockQ8_0) [4 x 4], dot_q8_0;
}

/// Signed weights against Q8_0: `load` gives a block's scale and its quants plus `off`
/// (unsigned bytes); per block and output, `acc = fma(d_w · d_x, Σ w·x, acc)`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn offset_tile<W, const R: usize, const C: usize>(
    w: [&[W]; R],
    x: [&[BlockQ8_0]; C],
    off: i8,
    load: impl Fn(&W) -> (f32, __m256i),
) -> [[f32; C]; R] {
    let n = blocks(&w, &x);
    let zero = _mm256_setzero_si256();
    let off = _mm256_set1_epi8(off);
    let mut acc = [[_mm256_setzero_ps(); C]; R];
    for b in 0..n {
        let xd: [f32; C] = std::array::from_fn(|c| h2f(x[c][b].d));
        let qy: [__m256i; C] = std::array::from_fn(|c| ld32i(&x[c][b].qs));
        // `-off · Σ x` per group of four bytes (|Σ| ≤ 4 · 128 · 128: no overflow).
        let corr: [__m256i; C] =
            std::array::from_fn(|c| _mm256_sub_epi32(zero, _mm256_dpbusd_epi32(zero, off, qy[c])));
        for r in 0..R {
            let (wd, qw) = load(&w[r][b]);
            for c in 0..C {
                let d = _mm256_set1_ps(wd * xd[c]);
                let s = _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(corr[c], qw, qy[c]));
                acc[r][c] = _mm256_fmadd_ps(d, s, acc[r][c]);
            }
        }
    }
    acc.map(|row| row.map(|a| hsum_ps(a)))
}

#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn q8_0<const R: usize, const C: usize>(
    w: [&[BlockQ8_0]; R],
    x: [&[BlockQ8_0]; C],
) -> [[f32; C]; R] {
    // `w ^ 0x80` read as unsigned is `w + 128`.
    let flip = _mm256_set1_epi8(0x80u8 as i8);
    offset_tile(w, x, 0x80u8 as i8, |bw| {
        (h2f(bw.d), _mm256_xor_si256(ld32i(&bw.qs), flip))
    })
}

#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn q4_0<const R: usize, const C: usize>(
    w: [&[BlockQ4_0]; R],
    x: [&[BlockQ8_0]; C],
) -> [[f32; C]; R] {
    // The stored nibble is `w + 8`.
    offset_tile(w, x, 8, |bw| (h2f(bw.d), nibbles(&bw.qs)))
}

#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn q5_0<const R: usize, const C: usize>(
    w: [&[BlockQ5_0]; R],
    x: [&[BlockQ8_0]; C],
) -> [[f32; C]; R] {
    let b4 = _mm256_set1_epi8(0x10);
    // Nibble plus the fifth bit is `w + 16`.
    offset_tile(w, x, 16, |bw| {
        let hi = _mm256_and_si256(bytes_from_bits(bw.qh), b4);
        (h2f(bw.d), _mm256_or_si256(nibbles(&bw.qs), hi))
    })
}

/// Q4_1 (unsigned quants, no offset needed) as the AVX2 tile, with `vpdpbusd` for the
/// `maddubs` + `madd` pair.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn q4_1<const R: usize, const C: usize>(
    w: [&[BlockQ4_1]; R],
    x: [&[BlockQ8_1]; C],
) -> [[f32; C]; R] {
    const { assert!(C <= 4) };
    let n = blocks(&w, &x);
    let zero = _mm256_setzero_si256();
    let mut acc = [[_mm256_setzero_ps(); C]; R];
    // Lane c of row r: Σ m_w · s_x for token c, added in block order from +0.0 (what lane 1
    // of the single kernel's `summs` holds).
    let mut summs = [_mm_setzero_ps(); R];
    for b in 0..n {
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
                let s = _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(zero, qx, qy[c]));
                acc[r][c] = _mm256_fmadd_ps(d, s, acc[r][c]);
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
