//! Argmax over the logits on the GPU (`shaders/argmax.wgsl`): a greedy decode step reads
//! back the token id and its logit (8 bytes), not the vocabulary.

use super::GpuContext;
use super::kernel::{Dispatch, Groups, params, pipeline};

/// Values per workgroup of the first launch (`CHUNK` in the shader).
const CHUNK: usize = 4096;

/// The two launches' pipelines: per-chunk bests, then the best of them.
pub(crate) fn argmax_pipelines(ctx: &GpuContext) -> [wgpu::ComputePipeline; 2] {
    let src = include_str!("shaders/argmax.wgsl");
    [
        pipeline(ctx, "argmax", src, "partial"),
        pipeline(ctx, "argmax", src, "main"),
    ]
}

/// Bytes of the output buffer for `len` values: the result pair, then one pair per chunk.
pub(crate) fn out_bytes(len: usize) -> u64 {
    8 + 8 * len.div_ceil(CHUNK) as u64
}

/// Writes `[index, value bits]` of the largest of `len` values of `x` at the start of
/// `result` (of [`out_bytes`] bytes).
pub(crate) fn argmax(
    ctx: &GpuContext,
    pipes: &[wgpu::ComputePipeline; 2],
    x: &wgpu::Buffer,
    result: &wgpu::Buffer,
    len: usize,
) -> [Dispatch; 2] {
    let chunks = len.div_ceil(CHUNK) as u32;
    let words = [len as u32, chunks];
    [
        Dispatch::with_first(
            ctx,
            &pipes[0],
            params(ctx, &words),
            &[x, result],
            Groups::Elems256 {
                per_tok: 0,
                fixed: chunks * 256,
            },
            false,
        ),
        // The second launch reads only the chunks' bests (its layout has no binding 1).
        Dispatch::with_slots(
            ctx,
            &pipes[1],
            params(ctx, &words),
            &[None, Some(result)],
            Groups::One,
            false,
        ),
    ]
}
