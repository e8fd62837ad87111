//! RMS norm on the GPU (`shaders/rms_norm.wgsl`); the per-head Q/K norms are in
//! `prepare_qkv.rs`.

use super::GpuContext;
use super::kernel::{Dispatch, Groups, QUANTIZE_SERIAL, REDUCE64, params, pipeline};

pub(crate) fn copy_pipeline(ctx: &GpuContext) -> wgpu::ComputePipeline {
    pipeline(
        ctx,
        "rms_norm",
        &format!(
            "{REDUCE64}\n{QUANTIZE_SERIAL}\n{}",
            include_str!("shaders/rms_norm.wgsl")
        ),
        "norm_copy",
    )
}

/// `y[t] = norm(x[t]) * w` for each token's row of `len` (or, with `fixed_rows`, that many
/// rows starting at source row `src_row0`), and `y` quantized into `xq.0` as
/// [`add_norm`] does when `xq.1` names a mode.
#[allow(clippy::too_many_arguments)]
pub(crate) fn rms_norm(
    ctx: &GpuContext,
    pipe: &wgpu::ComputePipeline,
    bufs: [&wgpu::Buffer; 4], // step, weight, x, y
    xq: (&wgpu::Buffer, u32),
    sums_off: u32,
    len: usize,
    eps: f32,
    fixed_rows: u32,
    src_row0: u32,
) -> Dispatch {
    let p = params(
        ctx,
        &[
            len as u32,
            1,
            fixed_rows,
            src_row0,
            eps.to_bits(),
            0,
            0,
            0,
            xq.1,
            sums_off,
        ],
    );
    let groups = if fixed_rows != 0 {
        Groups::Elems {
            per_tok: 0,
            fixed: fixed_rows * 64,
        }
    } else {
        Groups::PerTok(1)
    };
    let [step, w, x, y] = bufs;
    // add_norm's slots 5 and 6 are not norm_copy's: its layout numbers XQ 7 all the same.
    Dispatch::with_slots(
        ctx,
        pipe,
        p,
        &[
            Some(step),
            Some(w),
            Some(x),
            Some(y),
            None,
            None,
            Some(xq.0),
        ],
        groups,
        true,
    )
}

pub(crate) fn add_norm_pipeline(ctx: &GpuContext) -> wgpu::ComputePipeline {
    pipeline(
        ctx,
        "add_norm",
        &format!(
            "{REDUCE64}\n{QUANTIZE_SERIAL}\n{}",
            include_str!("shaders/rms_norm.wgsl")
        ),
        "add_norm",
    )
}

/// The residual step in one launch: `r[t] += post_norm(o[t])` (or `+= o[t]` without a
/// post-norm), then `y[t] = norm(r[t]) * w` when `next` gives the next sublayer's norm
/// weights `w` (`y` is still bound without: a buffer the launch does not otherwise use), and
/// `y` quantized into `xq.0` when `xq.1` names a mode (0: not, and `xq.0` is any buffer the
/// launch does not otherwise use), with mode 2's block sums at element `sums_off`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn add_norm(
    ctx: &GpuContext,
    pipe: &wgpu::ComputePipeline,
    step: &wgpu::Buffer,
    o: &wgpu::Buffer,
    r: &wgpu::Buffer,
    post: Option<&wgpu::Buffer>,
    next: Option<&wgpu::Buffer>,
    y: &wgpu::Buffer,
    xq: (&wgpu::Buffer, u32),
    sums_off: u32,
    len: usize,
    eps: f32,
) -> Dispatch {
    let p = params(
        ctx,
        &[
            len as u32,
            1,
            0,
            0,
            eps.to_bits(),
            u32::from(post.is_some()),
            u32::from(next.is_some()),
            0,
            if next.is_some() { xq.1 } else { 0 },
            sums_off,
        ],
    );
    // Unused weight/output slots get any buffer of the right kind (the flags skip them).
    let w = next.or(post).unwrap_or(o);
    let wpost = post.unwrap_or(w);
    Dispatch::with_slots(
        ctx,
        pipe,
        p,
        &[
            Some(step),
            Some(w),
            Some(o),
            Some(y),
            Some(wpost),
            Some(r),
            Some(xq.0),
        ],
        Groups::PerTok(1),
        true,
    )
}
