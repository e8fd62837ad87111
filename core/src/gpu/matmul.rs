//! Quantized matrix × activations on the GPU (`shaders/matmul.wgsl` + one
//! `shaders/dequant_*.wgsl` per GGUF type): weights stay in their blocks as stored and are
//! dequantized 32 at a time in registers, then dotted with every token of a tile of eight.

use super::kernel::{Dispatch, Groups, params, pipeline, pipeline_with};
use super::{GpuContext, GpuError};
use crate::GgmlType;

const MATMUL: &str = include_str!("shaders/matmul.wgsl");

/// The dequantizer source for a weight type, or `None` if the GPU cannot read it.
pub(crate) fn dequant_source(ty: GgmlType) -> Option<&'static str> {
    Some(match ty {
        GgmlType::F32 => include_str!("shaders/dequant_f32.wgsl"),
        GgmlType::F16 => include_str!("shaders/dequant_f16.wgsl"),
        GgmlType::BF16 => include_str!("shaders/dequant_bf16.wgsl"),
        GgmlType::Q4_0 => include_str!("shaders/dequant_q4_0.wgsl"),
        GgmlType::Q4_1 => include_str!("shaders/dequant_q4_1.wgsl"),
        GgmlType::Q5_0 => include_str!("shaders/dequant_q5_0.wgsl"),
        GgmlType::Q5_1 => include_str!("shaders/dequant_q5_1.wgsl"),
        GgmlType::Q8_0 => include_str!("shaders/dequant_q8_0.wgsl"),
        GgmlType::Q2_K => include_str!("shaders/dequant_q2_k.wgsl"),
        GgmlType::Q3_K => include_str!("shaders/dequant_q3_k.wgsl"),
        GgmlType::Q4_K => include_str!("shaders/dequant_q4_k.wgsl"),
        GgmlType::Q5_K => include_str!("shaders/dequant_q5_k.wgsl"),
        GgmlType::Q6_K => include_str!("shaders/dequant_q6_k.wgsl"),
        _ => return None,
    })
}

/// Threads per weight row: one on software adapters (CPU cores run a workgroup's threads as
/// SIMD lanes, so a reduction across them only costs), sixteen on GPUs (summed with subgroup
/// shuffles where the device has subgroups).
pub(crate) fn lanes_for(ctx: &GpuContext) -> u32 {
    if ctx.adapter().software { 1 } else { 16 }
}

/// A matmul pipeline for weights of type `ty` with `lanes` threads per row (1..=64, a power
/// of two).
#[derive(Debug, Clone)]
pub(crate) struct MatmulPipeline {
    pipeline: wgpu::ComputePipeline,
    lanes: u32,
    /// Reads W's f16s natively: binds the weight buffer a second time, as `array<f16>`.
    f16: bool,
    /// Reads W only as f16s (F16 weights with shader-f16): the u32 binding is unused.
    f16_only: bool,
}

/// The matmul pipeline for weights of type `ty`.
pub(crate) fn matmul_pipeline(
    ctx: &GpuContext,
    ty: GgmlType,
    lanes: u32,
) -> Result<MatmulPipeline, GpuError> {
    let dq = dequant_source(ty).ok_or_else(|| {
        GpuError::Unsupported(format!(
            "weights of type {} (no GPU dequantizer)",
            ty.name()
        ))
    })?;
    // F32 and BF16 rows hold no f16s (the shader would not use a second binding).
    let f16 = ctx.features().f16 && !matches!(ty, GgmlType::F32 | GgmlType::BF16);
    let f16_read = if f16 {
        include_str!("shaders/matmul_f16_native.wgsl")
    } else {
        include_str!("shaders/matmul_f16_unpack.wgsl")
    };
    Ok(MatmulPipeline {
        pipeline: pipeline_with(
            ctx,
            &format!("matmul_{}", ty.name()),
            &format!("{MATMUL}\n{f16_read}\n{dq}"),
            "main",
            &[("LANES", f64::from(lanes))],
        ),
        lanes,
        f16,
        f16_only: f16 && ty == GgmlType::F16,
    })
}

/// How many values [`act_mode`] takes.
pub(crate) const ACT_MODES: usize = 5;

/// Which quantized-activation buffers a model's weight types need: `used[m]` for every mode
/// `m` one of `types` takes, except mode 0 (those products read the activations as they are).
/// A session allocates exactly these, and its estimate counts exactly these.
pub(crate) fn act_modes_used(types: &[GgmlType]) -> [bool; ACT_MODES] {
    let mut used = [false; ACT_MODES];
    for &ty in types {
        used[act_mode(ty) as usize] = true;
    }
    used[0] = false;
    used
}

/// How the CPU backend quantizes activations for weights of type `ty` (its `vec_dot_type`),
/// as `shaders/quantize_act.wgsl` numbers the modes: 0 none (F32), 1 f16, 2 Q8_0/Q8_1, 3 Q8_K,
/// 4 bf16.
pub(crate) fn act_mode(ty: GgmlType) -> u32 {
    match crate::quant::vec_dot_type(ty) {
        GgmlType::F16 => 1,
        GgmlType::Q8_0 | GgmlType::Q8_1 => 2,
        GgmlType::Q8_K => 3,
        GgmlType::BF16 => 4,
        _ => 0,
    }
}

pub(crate) fn quantize_act_pipeline(ctx: &GpuContext) -> wgpu::ComputePipeline {
    quantize_pipeline(ctx, "main")
}

/// [`quantize_act`] of the gated feed-forward's `act(gate) * up` (each token's gate and up
/// side by side in `x`) for the model's activation: the down product's input in one launch.
pub(crate) fn quantize_gated_pipeline(
    ctx: &GpuContext,
    activation: crate::model::Activation,
) -> wgpu::ComputePipeline {
    quantize_pipeline(
        ctx,
        match activation {
            crate::model::Activation::Silu => "main_silu",
            crate::model::Activation::GeluTanh => "main_gelu",
        },
    )
}

fn quantize_pipeline(ctx: &GpuContext, entry: &str) -> wgpu::ComputePipeline {
    use super::kernel::{EXPF, GELU};
    pipeline(
        ctx,
        "quantize_act",
        &format!(
            "{EXPF}\n{GELU}\n{}",
            include_str!("shaders/quantize_act.wgsl")
        ),
        entry,
    )
}

/// `y = x` as the CPU's activation quantization `mode` leaves it (rows of `cols`; the step's
/// token count, or `fixed_tok` rows when non-zero). In mode 2 with `sums_off` non-zero, the
/// Q8_1 block sums follow at element `sums_off` of `y` (one per 32 values, for Q4_1 weights).
/// `bufs`: step, x, y, and for a GELU-gated pipeline the table of
/// [`gelu_table_buffer`](super::elementwise::gelu_table_buffer).
pub(crate) fn quantize_act(
    ctx: &GpuContext,
    pipe: &wgpu::ComputePipeline,
    bufs: &[&wgpu::Buffer],
    cols: usize,
    mode: u32,
    fixed_tok: u32,
    sums_off: u32,
) -> Dispatch {
    let p = params(ctx, &[cols as u32, mode, fixed_tok, sums_off]);
    Dispatch::new(
        ctx,
        pipe,
        p,
        bufs,
        Groups::Elems256 {
            per_tok: cols as u32,
            fixed: fixed_tok * cols as u32,
        },
    )
}

/// One part of a weight matrix as uploaded: `rows` consecutive rows starting at `row0`.
#[derive(Debug)]
pub(crate) struct MatrixPart {
    pub buffer: wgpu::Buffer,
    pub row0: usize,
    pub rows: usize,
}

/// A weight matrix on the GPU, split into parts that each fit one binding.
#[derive(Debug)]
pub(crate) struct GpuMatrix {
    pub ty: GgmlType,
    pub rows: usize,
    pub cols: usize,
    pub row_bytes: usize,
    pub parts: Vec<MatrixPart>,
}

/// Where a matmul reads and writes.
pub(crate) struct MatmulIo<'a> {
    pub step: &'a wgpu::Buffer,
    pub x: &'a wgpu::Buffer,
    pub y: &'a wgpu::Buffer,
    /// First element of `x` read (the last token's row for the LM head).
    pub x_off: u32,
    /// 0: the step's token count; else this many tokens.
    pub fixed_tok: u32,
    /// Element of `x` where its Q8_1 block sums start (see [`quantize_act`]); read by Q4_1.
    pub sums_off: u32,
    /// Output row length when several matrices write one output (stacked, see
    /// `model::Stacked`); 0: the matrix's rows.
    pub out_stride: u32,
    /// The first output row this matrix writes.
    pub row_off: u32,
}

/// The launches computing `y = x · Wᵀ` (one per part).
pub(crate) fn matmul(
    ctx: &GpuContext,
    pipe: &MatmulPipeline,
    w: &GpuMatrix,
    io: &MatmulIo<'_>,
) -> Vec<Dispatch> {
    w.parts
        .iter()
        .map(|part| {
            let p = params(
                ctx,
                &[
                    part.rows as u32,
                    w.cols as u32,
                    w.row_bytes as u32,
                    if io.out_stride != 0 {
                        io.out_stride
                    } else {
                        w.rows as u32
                    },
                    io.row_off + part.row0 as u32,
                    io.fixed_tok,
                    io.x_off,
                    io.sums_off,
                ],
            );
            let w = Some(&part.buffer);
            Dispatch::with_slots(
                ctx,
                &pipe.pipeline,
                p,
                &[
                    Some(io.step),
                    w.filter(|_| !pipe.f16_only),
                    Some(io.x),
                    Some(io.y),
                    w.filter(|_| pipe.f16),
                ],
                Groups::Matmul {
                    rows: part.rows as u32,
                    rows_per_group: 64 / pipe.lanes,
                    fixed_tok: io.fixed_tok,
                },
                true,
            )
        })
        .collect()
}
