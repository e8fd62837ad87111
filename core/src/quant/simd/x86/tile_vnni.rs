//! AVX-512 VNNI matrix–matrix tiles (Q4_0, Q4_1, Q5_0, Q8_0 against Q8_0/Q8_1; Q4_K and Q6_K
//! against Q8_K through `vpdpwssd`, below), used
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
//!
//! The offset types put two tokens in each 512-bit register (one `vpdpbusd`, conversion,
//! scale product and FMA for two outputs, lane for lane the 256-bit operations) and widen
//! their f16 scales four at a time with `vcvtph2ps`: prompt processing of SmolLM2-135M
//! Q8_0/Q4_0 on one Zen 4 core went from about 275 to 350 tokens/s (64-token prompts;
//! `hearth-bench measure`, 2026-12-07). Q4_1 stays on 256-bit registers, where it is
//! faster (about 300 against 285), and widens its scales four at a time too (about 300 →
//! 320).
//!
//! A single token (decode) goes through the `*_rows` kernels instead: four weight rows,
//! two per 512-bit register, against the token's block broadcast to both halves. The
//! single-row kernel is bound by its one accumulator's FMA chain; here two independent
//! chains serve four rows, and the next four rows are prefetched as one sequential stream
//! ([`NextRows`]). Decode on one Zen 4 core (`hearth-bench measure`, best of 6, 2026-12-07):
//! SmolLM2 Q4_0 about 112 → 131 tokens/s, Q4_1 105 → 112, Gemma-3 (mostly Q5_0) 55 → 61;
//! Q8_0 unchanged.

use std::arch::x86_64::*;

use super::super::super::q4_0::BlockQ4_0;
use super::super::super::q4_1::BlockQ4_1;
use super::super::super::q4_k::BlockQ4K;
use super::super::super::q5_0::BlockQ5_0;
use super::super::super::q6_k::BlockQ6K;
use super::super::super::q8_0::BlockQ8_0;
use super::super::super::q8_1::BlockQ8_1;
use super::super::super::q8_k::BlockQ8K;
use super::super::TileFn;
use super::super::x86_avx512::{hi_ps, ld2x32, offset_correction};
use super::tile::{NextRows, blocks, drive, q4_k_with, q6_k_with};
use super::{bytes_from_bits, h2f4, hsum_ps, ld32i, nibbles, scale_products};
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
        Q4_K => tile_q4_k,
        Q6_K => tile_q6_k,
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

/// Each type's tile function: `R × C` tiles, and with a `rows` kernel, a single token
/// (decode) four rows at a time through it.
macro_rules! tile_wrappers {
    ($($name:ident => $imp:ident ( $w:ty, $x:ty ) [$r:literal x $c:literal] $(rows $rows:ident)?, $one:ident;)*) => {$(
        fn $name(w: &[u8], wb: usize, x: &[u8], xb: usize, out: &mut [f32]) {
            $(if x.len() == xb {
                return drive::<$w, $x, 4, 1>(
                    w,
                    wb,
                    x,
                    xb,
                    out,
                    // SAFETY: as below.
                    |ws, [x]| unsafe { $rows(ws, x) }.map(|v| [v]),
                    super::$one,
                );
            })?
            drive::<$w, $x, $r, $c>(
                w,
                wb,
                x,
                xb,
                out,
                // SAFETY: only handed out by `kernel`, whose callers confirmed AVX2, FMA,
                // F16C and AVX-512 F/BW/VL/VNNI on this CPU.
                |ws, xs| unsafe { $imp(ws, xs) },
                super::$one,
            )
        }
    )*};
}

tile_wrappers! {
    tile_q4_0 => q4_0(BlockQ4_0, BlockQ8_0) [4 x 4] rows q4_0_rows, dot_q4_0;
    tile_q4_1 => q4_1(BlockQ4_1, BlockQ8_1) [4 x 4] rows q4_1_rows, dot_q4_1;
    tile_q5_0 => q5_0(BlockQ5_0, BlockQ8_0) [4 x 4] rows q5_0_rows, dot_q5_0;
    tile_q8_0 => q8_0(BlockQ8_0, BlockQ8_0) [4 x 4] rows q8_0_rows, dot_q8_0;
    tile_q4_k => q4_k(BlockQ4K, BlockQ8K) [2 x 2], dot_q4_k;
    tile_q6_k => q6_k(BlockQ6K, BlockQ8K) [2 x 2], dot_q6_k;
}

/// The AVX2 K-quant tiles with `vpdpwssd` (multiply i16 pairs, add to i32) for their
/// `madd` + `add`: the same i32 sums, one instruction fewer per sub-block, row and token.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn q4_k<const R: usize, const C: usize>(w: [&[BlockQ4K]; R], x: [&[BlockQ8K]; C]) -> [[f32; C]; R] {
    q4_k_with(w, x, |acc, s, p| _mm256_dpwssd_epi32(acc, s, p))
}

#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn q6_k<const R: usize, const C: usize>(w: [&[BlockQ6K]; R], x: [&[BlockQ8K]; C]) -> [[f32; C]; R] {
    q6_k_with(w, x, |acc, s, p| _mm256_dpwssd_epi32(acc, s, p))
}

/// Signed weights against Q8_0, `R` rows × 4 tokens: `load` gives a block's f16 scale and
/// its quants plus `off` (unsigned bytes); per block and output, `acc = fma(d_w · d_x,
/// Σ w·x, acc)`. Two tokens share each 512-bit register (lanes 0..8 the first, 8..16 the
/// second), so one `vpdpbusd`, conversion, scale product and FMA serve two outputs; every
/// lane does exactly the 256-bit kernel's operations (the scale product rounds once, as its
/// scalar product does), and each half is reduced as that kernel's accumulator.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn offset_tile<W, const R: usize>(
    w: [&[W]; R],
    x: [&[BlockQ8_0]; 4],
    off: i8,
    load: impl Fn(&W) -> ([u8; 2], __m256i),
) -> [[f32; 4]; R] {
    const { assert!(R <= 4) };
    let n = blocks(&w, &x);
    let off = _mm512_set1_epi8(off);
    let spread = pair_spread();
    let mut acc = [[_mm512_setzero_ps(); 2]; R];
    for b in 0..n {
        let qy: [__m512i; 2] =
            std::array::from_fn(|p| ld2x32(&x[2 * p][b].qs, &x[2 * p + 1][b].qs));
        let corr: [__m512i; 2] = std::array::from_fn(|p| offset_correction(off, qy[p]));
        let xd = _mm512_castps128_ps512(h2f4([x[0][b].d, x[1][b].d, x[2][b].d, x[3][b].d]));
        let xd: [__m512; 2] = std::array::from_fn(|p| _mm512_permutexvar_ps(spread[p], xd));
        let wq: [([u8; 2], __m256i); R] = std::array::from_fn(|r| load(&w[r][b]));
        let mut wd = [0f32; 4];
        // SAFETY: 4 writable floats; `storeu` has no alignment requirement.
        unsafe { _mm_storeu_ps(wd.as_mut_ptr(), h2f4(wq.map(|(d, _)| d))) };
        for r in 0..R {
            let qw = _mm512_broadcast_i64x4(wq[r].1);
            let wdr = _mm512_set1_ps(wd[r]);
            for p in 0..2 {
                let s = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(corr[p], qw, qy[p]));
                acc[r][p] = _mm512_fmadd_ps(_mm512_mul_ps(wdr, xd[p]), s, acc[r][p]);
            }
        }
    }
    acc.map(|a| std::array::from_fn(|c| pair_half(a[c / 2], c % 2)))
}

/// One token against four weight rows (decode), the transpose of [`offset_tile`]'s layout:
/// two rows share each 512-bit register (lanes 0..8 the first, 8..16 the second) against
/// the token's block broadcast to both halves, so one `vpdpbusd`, conversion and FMA serve
/// two outputs, the offset correction and the activation load serve four, and the two
/// accumulators are independent FMA chains (one row's chain alone is the single kernel's
/// bound). Lane for lane the operations, and so the bits, are the single kernel's.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn offset_rows<W>(
    w: [&[W]; 4],
    x: &[BlockQ8_0],
    off: i8,
    load: impl Fn(&W) -> ([u8; 2], __m256i),
) -> [f32; 4] {
    let n = x.len();
    assert!(w.iter().all(|r| r.len() == n));
    let off = _mm512_set1_epi8(off);
    let spread = pair_spread();
    let mut acc = [_mm512_setzero_ps(); 2];
    let next = NextRows::after(&w);
    for b in 0..n {
        next.fetch(b);
        let qy = _mm512_broadcast_i64x4(ld32i(&x[b].qs));
        let corr = offset_correction(off, qy);
        let wq: [([u8; 2], __m256i); 4] = std::array::from_fn(|r| load(&w[r][b]));
        // Lane r: d_w(r) · d_x, rounded once as the single kernel's scalar product.
        let xd = _mm_set1_ps(super::h2f(x[b].d));
        let d = _mm512_castps128_ps512(_mm_mul_ps(h2f4(wq.map(|(d, _)| d)), xd));
        for p in 0..2 {
            let qw = _mm512_inserti64x4::<1>(_mm512_castsi256_si512(wq[2 * p].1), wq[2 * p + 1].1);
            let s = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(corr, qw, qy));
            acc[p] = _mm512_fmadd_ps(_mm512_permutexvar_ps(spread[p], d), s, acc[p]);
        }
    }
    std::array::from_fn(|r| pair_half(acc[r / 2], r % 2))
}

/// `_mm512_permutexvar_ps` indices that spread four scales (lanes 0..4) over two token
/// pairs: lane `i` of `spread[p]` takes scale `2p + i / 8`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn pair_spread() -> [__m512i; 2] {
    [
        _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0),
        _mm512_set_epi32(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2),
    ]
}

/// The single kernel's reduction of half `h` (0: lanes 0..8, 1: lanes 8..16) of a pair
/// accumulator.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn pair_half(a: __m512, h: usize) -> f32 {
    hsum_ps(if h == 0 {
        _mm512_castps512_ps256(a)
    } else {
        hi_ps(a)
    })
}

#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn q8_0<const R: usize>(w: [&[BlockQ8_0]; R], x: [&[BlockQ8_0]; 4]) -> [[f32; 4]; R] {
    // `w ^ 0x80` read as unsigned is `w + 128`.
    let flip = _mm256_set1_epi8(0x80u8 as i8);
    offset_tile(w, x, 0x80u8 as i8, |bw| {
        (bw.d, _mm256_xor_si256(ld32i(&bw.qs), flip))
    })
}

#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn q4_0<const R: usize>(w: [&[BlockQ4_0]; R], x: [&[BlockQ8_0]; 4]) -> [[f32; 4]; R] {
    // The stored nibble is `w + 8`.
    offset_tile(w, x, 8, |bw| (bw.d, nibbles(&bw.qs)))
}

#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn q5_0<const R: usize>(w: [&[BlockQ5_0]; R], x: [&[BlockQ8_0]; 4]) -> [[f32; 4]; R] {
    let b4 = _mm256_set1_epi8(0x10);
    // Nibble plus the fifth bit is `w + 16`.
    offset_tile(w, x, 16, |bw| {
        let hi = _mm256_and_si256(bytes_from_bits(bw.qh), b4);
        (bw.d, _mm256_or_si256(nibbles(&bw.qs), hi))
    })
}

#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn q8_0_rows(w: [&[BlockQ8_0]; 4], x: &[BlockQ8_0]) -> [f32; 4] {
    let flip = _mm256_set1_epi8(0x80u8 as i8);
    offset_rows(w, x, 0x80u8 as i8, |bw| {
        (bw.d, _mm256_xor_si256(ld32i(&bw.qs), flip))
    })
}

#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn q4_0_rows(w: [&[BlockQ4_0]; 4], x: &[BlockQ8_0]) -> [f32; 4] {
    offset_rows(w, x, 8, |bw| (bw.d, nibbles(&bw.qs)))
}

#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn q5_0_rows(w: [&[BlockQ5_0]; 4], x: &[BlockQ8_0]) -> [f32; 4] {
    let sixteen = _mm256_set1_epi8(16);
    offset_rows(w, x, 16, |bw| {
        // Bit i of `qh` is element i's fifth bit, and byte i of `nibbles` is element i:
        // one masked add makes `w + 16` (the single kernel's way).
        let nib = nibbles(&bw.qs);
        let qw = _mm256_mask_add_epi8(nib, u32::from_le_bytes(bw.qh), nib, sixteen);
        (bw.d, qw)
    })
}

/// Q4_1 against one token, four rows: two rows per register as [`offset_rows`] (no offset:
/// the quants are unsigned); lane r of `summs` is row r's `Σ m_w · s_x`, added in block
/// order from +0.0 as lane 1 of the single kernel's.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn q4_1_rows(w: [&[BlockQ4_1]; 4], x: &[BlockQ8_1]) -> [f32; 4] {
    let n = x.len();
    assert!(w.iter().all(|r| r.len() == n));
    let spread = pair_spread();
    let zero = _mm512_setzero_si512();
    let mut acc = [_mm512_setzero_ps(); 2];
    let mut summs = _mm_setzero_ps();
    let next = NextRows::after(&w);
    for b in 0..n {
        next.fetch(b);
        let qy = _mm512_broadcast_i64x4(ld32i(&x[b].qs));
        let xds = h2f4([x[b].d, x[b].s]);
        let d = _mm_mul_ps(
            h2f4::<4>(std::array::from_fn(|r| w[r][b].d)),
            _mm_broadcastss_ps(xds),
        );
        let m = h2f4::<4>(std::array::from_fn(|r| w[r][b].m));
        summs = _mm_add_ps(summs, _mm_mul_ps(m, _mm_permute_ps::<0b01_01_01_01>(xds)));
        let d = _mm512_castps128_ps512(d);
        for p in 0..2 {
            let qw = _mm512_inserti64x4::<1>(
                _mm512_castsi256_si512(nibbles(&w[2 * p][b].qs)),
                nibbles(&w[2 * p + 1][b].qs),
            );
            let s = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, qw, qy));
            acc[p] = _mm512_fmadd_ps(_mm512_permutexvar_ps(spread[p], d), s, acc[p]);
        }
    }
    let mut sm = [0f32; 4];
    // SAFETY: 4 writable floats; `storeu` has no alignment requirement.
    unsafe { _mm_storeu_ps(sm.as_mut_ptr(), summs) };
    std::array::from_fn(|r| pair_half(acc[r / 2], r % 2) + sm[r])
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
        let xs4 = h2f4::<C>(std::array::from_fn(|c| x[c][b].s));
        let qy: [__m256i; C] = std::array::from_fn(|c| ld32i(&x[c][b].qs));
        let d = scale_products::<R, C>(
            std::array::from_fn(|r| w[r][b].d),
            std::array::from_fn(|c| x[c][b].d),
        );
        let mut wm = [0f32; 4];
        // SAFETY: 4 writable floats; `storeu` has no alignment requirement.
        unsafe {
            _mm_storeu_ps(
                wm.as_mut_ptr(),
                h2f4::<R>(std::array::from_fn(|r| w[r][b].m)),
            )
        };
        for r in 0..R {
            summs[r] = _mm_add_ps(summs[r], _mm_mul_ps(_mm_set1_ps(wm[r]), xs4));
            let qx = nibbles(&w[r][b].qs);
            for c in 0..C {
                let s = _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(zero, qx, qy[c]));
                acc[r][c] = _mm256_fmadd_ps(_mm256_broadcast_ss(&d[r][c]), s, acc[r][c]);
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
