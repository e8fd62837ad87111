//! Per-architecture SIMD kernels behind the public [`vec_dot`](super::vec_dot),
//! [`VecDot`](super::VecDot) and [`quantize_activation_row`](super::quantize_activation_row).
//!
//! - x86-64: AVX2 + FMA + F16C, detected at run time (once) — see `x86.rs`.
//! - wasm32: `simd128`, compiled in when the target feature is on (the wasm build enables it
//!   in `.cargo/config.toml`) — see `wasm.rs`.
//! - anything else, or a CPU without the features: the portable scalar kernels.
//!
//! The SIMD kernels follow ggml-cpu's per-block integer math like the scalar ones; only the
//! order of float additions differs, so they agree with the scalar kernels to float rounding.
//! Activation quantizers are bit-identical to the scalar ones. Setting `HEARTH_NO_SIMD` in
//! the environment forces the scalar kernels on x86-64 (for comparisons).

use crate::GgmlType;

/// A dot product over byte rows whose lengths the caller has checked.
pub(crate) type DotFn = fn(&[u8], &[u8]) -> f32;
/// An activation quantizer over a row whose lengths the caller has checked.
pub(crate) type ActFn = fn(&[f32], &mut [u8]);

#[cfg(target_arch = "x86_64")]
mod x86;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm;

#[cfg(test)]
mod tests;

/// The SIMD dot product for weights of type `ty` on this CPU, if there is one.
#[inline]
pub(crate) fn vec_dot(ty: GgmlType) -> Option<DotFn> {
    #[cfg(target_arch = "x86_64")]
    let f = x86::vec_dot(ty);
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let f = wasm::vec_dot(ty);
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
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let f = wasm::quantize_activation(ty);
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

/// Which kernel set [`vec_dot`](super::vec_dot) uses here: `"avx2"`, `"simd128"` or
/// `"scalar"`.
pub fn level() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    let l = if x86::detected() { "avx2" } else { "scalar" };
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let l = "simd128";
    #[cfg(not(any(
        target_arch = "x86_64",
        all(target_arch = "wasm32", target_feature = "simd128")
    )))]
    let l = "scalar";
    l
}
