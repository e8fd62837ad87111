//! Q, K and V made ready for attention in one launch (`shaders/prepare_qkv.wgsl`): biases,
//! per-head Q/K RMS norms, RoPE, and K and V appended to the layer's KV cache, read from the
//! one buffer the stacked Q/K/V products write. One launch
//! per block where bias adds, norms, two rotations and two cache stores took up to seven
//! (each launch costs the CPU a recording and the GPU a barrier).

use super::GpuContext;
use super::kernel::{Dispatch, Groups, REDUCE64, params, pipeline};
use crate::model::RopeStyle;

/// Marks an absent vector in the launch's parameters (`NONE` in the shader).
const NONE: u32 = u32::MAX;

/// The pipeline over a cache of `f16`s (`half`, needs shader-f16) or f32s.
pub(crate) fn prepare_qkv_pipeline(ctx: &GpuContext, half: bool) -> wgpu::ComputePipeline {
    pipeline(
        ctx,
        "prepare_qkv",
        &format!(
            "{}\n{REDUCE64}\n{}",
            kv_elem(half),
            include_str!("shaders/prepare_qkv.wgsl")
        ),
        "main",
    )
}

/// The WGSL type of a KV cache element (`KvElem`): `f16` with `half` (needs shader-f16),
/// else f32 (f16 values when rounded).
pub(crate) fn kv_elem(half: bool) -> &'static str {
    if half {
        "alias KvElem = f16;"
    } else {
        "alias KvElem = f32;"
    }
}

/// RoPE's `(cos, sin)` for positions `0..n_ctx`, `n_rot / 2` pairs each, flattened: computed
/// by the CPU backend's own function, so both backends rotate by the same bits.
pub(crate) fn rope_table(
    n_ctx: usize,
    n_rot: usize,
    base: f32,
    scale: f32,
    freq_factors: Option<&[f32]>,
) -> Vec<f32> {
    let mut out = Vec::with_capacity(n_ctx * n_rot);
    let mut cache = vec![(0.0, 0.0); n_rot / 2];
    for pos in 0..n_ctx {
        crate::model::ops::rope_cache(pos, n_rot, base, scale, freq_factors, &mut cache);
        out.extend(cache.iter().flat_map(|&(c, s)| [c, s]));
    }
    out
}

/// A block's Q/K/V biases and Q/K norm weights in one f32 buffer (the kernel may bind only
/// eight storage buffers), each vector's start recorded.
#[derive(Debug)]
pub(crate) struct QkvVectors {
    /// `None` when the block has none of them.
    pub buffer: Option<wgpu::Buffer>,
    /// Start (in floats) of bq, bk, bv, q_norm, k_norm, or [`NONE`].
    starts: [u32; 5],
}

impl QkvVectors {
    /// Floats the buffer holds for these vectors (bq, bk, bv, q_norm, k_norm).
    pub(crate) fn floats(vectors: [&Option<Vec<f32>>; 5]) -> usize {
        vectors
            .iter()
            .filter_map(|v| v.as_ref())
            .map(Vec::len)
            .sum()
    }

    /// Uploads bq, bk, bv, q_norm, k_norm (any may be absent) back to back.
    pub(crate) fn upload(ctx: &GpuContext, vectors: [&Option<Vec<f32>>; 5]) -> QkvVectors {
        let mut all = Vec::with_capacity(Self::floats(vectors));
        let starts = vectors.map(|v| match v {
            Some(v) => {
                let start = all.len() as u32;
                all.extend_from_slice(v);
                start
            }
            None => NONE,
        });
        QkvVectors {
            buffer: (!all.is_empty()).then(|| super::kernel::storage_f32(ctx, "qkv_vectors", &all)),
            starts,
        }
    }
}

/// The shape of one block's Q, K and V.
#[derive(Clone, Copy, Debug)]
pub(crate) struct QkvShape {
    pub n_head: usize,
    pub n_head_kv: usize,
    pub head_dim: usize,
    pub head_dim_v: usize,
    pub n_rot: usize,
    pub style: RopeStyle,
    /// Round K and V to f16 on their way into the cache (an f16 cache).
    pub round_f16: bool,
    /// The Q/K norms' epsilon.
    pub eps: f32,
}

/// The launch over the step's tokens: from `qkv` (per token Q, K and V side by side, as the
/// stacked products write them) Q into `q`, K and V appended to the caches at the step's
/// positions. `bufs`: step, RoPE table, qkv, q, K cache, V cache.
pub(crate) fn prepare_qkv(
    ctx: &GpuContext,
    pipe: &wgpu::ComputePipeline,
    bufs: [&wgpu::Buffer; 6],
    vectors: &QkvVectors,
    s: QkvShape,
) -> Dispatch {
    let [step, table, qkv, q, kc, vc] = bufs;
    let [bq, bk, bv, q_norm, k_norm] = vectors.starts;
    let p = params(
        ctx,
        &[
            s.n_head as u32,
            s.n_head_kv as u32,
            s.head_dim as u32,
            s.head_dim_v as u32,
            (s.n_rot / 2) as u32,
            u32::from(s.style == RopeStyle::Neox),
            u32::from(s.round_f16),
            s.eps.to_bits(),
            bq,
            bk,
            bv,
            q_norm,
            k_norm,
        ],
    );
    // Without vectors any f32 buffer fills the slot (every start is NONE).
    let aux = vectors.buffer.as_ref().unwrap_or(table);
    Dispatch::new(
        ctx,
        pipe,
        p,
        &[step, table, aux, qkv, q, kc, vc],
        Groups::PerTok((s.n_head + 2 * s.n_head_kv) as u32),
    )
}
