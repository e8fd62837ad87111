//! Causal attention with GQA and sliding windows over the GPU KV cache
//! (`shaders/attention.wgsl`).

use super::GpuContext;
use super::kernel::{Dispatch, EXPF, Groups, QUANTIZE_SERIAL, REDUCE64, params, pipeline};
use super::prepare_qkv::kv_elem;

/// Over a cache of `f16`s with `half` (needs shader-f16), else of f32s.
pub(crate) fn attention_pipeline(ctx: &GpuContext, half: bool) -> wgpu::ComputePipeline {
    pipeline(
        ctx,
        "attention",
        &format!(
            "{}\n{REDUCE64}\n{EXPF}\n{QUANTIZE_SERIAL}\n{}",
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

/// Whether attention can quantize its output for weights reading activation `mode` (see
/// `matmul::act_mode`): a head's values must hold whole blocks of the mode.
pub(crate) fn quantizes_for(mode: u32, head_dim_v: usize) -> bool {
    match mode {
        1 | 4 => true,
        2 => head_dim_v.is_multiple_of(32),
        3 => head_dim_v.is_multiple_of(256),
        _ => false,
    }
}

/// One workgroup per (token, query head). With `xq.1` a mode (0: none, and `xq.0` any
/// buffer the launch does not otherwise bind; else see [`quantizes_for`]) the output is
/// also quantized into `xq.0`, mode 2's block sums at element `sums_off`.
pub(crate) fn attention(
    ctx: &GpuContext,
    pipe: &wgpu::ComputePipeline,
    bufs: [&wgpu::Buffer; 6], // step, q, k cache, v cache, scores, out
    s: AttnShape,
    xq: (&wgpu::Buffer, u32),
    sums_off: u32,
) -> Dispatch {
    debug_assert!(xq.1 == 0 || quantizes_for(xq.1, s.head_dim_v));
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
            xq.1,
            sums_off,
        ],
    );
    let all: Vec<&wgpu::Buffer> = bufs.into_iter().chain([xq.0]).collect();
    Dispatch::new(ctx, pipe, p, &all, Groups::PerTok(s.n_head as u32))
}
