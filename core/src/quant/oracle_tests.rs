//! Checks against ggml itself, linked through `hearth-llama-cpp` (native targets only).
//!
//! Which ggml entry point is the oracle for what:
//! - `ggml::quantize` (`ggml_quantize_chunk` without an importance matrix) runs the reference
//!   quantizers `quantize_row_*_ref`; our `quantize_row` must match it byte for byte. It covers
//!   every weight type and F16/BF16, but not Q8_1 or Q8_K.
//! - `ggml::from_float` runs the CPU backend's activation quantizer. For Q8_K on x86 that *is*
//!   `quantize_row_q8_K_ref`, so it is an exact oracle. For Q8_0/Q8_1 the AVX version computes
//!   `127 / amax` instead of `1 / (amax / 127)` and rounds ties to even instead of away from
//!   zero, so individual quants may differ by one step from the reference; we follow the
//!   reference (what model files are made with) and only check closeness there.
//! - `ggml::dequantize` (type traits `to_float`) is exact for every weight type and F16/BF16;
//!   ggml has no `to_float` for Q8_1 and Q8_K, which are covered by known-value tests.
//! - `ggml::vec_dot` is the CPU backend's (SIMD) dot product, compared within a tolerance.

use super::*;
use hearth_llama_cpp::ggml;

/// Weight types with a dot product.
const WEIGHT_TYPES: [GgmlType; 13] = {
    use GgmlType::*;
    [
        F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K,
    ]
};

/// Row lengths to test: one super-block, two, a typical hidden size, an FFN size.
const LENGTHS: [usize; 4] = [256, 512, 4096, 11008];

/// xorshift64*: deterministic, dependency-free test data.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [-1, 1).
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    /// Weight-like data: mostly small values, per-32 block scales varying over orders of
    /// magnitude, some outliers, and an occasional all-zero or constant block (edge cases of
    /// the quantizers).
    fn weights(&mut self, n: usize) -> Vec<f32> {
        let mut v = Vec::with_capacity(n);
        for _ in 0..n / 32 {
            let kind = self.next() % 16;
            let scale = 10f32.powf(self.unit() * 2.0);
            let offset = if self.next().is_multiple_of(4) {
                self.unit() * scale
            } else {
                0.0
            };
            for _ in 0..32 {
                v.push(match kind {
                    0 => 0.0,
                    1 => scale,
                    2 if self.next().is_multiple_of(8) => self.unit() * scale * 20.0,
                    _ => self.unit() * scale + offset,
                });
            }
        }
        v
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Byte offsets of the f16 fields in a block of `ty`.
fn f16_fields(ty: GgmlType) -> &'static [usize] {
    use GgmlType::*;
    match ty {
        Q4_0 | Q5_0 | Q8_0 => &[0],
        Q4_1 | Q5_1 | Q4_K | Q5_K => &[0, 2],
        Q2_K => &[80, 82],
        Q3_K => &[108],
        Q6_K => &[208],
        _ => &[],
    }
}

/// Random block bytes of `ty` with finite, moderate f16 scales (so comparisons do not hinge
/// on NaN payloads).
fn random_blocks(rng: &mut Rng, ty: GgmlType, n: usize) -> Vec<u8> {
    let mut b = rng.bytes(row_bytes(ty, n).unwrap());
    if ty.is_quantized() {
        for block in b.chunks_exact_mut(ty.block_bytes()) {
            for &off in f16_fields(ty) {
                let d = half::f16::from_f32(rng.unit() * 0.05);
                block[off..off + 2].copy_from_slice(&d.to_bits().to_le_bytes());
            }
        }
    }
    b
}

fn same_bits(a: &[f32], b: &[f32]) -> Option<usize> {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .position(|(x, y)| x.to_bits() != y.to_bits() && !(x.is_nan() && y.is_nan()))
}

fn ours_dequantized(ty: GgmlType, bytes: &[u8], n: usize) -> Vec<f32> {
    let mut out = vec![0f32; n];
    dequantize_row(ty, bytes, &mut out).unwrap();
    out
}

fn ours_quantized(ty: GgmlType, x: &[f32]) -> Vec<u8> {
    let mut out = vec![0u8; row_bytes(ty, x.len()).unwrap()];
    quantize_row(ty, x, &mut out).unwrap();
    out
}

#[test]
fn vec_dot_type_matches_ggml() {
    for ty in WEIGHT_TYPES.into_iter().chain([
        GgmlType::Q8_1,
        GgmlType::IQ4_XS,
        GgmlType::IQ4_NL,
        GgmlType::IQ2_XXS,
    ]) {
        assert_eq!(vec_dot_type(ty).id(), ggml::vec_dot_type(ty.id()), "{ty}");
    }
}

#[test]
fn dequantize_is_bit_exact_on_ggml_quantized_weights() {
    let mut rng = Rng::new(1);
    for ty in WEIGHT_TYPES.into_iter().filter(|&t| t != GgmlType::F32) {
        for n in LENGTHS {
            let x = rng.weights(n);
            let q = ggml::quantize(ty.id(), &x, n);
            let theirs = ggml::dequantize(ty.id(), &q, n);
            let ours = ours_dequantized(ty, &q, n);
            if let Some(i) = same_bits(&ours, &theirs) {
                panic!(
                    "{ty} n={n}: element {i}: ours {} ggml {}",
                    ours[i], theirs[i]
                );
            }
        }
    }
}

#[test]
fn dequantize_is_bit_exact_on_random_blocks() {
    // Arbitrary bit patterns reach fields a quantizer rarely produces (negative Q6_K scales,
    // high scale bits, every nibble value).
    let mut rng = Rng::new(2);
    for ty in WEIGHT_TYPES.into_iter().filter(|&t| t != GgmlType::F32) {
        for n in [256, 4096] {
            let q = random_blocks(&mut rng, ty, n);
            let theirs = ggml::dequantize(ty.id(), &q, n);
            let ours = ours_dequantized(ty, &q, n);
            if let Some(i) = same_bits(&ours, &theirs) {
                panic!(
                    "{ty} n={n}: element {i}: ours {} ggml {}",
                    ours[i], theirs[i]
                );
            }
        }
    }
}

#[test]
fn quantize_is_byte_exact_with_ggml_reference() {
    use GgmlType::*;
    let mut rng = Rng::new(3);
    for ty in [F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q6_K] {
        for n in LENGTHS {
            let x = rng.weights(n);
            let theirs = ggml::quantize(ty.id(), &x, n);
            let ours = ours_quantized(ty, &x);
            if let Some(i) = ours.iter().zip(&theirs).position(|(a, b)| a != b) {
                let bb = ty.block_bytes();
                panic!(
                    "{ty} n={n}: byte {i} (block {}, offset {}): ours {:02x?} ggml {:02x?}",
                    i / bb,
                    i % bb,
                    &ours[i / bb * bb..][..bb],
                    &theirs[i / bb * bb..][..bb]
                );
            }
        }
    }
}

#[test]
fn q8_k_is_byte_exact_with_ggml() {
    // x86 ggml-cpu's `quantize_row_q8_K` is the reference quantizer.
    let mut rng = Rng::new(4);
    for n in LENGTHS {
        let mut x = rng.weights(n);
        x[..256].fill(0.0); // an all-zero super-block
        assert_eq!(
            ours_quantized(GgmlType::Q8_K, &x),
            ggml::from_float(GgmlType::Q8_K.id(), &x),
            "n={n}"
        );
    }
}

#[test]
fn q8_1_follows_the_q8_0_reference_and_stores_the_sum() {
    let mut rng = Rng::new(5);
    for n in LENGTHS {
        let x = rng.weights(n);
        let ours = ours_quantized(GgmlType::Q8_1, &x);
        let q8_0 = ggml::quantize(GgmlType::Q8_0.id(), &x, n);
        let blocks: &[BlockQ8_1] = as_blocks(&ours);
        let refs: &[BlockQ8_0] = as_blocks(&q8_0);
        for ((b, r), xs) in blocks.iter().zip(refs).zip(x.chunks_exact(32)) {
            // quantize_row_q8_1_ref is quantize_row_q8_0_ref plus `s`, which ggml computes
            // from the unrounded f32 scale `amax / 127`, not the stored f16 `d`.
            assert_eq!((b.d, b.qs), (r.d, r.qs));
            let sum: i32 = b.qs.iter().map(|&q| q as i32).sum();
            let d = xs.iter().fold(0f32, |m, v| m.max(v.abs())) / 127.0;
            assert_eq!(b.s, f32_to_f16(sum as f32 * d));
        }
    }
}

#[test]
fn activation_quantizers_are_close_to_ggml_cpu_simd() {
    // ggml-cpu's AVX Q8_0/Q8_1 quantizers may round a quant differently (see module docs):
    // allow one step, and require the scales to match exactly.
    let mut rng = Rng::new(6);
    for ty in [GgmlType::Q8_0, GgmlType::Q8_1] {
        let n = 4096;
        let x = rng.weights(n);
        let ours = ours_quantized(ty, &x);
        let theirs = ggml::from_float(ty.id(), &x);
        let (o, t) = (
            ours_dequantized(GgmlType::Q8_0, &q8_as_q8_0(ty, &ours), n),
            ours_dequantized(GgmlType::Q8_0, &q8_as_q8_0(ty, &theirs), n),
        );
        for (i, (a, b)) in o.iter().zip(&t).enumerate() {
            let step = o[i / 32 * 32..][..32]
                .iter()
                .fold(0f32, |m, v| m.max(v.abs()))
                / 127.0;
            assert!(
                (a - b).abs() <= step * 1.01,
                "{ty} element {i}: ours {a} ggml {b}"
            );
        }
    }
}

/// Drops Q8_1's `s` so both formats can be read as Q8_0.
fn q8_as_q8_0(ty: GgmlType, bytes: &[u8]) -> Vec<u8> {
    if ty == GgmlType::Q8_0 {
        return bytes.to_vec();
    }
    bytes
        .chunks_exact(36)
        .flat_map(|b| b[..2].iter().chain(&b[4..]).copied())
        .collect()
}

/// Activations (the second operand) for a weight type, quantized by ggml-cpu as in a matmul.
fn activations(rng: &mut Rng, ty: GgmlType, n: usize) -> Vec<u8> {
    let x: Vec<f32> = (0..n).map(|_| rng.unit() * 2.0).collect();
    ggml::from_float(vec_dot_type(ty).id(), &x)
}

/// Compares our dot product with ggml's.
///
/// Both compute each block's integer dot product exactly and scale it with the same f32
/// products; they differ only in how block results are summed (ggml-cpu's SIMD kernels keep
/// several partial sums, ours one or eight) and, in some kernels, in how the two scales are
/// associated. Reordering a sum of `k` float terms changes it by at most about `k·ε·Σ|term|`
/// (`ε = 2^-24`), and in practice by `√k·ε·Σ|term|`; so we bound the difference by `1e-5`
/// relative to `Σ|wᵢ·xᵢ|` (an upper bound of the block terms' magnitude sum). A plain relative
/// error `|a - b| / |b|` would be unbounded whenever the dot product cancels to near zero.
fn assert_dot_close(ty: GgmlType, n: usize, w: &[u8], x: &[u8], what: &str) -> f32 {
    // Both the dispatched kernel (SIMD where available) and the portable scalar one.
    let ours = vec_dot(ty, n, w, x).unwrap();
    let scalar = vec_dot_scalar(ty, n, w, x).unwrap();
    let theirs = ggml::vec_dot(ty.id(), n, w, x);
    let wd = ours_dequantized(ty, w, n);
    let xd = ours_dequantized(vec_dot_type(ty), x, n);
    let mag: f32 = wd.iter().zip(&xd).map(|(a, b)| (a * b).abs()).sum();
    let err = (ours - theirs).abs();
    assert!(
        err <= 1e-5 * mag,
        "{ty} n={n} {what}: ours {ours} ggml {theirs} (|Σ|wx|| = {mag})"
    );
    let err_scalar = (scalar - theirs).abs();
    assert!(
        err_scalar <= 1e-5 * mag,
        "{ty} n={n} {what}: scalar {scalar} ggml {theirs} (|Σ|wx|| = {mag})"
    );
    if mag > 0.0 {
        err.max(err_scalar) / mag
    } else {
        0.0
    }
}

#[test]
fn vec_dot_matches_ggml_on_quantized_weights() {
    let mut rng = Rng::new(7);
    for ty in WEIGHT_TYPES {
        let mut worst = 0f32;
        for n in LENGTHS {
            let wf = rng.weights(n);
            let w = if ty == GgmlType::F32 {
                wf.iter().flat_map(|v| v.to_le_bytes()).collect()
            } else {
                ggml::quantize(ty.id(), &wf, n)
            };
            let x = activations(&mut rng, ty, n);
            worst = worst.max(assert_dot_close(ty, n, &w, &x, "quantized"));
        }
        eprintln!("{ty}: worst |ours - ggml| / Σ|wx| = {worst:e}");
    }
}

#[test]
fn vec_dot_matches_ggml_on_random_blocks() {
    let mut rng = Rng::new(8);
    for ty in WEIGHT_TYPES.into_iter().filter(|t| t.is_quantized()) {
        for n in LENGTHS {
            let w = random_blocks(&mut rng, ty, n);
            let x = activations(&mut rng, ty, n);
            assert_dot_close(ty, n, &w, &x, "random blocks");
        }
    }
}

/// Rough speed check against ggml-cpu (`cargo test -p hearth-core --release --lib quant::oracle_tests::speed -- --ignored --nocapture`).
#[test]
#[ignore = "timing, not a check"]
fn speed_vs_ggml() {
    use std::hint::black_box;
    use std::time::Instant;
    let mut rng = Rng::new(9);
    let (n, rows) = (4096, 256);
    for ty in WEIGHT_TYPES {
        let w: Vec<u8> = (0..rows)
            .flat_map(|_| {
                let wf = rng.weights(n);
                if ty == GgmlType::F32 {
                    wf.iter().flat_map(|v| v.to_le_bytes()).collect()
                } else {
                    ggml::quantize(ty.id(), &wf, n)
                }
            })
            .collect();
        let x = activations(&mut rng, ty, n);
        let rb = row_bytes(ty, n).unwrap();
        let time = |f: &dyn Fn(&[u8]) -> f32| {
            let t = Instant::now();
            let mut s = 0f32;
            for _ in 0..20 {
                for r in w.chunks_exact(rb) {
                    s += f(black_box(r));
                }
            }
            black_box(s);
            t.elapsed().as_nanos() as f64 / (20 * rows) as f64
        };
        let ours = time(&|r| vec_dot(ty, n, r, &x).unwrap());
        let scalar = time(&|r| vec_dot_scalar(ty, n, r, &x).unwrap());
        let theirs = time(&|r| ggml::vec_dot(ty.id(), n, r, &x));
        let dq = {
            let mut out = vec![0f32; n];
            let t = Instant::now();
            for _ in 0..20 {
                for r in w.chunks_exact(rb) {
                    dequantize_row(ty, black_box(r), &mut out).unwrap();
                }
            }
            black_box(&out);
            t.elapsed().as_nanos() as f64 / (20 * rows) as f64
        };
        eprintln!(
            "{ty:>5}: vec_dot ours {ours:7.0} ns/row ({}), scalar {scalar:7.0}, ggml {theirs:7.0} ns/row; dequantize {dq:7.0} ns/row (n={n})",
            simd_level()
        );
    }
}
