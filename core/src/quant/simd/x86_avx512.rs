//! x86-64 AVX-512 VNNI dot kernels (`vpdpbusd`, two 32-element blocks per 512-bit
//! register) for Q4_0, Q4_1, Q5_0 and Q8_0 weights, and Q4_K (two 64-element steps per
//! register), chosen over the AVX2 ones at run time.
//!
//! `vpdpbusd` sums four adjacent unsigned × signed byte products into each i32 lane —
//! the same lanes the AVX2 `maddubs` + `madd` pair produces, with the same values — and
//! each block's float work (scale, one FMA into a single accumulator, block by block, then
//! [`hsum_ps`]) is the AVX2 kernel's. So every result is bit-identical to
//! [`super::x86`]'s, which keeps the AVX2 tile kernels bit-identical to these single dots.
//! Signed × signed products use the usual sign trick (`|x|` unsigned, `x`'s sign moved to
//! `y`), as ggml's AVX-VNNI paths do.
//!
//! `HEARTH_NO_AVX512` set in the environment keeps the AVX2 kernels (for comparisons);
//! `HEARTH_NO_SIMD` turns both off.

use std::arch::x86_64::*;
use std::sync::atomic::{AtomicU8, Ordering};

use super::super::as_blocks;
use super::super::q4_0::BlockQ4_0;
use super::super::q4_1::BlockQ4_1;
use super::super::q4_k::BlockQ4K;
use super::super::q5_0::BlockQ5_0;
use super::super::q8_0::BlockQ8_0;
use super::super::q8_1::BlockQ8_1;
use super::super::q8_k::BlockQ8K;
use super::DotFn;
use super::x86::{h2f, h2f_mul, h2f_pair, hsum_ps, k4_mins_prod, k4_scales_mins};
use crate::GgmlType;

/// 0: not yet checked, 1: missing, 2: present.
static VNNI: AtomicU8 = AtomicU8::new(0);

/// Whether these kernels run here: the AVX2 set is on ([`super::x86::detected`]), the CPU
/// has AVX-512 F, BW, VL and VNNI, and `HEARTH_NO_AVX512` is not set (checked once).
#[inline]
pub(crate) fn detected() -> bool {
    match VNNI.load(Ordering::Relaxed) {
        2 => true,
        1 => false,
        _ => {
            let yes = super::x86::detected()
                && std::env::var_os("HEARTH_NO_AVX512").is_none()
                && is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512vl")
                && is_x86_feature_detected!("avx512vnni");
            VNNI.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
            yes
        }
    }
}

/// The AVX-512 VNNI dot product for `ty`, if there is one and the CPU has the features.
pub(crate) fn vec_dot(ty: GgmlType) -> Option<DotFn> {
    if !detected() {
        return None;
    }
    kernel(ty)
}

/// The kernel for `ty` without the detection check (tests call it after checking the
/// features themselves, whatever `HEARTH_NO_AVX512` says).
fn kernel(ty: GgmlType) -> Option<DotFn> {
    Some(match ty {
        GgmlType::Q4_0 => dot_q4_0,
        GgmlType::Q4_1 => dot_q4_1,
        GgmlType::Q5_0 => dot_q5_0,
        GgmlType::Q8_0 => dot_q8_0,
        GgmlType::Q4_K => dot_q4_k,
        _ => return None,
    })
}

/// For tests: the kernel for `ty` when this CPU has the features, even if
/// `HEARTH_NO_AVX512` or `HEARTH_NO_SIMD` is set.
#[cfg(test)]
pub(crate) fn kernel_if_supported(ty: GgmlType) -> Option<DotFn> {
    if supported() { kernel(ty) } else { None }
}

/// Whether this CPU has every feature these kernels (and the VNNI tiles) use, whatever
/// `HEARTH_NO_AVX512` or `HEARTH_NO_SIMD` say (for tests).
#[cfg(test)]
pub(crate) fn supported() -> bool {
    is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
        && is_x86_feature_detected!("f16c")
        && is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vl")
        && is_x86_feature_detected!("avx512vnni")
}

/// Safe entry points over byte rows (lengths were checked by the caller; a trailing
/// partial block is ignored by `as_blocks`).
macro_rules! wrappers {
    ($($name:ident => $imp:ident ( $w:ty, $x:ty );)*) => {$(
        fn $name(w: &[u8], x: &[u8]) -> f32 {
            // SAFETY: only handed out by `kernel`, whose callers confirmed AVX2, FMA, F16C
            // and AVX-512 F/BW/VNNI on this CPU.
            unsafe { $imp(as_blocks::<$w>(w), as_blocks::<$x>(x)) }
        }
    )*};
}

wrappers! {
    dot_q4_0 => q4_0(BlockQ4_0, BlockQ8_0);
    dot_q4_1 => q4_1(BlockQ4_1, BlockQ8_1);
    dot_q5_0 => q5_0(BlockQ5_0, BlockQ8_0);
    dot_q8_0 => q8_0(BlockQ8_0, BlockQ8_0);
    dot_q4_k => q4_k(BlockQ4K, BlockQ8K);
}

// ---------------------------------------------------------------------------
// Helpers. Every pair helper takes two blocks `(a, b)`: `a` fills the low 256 bits, `b`
// the high 256 bits, each in the AVX2 kernels' byte order.

/// Two 32-byte arrays in one register.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vnni")]
pub(super) fn ld2x32(a: &[i8; 32], b: &[i8; 32]) -> __m512i {
    // SAFETY: `a` and `b` are 32 readable bytes each; `loadu` has no alignment requirement.
    let (a, b) = unsafe {
        (
            _mm256_loadu_si256(a.as_ptr().cast()),
            _mm256_loadu_si256(b.as_ptr().cast()),
        )
    };
    _mm512_inserti64x4::<1>(_mm512_castsi256_si512(a), b)
}

/// Two blocks of 32 nibbles to bytes: per block, low nibbles in bytes 0..16 and high
/// nibbles in 16..32 (the AVX2 `nibbles` layout).
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vnni")]
fn nibbles2(a: &[u8; 16], b: &[u8; 16]) -> __m512i {
    // SAFETY: `a` and `b` are 16 readable bytes each; `loadu` has no alignment requirement.
    let (a, b) = unsafe {
        (
            _mm_loadu_si128(a.as_ptr().cast()),
            _mm_loadu_si128(b.as_ptr().cast()),
        )
    };
    let t = _mm512_castsi256_si512(_mm256_set_m128i(b, a));
    // 128-bit lanes [a, a, b, b]; the second copy of each is shifted down by a nibble.
    let t = _mm512_shuffle_i64x2::<0b01_01_00_00>(t, t);
    let t = _mm512_mask_srli_epi16::<4>(t, 0xFF00_FF00, t);
    _mm512_and_si512(t, _mm512_set1_epi8(0x0F))
}

/// Unsigned × signed bytes summed in fours (`vpdpbusd`), as floats.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vnni")]
fn mul_sum_us8(ax: __m512i, sy: __m512i) -> __m512 {
    _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(_mm512_setzero_si512(), ax, sy))
}

/// Signed × signed bytes summed in fours, as floats: `|x|` times `y` negated where `x < 0`
/// (where `x = 0` the product is 0 either way).
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vnni")]
fn mul_sum_i8(x: __m512i, y: __m512i) -> __m512 {
    let neg = _mm512_movepi8_mask(x);
    let sy = _mm512_mask_sub_epi8(y, neg, _mm512_setzero_si512(), y);
    mul_sum_us8(_mm512_abs_epi8(x), sy)
}

/// `Σ (u − off) · y` over each group of four bytes, as floats, for unsigned `u` = a signed
/// weight plus `off`: `vpdpbusd` of `u` and `y` started from `-off · Σ y` (another
/// `vpdpbusd`). The i32 lanes equal [`mul_sum_i8`]'s of `u − off` exactly (no overflow:
/// |Σ| ≤ 4 · 255 · 128), in two instructions fewer.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vnni")]
fn mul_sum_offset(u: __m512i, y: __m512i, off: __m512i) -> __m512 {
    _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(offset_correction(off, y), u, y))
}

/// `-off · Σ y` over each group of four bytes of `y` (|Σ| ≤ 4 · 128 · 128: no overflow), the
/// start that turns `vpdpbusd` of `w + off` into the signed `Σ w · y`; shared by the rows of
/// a tile.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vnni")]
pub(super) fn offset_correction(off: __m512i, y: __m512i) -> __m512i {
    let zero = _mm512_setzero_si512();
    _mm512_sub_epi32(zero, _mm512_dpbusd_epi32(zero, off, y))
}

/// The high 256 bits of `s` (AVX-512 F only; `vextractf32x8` would need DQ).
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vnni")]
pub(super) fn hi_ps(s: __m512) -> __m256 {
    _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(s)))
}

/// `acc + d_a · lo(s) + d_b · hi(s)` as two FMAs, low half first (the AVX2 kernels' order).
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vnni")]
fn fma2(acc: __m256, da: __m256, db: __m256, s: __m512) -> __m256 {
    let acc = _mm256_fmadd_ps(da, _mm512_castps512_ps256(s), acc);
    _mm256_fmadd_ps(db, hi_ps(s), acc)
}

/// Walks `w` and `x` two blocks at a time, running `body` with `wa, xa, wb, xb, last`
/// bound; an odd last block comes as `wa = wb`, `xa = xb`, `last = true`, and only the low
/// half may be used then. A macro rather than a function taking a closure: the closure
/// was not inlined into the kernels, which cost a call and a spill per pair.
macro_rules! for_pairs {
    ($w:expr, $x:expr, |$wa:ident, $xa:ident, $wb:ident, $xb:ident, $last:ident| $body:block) => {{
        let n = $w.len().min($x.len());
        let (w2, wt) = $w[..n].as_chunks::<2>();
        let (x2, xt) = $x[..n].as_chunks::<2>();
        for ([$wa, $wb], [$xa, $xb]) in w2.iter().zip(x2) {
            let $last = false;
            $body
        }
        if let ([$wa], [$xa]) = (wt, xt) {
            let ($wb, $xb, $last) = ($wa, $xa, true);
            $body
        }
    }};
}

// ---------------------------------------------------------------------------
// Kernels (each mirrors the AVX2 one of the same name in `x86.rs`).

#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vnni")]
fn q8_0(w: &[BlockQ8_0], x: &[BlockQ8_0]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    for_pairs!(w, x, |wa, xa, wb, xb, last| {
        let s = mul_sum_i8(ld2x32(&wa.qs, &wb.qs), ld2x32(&xa.qs, &xb.qs));
        acc = fma_blocks(acc, h2f_mul(wa.d, xa.d), h2f_mul(wb.d, xb.d), s, last);
    });
    hsum_ps(acc)
}

#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vnni")]
fn q4_0(w: &[BlockQ4_0], x: &[BlockQ8_0]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    let off = _mm512_set1_epi8(8);
    for_pairs!(w, x, |wa, xa, wb, xb, last| {
        // The stored nibbles are `w + 8`: unsigned as they are, with `-8 · Σ x` per group
        // of four added exactly (see `mul_sum_offset`).
        let s = mul_sum_offset(nibbles2(&wa.qs, &wb.qs), ld2x32(&xa.qs, &xb.qs), off);
        acc = fma_blocks(acc, h2f_mul(wa.d, xa.d), h2f_mul(wb.d, xb.d), s, last);
    });
    hsum_ps(acc)
}

#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vnni")]
fn q5_0(w: &[BlockQ5_0], x: &[BlockQ8_0]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    let sixteen = _mm512_set1_epi8(16);
    for_pairs!(w, x, |wa, xa, wb, xb, last| {
        // Bit i of the mask is element i's fifth bit (block `a` in bits 0..32); elements
        // without it get 16 subtracted (`q - 16`, as the AVX2 kernel's 0xF0 or).
        let bits =
            u64::from(u32::from_le_bytes(wa.qh)) | u64::from(u32::from_le_bytes(wb.qh)) << 32;
        let nib = nibbles2(&wa.qs, &wb.qs);
        // `w + 16` (unsigned): the nibble plus 16 where the fifth bit is set.
        let qw = _mm512_mask_add_epi8(nib, bits, nib, sixteen);
        let s = mul_sum_offset(qw, ld2x32(&xa.qs, &xb.qs), sixteen);
        acc = fma_blocks(acc, h2f_mul(wa.d, xa.d), h2f_mul(wb.d, xb.d), s, last);
    });
    hsum_ps(acc)
}

#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vnni")]
fn q4_1(w: &[BlockQ4_1], x: &[BlockQ8_1]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    let mut summs = _mm_setzero_ps();
    for_pairs!(w, x, |wa, xa, wb, xb, last| {
        let s = mul_sum_us8(nibbles2(&wa.qs, &wb.qs), ld2x32(&xa.qs, &xb.qs));
        // Lane 0: d·dx, lane 1: m·s (summed in lane 1 of `summs`), block by block.
        let pa = _mm_mul_ps(h2f_pair(wa.d, wa.m), h2f_pair(xa.d, xa.s));
        summs = _mm_add_ps(summs, pa);
        acc = _mm256_fmadd_ps(_mm256_broadcastss_ps(pa), _mm512_castps512_ps256(s), acc);
        if !last {
            let pb = _mm_mul_ps(h2f_pair(wb.d, wb.m), h2f_pair(xb.d, xb.s));
            summs = _mm_add_ps(summs, pb);
            acc = _mm256_fmadd_ps(_mm256_broadcastss_ps(pb), hi_ps(s), acc);
        }
    });
    hsum_ps(acc) + _mm_cvtss_f32(_mm_movehdup_ps(summs))
}

/// [`fma2`] with the block scales `da`, `db`; only the low half when `last`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vnni")]
fn fma_blocks(acc: __m256, da: f32, db: f32, s: __m512, last: bool) -> __m256 {
    if last {
        _mm256_fmadd_ps(_mm256_set1_ps(da), _mm512_castps512_ps256(s), acc)
    } else {
        fma2(acc, _mm256_set1_ps(da), _mm256_set1_ps(db), s)
    }
}

/// Q4_K: two 64-element steps of the AVX2 kernel per register; `maddubs` then `vpdpwssd`
/// (the AVX2 `madd` by the sub-block scale and the add, fused). The i32 sums per lane
/// are exact, so adding the two halves at the end gives the AVX2 kernel's `sumi`.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vnni")]
fn q4_k(w: &[BlockQ4K], x: &[BlockQ8K]) -> f32 {
    let m4 = _mm512_set1_epi8(0xF);
    // Word indices into the eight i16 scales: sub-block `4k + o` in the low half and
    // `4k + 2 + o` in the high half, for the low (o = 0) and high (o = 1) nibbles of step k.
    let idx = |a: i16, b: i16| {
        _mm512_inserti64x4::<1>(
            _mm512_castsi256_si512(_mm256_set1_epi16(a)),
            _mm256_set1_epi16(b),
        )
    };
    let sel = [[idx(0, 2), idx(1, 3)], [idx(4, 6), idx(5, 7)]];
    let mut acc = _mm256_setzero_ps();
    let mut acc_m = _mm_setzero_ps();
    for (bw, bx) in w.iter().zip(x) {
        let d = bx.d() * h2f(bw.d);
        let dmin = -bx.d() * h2f(bw.dmin);
        let ms = k4_scales_mins(&bw.scales);
        let prod = k4_mins_prod(ms, bx);
        acc_m = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(prod), acc_m);
        let scales = _mm512_castsi128_si512(_mm256_castsi256_si128(ms));
        let mut sumi = _mm512_setzero_si512();
        let q8 = bx.qs.as_chunks::<32>().0;
        for (k, q4) in bw.qs.as_chunks::<64>().0.iter().enumerate() {
            // SAFETY: `q4` is 64 readable bytes; `loadu` has no alignment requirement.
            let bits = unsafe { _mm512_loadu_si512(q4.as_ptr().cast()) };
            let ql = _mm512_and_si512(bits, m4);
            let qh = _mm512_and_si512(_mm512_srli_epi16::<4>(bits), m4);
            let yl = ld2x32(&q8[4 * k], &q8[4 * k + 2]);
            let yh = ld2x32(&q8[4 * k + 1], &q8[4 * k + 3]);
            let sl = _mm512_permutexvar_epi16(sel[k][0], scales);
            let sh = _mm512_permutexvar_epi16(sel[k][1], scales);
            sumi = _mm512_dpwssd_epi32(sumi, sl, _mm512_maddubs_epi16(ql, yl));
            sumi = _mm512_dpwssd_epi32(sumi, sh, _mm512_maddubs_epi16(qh, yh));
        }
        let sumi = _mm256_add_epi32(
            _mm512_castsi512_si256(sumi),
            _mm512_extracti64x4_epi64::<1>(sumi),
        );
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    let acc_m = _mm_add_ps(acc_m, _mm_movehl_ps(acc_m, acc_m));
    let acc_m = _mm_add_ss(acc_m, _mm_movehdup_ps(acc_m));
    hsum_ps(acc) + _mm_cvtss_f32(acc_m)
}
