//! F32 matrix products for the encoder: `out = x · wᵀ`, with `x` (`m × k`) and `w`
//! (`n × k`) both row-major with the reduction dimension contiguous — the layout of a
//! `[out, in]` weight matrix, and of `Q·Kᵀ` in attention — so weights are used in place.
//!
//! Rows of `x` are packed into panels of `MR` rows interleaved by `p` (`panel[p][lane]`,
//! zero-padded): a register tile then loads `MR` rows' `x[·][p]` as whole vectors,
//! broadcasts `w[j][p]` for `NR` rows of `w` and does `MR · NR` multiply-adds, with no
//! horizontal sums (AVX2+FMA, NEON, wasm `simd128`; plain Rust elsewhere). Packing `x`
//! costs `1/n` of the product, so the weights need no copy. Every output is one
//! multiply-add chain over `p` in order, so its bits do not depend on the tile, the panel
//! or the thread that computed it. [`gemm_nt_par`] splits the rows of `x` over rayon.

use std::cell::RefCell;

use rayon::prelude::*;

/// A row-major matrix view: row `i` starts at `data[i * stride]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct View<'a> {
    pub data: &'a [f32],
    pub stride: usize,
}

/// Bytes of `w` rows kept in L2 while every panel of `x` passes by.
const W_BLOCK_BYTES: usize = 192 * 1024;

/// Bytes of packed `x` panels per chunk.
const X_BLOCK_BYTES: usize = 256 * 1024;

/// Rows of `x` per parallel task (whole panels on every target).
const X_ROWS_PER_TASK: usize = 32;

thread_local! {
    /// Each thread's packed panels, kept between calls (no page faults per product).
    static PANELS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

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
    if k == 0 {
        for i in 0..m {
            out[i * os..i * os + n].fill(0.0);
        }
        return;
    }
    PANELS.with_borrow_mut(|panels| {
        #[cfg(target_arch = "x86_64")]
        if avx2() {
            // SAFETY: AVX2 and FMA are present; bounds asserted above.
            return unsafe { drive_avx2(m, n, k, x, w, out, os, panels) };
        }
        #[cfg(target_arch = "aarch64")]
        // SAFETY: NEON is baseline on aarch64; bounds asserted above.
        return unsafe { drive_neon(m, n, k, x, w, out, os, panels) };
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        // SAFETY: simd128 is compiled in; bounds asserted above.
        return unsafe { drive_wasm(m, n, k, x, w, out, os, panels) };
        #[allow(unreachable_code)]
        // SAFETY: plain Rust; bounds asserted above.
        unsafe {
            drive_scalar(m, n, k, x, w, out, os, panels)
        }
    })
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

/// Packs rows `i0..i0 + rows` of `x` (`rows ≤ mr`) into `dst` (`k × mr`): `dst[p · mr + l]
/// = x[i0 + l][p]`, zero for `l ≥ rows`.
fn pack(x: View, i0: usize, rows: usize, k: usize, mr: usize, dst: &mut [f32]) {
    if rows < mr {
        dst.fill(0.0);
    }
    for l in 0..rows {
        let row = &x.data[(i0 + l) * x.stride..][..k];
        for (p, &v) in row.iter().enumerate() {
            dst[p * mr + l] = v;
        }
    }
}

/// A driver `$name` over panels: `x` in chunks of packed panels of `$lanes · $v` rows
/// (the last `≤ $lanes · $sv` rows in one narrower panel), `w` in L2-sized blocks of rows,
/// and per panel `$tile::<V, NR>` register tiles (`V` vectors of `x` rows × `NR` rows of
/// `w`), `NR` rows at a time, the block's last rows one at a time.
macro_rules! driver {
    ($(#[$attr:meta])* $name:ident, $tile:ident, $lanes:literal lanes,
     $v:literal x $nr:literal, $sv:literal x $snr:literal) => {
        $(#[$attr])*
        #[allow(clippy::too_many_arguments)]
        unsafe fn $name(
            m: usize,
            n: usize,
            k: usize,
            x: View,
            w: View,
            out: &mut [f32],
            os: usize,
            panels: &mut Vec<f32>,
        ) {
            const MR: usize = $lanes * $v;
            const SMR: usize = $lanes * $sv;
            const NR: usize = $nr;
            const SNR: usize = $snr;
            let ws = w.stride;
            let wp = w.data.as_ptr();
            let op = out.as_mut_ptr();
            let nb = (W_BLOCK_BYTES / 4 / k).max(NR * SNR) / (NR * SNR) * (NR * SNR);
            let mc = (X_BLOCK_BYTES / 4 / k).max(MR) / MR * MR;
            let mut tmp = [0f32; MR * NR];
            let tp = tmp.as_mut_ptr();
            for i0 in (0..m).step_by(mc) {
                let mi = mc.min(m - i0);
                // Panels (row offset, rows, width): whole ones of MR rows; a remainder that
                // fits SMR rows in a narrower panel (fewer padding lanes for short inputs).
                let (full, rest) = (mi / MR, mi % MR);
                let last = match rest {
                    0 => None,
                    r if r <= SMR => Some((full * MR, r, SMR)),
                    r => Some((full * MR, r, MR)),
                };
                let shape = |q: usize| {
                    if q < full {
                        (q * MR, MR, MR)
                    } else {
                        last.expect("one more panel")
                    }
                };
                let count = full + usize::from(last.is_some());
                panels.resize(count * k * MR, 0.0);
                for q in 0..count {
                    let (r0, rows, width) = shape(q);
                    pack(x, i0 + r0, rows, k, width, &mut panels[q * k * MR..][..k * width]);
                }
                for j0 in (0..n).step_by(nb) {
                    let jn = nb.min(n - j0);
                    for q in 0..count {
                        let (r0, rows, width) = shape(q);
                        // SAFETY (block): the panel holds `k · width` floats; `gemm_nt` checked
                        // the rows of `w` and `out` used; the tile's features are enabled (see
                        // the caller); `tmp` holds MR · NR ≥ width · (NR or SNR) floats.
                        unsafe {
                            let pq = panels.as_ptr().add(q * k * MR);
                            let step = if width == MR { NR } else { SNR };
                            let mut j = j0;
                            while j < j0 + jn {
                                let nr = step.min(j0 + jn - j);
                                let wj = wp.add(j * ws);
                                match (width == MR, nr == step) {
                                    (true, true) => $tile::<$v, NR>(k, pq, wj, ws, tp),
                                    (false, true) => $tile::<$sv, SNR>(k, pq, wj, ws, tp),
                                    (true, false) => {
                                        for c in 0..nr {
                                            $tile::<$v, 1>(k, pq, wj.add(c * ws), ws, tp.add(c * MR));
                                        }
                                    }
                                    (false, false) => {
                                        for c in 0..nr {
                                            $tile::<$sv, 1>(k, pq, wj.add(c * ws), ws, tp.add(c * SMR));
                                        }
                                    }
                                }
                                // The tile left output (row l, column c) at tmp[c · width + l].
                                for l in 0..rows {
                                    let o = op.add((i0 + r0 + l) * os + j);
                                    for c in 0..nr {
                                        *o.add(c) = *tp.add(c * width + l);
                                    }
                                }
                                j += nr;
                            }
                        }
                    }
                }
            }
        }
    };
}

// ---------------------------------------------------------------------------
// x86-64: AVX2 + FMA, 8 lanes. Tiles of 2 vectors (16 rows of `x`) × 6 rows of `w`, or
// 1 × 12 for a narrow last panel: 12 independent FMA chains (enough to hide their latency
// on two FMA ports) plus the operands fit the 16 ymm registers.

#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_avx2<const V: usize, const NR: usize>(
    k: usize,
    panel: *const f32,
    w: *const f32,
    ws: usize,
    tmp: *mut f32,
) {
    use std::arch::x86_64::*;
    // SAFETY (whole body): the caller's bounds cover `k · 8V` panel floats, NR rows of `w`
    // of `k` elements each and `NR · 8V` floats of `tmp`.
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); V]; NR];
        for p in 0..k {
            let xv: [__m256; V] =
                std::array::from_fn(|v| _mm256_loadu_ps(panel.add((p * V + v) * 8)));
            for (c, a) in acc.iter_mut().enumerate() {
                let wv = _mm256_set1_ps(*w.add(c * ws + p));
                for v in 0..V {
                    a[v] = _mm256_fmadd_ps(xv[v], wv, a[v]);
                }
            }
        }
        for (c, a) in acc.iter().enumerate() {
            for (v, &a) in a.iter().enumerate() {
                _mm256_storeu_ps(tmp.add((c * V + v) * 8), a);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
driver!(#[target_feature(enable = "avx2,fma")] drive_avx2, tile_avx2, 8 lanes, 2 x 6, 1 x 12);

// ---------------------------------------------------------------------------
// aarch64: NEON, 4 lanes. Tiles of 4 vectors (16 rows) × 5 rows of `w`, or 2 × 10: 20
// accumulators of the 32 vector registers.

#[cfg(target_arch = "aarch64")]
#[inline(always)]
unsafe fn tile_neon<const V: usize, const NR: usize>(
    k: usize,
    panel: *const f32,
    w: *const f32,
    ws: usize,
    tmp: *mut f32,
) {
    use std::arch::aarch64::*;
    // SAFETY (whole body): as `tile_avx2`; NEON is baseline on aarch64.
    unsafe {
        let mut acc = [[vdupq_n_f32(0.0); V]; NR];
        for p in 0..k {
            let xv: [float32x4_t; V] =
                std::array::from_fn(|v| vld1q_f32(panel.add((p * V + v) * 4)));
            for (c, a) in acc.iter_mut().enumerate() {
                let wv = vdupq_n_f32(*w.add(c * ws + p));
                for v in 0..V {
                    a[v] = vfmaq_f32(a[v], xv[v], wv);
                }
            }
        }
        for (c, a) in acc.iter().enumerate() {
            for (v, &a) in a.iter().enumerate() {
                vst1q_f32(tmp.add((c * V + v) * 4), a);
            }
        }
    }
}

#[cfg(target_arch = "aarch64")]
driver!(#[inline] drive_neon, tile_neon, 4 lanes, 4 x 5, 2 x 10);

// ---------------------------------------------------------------------------
// wasm32 simd128 (no fused multiply-add), 4 lanes. Tiles of 4 vectors (16 rows) × 2 rows of
// `w`, or 2 × 4: few broadcasts per multiply-add, which V8 makes dear (all-MiniLM-L6-v2 in
// Node 20, one after another: 4 × 2 tiles 10.4 texts/s, 2 × 4 10.5, 2 × 6 6.7, 1 × 8 5.9; the
// dot-product tiles before them 9.7, these 11.2 right after).

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
unsafe fn tile_wasm<const V: usize, const NR: usize>(
    k: usize,
    panel: *const f32,
    w: *const f32,
    ws: usize,
    tmp: *mut f32,
) {
    use std::arch::wasm32::*;
    // SAFETY (whole body): as `tile_avx2`; unaligned v128 loads are allowed.
    unsafe {
        let mut acc = [[f32x4_splat(0.0); V]; NR];
        for p in 0..k {
            let xv: [v128; V] =
                std::array::from_fn(|v| v128_load(panel.add((p * V + v) * 4).cast::<v128>()));
            for (c, a) in acc.iter_mut().enumerate() {
                let wv = f32x4_splat(*w.add(c * ws + p));
                for v in 0..V {
                    a[v] = f32x4_add(a[v], f32x4_mul(xv[v], wv));
                }
            }
        }
        for (c, a) in acc.iter().enumerate() {
            for (v, &a) in a.iter().enumerate() {
                v128_store(tmp.add((c * V + v) * 4).cast::<v128>(), a);
            }
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
driver!(#[inline] drive_wasm, tile_wasm, 4 lanes, 4 x 2, 2 x 4);

// ---------------------------------------------------------------------------
// Portable: 8-lane plain arrays the compiler vectorizes, tiles of 2 × 4 or 1 × 8.

#[inline(always)]
unsafe fn tile_scalar<const V: usize, const NR: usize>(
    k: usize,
    panel: *const f32,
    w: *const f32,
    ws: usize,
    tmp: *mut f32,
) {
    const L: usize = 8;
    // SAFETY (whole body): as `tile_avx2`.
    unsafe {
        let mut acc = [[[0f32; L]; V]; NR];
        for p in 0..k {
            let xv = &*panel.add(p * V * L).cast::<[[f32; L]; V]>();
            for (c, a) in acc.iter_mut().enumerate() {
                let wv = *w.add(c * ws + p);
                for v in 0..V {
                    for l in 0..L {
                        a[v][l] += xv[v][l] * wv;
                    }
                }
            }
        }
        for (c, a) in acc.iter().enumerate() {
            for (v, a) in a.iter().enumerate() {
                for (l, &a) in a.iter().enumerate() {
                    *tmp.add((c * V + v) * L + l) = a;
                }
            }
        }
    }
}

driver!(#[cfg_attr(any(target_arch = "aarch64", all(target_arch = "wasm32", target_feature = "simd128")), allow(dead_code))] drive_scalar, tile_scalar, 8 lanes, 2 x 4, 1 x 8);

#[cfg(test)]
mod tests {
    use super::*;
    // In wasm these run under wasm-bindgen-test (Node and Chromium; see scripts/test).
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    type Drive = unsafe fn(usize, usize, usize, View, View, &mut [f32], usize, &mut Vec<f32>);

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

    fn random(len: usize, seed: &mut u32) -> Vec<f32> {
        (0..len)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 17;
                *seed ^= *seed << 5;
                *seed as f32 / u32::MAX as f32 - 0.5
            })
            .collect()
    }

    fn check(drive: Drive) {
        let mut seed = 0x1234_5678u32;
        // Shapes with every kind of edge: whole and narrow last panels, partial tiles in n,
        // strides, several chunks of `x` and blocks of `w` (k = 2000).
        for &(m, n, k) in &[
            (1, 1, 1),
            (3, 4, 8),
            (7, 13, 37),
            (25, 9, 32),
            (5, 70, 100),
            (16, 12, 16),
            (29, 25, 3),
            (70, 150, 2000),
        ] {
            let (xs, ws, os) = (k + 3, k + 1, n + 2);
            let xd = random(m * xs, &mut seed);
            let wd = random(n * ws, &mut seed);
            let x = View {
                data: &xd,
                stride: xs,
            };
            let w = View {
                data: &wd,
                stride: ws,
            };
            let want = reference(m, n, k, x, w);
            let mut out = vec![f32::NAN; m * os];
            // Panels left over from a larger product must not leak into this one.
            let mut panels = vec![f32::NAN; 64];
            // SAFETY: the kernels' features are present (checked by the caller).
            unsafe { drive(m, n, k, x, w, &mut out, os, &mut panels) };
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
    fn a_row_has_the_same_bits_in_any_batch() {
        let mut seed = 7;
        let (m, n, k) = (53, 30, 77);
        let xd = random(m * k, &mut seed);
        let wd = random(n * k, &mut seed);
        let w = View {
            data: &wd,
            stride: k,
        };
        let mut all = vec![0f32; m * n];
        gemm_nt(
            m,
            n,
            k,
            View {
                data: &xd,
                stride: k,
            },
            w,
            &mut all,
            n,
        );
        for i in 0..m {
            let mut one = vec![0f32; n];
            let x = View {
                data: &xd[i * k..],
                stride: k,
            };
            gemm_nt(1, n, k, x, w, &mut one, n);
            assert_eq!(one, all[i * n..(i + 1) * n], "row {i}");
        }
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

    #[test]
    fn an_empty_reduction_is_zero() {
        let mut out = vec![1f32; 6];
        let x = View {
            data: &[],
            stride: 0,
        };
        gemm_nt(2, 3, 0, x, x, &mut out, 3);
        assert_eq!(out, [0.0; 6]);
    }
}
