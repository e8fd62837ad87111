//! Causal attention with GQA and sliding windows over the GPU KV cache
//! (`shaders/attention.wgsl`).

use super::GpuContext;
use super::kernel::{Dispatch, EXPF, Groups, REDUCE64, params, pipeline};
use super::prepare_qkv::kv_elem;

/// Over a cache of `f16`s with `half` (needs shader-f16), else of f32s.
pub(crate) fn attention_pipeline(ctx: &GpuContext, half: bool) -> wgpu::ComputePipeline {
    pipeline(
        ctx,
        "attention",
        &format!(
            "{}\n{REDUCE64}\n{EXPF}\n{}",
            kv_elem(half),
            include_str!("shaders/attention.wgsl")
        ),
        "main",
    )
}

/// The shape of one layer's attention.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AttnShape {
    pub n_head: usize,
    pub n_head_kv: usize,
    pub head_dim: usize,
    pub head_dim_v: usize,
    /// 0: full causal attention.
    pub window: usize,
    pub n_ctx: usize,
    pub q_scale: f32,
    pub kq_scale: f32,
    /// Round Q to f16 first (as the CPU backend does over an f16 cache).
    pub round_q_f16: bool,
}

/// One workgroup per (token, query head).
pub(crate) fn attention(
    ctx: &GpuContext,
    pipe: &wgpu::ComputePipeline,
    bufs: [&wgpu::Buffer; 6], // step, q, k cache, v cache, scores, out
    s: AttnShape,
) -> Dispatch {
    let p = params(
        ctx,
        &[
            s.n_head as u32,
            (s.n_head / s.n_head_kv) as u32,
            s.head_dim as u32,
            s.head_dim_v as u32,
            (s.n_head_kv * s.head_dim) as u32,
            (s.n_head_kv * s.head_dim_v) as u32,
            s.window as u32,
            s.n_ctx as u32,
            s.q_scale.to_bits(),
            s.kq_scale.to_bits(),
            u32::from(s.round_q_f16),
        ],
    );
    Dispatch::new(ctx, pipe, p, &bufs, Groups::PerTok(s.n_head as u32))
}
