//! aarch64 NEON kernels (Apple silicon, Graviton, Ampere, phones). NEON is part of every
//! aarch64 CPU, so these need no detection; the signed byte dot products use `sdot` where the
//! CPU has the `dotprod` extension (detected once at run time), else widening multiplies
//! (`smull` + `sadalp`). Both variants share one generic kernel per type (over [`Dot8`]).
//! Per block the integer math is ggml's; the K-quant kernels keep the scalar kernels' float
//! order. `HEARTH_NO_SIMD` in the environment forces the portable kernels.

use std::arch::aarch64::*;
use std::arch::asm;
use std::sync::atomic::{AtomicU8, Ordering};

use super::super::q4_0::BlockQ4_0;
use super::super::q4_1::BlockQ4_1;
use super::super::q4_k::{BlockQ4K, mins_dot_bsums, scales_mins_k4};
use super::super::q5_0::BlockQ5_0;
use super::super::q5_1::BlockQ5_1;
use super::super::q5_k::BlockQ5K;
use super::super::q6_k::BlockQ6K;
use super::super::q8_0::BlockQ8_0;
use super::super::q8_1::BlockQ8_1;
use super::super::q8_k::BlockQ8K;
use super::super::{as_blocks, as_blocks_mut, f16_to_f32, f32_to_f16};
use super::{ActFn, DotFn};
use crate::GgmlType;

/// Which kernels this CPU gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    /// `HEARTH_NO_SIMD`: the portable kernels.
    Scalar,
    /// NEON with widening multiplies.
    Neon,
    /// NEON with `sdot` (ARMv8.2 `dotprod`: Apple M1 and later, Neoverse, Cortex-A55/A76+).
    DotProd,
}

/// 0: not yet checked, else `Level as u8 + 1`.
static LEVEL: AtomicU8 = AtomicU8::new(0);

/// The kernel level of this CPU (checked once).
pub(crate) fn level() -> Level {
    match LEVEL.load(Ordering::Relaxed) {
        1 => Level::Scalar,
        2 => Level::Neon,
        3 => Level::DotProd,
        _ => {
            let l = if std::env::var_os("HEARTH_NO_SIMD").is_some() {
                Level::Scalar
            } else if std::arch::is_aarch64_feature_detected!("dotprod") {
                Level::DotProd
            } else {
                Level::Neon
            };
            LEVEL.store(l as u8 + 1, Ordering::Relaxed);
            l
        }
    }
}

/// The NEON dot product for `ty` on this CPU, if there is one.
pub(crate) fn vec_dot(ty: GgmlType) -> Option<DotFn> {
    match level() {
        Level::Scalar => None,
        Level::Neon => vec_dot_neon(ty),
        Level::DotProd => vec_dot_dotprod(ty),
    }
}

/// The kernels with widening multiplies (every aarch64 CPU).
pub(crate) fn vec_dot_neon(ty: GgmlType) -> Option<DotFn> {
    use GgmlType::*;
    Some(match ty {
        F32 => neon_f32,
        F16 => neon_f16,
        Q4_0 => neon_q4_0,
        Q4_1 => neon_q4_1,
        Q5_0 => neon_q5_0,
        Q5_1 => neon_q5_1,
        Q8_0 => neon_q8_0,
        Q4_K => neon_q4_k,
        Q5_K => neon_q5_k,
        Q6_K => neon_q6_k,
        _ => return None,
    })
}

/// The `sdot` kernels, if this CPU has `dotprod`.
pub(crate) fn vec_dot_dotprod(ty: GgmlType) -> Option<DotFn> {
    if !std::arch::is_aarch64_feature_detected!("dotprod") {
        return None;
    }
    use GgmlType::*;
    Some(match ty {
        F32 => neon_f32,
        F16 => neon_f16,
        Q4_0 => dp_q4_0,
        Q4_1 => dp_q4_1,
        Q5_0 => dp_q5_0,
        Q5_1 => dp_q5_1,
        Q8_0 => dp_q8_0,
        Q4_K => dp_q4_k,
        Q5_K => dp_q5_k,
        Q6_K => dp_q6_k,
        _ => return None,
    })
}

/// The NEON activation quantizer for `ty`, if there is one.
pub(crate) fn quantize_activation(ty: GgmlType) -> Option<ActFn> {
    if level() == Level::Scalar {
        return None;
    }
    Some(match ty {
        // SAFETY (both): NEON is part of every aarch64 CPU.
        GgmlType::Q8_0 => |s, d| unsafe { quantize_q8_0(s, as_blocks_mut(d)) },
        GgmlType::Q8_1 => |s, d| unsafe { quantize_q8_1(s, as_blocks_mut(d)) },
        _ => return None,
    })
}

/// Safe entry points over byte rows (lengths were checked by the caller): each kernel
/// instantiated with a [`Dot8`] inside a function with that implementation's features, so the
/// byte dot product inlines into the kernel.
macro_rules! entries {
    ($feat:literal, $dot:ty; $($name:ident => $imp:ident ( $w:ty, $x:ty );)*) => {$(
        fn $name(w: &[u8], x: &[u8]) -> f32 {
            #[target_feature(enable = $feat)]
            fn with_features(w: &[$w], x: &[$x]) -> f32 {
                // SAFETY: this function has the features the `Dot8` implementation needs.
                unsafe { $imp::<$dot>(w, x) }
            }
            // SAFETY: entries are only handed out where the CPU has the features (see the
            // comments on the invocations).
            unsafe { with_features(as_blocks(w), as_blocks(x)) }
        }
    )*};
}

// NEON is part of every aarch64 CPU.
entries! {
    "neon", Widen;
    neon_q4_0 => q4_0(BlockQ4_0, BlockQ8_0);
    neon_q4_1 => q4_1(BlockQ4_1, BlockQ8_1);
    neon_q5_0 => q5_0(BlockQ5_0, BlockQ8_0);
    neon_q5_1 => q5_1(BlockQ5_1, BlockQ8_1);
    neon_q8_0 => q8_0(BlockQ8_0, BlockQ8_0);
    neon_q4_k => q4_k(BlockQ4K, BlockQ8K);
    neon_q5_k => q5_k(BlockQ5K, BlockQ8K);
    neon_q6_k => q6_k(BlockQ6K, BlockQ8K);
}

// Only handed out by `vec_dot_dotprod`, after detecting `dotprod`.
entries! {
    "neon,dotprod", Sdot;
    dp_q4_0 => q4_0(BlockQ4_0, BlockQ8_0);
    dp_q4_1 => q4_1(BlockQ4_1, BlockQ8_1);
    dp_q5_0 => q5_0(BlockQ5_0, BlockQ8_0);
    dp_q5_1 => q5_1(BlockQ5_1, BlockQ8_1);
    dp_q8_0 => q8_0(BlockQ8_0, BlockQ8_0);
    dp_q4_k => q4_k(BlockQ4K, BlockQ8K);
    dp_q5_k => q5_k(BlockQ5K, BlockQ8K);
    dp_q6_k => q6_k(BlockQ6K, BlockQ8K);
}

fn neon_f32(w: &[u8], x: &[u8]) -> f32 {
    // SAFETY: NEON is part of every aarch64 CPU.
    unsafe { f32_dot(w, x) }
}

fn neon_f16(w: &[u8], x: &[u8]) -> f32 {
    // SAFETY: NEON is part of every aarch64 CPU.
    unsafe { f16_dot(w, x) }
}

// ---------------------------------------------------------------------------
// The signed byte dot product, two ways.

/// `acc + ` the products of 16 signed byte pairs, summed in fours (which four goes to which
/// lane differs between implementations; callers only use lane sums or uniform scales).
///
/// The kernels generic over it are `unsafe`: the CPU must have the implementation's features.
trait Dot8 {
    /// # Safety
    /// The CPU must have the implementation's target features.
    unsafe fn dot(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t;
}

/// `smull`/`smull2` to i16, then pairwise add-accumulate to i32 (baseline NEON).
struct Widen;

impl Dot8 for Widen {
    #[inline]
    #[target_feature(enable = "neon")]
    unsafe fn dot(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
        let lo = vmull_s8(vget_low_s8(a), vget_low_s8(b));
        let hi = vmull_high_s8(a, b);
        vpadalq_s16(vpadalq_s16(acc, lo), hi)
    }
}

/// `sdot` (ARMv8.2 dotprod; written as asm because its intrinsic is not stable in Rust yet).
struct Sdot;

impl Dot8 for Sdot {
    #[inline]
    #[target_feature(enable = "neon,dotprod")]
    unsafe fn dot(mut acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
        // SAFETY: `sdot` only reads and writes the three vector registers.
        unsafe {
            asm!(
                "sdot {acc:v}.4s, {a:v}.16b, {b:v}.16b",
                acc = inout(vreg) acc,
                a = in(vreg) a,
                b = in(vreg) b,
                options(pure, nomem, nostack, preserves_flags)
            );
        }
        acc
    }
}

/// Both 16-byte products of a 32-quant pair of blocks, added.
///
/// # Safety
/// The CPU must have `D`'s target features (as for every kernel below).
#[inline]
#[target_feature(enable = "neon")]
unsafe fn dot32<D: Dot8>(a: (int8x16_t, int8x16_t), b: (int8x16_t, int8x16_t)) -> int32x4_t {
    // SAFETY: the caller's contract.
    unsafe { D::dot(D::dot(vdupq_n_s32(0), a.0, b.0), a.1, b.1) }
}

#[inline]
#[target_feature(enable = "neon")]
fn ld(p: &[u8; 16]) -> uint8x16_t {
    // SAFETY: `p` is 16 readable bytes; `ld1` has no alignment requirement.
    unsafe { vld1q_u8(p.as_ptr()) }
}

#[inline]
#[target_feature(enable = "neon")]
fn ldi(p: &[i8; 16]) -> int8x16_t {
    // SAFETY: `p` is 16 readable bytes; `ld1` has no alignment requirement.
    unsafe { vld1q_s8(p.as_ptr()) }
}

#[inline]
#[target_feature(enable = "neon")]
fn ldf(p: &[f32; 4]) -> float32x4_t {
    // SAFETY: `p` is 4 readable floats; `ld1` has no alignment requirement.
    unsafe { vld1q_f32(p.as_ptr()) }
}

#[inline]
#[target_feature(enable = "neon")]
fn st(p: &mut [i8; 16], v: int8x16_t) {
    // SAFETY: `p` is 16 writable bytes; `st1` has no alignment requirement.
    unsafe { vst1q_s8(p.as_mut_ptr(), v) }
}

/// The two 16-byte halves of 32 quants.
#[inline]
#[target_feature(enable = "neon")]
fn halves(q: &[i8; 32]) -> (int8x16_t, int8x16_t) {
    let c = q.as_chunks::<16>().0;
    (ldi(&c[0]), ldi(&c[1]))
}

/// `(l0 + l1) + (l2 + l3)`, as the wasm and scalar reductions add.
#[inline]
#[target_feature(enable = "neon")]
fn hsum_f(v: float32x4_t) -> f32 {
    vaddvq_f32(v)
}

/// Low and high nibbles of 16 bytes, as signed bytes (0..=15).
#[inline]
#[target_feature(enable = "neon")]
fn nibbles(qs: &[u8; 16]) -> (uint8x16_t, uint8x16_t) {
    let v = ld(qs);
    (vandq_u8(v, vdupq_n_u8(0x0F)), vshrq_n_u8::<4>(v))
}

#[inline]
#[target_feature(enable = "neon")]
fn s8(v: uint8x16_t) -> int8x16_t {
    vreinterpretq_s8_u8(v)
}

/// The fifth bits of a Q5 block as two byte masks (all ones where set) for elements
/// 0..16 and 16..32.
#[inline]
#[target_feature(enable = "neon")]
fn fifth_bits(qh: [u8; 4]) -> (uint8x16_t, uint8x16_t) {
    let all = vreinterpretq_u8_u32(vdupq_n_u32(u32::from_le_bytes(qh)));
    let bit = vreinterpretq_u8_u64(vdupq_n_u64(0x8040_2010_0804_0201));
    let lo = vqtbl1q_u8(all, vcombine_u8(vdup_n_u8(0), vdup_n_u8(1)));
    let hi = vqtbl1q_u8(all, vcombine_u8(vdup_n_u8(2), vdup_n_u8(3)));
    (vtstq_u8(lo, bit), vtstq_u8(hi, bit))
}

/// `acc + f32(s) · d`.
#[inline]
#[target_feature(enable = "neon")]
fn scaled(acc: float32x4_t, s: int32x4_t, d: f32) -> float32x4_t {
    vaddq_f32(acc, vmulq_n_f32(vcvtq_f32_s32(s), d))
}

#[inline]
#[target_feature(enable = "neon")]
unsafe fn q4_0<D: Dot8>(w: &[BlockQ4_0], x: &[BlockQ8_0]) -> f32 {
    let mut acc = vdupq_n_f32(0.0);
    let eight = vdupq_n_s8(8);
    for (bw, bx) in w.iter().zip(x) {
        let (lo, hi) = nibbles(&bw.qs);
        let q = (vsubq_s8(s8(lo), eight), vsubq_s8(s8(hi), eight));
        let s = unsafe { dot32::<D>(q, halves(&bx.qs)) };
        acc = scaled(acc, s, f16_to_f32(bw.d) * f16_to_f32(bx.d));
    }
    hsum_f(acc)
}

#[inline]
#[target_feature(enable = "neon")]
unsafe fn q4_1<D: Dot8>(w: &[BlockQ4_1], x: &[BlockQ8_1]) -> f32 {
    let mut acc = vdupq_n_f32(0.0);
    let mut summs = 0f32;
    for (bw, bx) in w.iter().zip(x) {
        let (lo, hi) = nibbles(&bw.qs);
        let s = unsafe { dot32::<D>((s8(lo), s8(hi)), halves(&bx.qs)) };
        acc = scaled(acc, s, f16_to_f32(bw.d) * f16_to_f32(bx.d));
        summs += f16_to_f32(bw.m) * f16_to_f32(bx.s);
    }
    hsum_f(acc) + summs
}

#[inline]
#[target_feature(enable = "neon")]
unsafe fn q5_0<D: Dot8>(w: &[BlockQ5_0], x: &[BlockQ8_0]) -> f32 {
    let mut acc = vdupq_n_f32(0.0);
    let f0 = vdupq_n_u8(0xF0);
    for (bw, bx) in w.iter().zip(x) {
        let (lo, hi) = nibbles(&bw.qs);
        let (b0, b1) = fifth_bits(bw.qh);
        // Without the fifth bit the quant is `nibble - 16`: or in 0xF0.
        let q = (
            s8(vorrq_u8(lo, vbicq_u8(f0, b0))),
            s8(vorrq_u8(hi, vbicq_u8(f0, b1))),
        );
        let s = unsafe { dot32::<D>(q, halves(&bx.qs)) };
        acc = scaled(acc, s, f16_to_f32(bw.d) * f16_to_f32(bx.d));
    }
    hsum_f(acc)
}

#[inline]
#[target_feature(enable = "neon")]
unsafe fn q5_1<D: Dot8>(w: &[BlockQ5_1], x: &[BlockQ8_1]) -> f32 {
    let mut acc = vdupq_n_f32(0.0);
    let mut summs = 0f32;
    let h = vdupq_n_u8(0x10);
    for (bw, bx) in w.iter().zip(x) {
        let (lo, hi) = nibbles(&bw.qs);
        let (b0, b1) = fifth_bits(bw.qh);
        let q = (
            s8(vorrq_u8(lo, vandq_u8(h, b0))),
            s8(vorrq_u8(hi, vandq_u8(h, b1))),
        );
        let s = unsafe { dot32::<D>(q, halves(&bx.qs)) };
        acc = scaled(acc, s, f16_to_f32(bw.d) * f16_to_f32(bx.d));
        summs += f16_to_f32(bw.m) * f16_to_f32(bx.s);
    }
    hsum_f(acc) + summs
}

#[inline]
#[target_feature(enable = "neon")]
unsafe fn q8_0<D: Dot8>(w: &[BlockQ8_0], x: &[BlockQ8_0]) -> f32 {
    let mut acc = vdupq_n_f32(0.0);
    for (bw, bx) in w.iter().zip(x) {
        let s = unsafe { dot32::<D>(halves(&bw.qs), halves(&bx.qs)) };
        acc = scaled(acc, s, f16_to_f32(bw.d) * f16_to_f32(bx.d));
    }
    hsum_f(acc)
}

/// Same float steps as the scalar `q4_k::vec_dot`; only the integer sums are vectorised.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn q4_k<D: Dot8>(w: &[BlockQ4K], x: &[BlockQ8K]) -> f32 {
    let mut sumf = 0f32;
    for (bw, bx) in w.iter().zip(x) {
        let (sc, m) = scales_mins_k4(&bw.scales);
        let mut isum = vdupq_n_s32(0);
        let q8 = bx.qs.as_chunks::<16>().0;
        for (c, q4) in bw.qs.as_chunks::<16>().0.chunks_exact(2).enumerate() {
            let (l0, h0) = nibbles(&q4[0]);
            let (l1, h1) = nibbles(&q4[1]);
            let s0 =
                unsafe { dot32::<D>((s8(l0), s8(l1)), (ldi(&q8[4 * c]), ldi(&q8[4 * c + 1]))) };
            let s1 =
                unsafe { dot32::<D>((s8(h0), s8(h1)), (ldi(&q8[4 * c + 2]), ldi(&q8[4 * c + 3]))) };
            isum = vmlaq_n_s32(isum, s0, sc[2 * c] as i32);
            isum = vmlaq_n_s32(isum, s1, sc[2 * c + 1] as i32);
        }
        let d = f16_to_f32(bw.d) * bx.d();
        let dmin = f16_to_f32(bw.dmin) * bx.d();
        sumf += d * vaddvq_s32(isum) as f32 - dmin * mins_dot_bsums(&m, bx) as f32;
    }
    sumf
}

/// Same float steps as the scalar `q5_k::vec_dot`; only the integer sums are vectorised.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn q5_k<D: Dot8>(w: &[BlockQ5K], x: &[BlockQ8K]) -> f32 {
    let m4 = vdupq_n_u8(0x0F);
    let one = vdupq_n_u8(1);
    let two = vdupq_n_u8(2);
    let mut sumf = 0f32;
    for (bw, bx) in w.iter().zip(x) {
        let (sc, m) = scales_mins_k4(&bw.scales);
        let mut isum = vdupq_n_s32(0);
        let q8 = bx.qs.as_chunks::<16>().0;
        let qh = bw.qh.as_chunks::<16>().0;
        // Bit 2c of qh[l] is element l's fifth bit in chunk c's low half, bit 2c+1 in its high.
        let (mut h0, mut h1) = (ld(&qh[0]), ld(&qh[1]));
        for (c, q5) in bw.qs.as_chunks::<16>().0.chunks_exact(2).enumerate() {
            let (a, b) = (ld(&q5[0]), ld(&q5[1]));
            let lo = (
                s8(vorrq_u8(
                    vandq_u8(a, m4),
                    vshlq_n_u8::<4>(vandq_u8(h0, one)),
                )),
                s8(vorrq_u8(
                    vandq_u8(b, m4),
                    vshlq_n_u8::<4>(vandq_u8(h1, one)),
                )),
            );
            let hi = (
                s8(vorrq_u8(
                    vshrq_n_u8::<4>(a),
                    vshlq_n_u8::<3>(vandq_u8(h0, two)),
                )),
                s8(vorrq_u8(
                    vshrq_n_u8::<4>(b),
                    vshlq_n_u8::<3>(vandq_u8(h1, two)),
                )),
            );
            h0 = vshrq_n_u8::<2>(h0);
            h1 = vshrq_n_u8::<2>(h1);
            let s0 = unsafe { dot32::<D>(lo, (ldi(&q8[4 * c]), ldi(&q8[4 * c + 1]))) };
            let s1 = unsafe { dot32::<D>(hi, (ldi(&q8[4 * c + 2]), ldi(&q8[4 * c + 3]))) };
            isum = vmlaq_n_s32(isum, s0, sc[2 * c] as i32);
            isum = vmlaq_n_s32(isum, s1, sc[2 * c + 1] as i32);
        }
        let d = f16_to_f32(bw.d) * bx.d();
        let dmin = f16_to_f32(bw.dmin) * bx.d();
        sumf += d * vaddvq_s32(isum) as f32 - dmin * mins_dot_bsums(&m, bx) as f32;
    }
    sumf
}

/// Same float steps as the scalar `q6_k::vec_dot`; only the integer sums are vectorised.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn q6_k<D: Dot8>(w: &[BlockQ6K], x: &[BlockQ8K]) -> f32 {
    let m4 = vdupq_n_u8(0x0F);
    let m30 = vdupq_n_u8(0x30);
    let off = vdupq_n_s8(32);
    let mut sumf = 0f32;
    for (bw, bx) in w.iter().zip(x) {
        let mut isum = vdupq_n_s32(0);
        let q8 = bx.qs.as_chunks::<16>().0;
        let ql = bw.ql.as_chunks::<16>().0;
        let qh = bw.qh.as_chunks::<16>().0;
        for h in 0..2 {
            for p in 0..2 {
                let a = ld(&ql[4 * h + p]);
                let b = ld(&ql[4 * h + 2 + p]);
                let hb = ld(&qh[2 * h + p]);
                // Bits 2k..2k+2 of qh become bits 4..6 of quant k.
                let q = [
                    vorrq_u8(vandq_u8(a, m4), vandq_u8(vshlq_n_u8::<4>(hb), m30)),
                    vorrq_u8(vandq_u8(b, m4), vandq_u8(vshlq_n_u8::<2>(hb), m30)),
                    vorrq_u8(vshrq_n_u8::<4>(a), vandq_u8(hb, m30)),
                    vorrq_u8(vshrq_n_u8::<4>(b), vandq_u8(vshrq_n_u8::<2>(hb), m30)),
                ];
                for (k, q) in q.into_iter().enumerate() {
                    let g = 2 * k + p; // 16-element group within the 128-element half
                    // SAFETY: the caller's contract.
                    let s = unsafe {
                        D::dot(vdupq_n_s32(0), vsubq_s8(s8(q), off), ldi(&q8[8 * h + g]))
                    };
                    isum = vmlaq_n_s32(isum, s, bw.scales[8 * h + g] as i32);
                }
            }
        }
        sumf += f16_to_f32(bw.d) * bx.d() * vaddvq_s32(isum) as f32;
    }
    sumf
}

/// IEEE half to f32 in four lanes (the branch-free `f16_to_f32`, exact); `h` holds the
/// halves zero-extended to 32 bits.
#[inline]
#[target_feature(enable = "neon")]
fn h2f4(h: uint32x4_t) -> float32x4_t {
    let w = vshlq_n_u32::<16>(h);
    let sign = vandq_u32(w, vdupq_n_u32(0x8000_0000));
    let two_w = vaddq_u32(w, w);
    let norm = vmulq_f32(
        vreinterpretq_f32_u32(vaddq_u32(vshrq_n_u32::<4>(two_w), vdupq_n_u32(0xE0 << 23))),
        vdupq_n_f32(f32::from_bits(0x0780_0000)),
    );
    let denorm = vsubq_f32(
        vreinterpretq_f32_u32(vorrq_u32(vshrq_n_u32::<17>(two_w), vdupq_n_u32(126 << 23))),
        vdupq_n_f32(0.5),
    );
    let small = vcltq_u32(two_w, vdupq_n_u32(1 << 27));
    let bits = vbslq_u32(
        small,
        vreinterpretq_u32_f32(denorm),
        vreinterpretq_u32_f32(norm),
    );
    vreinterpretq_f32_u32(vorrq_u32(sign, bits))
}

#[target_feature(enable = "neon")]
fn f32_dot(w: &[u8], x: &[u8]) -> f32 {
    let (wc, wr) = w.as_chunks::<16>();
    let (xc, xr) = x.as_chunks::<16>();
    let mut acc = [vdupq_n_f32(0.0); 4];
    for (k, (a, b)) in wc.iter().zip(xc).enumerate() {
        let (a, b) = (vreinterpretq_f32_u8(ld(a)), vreinterpretq_f32_u8(ld(b)));
        acc[k % 4] = vfmaq_f32(acc[k % 4], a, b);
    }
    let mut sum = hsum_f(vaddq_f32(
        vaddq_f32(acc[0], acc[2]),
        vaddq_f32(acc[1], acc[3]),
    ));
    for (a, b) in wr.as_chunks::<4>().0.iter().zip(xr.as_chunks::<4>().0) {
        sum += f32::from_le_bytes(*a) * f32::from_le_bytes(*b);
    }
    sum
}

#[target_feature(enable = "neon")]
fn f16_dot(w: &[u8], x: &[u8]) -> f32 {
    let (wc, wr) = w.as_chunks::<16>();
    let (xc, xr) = x.as_chunks::<16>();
    let mut acc = [vdupq_n_f32(0.0); 2];
    for (a, b) in wc.iter().zip(xc) {
        let (a, b) = (vreinterpretq_u16_u8(ld(a)), vreinterpretq_u16_u8(ld(b)));
        let lo = (vmovl_u16(vget_low_u16(a)), vmovl_u16(vget_low_u16(b)));
        let hi = (vmovl_high_u16(a), vmovl_high_u16(b));
        acc[0] = vfmaq_f32(acc[0], h2f4(lo.0), h2f4(lo.1));
        acc[1] = vfmaq_f32(acc[1], h2f4(hi.0), h2f4(hi.1));
    }
    let mut sum = hsum_f(vaddq_f32(acc[0], acc[1]));
    for (a, b) in wr.as_chunks::<2>().0.iter().zip(xr.as_chunks::<2>().0) {
        sum += f16_to_f32(*a) * f16_to_f32(*b);
    }
    sum
}

/// 32 floats times `id`, rounded half to even, packed to i8 (saturating, as `as i8`); also
/// returns the sum of the quants.
#[inline]
#[target_feature(enable = "neon")]
fn round_pack(v: &[float32x4_t; 8], id: f32, out: &mut [i8; 32]) -> i32 {
    let q = v.map(|v| vcvtnq_s32_f32(vmulq_n_f32(v, id)));
    let sum = vaddvq_s32(vaddq_s32(
        vaddq_s32(vaddq_s32(q[0], q[1]), vaddq_s32(q[2], q[3])),
        vaddq_s32(vaddq_s32(q[4], q[5]), vaddq_s32(q[6], q[7])),
    ));
    let o = out.as_chunks_mut::<16>().0;
    for h in 0..2 {
        let a = vcombine_s16(vqmovn_s32(q[4 * h]), vqmovn_s32(q[4 * h + 1]));
        let b = vcombine_s16(vqmovn_s32(q[4 * h + 2]), vqmovn_s32(q[4 * h + 3]));
        st(&mut o[h], vcombine_s8(vqmovn_s16(a), vqmovn_s16(b)));
    }
    sum
}

#[inline]
#[target_feature(enable = "neon")]
fn load_amax(x: &[f32; 32]) -> ([float32x4_t; 8], f32) {
    let c = x.as_chunks::<4>().0;
    let v: [float32x4_t; 8] = std::array::from_fn(|i| ldf(&c[i]));
    let m = v
        .iter()
        .fold(vdupq_n_f32(0.0), |m, &v| vmaxq_f32(m, vabsq_f32(v)));
    (v, vmaxvq_f32(m))
}

#[target_feature(enable = "neon")]
fn quantize_q8_0(src: &[f32], dst: &mut [BlockQ8_0]) {
    for (x, y) in src.as_chunks::<32>().0.iter().zip(dst) {
        let (v, amax) = load_amax(x);
        y.d = f32_to_f16(amax / 127.0);
        let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
        round_pack(&v, id, &mut y.qs);
    }
}

#[target_feature(enable = "neon")]
fn quantize_q8_1(src: &[f32], dst: &mut [BlockQ8_1]) {
    for (x, y) in src.as_chunks::<32>().0.iter().zip(dst) {
        let (v, amax) = load_amax(x);
        let d = amax / 127.0;
        y.d = f32_to_f16(d);
        let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
        let sum = round_pack(&v, id, &mut y.qs);
        y.s = f32_to_f16(d * sum as f32);
    }
}
