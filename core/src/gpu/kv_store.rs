//! Appending a step's keys or values to the GPU KV cache (`shaders/kv_store.wgsl`).

use super::GpuContext;
use super::kernel::{Dispatch, Groups, params, pipeline};

/// The cache holds `f16`s with `half` (needs shader-f16), else f32s (f16 values when rounded).
pub(crate) fn kv_store_pipeline(ctx: &GpuContext, half: bool) -> wgpu::ComputePipeline {
    pipeline(
        ctx,
        "kv_store",
        &format!(
            "{}\n{}",
            kv_elem(half),
            include_str!("shaders/kv_store.wgsl")
        ),
        "main",
    )
}

/// The WGSL type of a KV cache element (`KvElem`).
pub(crate) fn kv_elem(half: bool) -> &'static str {
    if half {
        "alias KvElem = f16;"
    } else {
        "alias KvElem = f32;"
    }
}

/// Copies `dim` values per token into the cache at the step's positions.
pub(crate) fn kv_store(
    ctx: &GpuContext,
    pipe: &wgpu::ComputePipeline,
    bufs: [&wgpu::Buffer; 3], // step, src, cache
    dim: usize,
    round_f16: bool,
) -> Dispatch {
    let p = params(ctx, &[dim as u32, u32::from(round_f16)]);
    Dispatch::new(
        ctx,
        pipe,
        p,
        &bufs,
        Groups::Elems {
            per_tok: dim as u32,
            fixed: 0,
        },
    )
}
