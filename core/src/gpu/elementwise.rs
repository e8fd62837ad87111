//! Element-wise kernels (`shaders/elementwise.wgsl`): the gated SiLU/GELU of the
//! feed-forward and the final logit soft-cap (biases are added in `prepare_qkv.rs`).

use super::GpuContext;
use super::kernel::{Dispatch, EXPF, GELU, Groups, params, pipeline};

/// Which element-wise operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// `y = silu(gate) * up`, each token's gate and up side by side in `x`.
    SiluMul,
    /// `y = gelu(gate) * up` (tanh approximation, f16-rounded as the CPU backend), as
    /// [`Op::SiluMul`].
    GeluMul,
    /// `y = tanh(x / cap) * cap`.
    Softcap,
}

impl Op {
    fn entry(self) -> &'static str {
        match self {
            Op::SiluMul => "silu_mul",
            Op::GeluMul => "gelu_mul",
            Op::Softcap => "softcap",
        }
    }
}

pub(crate) fn elementwise_pipeline(ctx: &GpuContext, op: Op) -> wgpu::ComputePipeline {
    pipeline(
        ctx,
        op.entry(),
        &format!(
            "{EXPF}\n{GELU}\n{}",
            include_str!("shaders/elementwise.wgsl")
        ),
        op.entry(),
    )
}

/// The CPU backend's GELU table (`ops::gelu_table`) as `gelu_mul` reads it: two f16 per word.
pub(crate) fn gelu_table_buffer(ctx: &GpuContext) -> wgpu::Buffer {
    let words: Vec<u32> = crate::model::ops::gelu_table()
        .chunks_exact(2)
        .map(|p| u32::from(p[0].to_bits()) | (u32::from(p[1].to_bits()) << 16))
        .collect();
    super::kernel::storage_u32(ctx, "gelu_table", &words)
}

/// `op` over `per_tok` elements per token (or `fixed` elements when non-zero). `gelu_mul`
/// also binds the table of [`gelu_table_buffer`] as a fourth buffer.
pub(crate) fn elementwise(
    ctx: &GpuContext,
    pipe: &wgpu::ComputePipeline,
    bufs: &[&wgpu::Buffer], // step, x, y (, gelu table)
    per_tok: usize,
    fixed: usize,
    cap: f32,
) -> Dispatch {
    let p = params(ctx, &[per_tok as u32, fixed as u32, cap.to_bits()]);
    Dispatch::new(
        ctx,
        pipe,
        p,
        bufs,
        Groups::Elems {
            per_tok: per_tok as u32,
            fixed: fixed as u32,
        },
    )
}
