//! The k largest logits on the GPU (`shaders/top_k.wgsl`): a sampling step whose chain starts
//! with top-k reads back `4 + 8k` bytes (id and logit of each candidate), not the vocabulary.
//! Each 4096 logits get a workgroup of their own, then one workgroup merges their top ks.

use super::GpuContext;
use super::kernel::{Dispatch, Groups, pipeline};

/// The largest k the kernel serves (bounds the readback buffer).
pub const MAX_TOP_K: usize = 128;

/// Bytes of a top-k result: the count, then (id, value) pairs.
pub(crate) const RESULT_BYTES: u64 = 4 + 8 * MAX_TOP_K as u64;

/// Bytes of the top-k readback buffer: the result, then up to [`MAX_TOP_K`] gathered logits.
pub(crate) const READBACK_BYTES: u64 = RESULT_BYTES + 4 * MAX_TOP_K as u64;

/// Values per workgroup of the first launch (`CHUNK` in the shader).
const CHUNK: usize = 4096;

/// The two launches' pipelines: each chunk's top k, then the top k of those.
pub(crate) fn top_k_pipelines(ctx: &GpuContext) -> [wgpu::ComputePipeline; 2] {
    let src = include_str!("shaders/top_k.wgsl");
    [
        pipeline(ctx, "top_k", src, "chunks"),
        pipeline(ctx, "top_k", src, "merge"),
    ]
}

/// Bytes of the output buffer for `len` values: the result, then with several chunks one
/// candidate list (of the result's size) per chunk.
pub(crate) fn out_bytes(len: usize) -> u64 {
    let chunks = len.div_ceil(CHUNK) as u64;
    RESULT_BYTES * if chunks > 1 { 1 + chunks } else { 1 }
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

/// The launches writing the count and the (index, value bits) pairs of the k largest finite
/// values of the `len` values of `x` at the start of `out` (of [`out_bytes`] bytes): one
/// for a vocabulary of one chunk, two otherwise.
pub(crate) fn top_k(
    ctx: &GpuContext,
    pipes: &[wgpu::ComputePipeline; 2],
    params: wgpu::Buffer,
    x: &wgpu::Buffer,
    out: &wgpu::Buffer,
    len: usize,
) -> Vec<Dispatch> {
    let chunks = len.div_ceil(CHUNK) as u32;
    let mut launches = vec![Dispatch::with_first(
        ctx,
        &pipes[0],
        params.clone(),
        &[x, out],
        Groups::Elems256 {
            per_tok: 0,
            fixed: chunks * 256,
        },
        false,
    )];
    if chunks > 1 {
        launches.push(Dispatch::with_first(
            ctx,
            &pipes[1],
            params,
            &[x, out],
            Groups::One,
            false,
        ));
    }
    launches
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
