//! Per-architecture SIMD kernels behind the public [`vec_dot`](super::vec_dot),
//! [`VecDot`](super::VecDot) and [`quantize_activation_row`](super::quantize_activation_row).
//!
//! - x86-64: AVX2 + FMA + F16C, detected at run time (once) — see `x86.rs`; on CPUs with
//!   AVX-512 F/BW/VL/VNNI, Q4_0/Q4_1/Q5_0/Q8_0/Q4_K dots use `x86_avx512.rs` instead, and the
//!   Q4_0/Q4_1/Q5_0/Q8_0 prompt tiles `x86/tile_vnni.rs` (bit-identical results;
//!   `HEARTH_NO_AVX512` keeps the AVX2 ones).
//! - aarch64: NEON (always there), with `sdot` where `dotprod` is detected at run time — see
//!   `aarch64.rs`.
//! - wasm32: `simd128`, compiled in when the target feature is on (the wasm build enables it
//!   in `.cargo/config.toml`) — see `wasm.rs`.
//! - anything else, or a CPU without the features: the portable scalar kernels.
//!
//! The SIMD kernels follow ggml-cpu's per-block integer math like the scalar ones; only the
//! order of float additions differs, so they agree with the scalar kernels to float rounding.
//! Activation quantizers are bit-identical to the scalar ones. Setting `HEARTH_NO_SIMD` in
//! the environment forces the scalar kernels on x86-64 and aarch64 (for comparisons).

use crate::GgmlType;

/// A dot product over byte rows whose lengths the caller has checked.
pub(crate) type DotFn = fn(&[u8], &[u8]) -> f32;
/// A tile of dot products: `out[r · toks + t] = w_r · x_t` for the `rows = w.len() / wb`
/// weight rows of `wb` bytes and `toks = x.len() / xb` activation rows of `xb` bytes,
/// each bit-identical to the type's [`DotFn`]. Lengths are checked by the caller.
pub(crate) type TileFn = fn(&[u8], usize, &[u8], usize, &mut [f32]);
/// An activation quantizer over a row whose lengths the caller has checked.
pub(crate) type ActFn = fn(&[f32], &mut [u8]);

#[cfg(target_arch = "x86_64")]
mod x86;
#[cfg(target_arch = "x86_64")]
mod x86_avx512;

#[cfg(target_arch = "aarch64")]
mod aarch64;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm;

#[cfg(test)]
mod tests;

/// The SIMD dot product for weights of type `ty` on this CPU, if there is one.
#[inline]
pub(crate) fn vec_dot(ty: GgmlType) -> Option<DotFn> {
    #[cfg(target_arch = "x86_64")]
    let f = x86::vec_dot(ty);
    #[cfg(target_arch = "aarch64")]
    let f = aarch64::vec_dot(ty);
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let f = wasm::vec_dot(ty);
    #[cfg(not(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        all(target_arch = "wasm32", target_feature = "simd128")
    )))]
    let f = {
        let _ = ty;
        None
    };
    f
}

/// The SIMD tile kernel (several weight rows × several tokens) for `ty`, if there is one.
#[inline]
pub(crate) fn dot_tile(ty: GgmlType) -> Option<TileFn> {
    #[cfg(target_arch = "x86_64")]
    let f = x86::dot_tile(ty);
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let f = wasm::dot_tile(ty);
    #[cfg(not(any(
        target_arch = "x86_64",
        all(target_arch = "wasm32", target_feature = "simd128")
    )))]
    let f = {
        let _ = ty;
        None
    };
    f
}

/// The SIMD activation quantizer to `ty` on this CPU, if there is one.
#[inline]
pub(crate) fn quantize_activation(ty: GgmlType) -> Option<ActFn> {
    #[cfg(target_arch = "x86_64")]
    let f = x86::quantize_activation(ty);
    #[cfg(target_arch = "aarch64")]
    let f = aarch64::quantize_activation(ty);
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let f = wasm::quantize_activation(ty);
    #[cfg(not(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        all(target_arch = "wasm32", target_feature = "simd128")
    )))]
    let f = {
        let _ = ty;
        None
    };
    f
}

/// Which kernel set [`vec_dot`](super::vec_dot) uses here: `"avx512-vnni"` (AVX2 plus
/// AVX-512 VNNI kernels for Q4_0/Q4_1/Q5_0/Q8_0/Q4_K), `"avx2"`, `"neon-dotprod"`, `"neon"`,
/// `"simd128"` or `"scalar"`.
pub fn level() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    let l = if x86_avx512::detected() {
        "avx512-vnni"
    } else if x86::detected() {
        "avx2"
    } else {
        "scalar"
    };
    #[cfg(target_arch = "aarch64")]
    let l = match aarch64::level() {
        aarch64::Level::DotProd => "neon-dotprod",
        aarch64::Level::Neon => "neon",
        aarch64::Level::Scalar => "scalar",
    };
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let l = "simd128";
    #[cfg(not(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        all(target_arch = "wasm32", target_feature = "simd128")
    )))]
    let l = "scalar";
    l
}

// ---------------------------------------------------------------------------
// Helpers for attention over an f16 KV cache (ggml-cpu's flash-attention rounding): the
// cached keys and values are widened to f32 once per layer ([`f16_to_f32_row`]), and the
// running weighted sum of values is kept in f32 lanes that always hold f16 values
// ([`f16r_scale`], [`f16r_mad`] round every result to f16 as ggml's f16 accumulator does).
// Each gives exactly the result of its plain scalar definition (same roundings, same order
// of additions), just faster.

/// `x` rounded to the nearest IEEE half (ties to even), as an f32.
#[inline(always)]
fn round_f16(x: f32) -> f32 {
    super::f16_to_f32(super::f32_to_f16(x))
}

/// `dst[i] = f32(src[i])` (exact), for `i < dst.len().min(src.len())`.
pub(crate) fn f16_to_f32_row(src: &[u16], dst: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if x86::detected() {
        return x86::f16_to_f32_row(src, dst);
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return wasm::f16_to_f32_row(src, dst);
    #[allow(unreachable_code)]
    f16_to_f32_row_scalar(src, dst);
}

fn f16_to_f32_row_scalar(src: &[u16], dst: &mut [f32]) {
    for (d, &h) in dst.iter_mut().zip(src) {
        *d = super::f16_to_f32(h.to_le_bytes());
    }
}

/// `out[j] = Σᵢ k[j·stride + i] · q[i]`, summed from `i = 0` upwards in f32 (starting from
/// `-0.0`, as `Iterator::sum`), for `i < q.len()`.
pub(crate) fn f32_dots(q: &[f32], k: &[f32], stride: usize, out: &mut [f32]) {
    assert!(out.is_empty() || (out.len() - 1) * stride + q.len() <= k.len());
    #[cfg(target_arch = "x86_64")]
    if x86::detected() {
        return x86::f32_dots(q, k, stride, out);
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return wasm::f32_dots(q, k, stride, out);
    #[allow(unreachable_code)]
    f32_dots_scalar(q, k, stride, out);
}

fn f32_dots_scalar(q: &[f32], k: &[f32], stride: usize, out: &mut [f32]) {
    for (j, o) in out.iter_mut().enumerate() {
        let row = &k[j * stride..j * stride + q.len()];
        *o = row.iter().zip(q).fold(-0.0f32, |s, (&a, &b)| s + a * b);
    }
}

/// `x[i] = libm::expf(x[i])`, bit for bit (the attention's softmax exponentials).
pub(crate) fn expf_batch(x: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if x86::detected() {
        return x86::expf_batch(x);
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return wasm::expf_batch(x);
    #[allow(unreachable_code)]
    x.iter_mut().for_each(|v| *v = libm::expf(*v));
}

/// `acc[i] = f16(acc[i] · s)` as an f32, rounding to nearest even.
pub(crate) fn f16r_scale(acc: &mut [f32], s: f32) {
    #[cfg(target_arch = "x86_64")]
    if x86::detected() {
        return x86::f16r_scale(acc, s);
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return wasm::f16r_scale(acc, s);
    #[allow(unreachable_code)]
    f16r_scale_scalar(acc, s);
}

fn f16r_scale_scalar(acc: &mut [f32], s: f32) {
    for a in acc {
        *a = round_f16(*a * s);
    }
}

/// `acc[i] = f16(acc[i] + v[i] · s)` as an f32 (a multiply, then an add: no fused rounding).
pub(crate) fn f16r_mad(acc: &mut [f32], v: &[f32], s: f32) {
    assert_eq!(acc.len(), v.len());
    #[cfg(target_arch = "x86_64")]
    if x86::detected() {
        return x86::f16r_mad(acc, v, s);
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return wasm::f16r_mad(acc, v, s);
    #[allow(unreachable_code)]
    f16r_mad_scalar(acc, v, s);
}

fn f16r_mad_scalar(acc: &mut [f32], v: &[f32], s: f32) {
    for (a, &b) in acc.iter_mut().zip(v) {
        *a = round_f16(*a + b * s);
    }
}
