//! Element-wise and row-wise operations of the forward pass, written to follow
//! ggml's CPU numerics (f64 sums in norms, f16-rounded GELU table, iterative
//! RoPE angles) so results stay close to llama.cpp's. Transcendental functions
//! come from the pure-Rust `libm`, not the platform's, so native and wasm builds
//! compute the same bits.

use std::sync::OnceLock;

use half::f16;

use super::config::RopeStyle;

/// `out = x / rms(x) * w` for one row (`w` may be empty for an unweighted norm).
#[inline]
pub fn rms_norm(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    let sum: f64 = x.iter().map(|&v| f64::from(v * v)).sum();
    let mean = (sum / x.len() as f64) as f32;
    let scale = 1.0 / (mean + eps).sqrt();
    if w.is_empty() {
        for (o, &v) in out.iter_mut().zip(x) {
            *o = v * scale;
        }
    } else {
        for ((o, &v), &g) in out.iter_mut().zip(x).zip(w) {
            *o = (v * scale) * g;
        }
    }
}

/// In-place RMS norm of one row with weights.
#[inline]
pub fn rms_norm_inplace(x: &mut [f32], w: &[f32], eps: f32) {
    let sum: f64 = x.iter().map(|&v| f64::from(v * v)).sum();
    let mean = (sum / x.len() as f64) as f32;
    let scale = 1.0 / (mean + eps).sqrt();
    for (v, &g) in x.iter_mut().zip(w) {
        *v = (*v * scale) * g;
    }
}

/// Precomputed `(cos, sin)` pairs for one position (`out` holds `n_rot / 2` of them), as
/// ggml's rope cache builds them: the angle is multiplied by `base^(-2/n_rot)` step by
/// step in f32.
pub fn rope_cache(
    pos: usize,
    n_rot: usize,
    base: f32,
    scale: f32,
    freq_factors: Option<&[f32]>,
    out: &mut [(f32, f32)],
) {
    debug_assert_eq!(out.len(), n_rot / 2);
    let theta_scale = libm::powf(base, -2.0 / n_rot as f32);
    let mut theta = pos as f32;
    for (i, pair) in out.iter_mut().enumerate() {
        let ff = freq_factors.map_or(1.0, |f| f[i]);
        let t = scale * (theta / ff);
        *pair = (libm::cosf(t), libm::sinf(t));
        theta *= theta_scale;
    }
}

/// Rotates the first `2 * cache.len()` dimensions of one head in place.
#[inline]
pub fn rope_apply(head: &mut [f32], cache: &[(f32, f32)], style: RopeStyle) {
    match style {
        RopeStyle::Norm => {
            for (i, &(c, s)) in cache.iter().enumerate() {
                let (x0, x1) = (head[2 * i], head[2 * i + 1]);
                head[2 * i] = x0 * c - x1 * s;
                head[2 * i + 1] = x0 * s + x1 * c;
            }
        }
        RopeStyle::Neox => {
            let half = cache.len();
            for (i, &(c, s)) in cache.iter().enumerate() {
                let (x0, x1) = (head[i], head[i + half]);
                head[i] = x0 * c - x1 * s;
                head[i + half] = x0 * s + x1 * c;
            }
        }
    }
}

/// `x * sigmoid(x)`: the definition the forward pass's batched `silu_mul` reproduces bit
/// for bit (tested there).
#[cfg(test)]
pub fn silu(x: f32) -> f32 {
    x / (1.0 + libm::expf(-x))
}

fn gelu_exact(x: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    const COEF_A: f32 = 0.044715;
    0.5 * x * (1.0 + libm::tanhf(SQRT_2_OVER_PI * x * (1.0 + COEF_A * x * x)))
}

/// GELU (tanh approximation) through an f16 lookup table, exactly as ggml's CPU
/// backend computes it: input and output rounded to f16, saturating outside ±10.
#[inline]
pub fn gelu(x: f32) -> f32 {
    if x <= -10.0 {
        return 0.0;
    }
    if x >= 10.0 {
        return x;
    }
    gelu_table()[f16::from_f32(x).to_bits() as usize].to_f32()
}

/// GELU of every f16 value, indexed by its bits (ggml's `ggml_table_gelu_f16`); the GPU
/// backend uploads it so that both backends round the same way.
pub(crate) fn gelu_table() -> &'static [f16] {
    static TABLE: OnceLock<Box<[f16]>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (0..=u16::MAX)
            .map(|b| f16::from_f32(gelu_exact(f16::from_bits(b).to_f32())))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rms_norm_unit_rows() {
        let x = [3.0, 4.0];
        let mut out = [0.0; 2];
        rms_norm(&x, &[1.0, 2.0], 0.0, &mut out);
        let r = (12.5f32).sqrt();
        assert!((out[0] - 3.0 / r).abs() < 1e-6 && (out[1] - 8.0 / r).abs() < 1e-6);
    }

    #[test]
    fn rope_rotates_pairs_and_keeps_norm() {
        let mut cache = vec![(0.0, 0.0); 2];
        rope_cache(7, 4, 10_000.0, 1.0, None, &mut cache);
        let mut a = [1.0, 2.0, 3.0, 4.0];
        rope_apply(&mut a, &cache, RopeStyle::Norm);
        assert!((a[0].hypot(a[1]) - 5f32.sqrt()).abs() < 1e-5);
        assert!((a[0] - (7f32.cos() - 2.0 * 7f32.sin())).abs() < 1e-5);
        let mut b = [1.0, 2.0, 3.0, 4.0];
        rope_apply(&mut b, &cache, RopeStyle::Neox);
        assert!((b[0] - (7f32.cos() - 3.0 * 7f32.sin())).abs() < 1e-5);
        // Position 0 is the identity.
        rope_cache(0, 4, 10_000.0, 1.0, None, &mut cache);
        let mut c = [1.0, 2.0, 3.0, 4.0];
        rope_apply(&mut c, &cache, RopeStyle::Neox);
        assert_eq!(c, [1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn gelu_matches_formula_to_f16_precision() {
        for x in [-3.0f32, -0.5, 0.0, 0.1, 1.0, 2.5, 9.9] {
            assert!(
                (gelu(x) - gelu_exact(x)).abs() <= 2e-3 * (1.0 + x.abs()),
                "{x}"
            );
        }
        assert_eq!(gelu(-11.0), 0.0);
        assert_eq!(gelu(12.0), 12.0);
    }
}
