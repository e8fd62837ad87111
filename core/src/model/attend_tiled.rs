//! Attention of a prompt batch of at least [`TILE`] tokens, as ggml-cpu computes it then
//! (`ggml_compute_forward_flash_attn_ext_tiled`, which llama.cpp runs for every ubatch of
//! 64 or more tokens): Q as is (not rounded to f16), keys and values in f32, and per query
//! an online softmax over the cache in tiles of 64 positions — scores, the tile's maximum,
//! one rescale of the running sums when it grows, the tile's exponentials summed in f64,
//! and the weighted values accumulated in f32. Shorter batches and decoding keep the
//! per-position path of `forward.rs` (`attend`), as llama.cpp does.
//!
//! Every score is one multiply-then-add chain over the head dimension and every output
//! one over the positions, in order (no fused multiply-add, no reassociation), so results
//! are the same bits on every target; vectorized across positions (scores) and across the
//! value dimension (outputs), with an AVX2 build of the same code on x86-64.

use rayon::prelude::*;

/// Query rows and cache positions per tile (ggml's `GGML_FA_TILE_Q` and `GGML_FA_TILE_KV`).
pub(super) const TILE: usize = 64;

/// One layer's attention inputs for a batch of `n` tokens at positions `pos0..pos0 + n`.
pub(super) struct Batch<'a> {
    /// Queries, `n × n_head × hd`.
    pub q: &'a [f32],
    /// Keys (`kv_dim` per position) and values (`v_dim` per position), rows for positions
    /// `base..pos0 + n`.
    pub k: &'a [f32],
    pub v: &'a [f32],
    pub base: usize,
    pub pos0: usize,
    pub n: usize,
    pub n_head: usize,
    /// Query heads per KV head.
    pub group: usize,
    pub hd: usize,
    pub hdv: usize,
    pub kv_dim: usize,
    pub v_dim: usize,
    /// Sliding window: position `p` sees `p + 1 - window ..= p`.
    pub window: Option<usize>,
    /// The scores' scale.
    pub scale: f32,
}

impl Batch<'_> {
    /// The first position the query at `p` sees.
    fn start(&self, p: usize) -> usize {
        self.window.map_or(0, |w| (p + 1).saturating_sub(w))
    }
}

/// One task's buffers.
#[derive(Default)]
struct Scratch {
    /// The key tile transposed: `kt[d · TILE + j]` = key `c0 + j`, element `d`.
    kt: Vec<f32>,
    /// One row's scores, then its exponentials.
    row: Vec<f32>,
    /// Weighted value sums, `rows × hdv`.
    acc: Vec<f32>,
}

/// `out` (`n × n_head × hdv`) = softmax(`Q Kᵀ · scale`) `V` over each token's visible
/// positions, one task per query head and tile of [`TILE`] tokens. Per query head, not per
/// KV head: heads of a group each transpose the same key tiles (about 1/64 of their work),
/// but a 64-token batch of a one-KV-head model (Gemma-3-270M) still splits over threads.
pub(super) fn attend_tiled(b: &Batch, out: &mut [f32]) {
    assert!(b.n > 0 && b.hd > 0 && b.hdv > 0);
    assert_eq!(out.len(), b.n * b.n_head * b.hdv);
    let tiles = b.n.div_ceil(TILE);
    let results: Vec<(usize, usize, Vec<f32>)> = (0..b.n_head * tiles)
        .into_par_iter()
        .map_init(Scratch::default, |sc, task| {
            let (h, qt) = (task / tiles, task % tiles);
            let t0 = qt * TILE;
            let rows = TILE.min(b.n - t0);
            let mut o = vec![0f32; rows * b.hdv];
            run(b, h, t0, rows, sc, &mut o);
            (h, t0, o)
        })
        .collect();
    let stride = b.n_head * b.hdv;
    for (h, t0, o) in results {
        for (r, src) in o.chunks_exact(b.hdv).enumerate() {
            out[(t0 + r) * stride + h * b.hdv..][..b.hdv].copy_from_slice(src);
        }
    }
}

fn run(b: &Batch, h: usize, t0: usize, rows: usize, sc: &mut Scratch, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is present.
        return unsafe { run_avx2(b, h, t0, rows, sc, out) };
    }
    run_body(b, h, t0, rows, sc, out);
}

/// [`run_body`] compiled for AVX2 (8-lane vectors; the operations, and so the bits, are the same).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn run_avx2(b: &Batch, h: usize, t0: usize, rows: usize, sc: &mut Scratch, out: &mut [f32]) {
    run_body(b, h, t0, rows, sc, out);
}

/// Query head `h`, tokens `t0..t0 + rows`, into `out` (`rows × hdv`).
#[inline(always)]
fn run_body(b: &Batch, h: usize, t0: usize, rows: usize, sc: &mut Scratch, out: &mut [f32]) {
    let (hd, hdv) = (b.hd, b.hdv);
    let kvh = h / b.group;
    let q_dim = b.n_head * hd;
    let mut max = [f32::NEG_INFINITY; TILE];
    let mut sum = [0f32; TILE];
    sc.acc.clear();
    sc.acc.resize(rows * hdv, 0.0);
    sc.kt.resize(hd * TILE, 0.0);
    sc.row.resize(TILE, 0.0);
    let (p_first, p_last) = (b.pos0 + t0, b.pos0 + t0 + rows - 1);
    // Tiles of positions aligned to 0, as the cache cells ggml walks; a tile that no query
    // row sees is skipped (ggml skips it too, or finds every score masked).
    let mut c0 = b.start(p_first) / TILE * TILE;
    while c0 <= p_last {
        let c1 = (c0 + TILE).min(p_last + 1);
        // Keys below `base` are outside every row's window; their columns stay unread.
        let j_lo = b.base.saturating_sub(c0).min(c1 - c0);
        for j in j_lo..c1 - c0 {
            let key = &b.k[(c0 + j - b.base) * b.kv_dim + kvh * hd..][..hd];
            for (d, &x) in key.iter().enumerate() {
                sc.kt[d * TILE + j] = x;
            }
        }
        for r in 0..rows {
            let p = b.pos0 + t0 + r;
            // The positions of this tile row `r` sees.
            let lo = b.start(p).max(c0) - c0;
            let hi = (p + 1).min(c1).saturating_sub(c0);
            if lo >= hi {
                continue;
            }
            let q = &b.q[(t0 + r) * q_dim + h * hd..][..hd];
            let s = scores(q, &sc.kt);
            let row = &mut sc.row[..TILE];
            let mut tile_max = f32::NEG_INFINITY;
            for j in lo..hi {
                row[j] = s[j] * b.scale;
                tile_max = tile_max.max(row[j]);
            }
            let acc = &mut sc.acc[r * hdv..(r + 1) * hdv];
            if tile_max > max[r] {
                let ms = libm::expf(max[r] - tile_max);
                acc.iter_mut().for_each(|a| *a *= ms);
                sum[r] *= ms;
                max[r] = tile_max;
            }
            let m = max[r];
            let row = &mut row[lo..hi];
            row.iter_mut().for_each(|x| *x -= m);
            crate::quant::expf_batch(row);
            // ggml sums a tile's exponentials in double precision.
            let tile_sum = row.iter().fold(0f64, |s, &e| s + e as f64);
            sum[r] = (sum[r] as f64 + tile_sum) as f32;
            let v0 = (c0 + lo - b.base) * b.v_dim + kvh * hdv;
            weighted_values(acc, row, &b.v[v0..], b.v_dim);
        }
        c0 += TILE;
    }
    for (r, o) in out.chunks_exact_mut(hdv).enumerate() {
        let inv = if sum[r] == 0.0 { 0.0 } else { 1.0 / sum[r] };
        o.iter_mut()
            .zip(&sc.acc[r * hdv..(r + 1) * hdv])
            .for_each(|(o, &a)| *o = a * inv);
    }
}

/// `s[j] = Σ_d q[d] · kt[d · TILE + j]` for all `TILE` columns, each a chain over `d` in
/// order (starting from 0, as ggml's zeroed accumulators).
#[inline(always)]
fn scores(q: &[f32], kt: &[f32]) -> [f32; TILE] {
    let mut s = [0f32; TILE];
    for (&qd, k) in q.iter().zip(kt.chunks_exact(TILE)) {
        let k: &[f32; TILE] = k.try_into().expect("a whole tile");
        for j in 0..TILE {
            s[j] += qd * k[j];
        }
    }
    s
}

/// `acc[i] += Σ_j e[j] · v[j · stride + i]`, a chain over `j` in order per element.
#[inline(always)]
fn weighted_values(acc: &mut [f32], e: &[f32], v: &[f32], stride: usize) {
    const W: usize = 64;
    let (chunks, rest) = acc.as_chunks_mut::<W>();
    for (c, a) in chunks.iter_mut().enumerate() {
        let mut x = *a;
        for (j, &ej) in e.iter().enumerate() {
            let vr: &[f32; W] = v[j * stride + c * W..][..W].try_into().expect("W values");
            for i in 0..W {
                x[i] += ej * vr[i];
            }
        }
        *a = x;
    }
    let d0 = chunks.len() * W;
    for (j, &ej) in e.iter().enumerate() {
        for (i, a) in rest.iter_mut().enumerate() {
            *a += ej * v[j * stride + d0 + i];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, one query at a time in plain scalar code: tiles of 64 positions
    /// from 0, the tile maximum, a rescale when it grows, f64 tile sums, values in order.
    fn reference(b: &Batch) -> Vec<f32> {
        let mut out = vec![0f32; b.n * b.n_head * b.hdv];
        for t in 0..b.n {
            let p = b.pos0 + t;
            for h in 0..b.n_head {
                let kvh = h / b.group;
                let q = &b.q[(t * b.n_head + h) * b.hd..][..b.hd];
                let (mut m, mut s) = (f32::NEG_INFINITY, 0f32);
                let mut acc = vec![0f32; b.hdv];
                let start = b.start(p);
                for c0 in (0..=p).step_by(TILE) {
                    let js: Vec<usize> = (c0.max(start)..(c0 + TILE).min(p + 1)).collect();
                    if js.is_empty() {
                        continue;
                    }
                    let sc: Vec<f32> = js
                        .iter()
                        .map(|&j| {
                            let k = &b.k[(j - b.base) * b.kv_dim + kvh * b.hd..][..b.hd];
                            k.iter().zip(q).fold(0f32, |a, (&k, &q)| a + q * k) * b.scale
                        })
                        .collect();
                    let tm = sc.iter().fold(f32::NEG_INFINITY, |a, &x| a.max(x));
                    if tm > m {
                        let ms = libm::expf(m - tm);
                        acc.iter_mut().for_each(|a| *a *= ms);
                        s *= ms;
                        m = tm;
                    }
                    let e: Vec<f32> = sc.iter().map(|&x| libm::expf(x - m)).collect();
                    s = (s as f64 + e.iter().map(|&e| e as f64).sum::<f64>()) as f32;
                    for (&j, &e) in js.iter().zip(&e) {
                        let v = &b.v[(j - b.base) * b.v_dim + kvh * b.hdv..][..b.hdv];
                        acc.iter_mut().zip(v).for_each(|(a, &v)| *a += e * v);
                    }
                }
                let inv = if s == 0.0 { 0.0 } else { 1.0 / s };
                let o = &mut out[(t * b.n_head + h) * b.hdv..][..b.hdv];
                o.iter_mut().zip(&acc).for_each(|(o, &a)| *o = a * inv);
            }
        }
        out
    }

    #[test]
    fn matches_the_definition_bit_for_bit() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 40) as f32 / (1u64 << 24) as f32 * 4.0 - 2.0
        };
        // (tokens, first position, window, head size, value size, base): whole and partial
        // tiles, a batch after cached positions, a sliding window with rows below `base`,
        // value sizes with and without a 64-wide remainder.
        for &(n, pos0, window, hd, hdv, base) in &[
            (64, 0, None, 16, 64, 0),
            (100, 0, None, 8, 24, 0),
            (70, 37, None, 16, 130, 0),
            (90, 150, Some(80), 8, 64, 71),
        ] {
            let (n_head, group) = (4, 2);
            let (kv_dim, v_dim) = (n_head / group * hd, n_head / group * hdv);
            let positions = pos0 + n - base;
            let q: Vec<f32> = (0..n * n_head * hd).map(|_| rnd()).collect();
            let k: Vec<f32> = (0..positions * kv_dim).map(|_| rnd()).collect();
            let v: Vec<f32> = (0..positions * v_dim).map(|_| rnd()).collect();
            let b = Batch {
                q: &q,
                k: &k,
                v: &v,
                base,
                pos0,
                n,
                n_head,
                group,
                hd,
                hdv,
                kv_dim,
                v_dim,
                window,
                scale: 0.3,
            };
            let mut out = vec![f32::NAN; n * n_head * hdv];
            attend_tiled(&b, &mut out);
            let want = reference(&b);
            for (i, (g, w)) in out.iter().zip(&want).enumerate() {
                assert_eq!(
                    g.to_bits(),
                    w.to_bits(),
                    "n {n} pos0 {pos0}: element {i}: {g} vs {w}"
                );
            }
        }
    }
}
