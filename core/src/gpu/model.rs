//! A decoder's weights on the GPU: matrices uploaded in their GGUF block formats (split by
//! rows where one would exceed the device's binding limit), norms and biases as f32, and the
//! compiled pipelines for the types present.

use std::collections::HashMap;
use std::sync::Arc;

use super::argmax::argmax_pipelines;
use super::attention::attention_pipeline;
use super::elementwise::{Op, elementwise_pipeline, gelu_table_buffer};
use super::kernel::{storage, storage_f32};
use super::matmul::{
    GpuMatrix, MatmulPipeline, MatrixPart, lanes_for, matmul_pipeline, quantize_act_pipeline,
    quantize_gated_pipeline,
};
use super::prepare_qkv::{QkvVectors, prepare_qkv_pipeline};
use super::rms_norm::{add_norm_pipeline, copy_pipeline};
use super::top_k::top_k_pipelines;
use super::{GpuContext, GpuError};
use crate::GgmlType;
use crate::model::{Decoder, ModelConfig, QMatrix};

/// Every pipeline a forward pass uses.
#[derive(Debug)]
pub(crate) struct Pipelines {
    pub matmul: HashMap<GgmlType, MatmulPipeline>,
    pub quantize_act: wgpu::ComputePipeline,
    /// The down product's input, `act(gate) * up` quantized, in one launch.
    pub quantize_gated: wgpu::ComputePipeline,
    pub norm: wgpu::ComputePipeline,
    pub add_norm: wgpu::ComputePipeline,
    /// Over a cache of f32s.
    pub prepare_qkv: wgpu::ComputePipeline,
    pub attention: wgpu::ComputePipeline,
    /// Over a cache of f16s (with shader-f16: an f16 cache in half the memory).
    pub half_kv: Option<(wgpu::ComputePipeline, wgpu::ComputePipeline)>,
    pub act_mul: wgpu::ComputePipeline,
    /// The GELU table `act_mul` binds when the activation is GELU.
    pub gelu_table: Option<wgpu::Buffer>,
    pub softcap: wgpu::ComputePipeline,
    pub argmax: [wgpu::ComputePipeline; 2],
    pub top_k: [wgpu::ComputePipeline; 2],
}

/// Matrices sharing an input, uploaded stacked by rows (see [`stack_runs`]): each with the
/// first row of the shared output it writes.
pub(crate) type Stacked = Vec<(Arc<GpuMatrix>, usize)>;

/// One transformer block on the GPU.
#[derive(Debug)]
pub(crate) struct GpuLayer {
    pub attn_norm: wgpu::Buffer,
    /// Q, K and V stacked (rows `0..q_dim`, then K's, then V's), one matrix where their
    /// types agree.
    pub qkv: Stacked,
    /// bq, bk, bv, q_norm, k_norm (those the block has) in one buffer.
    pub qkv_vectors: QkvVectors,
    pub wo: Arc<GpuMatrix>,
    pub attn_post_norm: Option<wgpu::Buffer>,
    pub ffn_norm: wgpu::Buffer,
    /// Gate and up stacked (rows `0..n_ff`, then up's).
    pub gate_up: Stacked,
    pub ffn_down: Arc<GpuMatrix>,
    pub ffn_post_norm: Option<wgpu::Buffer>,
}

/// A decoder uploaded to one GPU device.
#[derive(Debug)]
pub struct GpuModel {
    pub(crate) ctx: GpuContext,
    pub(crate) config: ModelConfig,
    /// The first `layers.len()` blocks (all of them, or fewer in a partial offload).
    pub(crate) layers: Vec<GpuLayer>,
    /// The output norm and LM head, when the GPU holds every block.
    pub(crate) head: Option<GpuHead>,
    /// Embedding rows are looked up on the CPU (the input of a step is CPU-side anyway).
    pub(crate) token_embd: QMatrix,
    pub(crate) rope_freqs: Option<Vec<f32>>,
    pub(crate) pipelines: Pipelines,
    /// The distinct types of the matrices (see [`super::placement::weight_types`]).
    pub(crate) weight_types: Vec<GgmlType>,
    weight_bytes: u64,
    /// Bytes the weights take on the GPU (matrices, norms, tables), as estimated and checked
    /// against the budget before the upload.
    pub(crate) placed_weights: u64,
    /// Given back to the context's allocation count when dropped.
    held: super::context::Held,
}

/// The output norm and LM head on the GPU.
#[derive(Debug)]
pub(crate) struct GpuHead {
    pub output: Arc<GpuMatrix>,
    pub output_norm: wgpu::Buffer,
}

impl GpuModel {
    /// Uploads `decoder`'s weights and compiles the kernels. Fails with
    /// [`GpuError::Unsupported`] for a weight type without a GPU dequantizer,
    /// [`GpuError::OverBudget`] (before uploading anything) when the weights alone exceed the
    /// context's memory budget, [`GpuError::DoesNotFit`] when a row exceeds a binding and
    /// [`GpuError::OutOfMemory`] when the device runs out of memory. Check the whole model
    /// with its KV cache first with [`GpuContext::estimate`] and [`GpuContext::check_fit`].
    pub async fn upload(ctx: &GpuContext, decoder: &Decoder) -> Result<GpuModel, GpuError> {
        Self::upload_layers(ctx, decoder, decoder.config.n_layer).await
    }

    /// A partial offload: uploads only the first `n_layers` blocks (all of them and the LM
    /// head when `n_layers` ≥ the model's block count). Its sessions return the hidden states
    /// after those blocks ([`GpuOutput::Hidden`](super::GpuOutput::Hidden)) for the CPU to
    /// finish ([`crate::model::Decoder::forward_from_hidden`]). Pick `n_layers` with
    /// [`GpuContext::layers_that_fit`] (or let [`GpuModel::place`] do it); errors as
    /// [`GpuModel::upload`], and [`GpuError::Input`] for 0 blocks.
    pub async fn upload_layers(
        ctx: &GpuContext,
        decoder: &Decoder,
        n_layers: usize,
    ) -> Result<GpuModel, GpuError> {
        let (c, w) = (&decoder.config, &decoder.weights);
        let n_layers = n_layers.min(c.n_layer);
        if n_layers == 0 {
            return Err(GpuError::Input(
                "a GPU model holds at least one block".into(),
            ));
        }
        let full = n_layers == c.n_layer;
        let placed_weights = ctx.estimate_weights(decoder, n_layers);
        ctx.check_fit(&super::GpuMemory {
            weights: placed_weights,
            ..Default::default()
        })?;
        let weight_types = super::placement::weight_types(w, n_layers);
        let ctx2 = ctx.clone();
        let (built, held) = ctx
            .scoped_held(move || -> Result<GpuModel, GpuError> {
                let ctx = &ctx2;
                let mut matmul = HashMap::new();
                for &ty in &weight_types {
                    matmul.insert(ty, matmul_pipeline(ctx, ty, lanes_for(ctx))?);
                }
                let pipelines = Pipelines {
                    matmul,
                    quantize_act: quantize_act_pipeline(ctx),
                    quantize_gated: quantize_gated_pipeline(ctx, c.activation),
                    norm: copy_pipeline(ctx),
                    add_norm: add_norm_pipeline(ctx),
                    prepare_qkv: prepare_qkv_pipeline(ctx, false),
                    attention: attention_pipeline(ctx, false),
                    half_kv: ctx.features().f16.then(|| {
                        (
                            prepare_qkv_pipeline(ctx, true),
                            attention_pipeline(ctx, true),
                        )
                    }),
                    act_mul: elementwise_pipeline(
                        ctx,
                        match c.activation {
                            crate::model::Activation::Silu => Op::SiluMul,
                            crate::model::Activation::GeluTanh => Op::GeluMul,
                        },
                    ),
                    gelu_table: (c.activation == crate::model::Activation::GeluTanh)
                        .then(|| gelu_table_buffer(ctx)),
                    softcap: elementwise_pipeline(ctx, Op::Softcap),
                    argmax: argmax_pipelines(ctx),
                    top_k: top_k_pipelines(ctx),
                };
                let mut bytes = 0u64;
                // Each run of `stack_runs(ms)` as one matrix, with the first output row it
                // writes.
                let mut stack = |ms: &[&QMatrix]| -> Result<Stacked, GpuError> {
                    let mut out = Vec::new();
                    let mut row = 0;
                    for run in stack_runs(ms) {
                        let g = upload_matrix(ctx, &run)?;
                        bytes += run.iter().map(|m| m.data().len() as u64).sum::<u64>();
                        let rows = g.rows;
                        // On wasm32 wgpu's types are not Send (one thread); natively they are.
                        #[allow(clippy::arc_with_non_send_sync)]
                        out.push((Arc::new(g), row));
                        row += rows;
                    }
                    Ok(out)
                };
                let vec = |v: &[f32], name: &str| storage_f32(ctx, name, v);
                let opt = |v: &Option<Vec<f32>>, name: &str| v.as_deref().map(|v| vec(v, name));
                let mut layers = Vec::with_capacity(n_layers);
                for l in w.layers.iter().take(n_layers) {
                    layers.push(GpuLayer {
                        attn_norm: vec(&l.attn_norm, "attn_norm"),
                        qkv: stack(&[&l.wq, &l.wk, &l.wv])?,
                        qkv_vectors: QkvVectors::upload(
                            ctx,
                            [&l.bq, &l.bk, &l.bv, &l.q_norm, &l.k_norm],
                        ),
                        wo: stack(&[&l.wo])?.remove(0).0,
                        attn_post_norm: opt(&l.attn_post_norm, "attn_post_norm"),
                        ffn_norm: vec(&l.ffn_norm, "ffn_norm"),
                        gate_up: stack(&[&l.ffn_gate, &l.ffn_up])?,
                        ffn_down: stack(&[&l.ffn_down])?.remove(0).0,
                        ffn_post_norm: opt(&l.ffn_post_norm, "ffn_post_norm"),
                    });
                }
                let head = if full {
                    Some(GpuHead {
                        output: stack(&[&w.output])?.remove(0).0,
                        output_norm: vec(&w.output_norm, "output_norm"),
                    })
                } else {
                    None
                };
                Ok(GpuModel {
                    ctx: ctx.clone(),
                    config: c.clone(),
                    layers,
                    head,
                    token_embd: w.token_embd.clone(),
                    rope_freqs: w.rope_freqs.clone(),
                    pipelines,
                    weight_types,
                    weight_bytes: bytes,
                    placed_weights,
                    held: Default::default(),
                })
            })
            .await
            .map_err(|e| match e {
                GpuError::OutOfMemory(m) => GpuError::OutOfMemory(format!(
                    "placing {} of weights: {m}",
                    super::placement::mib(placed_weights)
                )),
                e => e,
            })?;
        let mut built = built?;
        built.held = held;
        Ok(built)
    }

    /// Places `decoder` for sessions of `n_ctx` positions with a `kv` cache: its first
    /// `layers` blocks (at most all of them, at least one; `None`: as many as the context's
    /// budget holds, see [`GpuContext::layers_that_fit`]), the fit checked before anything is
    /// uploaded. When not even one block fits, or not the blocks asked for, the error is
    /// [`GpuError::OverBudget`] with what they need.
    pub async fn place(
        ctx: &GpuContext,
        decoder: &Decoder,
        layers: Option<usize>,
        n_ctx: usize,
        kv: crate::KvType,
    ) -> Result<GpuModel, GpuError> {
        let layers = layers
            .unwrap_or_else(|| ctx.layers_that_fit(decoder, n_ctx, kv))
            .min(decoder.config.n_layer)
            .max(1);
        ctx.check_fit(&ctx.estimate_layers(decoder, layers, n_ctx, kv))?;
        Self::upload_layers(ctx, decoder, layers).await
    }

    /// The context the weights live on.
    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    /// The model's configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// How many of the model's blocks the GPU holds (its first ones).
    pub fn gpu_layers(&self) -> usize {
        self.layers.len()
    }

    /// Whether the GPU holds every block and the LM head (not a partial offload).
    pub fn is_whole(&self) -> bool {
        self.head.is_some()
    }

    /// Bytes of weight matrices uploaded (as stored in the file).
    pub fn weight_bytes(&self) -> u64 {
        self.weight_bytes
    }
}

/// Runs of equal type in `ms` (matrices sharing their input, in output order): each run is
/// stacked into one matrix, so one launch computes what it holds. Q/K/V and gate/up of most
/// models share one type; where they do not (a K-quant mix), fewer matrices stack.
pub(crate) fn stack_runs<'a>(ms: &[&'a QMatrix]) -> Vec<Vec<&'a QMatrix>> {
    let mut runs: Vec<Vec<&QMatrix>> = Vec::new();
    for &m in ms {
        match runs.last_mut() {
            Some(run) if run[0].ty == m.ty && run[0].cols == m.cols => run.push(m),
            _ => runs.push(vec![m]),
        }
    }
    runs
}

/// Uploads matrices of one type and width stacked by rows (one, usually) as their stored
/// bytes, split by rows into parts no larger than one binding.
pub(crate) fn upload_matrix(ctx: &GpuContext, ms: &[&QMatrix]) -> Result<GpuMatrix, GpuError> {
    let m = ms[0];
    debug_assert!(ms.iter().all(|x| x.ty == m.ty && x.cols == m.cols));
    let total_rows: usize = ms.iter().map(|x| x.rows).sum();
    let max = ctx.max_binding();
    let rb = m.row_bytes as u64;
    // Parts padded to 4 bytes; keep a margin of 4 for the padding.
    let rows_per_part = ((max.saturating_sub(4)) / rb) as usize;
    if rows_per_part == 0 {
        return Err(GpuError::DoesNotFit(format!(
            "one row of a {}x{} {} matrix is {rb} bytes, over the device's binding limit of {max}",
            m.rows,
            m.cols,
            m.ty.name()
        )));
    }
    // Rows `a..b` of the stack: slices of the matrices holding them.
    let pieces = |a: usize, b: usize| {
        let mut first = 0;
        ms.iter().filter_map(move |x| {
            let start = first;
            first += x.rows;
            let (lo, hi) = (a.max(start) - start, b.min(first).saturating_sub(start));
            (lo < hi).then(|| &x.data()[lo * x.row_bytes..hi * x.row_bytes])
        })
    };
    let mut parts = Vec::new();
    let mut row0 = 0;
    while row0 < total_rows {
        let rows = rows_per_part.min(total_rows - row0);
        let len = (rows * m.row_bytes) as u64;
        let buffer = storage(ctx, "weights", len);
        // Written straight into the queue's staging memory (no copy of the weights made
        // here, even where a part holds rows of several matrices), padded to 4 bytes.
        let size = wgpu::BufferSize::new(buffer.size()).expect("a weight part is not empty");
        let Some(mut view) = ctx.queue.write_buffer_with(&buffer, 0, size) else {
            return Err(GpuError::Device(format!(
                "could not stage {len} bytes of weights"
            )));
        };
        let mut at = 0;
        for piece in pieces(row0, row0 + rows) {
            view.slice(at..at + piece.len()).copy_from_slice(piece);
            at += piece.len();
        }
        view.slice(at..).fill(0);
        drop(view);
        parts.push(MatrixPart { buffer, row0, rows });
        row0 += rows;
    }
    Ok(GpuMatrix {
        ty: m.ty,
        rows: total_rows,
        cols: m.cols,
        row_bytes: m.row_bytes,
        parts,
    })
}
