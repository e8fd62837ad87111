//! RoPE on the GPU (`shaders/rope.wgsl`) from a (cos, sin) table the CPU computes with the
//! CPU backend's own function, so both rotate by identical values.

use super::GpuContext;
use super::kernel::{Dispatch, Groups, params, pipeline};
use crate::model::RopeStyle;

pub(crate) fn rope_pipeline(ctx: &GpuContext) -> wgpu::ComputePipeline {
    pipeline(ctx, "rope", include_str!("shaders/rope.wgsl"), "main")
}

/// `(cos, sin)` for positions `0..n_ctx`, `n_rot / 2` pairs each, flattened.
pub(crate) fn rope_table(
    n_ctx: usize,
    n_rot: usize,
    base: f32,
    scale: f32,
    freq_factors: Option<&[f32]>,
) -> Vec<f32> {
    let mut out = Vec::with_capacity(n_ctx * n_rot);
    let mut cache = Vec::new();
    for pos in 0..n_ctx {
        crate::model::ops::rope_cache(pos, n_rot, base, scale, freq_factors, &mut cache);
        out.extend(cache.iter().flat_map(|&(c, s)| [c, s]));
    }
    out
}

/// Rotates `heads` heads of `head_dim` per token in place.
pub(crate) fn rope(
    ctx: &GpuContext,
    pipe: &wgpu::ComputePipeline,
    bufs: [&wgpu::Buffer; 3], // step, table, y
    heads: usize,
    head_dim: usize,
    n_rot: usize,
    style: RopeStyle,
) -> Dispatch {
    let p = params(
        ctx,
        &[
            heads as u32,
            head_dim as u32,
            (n_rot / 2) as u32,
            u32::from(style == RopeStyle::Neox),
        ],
    );
    Dispatch::new(ctx, pipe, p, &bufs, Groups::PerTok(heads as u32))
}
