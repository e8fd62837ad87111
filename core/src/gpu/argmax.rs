//! Argmax over the logits on the GPU (`shaders/argmax.wgsl`): a greedy decode step reads
//! back the token id and its logit (8 bytes), not the vocabulary.

use super::GpuContext;
use super::kernel::{Dispatch, Groups, params, pipeline};

pub(crate) fn argmax_pipeline(ctx: &GpuContext) -> wgpu::ComputePipeline {
    pipeline(ctx, "argmax", include_str!("shaders/argmax.wgsl"), "main")
}

/// Writes `[index, value bits]` of the largest of `len` values of `x` into `result`.
pub(crate) fn argmax(
    ctx: &GpuContext,
    pipe: &wgpu::ComputePipeline,
    x: &wgpu::Buffer,
    result: &wgpu::Buffer,
    len: usize,
) -> Dispatch {
    let p = params(ctx, &[len as u32]);
    Dispatch::with_first(ctx, pipe, p, &[x, result], Groups::One, false)
}
