//! The k largest logits on the GPU (`shaders/top_k.wgsl`): a sampling step whose chain starts
//! with top-k reads back `4 + 8k` bytes (id and logit of each candidate), not the vocabulary.

use super::GpuContext;
use super::kernel::{Dispatch, Groups, pipeline};

/// The largest k the kernel serves (bounds the readback buffer).
pub const MAX_TOP_K: usize = 128;

/// Bytes of a top-k result: the count, then (id, value) pairs.
pub(crate) const RESULT_BYTES: u64 = 4 + 8 * MAX_TOP_K as u64;

/// Bytes of the top-k readback buffer: the result, then up to [`MAX_TOP_K`] gathered logits.
pub(crate) const READBACK_BYTES: u64 = RESULT_BYTES + 4 * MAX_TOP_K as u64;

pub(crate) fn top_k_pipeline(ctx: &GpuContext) -> wgpu::ComputePipeline {
    pipeline(ctx, "top_k", include_str!("shaders/top_k.wgsl"), "main")
}

/// The uniform `[len, k]` a top-k launch reads; `k` is rewritten before each launch.
pub(crate) fn top_k_params(ctx: &GpuContext, len: usize) -> wgpu::Buffer {
    super::kernel::params(ctx, &[len as u32, 0])
}

/// Sets the `k` of the next launches reading `params`.
pub(crate) fn set_k(ctx: &GpuContext, params: &wgpu::Buffer, k: usize) {
    ctx.queue
        .write_buffer(params, 4, &(k.min(MAX_TOP_K) as u32).to_le_bytes());
}

/// Writes the count and the (index, value bits) pairs of the k largest finite values of `x`
/// into `result` (at least [`RESULT_BYTES`] long).
pub(crate) fn top_k(
    ctx: &GpuContext,
    pipe: &wgpu::ComputePipeline,
    params: wgpu::Buffer,
    x: &wgpu::Buffer,
    result: &wgpu::Buffer,
) -> Dispatch {
    Dispatch::with_first(ctx, pipe, params, &[x, result], Groups::One, false)
}

/// The candidates of a top-k result, largest first (ties by lower id): the order the CPU
/// sampler sorts its candidates in.
pub(crate) fn parse(bytes: &[u8]) -> Vec<(u32, f32)> {
    let word = |i: usize| {
        u32::from_le_bytes([
            bytes[4 * i],
            bytes[4 * i + 1],
            bytes[4 * i + 2],
            bytes[4 * i + 3],
        ])
    };
    let n = (word(0) as usize)
        .min(MAX_TOP_K)
        .min((bytes.len() / 4 - 1) / 2);
    let mut out: Vec<(u32, f32)> = (0..n)
        .map(|j| (word(1 + 2 * j), f32::from_bits(word(2 + 2 * j))))
        .collect();
    out.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}
