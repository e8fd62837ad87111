//! RMS norm on the GPU (`shaders/rms_norm.wgsl`, `shaders/rms_norm_inplace.wgsl`).

use super::GpuContext;
use super::kernel::{Dispatch, Groups, REDUCE64, params, pipeline};

pub(crate) fn copy_pipeline(ctx: &GpuContext) -> wgpu::ComputePipeline {
    pipeline(
        ctx,
        "rms_norm",
        &format!("{REDUCE64}\n{}", include_str!("shaders/rms_norm.wgsl")),
        "norm_copy",
    )
}

pub(crate) fn inplace_pipeline(ctx: &GpuContext) -> wgpu::ComputePipeline {
    pipeline(
        ctx,
        "rms_norm_inplace",
        &format!(
            "{REDUCE64}\n{}",
            include_str!("shaders/rms_norm_inplace.wgsl")
        ),
        "main",
    )
}

/// `y[t] = norm(x[t]) * w` for each token's row of `len` (or, with `fixed_rows`, that many
/// rows starting at source row `src_row0`).
pub(crate) fn rms_norm(
    ctx: &GpuContext,
    pipe: &wgpu::ComputePipeline,
    bufs: [&wgpu::Buffer; 4], // step, weight, x, y
    len: usize,
    eps: f32,
    fixed_rows: u32,
    src_row0: u32,
) -> Dispatch {
    let p = params(ctx, &[len as u32, 1, fixed_rows, src_row0, eps.to_bits()]);
    let groups = if fixed_rows != 0 {
        Groups::Elems {
            per_tok: 0,
            fixed: fixed_rows * 64,
        }
    } else {
        Groups::PerTok(1)
    };
    Dispatch::new(ctx, pipe, p, &bufs, groups)
}

/// In place: `y[r] = norm(y[r]) * w` for `rows_per_tok` rows of `len` per token.
pub(crate) fn rms_norm_inplace(
    ctx: &GpuContext,
    pipe: &wgpu::ComputePipeline,
    bufs: [&wgpu::Buffer; 3], // step, weight, y
    len: usize,
    rows_per_tok: usize,
    eps: f32,
) -> Dispatch {
    let p = params(ctx, &[len as u32, rows_per_tok as u32, 0, 0, eps.to_bits()]);
    Dispatch::new(ctx, pipe, p, &bufs, Groups::PerTok(rows_per_tok as u32))
}
