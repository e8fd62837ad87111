//! SIMD kernels against the portable scalar ones, on random blocks and data. Runs on every
//! target (x86-64; aarch64 under qemu-user; wasm32 in Node and Chromium); where this CPU has
//! no SIMD kernels it says so and checks nothing more (the scalar kernels are checked against
//! ggml in `oracle_tests` and by their own unit tests).

use super::super::*;
// In wasm these run under wasm-bindgen-test (Node and Chromium; see scripts/test).
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// Weight types with a dot product.
const TYPES: [GgmlType; 13] = {
    use GgmlType::*;
    [
        F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K,
    ]
};

/// xorshift64*.
struct Rng(u64);

impl Rng {
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

    /// Activation-like floats with per-32 magnitudes over four orders, some zero blocks,
    /// and values on exact rounding ties of the 8-bit grid.
    fn floats(&mut self, n: usize) -> Vec<f32> {
        let mut v = Vec::with_capacity(n);
        for b in 0..n.div_ceil(32) {
            let scale = 10f32.powf(self.unit() * 2.0);
            let kind = self.next() % 8;
            for i in 0..32 {
                v.push(match kind {
                    0 => 0.0,
                    // amax 127 exactly: x * 127/127 lands on k + 0.5 ties.
                    1 if i == 0 => 127.0,
                    1 => (self.next() % 254) as f32 / 2.0 - 63.5,
                    _ if b == 3 && i == 5 => -scale * 1.5, // a negative maximum
                    _ => self.unit() * scale,
                });
            }
        }
        v.truncate(n);
        v
    }
}

/// `rows` random weight rows of `ty` and `toks` activation rows quantized to its vec_dot type,
/// with their row sizes in bytes: a tile kernel's inputs.
fn tile_inputs(
    rng: &mut Rng,
    ty: GgmlType,
    n: usize,
    rows: usize,
    toks: usize,
) -> (Vec<u8>, usize, Vec<u8>, usize) {
    let xt = vec_dot_type(ty);
    let wb = row_bytes(ty, n).unwrap();
    let xb = row_bytes(xt, n).unwrap();
    let w: Vec<u8> = (0..rows).flat_map(|_| random_row(rng, ty, n)).collect();
    let mut x = vec![0u8; xb * toks];
    for xr in x.chunks_exact_mut(xb) {
        quantize_activation_row_scalar(xt, &rng.floats(n), xr).unwrap();
    }
    (w, wb, x, xb)
}

/// Random bytes for `ty`, with finite f16/f32 scale fields.
fn random_row(rng: &mut Rng, ty: GgmlType, n: usize) -> Vec<u8> {
    let bytes = row_bytes(ty, n).unwrap();
    match ty {
        GgmlType::F32 => rng.floats(n).iter().flat_map(|v| v.to_le_bytes()).collect(),
        GgmlType::F16 => rng
            .floats(n)
            .iter()
            .flat_map(|&v| f32_to_f16(v * 0.01))
            .collect(),
        GgmlType::BF16 => rng
            .floats(n)
            .iter()
            .flat_map(|v| ((v.to_bits() >> 16) as u16).to_le_bytes())
            .collect(),
        _ => {
            let mut b: Vec<u8> = (0..bytes).map(|_| rng.next() as u8).collect();
            let fields: &[usize] = match ty {
                GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => &[0],
                GgmlType::Q4_1 | GgmlType::Q5_1 | GgmlType::Q4_K | GgmlType::Q5_K => &[0, 2],
                GgmlType::Q2_K => &[80, 82],
                GgmlType::Q3_K => &[108],
                GgmlType::Q6_K => &[208],
                _ => unreachable!("{ty}"),
            };
            for block in b.chunks_exact_mut(ty.block_bytes()) {
                for &o in fields {
                    block[o..o + 2].copy_from_slice(&f32_to_f16(rng.unit() * 0.05));
                }
            }
            b
        }
    }
}

fn dequantized(ty: GgmlType, bytes: &[u8], n: usize) -> Vec<f32> {
    let mut out = vec![0f32; n];
    dequantize_row(ty, bytes, &mut out).unwrap();
    out
}

/// Checks `f` against the scalar dot product for `ty` on random rows; `public`: `f` is the
/// kernel the public entry points dispatch to. Returns the worst relative error.
fn check_vec_dot(rng: &mut Rng, ty: GgmlType, f: super::DotFn, public: bool) -> f32 {
    let mut worst = 0f32;
    // Float rows also get lengths that leave a tail after the 32-element steps.
    let lengths: &[usize] = if ty.is_quantized() {
        &[256, 512, 576, 2304, 4096]
    } else {
        &[8, 40, 64, 257, 576, 1000]
    };
    for &n in lengths {
        if !n.is_multiple_of(ty.block_elems()) {
            continue;
        }
        for _ in 0..4 {
            let w = random_row(rng, ty, n);
            let xt = vec_dot_type(ty);
            let xf = rng.floats(n);
            let mut x = vec![0u8; row_bytes(xt, n).unwrap()];
            quantize_activation_row_scalar(xt, &xf, &mut x).unwrap();
            let ours = f(&w, &x);
            let scalar = vec_dot_scalar(ty, n, &w, &x).unwrap();
            let mag: f32 = dequantized(ty, &w, n)
                .iter()
                .zip(dequantized(xt, &x, n))
                .map(|(a, b)| (a * b).abs())
                .sum();
            let err = (ours - scalar).abs();
            assert!(
                err <= 1e-5 * mag,
                "{ty} n={n}: simd {ours} scalar {scalar} (Σ|wx| = {mag})"
            );
            if mag > 0.0 {
                worst = worst.max(err / mag);
            }
            if public {
                // The public entry points use the SIMD kernel.
                assert_eq!(vec_dot(ty, n, &w, &x).unwrap().to_bits(), ours.to_bits());
            }
        }
    }
    worst
}

#[test]
fn simd_vec_dot_matches_scalar() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut tested = Vec::new();
    for ty in TYPES {
        let Some(f) = super::vec_dot(ty) else {
            continue;
        };
        tested.push(ty);
        let worst = check_vec_dot(&mut rng, ty, f, true);
        eprintln!("{ty}: worst |simd - scalar| / Σ|wx| = {worst:e}");
    }
    // The wasm build and every aarch64 CPU always have SIMD kernels: a build without them
    // (simd128 missing from the rustflags, a lost dispatch arm) must not pass silently.
    #[cfg(target_arch = "wasm32")]
    {
        assert_eq!(super::level(), "simd128", "the wasm build lacks simd128");
        use GgmlType::*;
        for ty in [F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K] {
            assert!(tested.contains(&ty), "no simd128 kernel for {ty}");
        }
    }
    #[cfg(target_arch = "aarch64")]
    if std::env::var_os("HEARTH_NO_SIMD").is_none() {
        assert!(
            tested.contains(&GgmlType::Q4_K),
            "no NEON kernels dispatched"
        );
    }
    if tested.is_empty() {
        eprintln!(
            "note: no SIMD vec_dot kernels on this CPU/target ({}); only the scalar path runs",
            super::level()
        );
    }
}

/// Both NEON variants, whichever the dispatch picks: widening multiplies on every aarch64
/// CPU, `sdot` where the CPU (or qemu's default `max` CPU) has `dotprod`.
#[cfg(target_arch = "aarch64")]
#[test]
fn neon_widening_and_dotprod_kernels_match_scalar() {
    use super::aarch64::{vec_dot_dotprod, vec_dot_neon};
    let mut rng = Rng(0x0bad_cafe_f00d_1234);
    let required = {
        use GgmlType::*;
        [F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K]
    };
    for ty in required {
        let f = vec_dot_neon(ty).unwrap_or_else(|| panic!("no NEON kernel for {ty}"));
        let worst = check_vec_dot(&mut rng, ty, f, false);
        eprintln!("{ty} neon: worst {worst:e}");
        if let Some(f) = vec_dot_dotprod(ty) {
            let worst = check_vec_dot(&mut rng, ty, f, false);
            eprintln!("{ty} neon-dotprod: worst {worst:e}");
        }
    }
    eprintln!(
        "dispatch: {}; dotprod kernels tested: {}",
        super::level(),
        vec_dot_dotprod(GgmlType::Q8_0).is_some()
    );
}

#[test]
fn simd_activation_quantizers_are_bit_identical() {
    let mut rng = Rng(0x0fed_cba9_8765_4321);
    let mut tested = false;
    for ty in [GgmlType::Q8_0, GgmlType::Q8_1, GgmlType::Q8_K] {
        let Some(f) = super::quantize_activation(ty) else {
            continue;
        };
        tested = true;
        for n in [256usize, 576, 2304, 4096] {
            if !n.is_multiple_of(ty.block_elems()) {
                continue;
            }
            for _ in 0..8 {
                let mut x = rng.floats(n);
                if ty == GgmlType::Q8_K {
                    x[..256].fill(0.0); // an all-zero super-block
                }
                let mut ours = vec![0u8; row_bytes(ty, n).unwrap()];
                let mut scalar = ours.clone();
                f(&x, &mut ours);
                quantize_activation_row_scalar(ty, &x, &mut scalar).unwrap();
                assert_eq!(ours, scalar, "{ty} n={n}");
                let mut public = vec![0u8; ours.len()];
                quantize_activation_row(ty, &x, &mut public).unwrap();
                assert_eq!(public, scalar, "{ty} n={n}");
            }
        }
    }
    if !tested {
        eprintln!(
            "note: no SIMD activation quantizers on this CPU/target ({})",
            super::level()
        );
    }
}

/// The f16-cache attention helpers against their plain definitions with the `half` crate
/// (what `attend` computed on f16 rows and an f16 accumulator before), bit for bit.
#[test]
fn f16_attention_helpers_are_bit_identical() {
    use half::f16;
    let mut rng = Rng(0x5555_aaaa_1234_4321);
    for hd in [8usize, 64, 256, 12] {
        let stride = 3 * hd + 8;
        let rows = 37;
        let k: Vec<u16> = (0..rows * stride)
            .map(|_| f16::from_f32(rng.unit() * 4.0).to_bits())
            .collect();
        let mut kf = vec![0f32; k.len()];
        super::f16_to_f32_row(&k, &mut kf);
        for (&h, &f) in k.iter().zip(&kf) {
            assert_eq!(f.to_bits(), f16::from_bits(h).to_f32().to_bits());
        }
        let q: Vec<f32> = (0..hd)
            .map(|_| f16::from_f32(rng.unit() * 3.0).to_f32())
            .collect();
        let mut out = vec![0f32; rows];
        super::f32_dots(&q, &kf[hd..], stride, &mut out);
        for (j, &o) in out.iter().enumerate() {
            let row = &k[hd + j * stride..hd + j * stride + hd];
            let want: f32 = row
                .iter()
                .zip(&q)
                .map(|(&a, &b)| f16::from_bits(a).to_f32() * b)
                .sum();
            assert_eq!(o.to_bits(), want.to_bits(), "hd={hd} row {j}");
        }

        let n = hd + 3;
        let mut acc: Vec<u16> = (0..n)
            .map(|_| f16::from_f32(rng.unit() * 100.0).to_bits())
            .collect();
        let v: Vec<u16> = (0..n)
            .map(|_| f16::from_f32(rng.unit() * 2.0).to_bits())
            .collect();
        let vf: Vec<f32> = v.iter().map(|&h| f16::from_bits(h).to_f32()).collect();
        let mut accf: Vec<f32> = acc.iter().map(|&h| f16::from_bits(h).to_f32()).collect();
        let bits = |a: &[f32]| {
            a.iter()
                .map(|&x| f16::from_f32(x).to_bits())
                .collect::<Vec<_>>()
        };
        for s in [0.37f32, 1.0, 1e-3, 0.999] {
            acc.iter_mut()
                .for_each(|a| *a = f16::from_f32(f16::from_bits(*a).to_f32() * s).to_bits());
            super::f16r_scale(&mut accf, s);
            assert_eq!(bits(&accf), acc, "scale {s}");
            acc.iter_mut().zip(&v).for_each(|(a, &b)| {
                let x = f16::from_bits(*a).to_f32() + f16::from_bits(b).to_f32() * s;
                *a = f16::from_f32(x).to_bits();
            });
            super::f16r_mad(&mut accf, &vf, s);
            assert_eq!(bits(&accf), acc, "mad {s}");
        }
    }
}

/// The SIMD attention helpers against the scalar ones on every kind of value: halves from
/// random bit patterns (subnormals, infinities, NaNs), sums that overflow to infinity, round
/// into subnormals or sit on rounding ties. Two NaNs count as equal (payloads are not
/// specified).
#[test]
fn f16_attention_helpers_match_scalar_on_all_values() {
    let same = |a: f32, b: f32| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
    let mut rng = Rng(0x0bad_cafe_f16f_16f1);
    for hd in [8usize, 64, 256, 24, 6] {
        let stride = hd + 16;
        let rows = 13;
        let k: Vec<u16> = (0..rows * stride).map(|_| rng.next() as u16).collect();
        let (mut kf, mut kw) = (vec![0f32; k.len()], vec![0f32; k.len()]);
        super::f16_to_f32_row(&k, &mut kf);
        super::f16_to_f32_row_scalar(&k, &mut kw);
        for (i, (&a, &b)) in kf.iter().zip(&kw).enumerate() {
            assert!(same(a, b), "widen {:#06x} at {i}: {a} vs {b}", k[i]);
        }
        let q: Vec<f32> = (0..hd).map(|_| rng.unit() * 8.0).collect();
        let mut out = vec![0f32; rows];
        let mut want = vec![0f32; rows];
        super::f32_dots(&q, &kw, stride, &mut out);
        super::f32_dots_scalar(&q, &kw, stride, &mut want);
        for (j, (&o, &w)) in out.iter().zip(&want).enumerate() {
            assert!(same(o, w), "dots hd={hd} row {j}: {o} vs {w}");
        }
        let n = hd + 5;
        // Exact halves (as the accumulator always holds), and values on rounding ties.
        let half = |r: &mut Rng| kw[(r.next() % kw.len() as u64) as usize];
        let tie = |r: &mut Rng| f32::from_bits((half(r).to_bits() & !0x1FFF) | 0x1000);
        for s in [0.37f32, 1.0, 1e-3, 3.0e4, -2.5, 1e-7, 0.5] {
            let acc: Vec<f32> = (0..n).map(|_| half(&mut rng)).collect();
            let v: Vec<f32> = (0..n)
                .map(|i| {
                    if i % 3 == 0 {
                        tie(&mut rng)
                    } else {
                        half(&mut rng)
                    }
                })
                .collect();
            let (mut got, mut want) = (acc.clone(), acc.clone());
            super::f16r_scale(&mut got, s);
            super::f16r_scale_scalar(&mut want, s);
            for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
                assert!(same(g, w), "scale {s} at {i}: {g} vs {w}");
            }
            let (mut got, mut want) = (acc.clone(), acc);
            super::f16r_mad(&mut got, &v, s);
            super::f16r_mad_scalar(&mut want, &v, s);
            for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
                assert!(same(g, w), "mad {s} at {i}: {g} vs {w}");
            }
        }
    }
}

/// The tile kernels (several rows × several tokens) against the single-row kernel, bit for
/// bit, on shapes with and without edges left over for the single kernel.
#[test]
fn tiled_dots_are_bit_identical_to_single_dots() {
    let mut rng = Rng(0x7777_1357_2468_9bdf);
    let mut tested = Vec::new();
    for ty in TYPES {
        let Some(tile) = super::dot_tile(ty) else {
            continue;
        };
        tested.push(ty);
        let single = super::vec_dot(ty).expect("a tile kernel has a single-row kernel");
        for &(n, rows, toks) in &[
            (256usize, 1usize, 1usize),
            (512, 2, 4),
            (768, 5, 7),
            (2304, 4, 8),
            (1024, 3, 2),
            (256, 6, 13),
            (512, 9, 1),
            (768, 4, 1),
        ] {
            let (w, wb, x, xb) = tile_inputs(&mut rng, ty, n, rows, toks);
            let mut out = vec![f32::NAN; rows * toks];
            tile(&w, wb, &x, xb, &mut out);
            let mut public = vec![f32::NAN; rows * toks];
            let k = VecDot::new(ty, n).unwrap();
            k.dot_tile(&w, &x, &mut public).unwrap();
            let mut plain = vec![f32::NAN; rows * toks];
            k.without_tiles().dot_tile(&w, &x, &mut plain).unwrap();
            for r in 0..rows {
                for t in 0..toks {
                    let want = single(&w[r * wb..(r + 1) * wb], &x[t * xb..(t + 1) * xb]);
                    let i = r * toks + t;
                    assert_eq!(
                        out[i].to_bits(),
                        want.to_bits(),
                        "{ty} n={n} {rows}x{toks} at ({r},{t}): tile {} single {want}",
                        out[i]
                    );
                    assert_eq!(public[i].to_bits(), want.to_bits(), "{ty} public");
                    assert_eq!(plain[i].to_bits(), want.to_bits(), "{ty} untiled");
                }
            }
        }
    }
    eprintln!("tile kernels tested: {tested:?}");
    // Where tile kernels exist, the ones for the common 32-element types must be among them.
    #[cfg(any(
        target_arch = "x86_64",
        all(target_arch = "wasm32", target_feature = "simd128")
    ))]
    if super::dot_tile(GgmlType::Q8_0).is_some() {
        for ty in [
            GgmlType::Q4_0,
            GgmlType::Q4_1,
            GgmlType::Q5_0,
            GgmlType::Q8_0,
        ] {
            assert!(tested.contains(&ty), "no {ty} tile tested");
        }
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    for ty in [GgmlType::Q4_K, GgmlType::Q6_K] {
        assert!(tested.contains(&ty), "no {ty} tile tested");
    }
}

#[test]
fn dot_tile_checks_lengths() {
    let k = VecDot::new(GgmlType::Q4_0, 64).unwrap();
    let (w, x) = (vec![0u8; 2 * k.w_bytes()], vec![0u8; 3 * k.x_bytes()]);
    let mut out = vec![1f32; 6];
    k.dot_tile(&w, &x, &mut out).unwrap();
    assert_eq!(out, [0.0; 6]);
    assert!(k.dot_tile(&w[1..], &x, &mut out).is_err());
    assert!(k.dot_tile(&w, &x[1..], &mut out).is_err());
    assert!(k.dot_tile(&w, &x, &mut out[1..]).is_err());
}

/// The AVX-512 VNNI tile kernels against the single-row kernels and the AVX2 tiles, bit
/// for bit, whatever `HEARTH_NO_AVX512` says (the public path may be using either).
#[cfg(target_arch = "x86_64")]
#[test]
fn vnni_tiles_are_bit_identical_to_single_dots() {
    let mut rng = Rng(0x5151_aaaa_0f0f_7e7e);
    let mut tested = Vec::new();
    for ty in TYPES {
        let Some(tile) = super::x86::vnni_tile_if_supported(ty) else {
            continue;
        };
        tested.push(ty);
        let avx2_tile = super::x86::avx2_dot_tile(ty).unwrap();
        let single = super::x86::avx2_vec_dot(ty).unwrap();
        for &(n, rows, toks) in &[
            (32usize, 4usize, 4usize),
            (512, 4, 4),
            (768, 5, 7),
            (2304, 8, 8),
            (1024, 3, 2),
            (576, 9, 13),
            (1280, 9, 13),
            // One token (decode): rows four at a time, then the rest.
            (576, 9, 1),
            (1536, 16, 1),
            (64, 3, 1),
        ] {
            // Whole blocks only (K-quants: 256 elements).
            if n % ty.block_elems() != 0 {
                continue;
            }
            let (w, wb, x, xb) = tile_inputs(&mut rng, ty, n, rows, toks);
            let mut out = vec![f32::NAN; rows * toks];
            tile(&w, wb, &x, xb, &mut out);
            let mut other = vec![f32::NAN; rows * toks];
            avx2_tile(&w, wb, &x, xb, &mut other);
            for r in 0..rows {
                for t in 0..toks {
                    let (wr, xr) = (&w[r * wb..(r + 1) * wb], &x[t * xb..(t + 1) * xb]);
                    let want = single(wr, xr);
                    let i = r * toks + t;
                    assert_eq!(
                        out[i].to_bits(),
                        want.to_bits(),
                        "{ty} n={n} {rows}x{toks} at ({r},{t}): vnni tile {} single {want}",
                        out[i]
                    );
                    assert_eq!(other[i].to_bits(), want.to_bits(), "{ty} avx2 tile");
                }
            }
        }
    }
    if tested.is_empty() {
        eprintln!("note: this CPU has no AVX-512 VNNI; the VNNI tiles were not run");
    } else {
        eprintln!("vnni tiles checked: {tested:?}");
        assert_eq!(tested.len(), 6);
    }
}

/// The AVX-512 VNNI kernels against the AVX2 ones (bit-identical by design) and the scalar
/// ones, whatever `HEARTH_NO_AVX512` says, so both x86 paths stay checked on a CPU with both.
#[cfg(target_arch = "x86_64")]
#[test]
fn avx512_vec_dot_is_bit_identical_to_avx2() {
    let mut rng = Rng(0x0bad_cafe_f00d_1234);
    let mut tested = Vec::new();
    for ty in TYPES {
        let Some(f) = super::x86_avx512::kernel_if_supported(ty) else {
            continue;
        };
        // `kernel_if_supported` checked AVX2, FMA and F16C too.
        let avx2 = super::x86::avx2_vec_dot(ty).unwrap();
        tested.push(ty);
        // Odd block counts exercise the single-block tail.
        for n in [32usize, 64, 96, 224, 576, 768, 4096] {
            if !n.is_multiple_of(ty.block_elems()) {
                continue;
            }
            for _ in 0..4 {
                let w = random_row(&mut rng, ty, n);
                let xt = vec_dot_type(ty);
                let xf = rng.floats(n);
                let mut x = vec![0u8; row_bytes(xt, n).unwrap()];
                quantize_activation_row_scalar(xt, &xf, &mut x).unwrap();
                let ours = f(&w, &x);
                let theirs = avx2(&w, &x);
                assert_eq!(
                    ours.to_bits(),
                    theirs.to_bits(),
                    "{ty} n={n}: avx512 {ours} avx2 {theirs}"
                );
                let scalar = vec_dot_scalar(ty, n, &w, &x).unwrap();
                let mag: f32 = dequantized(ty, &w, n)
                    .iter()
                    .zip(dequantized(xt, &x, n))
                    .map(|(a, b)| (a * b).abs())
                    .sum();
                assert!(
                    (ours - scalar).abs() <= 1e-5 * mag,
                    "{ty} n={n}: avx512 {ours} scalar {scalar} (Σ|wx| = {mag})"
                );
            }
        }
    }
    if tested.is_empty() {
        eprintln!("note: this CPU has no AVX-512 VNNI; only the AVX2/scalar paths run");
    } else {
        eprintln!("avx512-vnni kernels checked: {tested:?}");
    }
}

/// The batched `expf` against `libm::expf`, bit for bit, on a stride through every f32
/// (all exponents, both signs, NaN and infinities) and densely over the softmax range.
#[test]
fn expf_batch_is_bit_identical_to_libm() {
    let mut xs: Vec<f32> = (0..=u32::MAX).step_by(4093).map(f32::from_bits).collect();
    let mut rng = Rng(0x0e0e_5eed_1234_4321);
    xs.extend((0..200_000).map(|_| rng.unit() * 110.0 - 10.0));
    xs.extend((0..4096).map(|i| -(i as f32) * 0.03125));
    xs.extend([
        0.0,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        -f32::NAN,
        -87.33,
        -103.98,
    ]);
    let mut ours = xs.clone();
    super::expf_batch(&mut ours);
    for (x, y) in xs.iter().zip(&ours) {
        let want = libm::expf(*x);
        assert!(
            y.to_bits() == want.to_bits() || (y.is_nan() && want.is_nan()),
            "expf({x:e} = {:#010x}): {y:e} vs libm {want:e}",
            x.to_bits()
        );
    }
}
