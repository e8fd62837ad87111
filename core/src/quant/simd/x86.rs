//! x86-64 AVX2 + FMA + F16C kernels, ports of ggml-cpu's `__AVX2__` paths
//! (`ggml-cpu/arch/x86/quants.c`): the same integer block math and the same
//! single FMA accumulator per row, so results match ggml's to float rounding.
//!
//! Every `#[target_feature]` function here is reached only through the safe
//! wrappers handed out by [`vec_dot`] and [`quantize_activation`], which check
//! [`detected`] first. Vector intrinsics are safe inside those functions; only
//! the loads and stores (raw pointers) need `unsafe`, and they go through
//! fixed-size array references so their bounds are known.

use std::arch::x86_64::*;
use std::sync::atomic::{AtomicU8, Ordering};

use super::super::q2_k::BlockQ2K;
use super::super::q3_k::BlockQ3K;
use super::super::q4_0::BlockQ4_0;
use super::super::q4_1::BlockQ4_1;
use super::super::q4_k::BlockQ4K;
use super::super::q5_0::BlockQ5_0;
use super::super::q5_1::BlockQ5_1;
use super::super::q5_k::BlockQ5K;
use super::super::q6_k::BlockQ6K;
use super::super::q8_0::BlockQ8_0;
use super::super::q8_1::BlockQ8_1;
use super::super::q8_k::BlockQ8K;
use super::super::{QK_K, as_blocks, as_blocks_mut, f32_to_f16};
use super::{ActFn, DotFn, TileFn};
use crate::GgmlType;

mod expf;
mod tile;
mod tile_vnni;
pub(crate) use expf::expf_batch;
#[cfg(test)]
pub(crate) use tile_vnni::kernel_if_supported as vnni_tile_if_supported;

/// The tile kernel for `ty`: the AVX-512 VNNI one where the CPU has it, else AVX2's.
pub(crate) fn dot_tile(ty: GgmlType) -> Option<TileFn> {
    tile_vnni::dot_tile(ty).or_else(|| tile::dot_tile(ty))
}

/// For tests: the AVX2 tile kernel for `ty` (the caller checked [`detected`]).
#[cfg(test)]
pub(crate) fn avx2_dot_tile(ty: GgmlType) -> Option<TileFn> {
    tile::dot_tile(ty)
}

/// 0: not yet checked, 1: missing, 2: present.
static AVX2: AtomicU8 = AtomicU8::new(0);

/// Whether this CPU has AVX2, FMA and F16C (checked once; `HEARTH_NO_SIMD`
/// set in the environment forces the portable kernels).
#[inline]
pub(crate) fn detected() -> bool {
    match AVX2.load(Ordering::Relaxed) {
        2 => true,
        1 => false,
        _ => {
            let yes = std::env::var_os("HEARTH_NO_SIMD").is_none()
                && is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
                && is_x86_feature_detected!("f16c");
            AVX2.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
            yes
        }
    }
}

/// The AVX2 dot product for `ty`, if there is one and the CPU has the features.
pub(crate) fn vec_dot(ty: GgmlType) -> Option<DotFn> {
    if !detected() {
        return None;
    }
    if let Some(f) = super::x86_avx512::vec_dot(ty) {
        return Some(f);
    }
    avx2_vec_dot(ty)
}

/// The AVX2 kernel for `ty` (the caller checked [`detected`]; tests also compare the
/// AVX-512 kernels with these).
pub(super) fn avx2_vec_dot(ty: GgmlType) -> Option<DotFn> {
    use GgmlType::*;
    Some(match ty {
        F32 => dot_f32,
        F16 => dot_f16,
        BF16 => dot_bf16,
        Q4_0 => dot_q4_0,
        Q4_1 => dot_q4_1,
        Q5_0 => dot_q5_0,
        Q5_1 => dot_q5_1,
        Q8_0 => dot_q8_0,
        Q2_K => dot_q2_k,
        Q3_K => dot_q3_k,
        Q4_K => dot_q4_k,
        Q5_K => dot_q5_k,
        Q6_K => dot_q6_k,
        _ => return None,
    })
}

/// The AVX2 activation quantizer for `ty`, if there is one and the CPU has the features.
pub(crate) fn quantize_activation(ty: GgmlType) -> Option<ActFn> {
    if !detected() {
        return None;
    }
    Some(match ty {
        GgmlType::Q8_0 => act_q8_0,
        GgmlType::Q8_1 => act_q8_1,
        GgmlType::Q8_K => act_q8_k,
        _ => return None,
    })
}

/// Safe entry points over byte rows (lengths were checked by the caller; a
/// trailing partial block is ignored by `as_blocks`).
macro_rules! wrappers {
    ($($name:ident => $imp:ident ( $w:ty, $x:ty );)*) => {$(
        fn $name(w: &[u8], x: &[u8]) -> f32 {
            // SAFETY: only handed out by `vec_dot`, after `detected()` confirmed AVX2, FMA
            // and F16C on this CPU.
            unsafe { $imp(as_blocks::<$w>(w), as_blocks::<$x>(x)) }
        }
    )*};
}

wrappers! {
    dot_q4_0 => q4_0(BlockQ4_0, BlockQ8_0);
    dot_q4_1 => q4_1(BlockQ4_1, BlockQ8_1);
    dot_q5_0 => q5_0(BlockQ5_0, BlockQ8_0);
    dot_q5_1 => q5_1(BlockQ5_1, BlockQ8_1);
    dot_q8_0 => q8_0(BlockQ8_0, BlockQ8_0);
    dot_q2_k => q2_k(BlockQ2K, BlockQ8K);
    dot_q3_k => q3_k(BlockQ3K, BlockQ8K);
    dot_q4_k => q4_k(BlockQ4K, BlockQ8K);
    dot_q5_k => q5_k(BlockQ5K, BlockQ8K);
    dot_q6_k => q6_k(BlockQ6K, BlockQ8K);
}

fn dot_f32(w: &[u8], x: &[u8]) -> f32 {
    // SAFETY: only handed out by `vec_dot`, after `detected()`.
    unsafe { f32_dot(w, x) }
}

fn dot_f16(w: &[u8], x: &[u8]) -> f32 {
    // SAFETY: only handed out by `vec_dot`, after `detected()`.
    unsafe { f16_dot(w, x) }
}

fn dot_bf16(w: &[u8], x: &[u8]) -> f32 {
    // SAFETY: only handed out by `vec_dot`, after `detected()`.
    unsafe { bf16_dot(w, x) }
}

fn act_q8_0(src: &[f32], dst: &mut [u8]) {
    // SAFETY: only handed out by `quantize_activation`, after `detected()`.
    unsafe { quantize_q8_0(src, as_blocks_mut(dst)) }
}

fn act_q8_1(src: &[f32], dst: &mut [u8]) {
    // SAFETY: only handed out by `quantize_activation`, after `detected()`.
    unsafe { quantize_q8_1(src, as_blocks_mut(dst)) }
}

fn act_q8_k(src: &[f32], dst: &mut [u8]) {
    // SAFETY: only handed out by `quantize_activation`, after `detected()`.
    unsafe { quantize_q8_k(src, as_blocks_mut(dst)) }
}

// ---------------------------------------------------------------------------
// Loads, stores and ggml's helpers.

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn ld32u(p: &[u8; 32]) -> __m256i {
    // SAFETY: `p` is 32 readable bytes; `loadu` has no alignment requirement.
    unsafe { _mm256_loadu_si256(p.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn ld32i(p: &[i8; 32]) -> __m256i {
    // SAFETY: `p` is 32 readable bytes; `loadu` has no alignment requirement.
    unsafe { _mm256_loadu_si256(p.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn ld16u(p: &[u8; 16]) -> __m128i {
    // SAFETY: `p` is 16 readable bytes; `loadu` has no alignment requirement.
    unsafe { _mm_loadu_si128(p.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn ld8f(p: &[f32; 8]) -> __m256 {
    // SAFETY: `p` is 8 readable floats; `loadu` has no alignment requirement.
    unsafe { _mm256_loadu_ps(p.as_ptr()) }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn st32i(p: &mut [i8; 32], v: __m256i) {
    // SAFETY: `p` is 32 writable bytes; `storeu` has no alignment requirement.
    unsafe { _mm256_storeu_si256(p.as_mut_ptr().cast(), v) }
}

/// One f16 to f32 (exact): the portable bit arithmetic, which — unlike a one-lane
/// `vcvtph2ps` fed by `vpinsrw` — carries no false dependency on a vector register
/// (the compiler merged the loaded half into the accumulator's register, chaining every
/// block to the previous one). Used once per K-quant super-block.
#[inline]
pub(super) fn h2f(b: [u8; 2]) -> f32 {
    super::super::f16_to_f32(b)
}

/// Two f16 widened together: `a` in lane 0, `b` in lane 1 (one `vmovd`, which zeroes the
/// rest of the register, then one `vcvtph2ps`).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn h2f_pair(a: [u8; 2], b: [u8; 2]) -> __m128 {
    let v = u32::from_le_bytes([a[0], a[1], b[0], b[1]]);
    _mm_cvtph_ps(_mm_cvtsi32_si128(v as i32))
}

/// Up to four f16 widened together (lane `i` = `h[i]`, the rest 0): one `vmovq`, which
/// zeroes the rest of the register (no false dependency), and one `vcvtph2ps`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn h2f4<const N: usize>(h: [[u8; 2]; N]) -> __m128 {
    const { assert!(N <= 4) };
    let mut v = 0u64;
    for (i, b) in h.iter().enumerate() {
        v |= u64::from(u16::from_le_bytes(*b)) << (16 * i);
    }
    // An empty asm keeps `v` opaque: otherwise LLVM may rebuild it as a chain of `vpinsrw`
    // (shuffle-port work the tiles need for their broadcasts), depending on how the crate
    // happens to be split into codegen units — that alone cost the Q4_1 prompt tile 20%.
    // SAFETY: the asm is empty; it reads and writes only `v`'s register.
    unsafe {
        std::arch::asm!("/* {0} */", inout(reg) v, options(pure, nomem, nostack, preserves_flags));
    }
    _mm_cvtph_ps(_mm_cvtsi64_si128(v as i64))
}

/// The scale products `d_w[r] · d_x[c]` of one block for every output of an `R × C` tile
/// (`C ≤ 4`), from the `R` weight and `C` activation f16 scales: four-lane multiplies,
/// each lane rounding once as the single kernel's scalar product does. The tiles broadcast
/// each product from memory (a load, no shuffle).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn scale_products<const R: usize, const C: usize>(
    wd: [[u8; 2]; R],
    xd: [[u8; 2]; C],
) -> [[f32; 4]; R] {
    const { assert!(R <= 4) };
    let xd = h2f4(xd);
    let mut wf = [0f32; 4];
    // SAFETY: 4 writable floats; `storeu` has no alignment requirement.
    unsafe { _mm_storeu_ps(wf.as_mut_ptr(), h2f4(wd)) };
    let mut out = [[0f32; 4]; R];
    for r in 0..R {
        // SAFETY: as above.
        unsafe { _mm_storeu_ps(out[r].as_mut_ptr(), _mm_mul_ps(_mm_set1_ps(wf[r]), xd)) };
    }
    out
}

/// `f32(a) · f32(b)` for two f16 scales.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn h2f_mul(a: [u8; 2], b: [u8; 2]) -> f32 {
    let v = h2f_pair(a, b);
    _mm_cvtss_f32(_mm_mul_ss(v, _mm_movehdup_ps(v)))
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn hsum_ps(x: __m256) -> f32 {
    let r = _mm_add_ps(_mm256_extractf128_ps::<1>(x), _mm256_castps256_ps128(x));
    let r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    let r = _mm_add_ss(r, _mm_movehdup_ps(r));
    _mm_cvtss_f32(r)
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn hsum_epi32(a: __m256i) -> i32 {
    let s = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256::<1>(a));
    let s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
    _mm_cvtsi128_si32(s)
}

/// 32 nibbles to bytes: low nibbles in bytes 0..16, high nibbles in 16..32.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn nibbles(qs: &[u8; 16]) -> __m256i {
    let t = ld16u(qs);
    let b = _mm256_set_m128i(_mm_srli_epi16::<4>(t), t);
    _mm256_and_si256(b, _mm256_set1_epi8(0x0F))
}

/// 32 bits to 32 bytes, 0xFF where the bit is set.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn bytes_from_bits(qh: [u8; 4]) -> __m256i {
    let shuf = _mm256_set_epi64x(
        0x0303030303030303,
        0x0202020202020202,
        0x0101010101010101,
        0,
    );
    let b = _mm256_shuffle_epi8(_mm256_set1_epi32(i32::from_le_bytes(qh)), shuf);
    let b = _mm256_or_si256(b, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
    _mm256_cmpeq_epi8(b, _mm256_set1_epi64x(-1))
}

/// Unsigned × signed bytes, summed in fours, as floats.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn mul_sum_us8(ax: __m256i, sy: __m256i) -> __m256 {
    let dot = _mm256_maddubs_epi16(ax, sy);
    _mm256_cvtepi32_ps(_mm256_madd_epi16(dot, _mm256_set1_epi16(1)))
}

/// Signed × signed bytes, summed in fours, as floats.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn mul_sum_i8(x: __m256i, y: __m256i) -> __m256 {
    mul_sum_us8(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x))
}

// ---------------------------------------------------------------------------
// 32-element blocks.

#[target_feature(enable = "avx2,fma,f16c")]
fn q4_0(w: &[BlockQ4_0], x: &[BlockQ8_0]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    let off = _mm256_set1_epi8(8);
    for (bw, bx) in w.iter().zip(x) {
        let d = _mm256_set1_ps(h2f_mul(bw.d, bx.d));
        let qx = _mm256_sub_epi8(nibbles(&bw.qs), off);
        acc = _mm256_fmadd_ps(d, mul_sum_i8(qx, ld32i(&bx.qs)), acc);
    }
    hsum_ps(acc)
}

#[target_feature(enable = "avx2,fma,f16c")]
fn q4_1(w: &[BlockQ4_1], x: &[BlockQ8_1]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    let mut summs = _mm_setzero_ps();
    for (bw, bx) in w.iter().zip(x) {
        // Lane 0: d·dx, lane 1: m·s (summed in lane 1 of `summs`, in ggml's order).
        let p = _mm_mul_ps(h2f_pair(bw.d, bw.m), h2f_pair(bx.d, bx.s));
        summs = _mm_add_ps(summs, p);
        let d = _mm256_broadcastss_ps(p);
        acc = _mm256_fmadd_ps(d, mul_sum_us8(nibbles(&bw.qs), ld32i(&bx.qs)), acc);
    }
    hsum_ps(acc) + _mm_cvtss_f32(_mm_movehdup_ps(summs))
}

#[target_feature(enable = "avx2,fma,f16c")]
fn q5_0(w: &[BlockQ5_0], x: &[BlockQ8_0]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    for (bw, bx) in w.iter().zip(x) {
        let d = _mm256_set1_ps(h2f_mul(bw.d, bx.d));
        // Elements without their fifth bit get 0xF0 or'ed in: `q - 16` as i8.
        let hi = _mm256_andnot_si256(bytes_from_bits(bw.qh), _mm256_set1_epi8(0xF0u8 as i8));
        let qx = _mm256_or_si256(nibbles(&bw.qs), hi);
        acc = _mm256_fmadd_ps(d, mul_sum_i8(qx, ld32i(&bx.qs)), acc);
    }
    hsum_ps(acc)
}

#[target_feature(enable = "avx2,fma,f16c")]
fn q5_1(w: &[BlockQ5_1], x: &[BlockQ8_1]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    let mut summs = _mm_setzero_ps();
    for (bw, bx) in w.iter().zip(x) {
        // Lane 0: d·dx, lane 1: m·s (summed in lane 1 of `summs`, in ggml's order).
        let p = _mm_mul_ps(h2f_pair(bw.d, bw.m), h2f_pair(bx.d, bx.s));
        summs = _mm_add_ps(summs, p);
        let d = _mm256_broadcastss_ps(p);
        let hi = _mm256_and_si256(bytes_from_bits(bw.qh), _mm256_set1_epi8(0x10));
        let qx = _mm256_or_si256(nibbles(&bw.qs), hi);
        acc = _mm256_fmadd_ps(d, mul_sum_us8(qx, ld32i(&bx.qs)), acc);
    }
    hsum_ps(acc) + _mm_cvtss_f32(_mm_movehdup_ps(summs))
}

#[target_feature(enable = "avx2,fma,f16c")]
fn q8_0(w: &[BlockQ8_0], x: &[BlockQ8_0]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    for (bw, bx) in w.iter().zip(x) {
        let d = _mm256_set1_ps(h2f_mul(bw.d, bx.d));
        acc = _mm256_fmadd_ps(d, mul_sum_i8(ld32i(&bw.qs), ld32i(&bx.qs)), acc);
    }
    hsum_ps(acc)
}

// ---------------------------------------------------------------------------
// K-quants (256-element super-blocks against Q8_K).

/// ggml's `get_scale_shuffle_q3k(i)`: i16 scale `2i` in the low lane, `2i + 1` in the high.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn shuffle_pair(i: i8) -> __m256i {
    let (a, b) = (4 * i, 4 * i + 2);
    _mm256_setr_epi8(
        a,
        a + 1,
        a,
        a + 1,
        a,
        a + 1,
        a,
        a + 1,
        a,
        a + 1,
        a,
        a + 1,
        a,
        a + 1,
        a,
        a + 1,
        b,
        b + 1,
        b,
        b + 1,
        b,
        b + 1,
        b,
        b + 1,
        b,
        b + 1,
        b,
        b + 1,
        b,
        b + 1,
        b,
        b + 1,
    )
}

/// ggml's `get_scale_shuffle_k4(i)`: i16 scale `i` in both lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn shuffle_one(i: i8) -> __m256i {
    _mm256_set1_epi16(i16::from_le_bytes([(2 * i) as u8, (2 * i + 1) as u8]))
}

/// The eight i16 scales `8j..8j+8` of 16, repeated in both lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn scale_halves(all: __m256i) -> [__m256i; 2] {
    let l = _mm256_castsi256_si128(all);
    let h = _mm256_extracti128_si256::<1>(all);
    [_mm256_set_m128i(l, l), _mm256_set_m128i(h, h)]
}

#[target_feature(enable = "avx2,fma,f16c")]
fn q2_k(w: &[BlockQ2K], x: &[BlockQ8K]) -> f32 {
    let m3 = _mm256_set1_epi8(3);
    let m4 = _mm_set1_epi8(0xF);
    let mut acc = _mm256_setzero_ps();
    for (bw, bx) in w.iter().zip(x) {
        let d = bx.d() * h2f(bw.d);
        let dmin = -bx.d() * h2f(bw.dmin);
        let ms = ld16u(&bw.scales);
        let scales8 = _mm_and_si128(ms, m4);
        let mins8 = _mm_and_si128(_mm_srli_epi16::<4>(ms), m4);
        let prod = _mm256_madd_epi16(_mm256_cvtepi8_epi16(mins8), ld32u(&bx.bsums));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(dmin), _mm256_cvtepi32_ps(prod), acc);
        let scales = scale_halves(_mm256_cvtepi8_epi16(scales8));
        let mut sumi = _mm256_setzero_si256();
        let q8 = bx.qs.as_chunks::<32>().0;
        for (j, q2) in bw.qs.as_chunks::<32>().0.iter().enumerate() {
            let bits = ld32u(q2);
            let q2s = [
                _mm256_and_si256(bits, m3),
                _mm256_and_si256(_mm256_srli_epi16::<2>(bits), m3),
                _mm256_and_si256(_mm256_srli_epi16::<4>(bits), m3),
                _mm256_and_si256(_mm256_srli_epi16::<6>(bits), m3),
            ];
            for (k, q) in q2s.into_iter().enumerate() {
                let p = _mm256_maddubs_epi16(q, ld32i(&q8[4 * j + k]));
                let sc = _mm256_shuffle_epi8(scales[j], shuffle_pair(k as i8));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(sc, p));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    hsum_ps(acc)
}

#[target_feature(enable = "avx2,fma,f16c")]
fn q3_k(w: &[BlockQ3K], x: &[BlockQ8K]) -> f32 {
    const KMASK1: u32 = 0x0303_0303;
    const KMASK2: u32 = 0x0f0f_0f0f;
    let m3 = _mm256_set1_epi8(3);
    let four = _mm256_set1_epi8(4);
    let mut acc = _mm256_setzero_ps();
    for (bw, bx) in w.iter().zip(x) {
        let d = bx.d() * h2f(bw.d);
        let aux: [u32; 3] = std::array::from_fn(|i| {
            u32::from_le_bytes(bw.scales[4 * i..4 * i + 4].try_into().unwrap())
        });
        let sc = _mm_set_epi32(
            (((aux[1] >> 4) & KMASK2) | (((aux[2] >> 6) & KMASK1) << 4)) as i32,
            (((aux[0] >> 4) & KMASK2) | (((aux[2] >> 4) & KMASK1) << 4)) as i32,
            ((aux[1] & KMASK2) | (((aux[2] >> 2) & KMASK1) << 4)) as i32,
            ((aux[0] & KMASK2) | ((aux[2] & KMASK1) << 4)) as i32,
        );
        let sc = _mm_sub_epi8(sc, _mm_set1_epi8(32));
        let scales = scale_halves(_mm256_cvtepi8_epi16(sc));
        let hbits = ld32u(&bw.hmask);
        let mut sumi = _mm256_setzero_si256();
        let q8 = bx.qs.as_chunks::<32>().0;
        for (j, q3) in bw.qs.as_chunks::<32>().0.iter().enumerate() {
            let bits = ld32u(q3);
            for k in 0..4 {
                let low = _mm256_and_si256(_mm256_srl_epi16(bits, _mm_cvtsi32_si128(2 * k)), m3);
                // 4 where the high bit is clear (that element is `low - 4`), else 0.
                let m = _mm256_set1_epi8((1u8 << (4 * j as i32 + k)) as i8);
                let clear = _mm256_cmpeq_epi8(_mm256_and_si256(hbits, m), _mm256_setzero_si256());
                let high = _mm256_and_si256(clear, four);
                let y = ld32i(&q8[4 * j + k as usize]);
                let p =
                    _mm256_sub_epi16(_mm256_maddubs_epi16(low, y), _mm256_maddubs_epi16(high, y));
                let s = _mm256_shuffle_epi8(scales[j], shuffle_pair(k as i8));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(s, p));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    hsum_ps(acc)
}

/// Q4_K/Q5_K scales (low 8 i16) and minimums (high 8 i16).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn k4_scales_mins(scales: &[u8; 12]) -> __m256i {
    // ggml's unpacking of the 6-bit fields: utmp[0..2] = scales, utmp[2..4] = mins.
    const KMASK1: u32 = 0x3f3f_3f3f;
    const KMASK2: u32 = 0x0f0f_0f0f;
    const KMASK3: u32 = 0x0303_0303;
    let c = scales.as_chunks::<4>().0;
    let (u0, u1, u2) = (
        u32::from_le_bytes(c[0]),
        u32::from_le_bytes(c[1]),
        u32::from_le_bytes(c[2]),
    );
    let t3 = ((u2 >> 4) & KMASK2) | (((u1 >> 6) & KMASK3) << 4);
    let t2 = u1 & KMASK1;
    let t1 = (u2 & KMASK2) | (((u0 >> 6) & KMASK3) << 4);
    let t0 = u0 & KMASK1;
    _mm256_cvtepu8_epi16(_mm_set_epi32(t3 as i32, t2 as i32, t1 as i32, t0 as i32))
}

/// `Σ mins[j] · (bsums[2j] + bsums[2j+1])` as four i32 lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn k4_mins_prod(mins_and_scales: __m256i, bx: &BlockQ8K) -> __m128i {
    let q8sums = ld32u(&bx.bsums);
    let q8s = _mm_hadd_epi16(
        _mm256_castsi256_si128(q8sums),
        _mm256_extracti128_si256::<1>(q8sums),
    );
    _mm_madd_epi16(_mm256_extracti128_si256::<1>(mins_and_scales), q8s)
}

#[target_feature(enable = "avx2,fma,f16c")]
fn q4_k(w: &[BlockQ4K], x: &[BlockQ8K]) -> f32 {
    let m4 = _mm256_set1_epi8(0xF);
    let mut acc = _mm256_setzero_ps();
    let mut acc_m = _mm_setzero_ps();
    for (bw, bx) in w.iter().zip(x) {
        let d = bx.d() * h2f(bw.d);
        let dmin = -bx.d() * h2f(bw.dmin);
        let ms = k4_scales_mins(&bw.scales);
        let prod = k4_mins_prod(ms, bx);
        acc_m = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(prod), acc_m);
        let sc128 = _mm256_castsi256_si128(ms);
        let scales = _mm256_set_m128i(sc128, sc128);
        let mut sumi = _mm256_setzero_si256();
        let q8 = bx.qs.as_chunks::<32>().0;
        for (j, q4) in bw.qs.as_chunks::<32>().0.iter().enumerate() {
            let sl = _mm256_shuffle_epi8(scales, shuffle_one(2 * j as i8));
            let sh = _mm256_shuffle_epi8(scales, shuffle_one(2 * j as i8 + 1));
            let bits = ld32u(q4);
            let ql = _mm256_and_si256(bits, m4);
            let qh = _mm256_and_si256(_mm256_srli_epi16::<4>(bits), m4);
            let pl = _mm256_madd_epi16(sl, _mm256_maddubs_epi16(ql, ld32i(&q8[2 * j])));
            let ph = _mm256_madd_epi16(sh, _mm256_maddubs_epi16(qh, ld32i(&q8[2 * j + 1])));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(pl, ph));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    let acc_m = _mm_add_ps(acc_m, _mm_movehl_ps(acc_m, acc_m));
    let acc_m = _mm_add_ss(acc_m, _mm_movehdup_ps(acc_m));
    hsum_ps(acc) + _mm_cvtss_f32(acc_m)
}

#[target_feature(enable = "avx2,fma,f16c")]
fn q5_k(w: &[BlockQ5K], x: &[BlockQ8K]) -> f32 {
    let m4 = _mm256_set1_epi8(0xF);
    let sixteen = _mm256_set1_epi8(16);
    let mut acc = _mm256_setzero_ps();
    let mut summs = 0f32;
    for (bw, bx) in w.iter().zip(x) {
        let d = bx.d() * h2f(bw.d);
        let dmin = -bx.d() * h2f(bw.dmin);
        let ms = k4_scales_mins(&bw.scales);
        let prod = k4_mins_prod(ms, bx);
        let p = _mm_add_epi32(prod, _mm_unpackhi_epi64(prod, prod));
        let p = _mm_add_epi32(p, _mm_shuffle_epi32::<0b01>(p));
        summs += dmin * _mm_cvtsi128_si32(p) as f32;
        let sc128 = _mm256_castsi256_si128(ms);
        let scales = _mm256_set_m128i(sc128, sc128);
        let hbits = ld32u(&bw.qh);
        let mut sumi = _mm256_setzero_si256();
        let q8 = bx.qs.as_chunks::<32>().0;
        for (j, q5) in bw.qs.as_chunks::<32>().0.iter().enumerate() {
            let s0 = _mm256_shuffle_epi8(scales, shuffle_one(2 * j as i8));
            let s1 = _mm256_shuffle_epi8(scales, shuffle_one(2 * j as i8 + 1));
            let bits = ld32u(q5);
            let m0 = _mm256_set1_epi8((1u8 << (2 * j)) as i8);
            let m1 = _mm256_set1_epi8((1u8 << (2 * j + 1)) as i8);
            let h0 = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hbits, m0), m0), sixteen);
            let h1 = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hbits, m1), m1), sixteen);
            let q0 = _mm256_or_si256(_mm256_and_si256(bits, m4), h0);
            let q1 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16::<4>(bits), m4), h1);
            let p0 = _mm256_madd_epi16(s0, _mm256_maddubs_epi16(q0, ld32i(&q8[2 * j])));
            let p1 = _mm256_madd_epi16(s1, _mm256_maddubs_epi16(q1, ld32i(&q8[2 * j + 1])));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p0, p1));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    hsum_ps(acc) + summs
}

#[target_feature(enable = "avx2,fma,f16c")]
fn q6_k(w: &[BlockQ6K], x: &[BlockQ8K]) -> f32 {
    let m3 = _mm256_set1_epi8(3);
    let m15 = _mm256_set1_epi8(15);
    let mut acc = _mm256_setzero_ps();
    for (bw, bx) in w.iter().zip(x) {
        let d = bx.d() * h2f(bw.d);
        let scales = ld16u(&bw.scales.map(|s| s as u8));
        // The `-32` offset of every quant, applied once through the Q8_K group sums.
        let q8sclsub = _mm256_slli_epi32::<5>(_mm256_madd_epi16(
            ld32u(&bx.bsums),
            _mm256_cvtepi8_epi16(scales),
        ));
        let mut sumi = _mm256_setzero_si256();
        let ql = bw.ql.as_chunks::<32>().0;
        let qh = bw.qh.as_chunks::<32>().0;
        let q8 = bx.qs.as_chunks::<32>().0;
        for j in 0..2 {
            let b1 = ld32u(&ql[2 * j]);
            let b2 = ld32u(&ql[2 * j + 1]);
            let bh = ld32u(&qh[j]);
            let h0 = _mm256_slli_epi16::<4>(_mm256_and_si256(bh, m3));
            let h1 = _mm256_slli_epi16::<2>(_mm256_and_si256(bh, _mm256_set1_epi8(12)));
            let h2 = _mm256_and_si256(bh, _mm256_set1_epi8(48));
            let h3 = _mm256_srli_epi16::<2>(_mm256_and_si256(bh, _mm256_set1_epi8(-64)));
            let q = [
                _mm256_or_si256(_mm256_and_si256(b1, m15), h0),
                _mm256_or_si256(_mm256_and_si256(b2, m15), h1),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16::<4>(b1), m15), h2),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16::<4>(b2), m15), h3),
            ];
            for (k, q) in q.into_iter().enumerate() {
                let p = _mm256_maddubs_epi16(q, ld32i(&q8[4 * j + k]));
                // Scales 2i and 2i+1 (i = 4j + k), eight times each, widened to i16.
                let i = (4 * j + k) as i8;
                let sh = _mm_set_epi64x(
                    i64::from_ne_bytes([2 * i + 1; 8].map(|v| v as u8)),
                    i64::from_ne_bytes([2 * i; 8].map(|v| v as u8)),
                );
                let s = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales, sh));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(s, p));
            }
        }
        let sumi = _mm256_sub_epi32(sumi, q8sclsub);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    hsum_ps(acc)
}

// ---------------------------------------------------------------------------
// Float rows: four 8-lane accumulators, as ggml's `GGML_F32_STEP`/`GGML_F16_STEP`.

/// `Σ load(w)·load(x)` over 32-element steps (`load` widens 8 elements of `S` bytes),
/// with a scalar tail.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn float_dot<const S: usize, const B: usize>(
    w: &[u8],
    x: &[u8],
    load: impl Fn(&[u8; B]) -> __m256,
    one: impl Fn([u8; S]) -> f32,
) -> f32 {
    let (wc, wr) = w.as_chunks::<B>();
    let (xc, xr) = x.as_chunks::<B>();
    let (w4, w1) = wc.as_chunks::<4>();
    let (x4, x1) = xc.as_chunks::<4>();
    let mut acc = [_mm256_setzero_ps(); 4];
    for (a, b) in w4.iter().zip(x4) {
        for k in 0..4 {
            acc[k] = _mm256_fmadd_ps(load(&a[k]), load(&b[k]), acc[k]);
        }
    }
    for (k, (a, b)) in w1.iter().zip(x1).enumerate() {
        acc[k] = _mm256_fmadd_ps(load(a), load(b), acc[k]);
    }
    let s = _mm256_add_ps(_mm256_add_ps(acc[0], acc[2]), _mm256_add_ps(acc[1], acc[3]));
    let mut sum = hsum_ps(s);
    for (a, b) in wr.as_chunks::<S>().0.iter().zip(xr.as_chunks::<S>().0) {
        sum += one(*a) * one(*b);
    }
    sum
}

#[target_feature(enable = "avx2,fma,f16c")]
fn f32_dot(w: &[u8], x: &[u8]) -> f32 {
    float_dot::<4, 32>(
        w,
        x,
        // SAFETY: 32 readable bytes; `loadu` has no alignment requirement.
        |p| unsafe { _mm256_loadu_ps(p.as_ptr().cast()) },
        f32::from_le_bytes,
    )
}

#[target_feature(enable = "avx2,fma,f16c")]
fn f16_dot(w: &[u8], x: &[u8]) -> f32 {
    float_dot::<2, 16>(
        w,
        x,
        |p| _mm256_cvtph_ps(ld16u(p)),
        super::super::f16_to_f32,
    )
}

#[target_feature(enable = "avx2,fma,f16c")]
fn bf16_dot(w: &[u8], x: &[u8]) -> f32 {
    float_dot::<2, 16>(
        w,
        x,
        |p| _mm256_castsi256_ps(_mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(ld16u(p)))),
        |b| f32::from_bits((u16::from_le_bytes(b) as u32) << 16),
    )
}

// ---------------------------------------------------------------------------
// Activation quantizers, bit-identical to the scalar `quantize_activation`s
// (ggml-cpu's x86 `quantize_row_q8_0/1`) and `q8_k::quantize`.

/// Four vectors of 32 floats scaled by `id`, rounded half to even, as i32.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn round_block(v: &[__m256; 4], id: f32) -> [__m256i; 4] {
    let mul = _mm256_set1_ps(id);
    v.map(|v| {
        _mm256_cvtps_epi32(_mm256_round_ps::<
            { _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC },
        >(_mm256_mul_ps(v, mul)))
    })
}

/// Packs 32 i32 (in range) to i8 in element order.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn pack_block(i: [__m256i; 4]) -> __m256i {
    let a = _mm256_packs_epi32(i[0], i[1]);
    let b = _mm256_packs_epi32(i[2], i[3]);
    let p = _mm256_packs_epi16(a, b);
    _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7))
}

/// The block's four vectors and its absolute maximum.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn load_amax(x: &[f32; 32]) -> ([__m256; 4], f32) {
    let c = x.as_chunks::<8>().0;
    let v = [ld8f(&c[0]), ld8f(&c[1]), ld8f(&c[2]), ld8f(&c[3])];
    let sign = _mm256_set1_ps(-0.0);
    let m = v.iter().fold(_mm256_setzero_ps(), |m, &v| {
        _mm256_max_ps(m, _mm256_andnot_ps(sign, v))
    });
    let m4 = _mm_max_ps(_mm256_extractf128_ps::<1>(m), _mm256_castps256_ps128(m));
    let m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    let m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    (v, _mm_cvtss_f32(m4))
}

#[target_feature(enable = "avx2,fma,f16c")]
fn quantize_q8_0(src: &[f32], dst: &mut [BlockQ8_0]) {
    for (x, y) in src.as_chunks::<32>().0.iter().zip(dst) {
        let (v, amax) = load_amax(x);
        y.d = f32_to_f16(amax / 127.0);
        let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
        st32i(&mut y.qs, pack_block(round_block(&v, id)));
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
fn quantize_q8_1(src: &[f32], dst: &mut [BlockQ8_1]) {
    for (x, y) in src.as_chunks::<32>().0.iter().zip(dst) {
        let (v, amax) = load_amax(x);
        let d = amax / 127.0;
        y.d = f32_to_f16(d);
        let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
        let i = round_block(&v, id);
        let sum = hsum_epi32(_mm256_add_epi32(
            _mm256_add_epi32(i[0], i[1]),
            _mm256_add_epi32(i[2], i[3]),
        ));
        y.s = f32_to_f16(d * sum as f32);
        st32i(&mut y.qs, pack_block(i));
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
fn quantize_q8_k(src: &[f32], dst: &mut [BlockQ8K]) {
    let sign = _mm256_set1_ps(-0.0);
    for (x, y) in src.as_chunks::<QK_K>().0.iter().zip(dst) {
        let c = x.as_chunks::<8>().0;
        let mut m = _mm256_setzero_ps();
        for c in c {
            m = _mm256_max_ps(m, _mm256_andnot_ps(sign, ld8f(c)));
        }
        let m4 = _mm_max_ps(_mm256_extractf128_ps::<1>(m), _mm256_castps256_ps128(m));
        let m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        let amax = _mm_cvtss_f32(_mm_max_ss(m4, _mm_movehdup_ps(m4)));
        if amax == 0.0 || amax.is_nan() {
            // Leave the odd cases (all zero, NaN) to the reference code.
            super::super::q8_k::quantize(x, std::slice::from_mut(y));
            continue;
        }
        // The first element of largest magnitude, sign included (as the reference).
        let max = *x.iter().find(|v| v.abs() == amax).unwrap_or(&amax);
        let iscale = -127.0 / max;
        let q = x.as_chunks::<32>().0;
        for (g, (xq, yq)) in q.iter().zip(y.qs.as_chunks_mut::<32>().0).enumerate() {
            let xc = xq.as_chunks::<8>().0;
            let v = [ld8f(&xc[0]), ld8f(&xc[1]), ld8f(&xc[2]), ld8f(&xc[3])];
            let i = round_block(&v, iscale);
            let s0 = hsum_epi32(_mm256_add_epi32(i[0], i[1])) as i16;
            let s1 = hsum_epi32(_mm256_add_epi32(i[2], i[3])) as i16;
            y.bsums[4 * g..4 * g + 2].copy_from_slice(&s0.to_le_bytes());
            y.bsums[4 * g + 2..4 * g + 4].copy_from_slice(&s1.to_le_bytes());
            st32i(yq, pack_block(i));
        }
        y.d = (1.0 / iscale).to_le_bytes();
    }
}

// ---------------------------------------------------------------------------
// f16-cache attention helpers (see `super::f32_dots` etc. for the exact semantics).

/// Safe entry point; callers check [`detected`] first.
pub(crate) fn f16_to_f32_row(src: &[u16], dst: &mut [f32]) {
    // SAFETY: called only after `detected()`.
    unsafe { f16_to_f32_row_avx2(src, dst) }
}

/// Safe entry point; callers check [`detected`] first.
pub(crate) fn f32_dots(q: &[f32], k: &[f32], stride: usize, out: &mut [f32]) {
    // SAFETY: `super::f32_dots` calls this only after `detected()`; it checked that every
    // row `j < out.len()` lies inside `k`.
    unsafe { f32_dots_avx2(q, k, stride, out) }
}

/// Safe entry point; callers check [`detected`] first.
pub(crate) fn f16r_scale(acc: &mut [f32], s: f32) {
    // SAFETY: called only after `detected()`.
    unsafe { f16r_scale_avx2(acc, s) }
}

/// Safe entry point; callers check [`detected`] first.
pub(crate) fn f16r_mad(acc: &mut [f32], v: &[f32], s: f32) {
    // SAFETY: called only after `detected()`.
    unsafe { f16r_mad_avx2(acc, v, s) }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn ld8(p: &[f32; 8]) -> __m256 {
    // SAFETY: `p` is 32 readable bytes; `loadu` has no alignment requirement.
    unsafe { _mm256_loadu_ps(p.as_ptr()) }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn st8(p: &mut [f32; 8], v: __m256) {
    // SAFETY: `p` is 32 writable bytes; `storeu` has no alignment requirement.
    unsafe { _mm256_storeu_ps(p.as_mut_ptr(), v) }
}

/// Eight floats rounded to f16 and back (F16C: ties to even, as the scalar `f32_to_f16`).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn round8(v: __m256) -> __m256 {
    _mm256_cvtph_ps(_mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(v))
}

/// Transposes an 8×8 block of floats.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
    let t0 = _mm256_unpacklo_ps(r[0], r[1]);
    let t1 = _mm256_unpackhi_ps(r[0], r[1]);
    let t2 = _mm256_unpacklo_ps(r[2], r[3]);
    let t3 = _mm256_unpackhi_ps(r[2], r[3]);
    let t4 = _mm256_unpacklo_ps(r[4], r[5]);
    let t5 = _mm256_unpackhi_ps(r[4], r[5]);
    let t6 = _mm256_unpacklo_ps(r[6], r[7]);
    let t7 = _mm256_unpackhi_ps(r[6], r[7]);
    let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let s1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let s3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let s4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let s5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let s6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let s7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    [
        _mm256_permute2f128_ps::<0x20>(s0, s4),
        _mm256_permute2f128_ps::<0x20>(s1, s5),
        _mm256_permute2f128_ps::<0x20>(s2, s6),
        _mm256_permute2f128_ps::<0x20>(s3, s7),
        _mm256_permute2f128_ps::<0x31>(s0, s4),
        _mm256_permute2f128_ps::<0x31>(s1, s5),
        _mm256_permute2f128_ps::<0x31>(s2, s6),
        _mm256_permute2f128_ps::<0x31>(s3, s7),
    ]
}

/// Eight rows at a time, one row per lane: each lane adds its products in the scalar
/// order (multiply, then add; no FMA), so every result is bit-identical to the scalar sum.
#[target_feature(enable = "avx2,fma,f16c")]
fn f32_dots_avx2(q: &[f32], k: &[f32], stride: usize, out: &mut [f32]) {
    let hd = q.len();
    if !hd.is_multiple_of(8) {
        return super::f32_dots_scalar(q, k, stride, out);
    }
    let (blocks, rest) = out.as_chunks_mut::<8>();
    for (b, o) in blocks.iter_mut().enumerate() {
        let j0 = 8 * b;
        let mut acc = _mm256_set1_ps(-0.0);
        for (c, qc) in q.as_chunks::<8>().0.iter().enumerate() {
            let rows: [__m256; 8] = std::array::from_fn(|r| {
                let s = (j0 + r) * stride + 8 * c;
                ld8(k[s..s + 8].try_into().unwrap())
            });
            let t = transpose8(rows);
            for i in 0..8 {
                acc = _mm256_add_ps(acc, _mm256_mul_ps(t[i], _mm256_set1_ps(qc[i])));
            }
        }
        st8(o, acc);
    }
    let done = blocks.len() * 8;
    super::f32_dots_scalar(q, &k[(done * stride).min(k.len())..], stride, rest);
}

#[target_feature(enable = "avx2,fma,f16c")]
fn f16_to_f32_row_avx2(src: &[u16], dst: &mut [f32]) {
    let n = src.len().min(dst.len());
    let (dc, dr) = dst[..n].as_chunks_mut::<8>();
    let (sc, sr) = src[..n].as_chunks::<8>();
    for (d, s) in dc.iter_mut().zip(sc) {
        // SAFETY: `s` is 16 readable bytes; `loadu` has no alignment requirement.
        st8(
            d,
            _mm256_cvtph_ps(unsafe { _mm_loadu_si128(s.as_ptr().cast()) }),
        );
    }
    super::f16_to_f32_row_scalar(sr, dr);
}

#[target_feature(enable = "avx2,fma,f16c")]
fn f16r_scale_avx2(acc: &mut [f32], s: f32) {
    let (c, rest) = acc.as_chunks_mut::<8>();
    let m = _mm256_set1_ps(s);
    for a in c {
        st8(a, round8(_mm256_mul_ps(ld8(a), m)));
    }
    super::f16r_scale_scalar(rest, s);
}

#[target_feature(enable = "avx2,fma,f16c")]
fn f16r_mad_avx2(acc: &mut [f32], v: &[f32], s: f32) {
    let (c, rest) = acc.as_chunks_mut::<8>();
    let (vc, vr) = v.as_chunks::<8>();
    let m = _mm256_set1_ps(s);
    for (a, b) in c.iter_mut().zip(vc) {
        st8(a, round8(_mm256_add_ps(ld8(a), _mm256_mul_ps(ld8(b), m))));
    }
    super::f16r_mad_scalar(rest, vr, s);
}
