//! F32 matrix products for the encoder: `out = x · wᵀ`, with `x` (`m × k`) and `w`
//! (`n × k`) both row-major with the reduction dimension contiguous — the layout of a
//! `[out, in]` weight matrix, and of `Q·Kᵀ` in attention — so weights are used in place.
//!
//! Register tiles of `MR` rows of `x` × `NR` rows of `w`: each step loads `MR + NR` vectors
//! and does `MR · NR` multiply-adds into one vector accumulator per output (AVX2+FMA,
//! NEON, wasm `simd128`; a plain-Rust tile elsewhere). Blocks of `w` rows sized to stay in
//! L1 are reused for every row of `x`. [`gemm_nt_par`] splits the rows of `x` over rayon.

use rayon::prelude::*;

/// A row-major matrix view: row `i` starts at `data[i * stride]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct View<'a> {
    pub data: &'a [f32],
    pub stride: usize,
}

/// Bytes of `w` rows kept hot while every row of `x` passes by.
const W_BLOCK_BYTES: usize = 24 * 1024;

/// Bytes of `x` rows per chunk (kept in L2 while all of `w` passes by).
const X_BLOCK_BYTES: usize = 128 * 1024;

/// Rows of `x` per parallel task.
const X_ROWS_PER_TASK: usize = 24;

/// `out[i · os + j] = Σ_p x[i][p] · w[j][p]` for `i < m`, `j < n`, `p < k`, splitting the
/// rows of `x` over rayon's threads.
pub(crate) fn gemm_nt_par(
    m: usize,
    n: usize,
    k: usize,
    x: View,
    w: View,
    out: &mut [f32],
    os: usize,
) {
    if m <= X_ROWS_PER_TASK || rayon::current_num_threads() == 1 {
        return gemm_nt(m, n, k, x, w, out, os);
    }
    out[..(m - 1) * os + n]
        .par_chunks_mut(X_ROWS_PER_TASK * os)
        .enumerate()
        .for_each(|(c, o)| {
            let i0 = c * X_ROWS_PER_TASK;
            let mi = X_ROWS_PER_TASK.min(m - i0);
            let xi = View {
                data: &x.data[i0 * x.stride..],
                stride: x.stride,
            };
            gemm_nt(mi, n, k, xi, w, o, os);
        });
}

/// [`gemm_nt_par`] on the calling thread.
pub(crate) fn gemm_nt(m: usize, n: usize, k: usize, x: View, w: View, out: &mut [f32], os: usize) {
    if m == 0 || n == 0 {
        return;
    }
    // Every access below stays inside these bounds.
    assert!(x.stride >= k && w.stride >= k && os >= n);
    assert!(x.data.len() >= (m - 1) * x.stride + k);
    assert!(w.data.len() >= (n - 1) * w.stride + k);
    assert!(out.len() >= (m - 1) * os + n);
    // Rows of `x` in L2-sized chunks, each multiplied with all of `w` (whose L1-sized blocks
    // are reused for every row of the chunk): `x` is then read from L2, not memory, however
    // large the batch.
    let nb = (W_BLOCK_BYTES / 4 / k.max(1)).clamp(4, 64) / 4 * 4;
    let mc = (X_BLOCK_BYTES / 4 / k.max(1)).clamp(8, 512);
    for i0 in (0..m).step_by(mc) {
        let mi = mc.min(m - i0);
        let xi = View {
            data: &x.data[i0 * x.stride..],
            stride: x.stride,
        };
        let oi = &mut out[i0 * os..];
        #[cfg(target_arch = "x86_64")]
        if avx2() {
            // SAFETY: AVX2 and FMA are present; bounds asserted above.
            unsafe { drive_avx2(mi, n, k, xi, w, oi, os, nb) };
            continue;
        }
        #[cfg(target_arch = "aarch64")]
        // SAFETY: NEON is baseline on aarch64; bounds asserted above.
        unsafe {
            drive_neon(mi, n, k, xi, w, oi, os, nb)
        };
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        // SAFETY: simd128 is compiled in; bounds asserted above.
        unsafe {
            drive_wasm(mi, n, k, xi, w, oi, os, nb)
        };
        #[cfg(not(any(
            target_arch = "aarch64",
            all(target_arch = "wasm32", target_feature = "simd128")
        )))]
        // SAFETY: plain Rust; bounds asserted above.
        unsafe {
            drive_scalar(mi, n, k, xi, w, oi, os, nb)
        };
    }
}

#[cfg(target_arch = "x86_64")]
fn avx2() -> bool {
    use std::sync::atomic::{AtomicU8, Ordering};
    static HAS: AtomicU8 = AtomicU8::new(0);
    match HAS.load(Ordering::Relaxed) {
        2 => true,
        1 => false,
        _ => {
            let yes = std::env::var_os("HEARTH_NO_SIMD").is_none()
                && is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma");
            HAS.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
            yes
        }
    }
}

/// A driver `$name` over the row blocks: `nb` rows of `w` at a time (kept in L1), for
/// every `MR` rows of `x`, `MR × NR` register tiles by `$tile`, the edges one row of `x`
/// (`$tile::<1, NR>`) or one output (`$tile::<1, 1>`) at a time.
macro_rules! driver {
    ($(#[$attr:meta])* $name:ident, $tile:ident, $mr:literal x $nr:literal) => {
        $(#[$attr])*
        unsafe fn $name(
            m: usize,
            n: usize,
            k: usize,
            x: View,
            w: View,
            out: &mut [f32],
            os: usize,
            nb: usize,
        ) {
            const MR: usize = $mr;
            const NR: usize = $nr;
            let (xs, ws) = (x.stride, w.stride);
            let xp = x.data.as_ptr();
            let wp = w.data.as_ptr();
            let op = out.as_mut_ptr();
            // SAFETY (whole body): `gemm_nt` checked the bounds of every row of `x`, `w` and
            // `out` used below; the tile's features are enabled (see the caller).
            unsafe {
                for j0 in (0..n).step_by(nb) {
                    let jn = nb.min(n - j0);
                    let jfull = j0 + jn / NR * NR;
                    for i0 in (0..m).step_by(MR) {
                        let im = MR.min(m - i0);
                        let xi = xp.add(i0 * xs);
                        for j in (j0..jfull).step_by(NR) {
                            let wj = wp.add(j * ws);
                            let o = op.add(i0 * os + j);
                            if im == MR {
                                $tile::<MR, NR>(k, xi, xs, wj, ws, o, os);
                            } else {
                                for i in 0..im {
                                    $tile::<1, NR>(k, xi.add(i * xs), xs, wj, ws, o.add(i * os), os);
                                }
                            }
                        }
                        for i in 0..im {
                            for j in jfull..j0 + jn {
                                let o = op.add((i0 + i) * os + j);
                                $tile::<1, 1>(k, xi.add(i * xs), xs, wp.add(j * ws), ws, o, os);
                            }
                        }
                    }
                }
            }
        }
    };
}

// ---------------------------------------------------------------------------
// x86-64: AVX2 + FMA, 2 × 4 tiles of 8-lane accumulators: 8 independent FMA chains (enough
// to hide their latency on two FMA ports) plus 5 operands fit the 16 ymm registers (3 × 4
// would spill an accumulator to the stack every step).

#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_avx2<const MR: usize, const NR: usize>(
    k: usize,
    xi: *const f32,
    xs: usize,
    wj: *const f32,
    ws: usize,
    o: *mut f32,
    os: usize,
) {
    use std::arch::x86_64::*;
    let kv = k / 8 * 8;
    // SAFETY (whole body): the caller's bounds cover MR rows of `x` and NR rows of `w` of
    // `k` elements each, and the MR × NR outputs.
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); NR]; MR];
        let mut p = 0;
        while p < kv {
            let wv: [__m256; NR] = std::array::from_fn(|j| _mm256_loadu_ps(wj.add(j * ws + p)));
            for i in 0..MR {
                let xv = _mm256_loadu_ps(xi.add(i * xs + p));
                for j in 0..NR {
                    acc[i][j] = _mm256_fmadd_ps(xv, wv[j], acc[i][j]);
                }
            }
            p += 8;
        }
        for i in 0..MR {
            for j in 0..NR {
                let v = acc[i][j];
                let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
                let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
                let s = _mm_add_ss(s, _mm_movehdup_ps(s));
                let mut s = _mm_cvtss_f32(s);
                for q in kv..k {
                    s += *xi.add(i * xs + q) * *wj.add(j * ws + q);
                }
                *o.add(i * os + j) = s;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
driver!(#[target_feature(enable = "avx2,fma")] drive_avx2, tile_avx2, 2 x 4);

// ---------------------------------------------------------------------------
// aarch64: NEON, 4 × 4 tiles of 4-lane accumulators (16 of the 32 vector registers).

#[cfg(target_arch = "aarch64")]
#[inline(always)]
unsafe fn tile_neon<const MR: usize, const NR: usize>(
    k: usize,
    xi: *const f32,
    xs: usize,
    wj: *const f32,
    ws: usize,
    o: *mut f32,
    os: usize,
) {
    use std::arch::aarch64::*;
    let kv = k / 4 * 4;
    // SAFETY (whole body): as `tile_avx2`; NEON is baseline on aarch64.
    unsafe {
        let mut acc = [[vdupq_n_f32(0.0); NR]; MR];
        let mut p = 0;
        while p < kv {
            let wv: [float32x4_t; NR] = std::array::from_fn(|j| vld1q_f32(wj.add(j * ws + p)));
            for i in 0..MR {
                let xv = vld1q_f32(xi.add(i * xs + p));
                for j in 0..NR {
                    acc[i][j] = vfmaq_f32(acc[i][j], xv, wv[j]);
                }
            }
            p += 4;
        }
        for i in 0..MR {
            for j in 0..NR {
                let mut s = vaddvq_f32(acc[i][j]);
                for q in kv..k {
                    s += *xi.add(i * xs + q) * *wj.add(j * ws + q);
                }
                *o.add(i * os + j) = s;
            }
        }
    }
}

#[cfg(target_arch = "aarch64")]
driver!(#[inline] drive_neon, tile_neon, 4 x 4);

// ---------------------------------------------------------------------------
// wasm32 simd128 (no fused multiply-add): 2 × 4 tiles of 4-lane accumulators, so that the
// accumulators and operands fit the 16 registers engines map v128 to on x86-64.

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
unsafe fn tile_wasm<const MR: usize, const NR: usize>(
    k: usize,
    xi: *const f32,
    xs: usize,
    wj: *const f32,
    ws: usize,
    o: *mut f32,
    os: usize,
) {
    use std::arch::wasm32::*;
    let kv = k / 4 * 4;
    // SAFETY (whole body): as `tile_avx2`; unaligned v128 loads are allowed.
    unsafe {
        let mut acc = [[f32x4_splat(0.0); NR]; MR];
        let mut p = 0;
        while p < kv {
            let wv: [v128; NR] =
                std::array::from_fn(|j| v128_load(wj.add(j * ws + p).cast::<v128>()));
            for i in 0..MR {
                let xv = v128_load(xi.add(i * xs + p).cast::<v128>());
                for j in 0..NR {
                    acc[i][j] = f32x4_add(acc[i][j], f32x4_mul(xv, wv[j]));
                }
            }
            p += 4;
        }
        for i in 0..MR {
            for j in 0..NR {
                let v = acc[i][j];
                let mut s = (f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<1>(v))
                    + (f32x4_extract_lane::<2>(v) + f32x4_extract_lane::<3>(v));
                for q in kv..k {
                    s += *xi.add(i * xs + q) * *wj.add(j * ws + q);
                }
                *o.add(i * os + j) = s;
            }
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
driver!(#[inline] drive_wasm, tile_wasm, 2 x 4);

// ---------------------------------------------------------------------------
// Portable: 2 × 4 tiles of 8 partial sums each (plain arrays the compiler vectorizes).

#[inline(always)]
unsafe fn tile_scalar<const MR: usize, const NR: usize>(
    k: usize,
    xi: *const f32,
    xs: usize,
    wj: *const f32,
    ws: usize,
    o: *mut f32,
    os: usize,
) {
    const L: usize = 8;
    let kv = k / L * L;
    // SAFETY (whole body): as `tile_avx2`.
    unsafe {
        let mut acc = [[[0f32; L]; NR]; MR];
        let mut p = 0;
        while p < kv {
            for i in 0..MR {
                let xv = &*xi.add(i * xs + p).cast::<[f32; L]>();
                for j in 0..NR {
                    let wv = &*wj.add(j * ws + p).cast::<[f32; L]>();
                    for l in 0..L {
                        acc[i][j][l] += xv[l] * wv[l];
                    }
                }
            }
            p += L;
        }
        for i in 0..MR {
            for j in 0..NR {
                let mut s: f32 = acc[i][j].iter().sum();
                for q in kv..k {
                    s += *xi.add(i * xs + q) * *wj.add(j * ws + q);
                }
                *o.add(i * os + j) = s;
            }
        }
    }
}

driver!(#[cfg_attr(any(target_arch = "aarch64", target_arch = "wasm32"), allow(dead_code))] drive_scalar, tile_scalar, 2 x 4);

#[cfg(test)]
mod tests {
    use super::*;
    // In wasm these run under wasm-bindgen-test (Node and Chromium; see scripts/test).
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn reference(m: usize, n: usize, k: usize, x: View, w: View) -> Vec<f64> {
        let mut r = vec![0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                r[i * n + j] = (0..k)
                    .map(|p| x.data[i * x.stride + p] as f64 * w.data[j * w.stride + p] as f64)
                    .sum();
            }
        }
        r
    }

    fn check(drive: unsafe fn(usize, usize, usize, View, View, &mut [f32], usize, usize)) {
        let mut seed = 0x1234_5678u32;
        let mut rnd = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed as f32 / u32::MAX as f32 - 0.5
        };
        // Shapes with every kind of edge: tails in k, partial tiles in m and n, strides.
        for &(m, n, k) in &[(1, 1, 1), (3, 4, 8), (7, 13, 37), (25, 9, 32), (5, 70, 100)] {
            let (xs, ws, os) = (k + 3, k + 1, n + 2);
            let xd: Vec<f32> = (0..m * xs).map(|_| rnd()).collect();
            let wd: Vec<f32> = (0..n * ws).map(|_| rnd()).collect();
            let x = View {
                data: &xd,
                stride: xs,
            };
            let w = View {
                data: &wd,
                stride: ws,
            };
            let want = reference(m, n, k, x, w);
            for nb in [4, 8, 64] {
                let mut out = vec![f32::NAN; m * os];
                // SAFETY: the kernels' features are present (checked by the caller).
                unsafe { drive(m, n, k, x, w, &mut out, os, nb) };
                for i in 0..m {
                    for j in 0..n {
                        let (g, r) = (out[i * os + j] as f64, want[i * n + j]);
                        assert!(
                            (g - r).abs() < 1e-5 * (1.0 + k as f64),
                            "{m}×{n}×{k} [{i}][{j}]: {g} vs {r}"
                        );
                    }
                    assert!(
                        out[i * os + n..(i + 1) * os].iter().all(|v| v.is_nan()),
                        "padding written"
                    );
                }
            }
        }
    }

    #[test]
    fn scalar_matches_reference() {
        check(drive_scalar);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_matches_reference() {
        if avx2() {
            check(drive_avx2);
        }
    }

    #[cfg(target_arch = "aarch64")]
    #[test]
    fn neon_matches_reference() {
        check(drive_neon);
    }

    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[test]
    fn wasm_matches_reference() {
        check(drive_wasm);
    }

    #[test]
    fn parallel_matches_serial() {
        let (m, n, k) = (100, 40, 64);
        let xd: Vec<f32> = (0..m * k).map(|i| (i % 17) as f32 - 8.0).collect();
        let wd: Vec<f32> = (0..n * k).map(|i| (i % 13) as f32 - 6.0).collect();
        let x = View {
            data: &xd,
            stride: k,
        };
        let w = View {
            data: &wd,
            stride: k,
        };
        let mut a = vec![0f32; m * n];
        let mut b = vec![1f32; m * n];
        gemm_nt(m, n, k, x, w, &mut a, n);
        gemm_nt_par(m, n, k, x, w, &mut b, n);
        assert_eq!(a, b);
    }
}
