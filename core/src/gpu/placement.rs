//! Whether a model fits on the GPU, decided before anything is uploaded. wgpu (like WebGPU)
//! cannot tell how much memory a device has free, so the decision compares an exact estimate
//! of what the weights, the KV cache and the scratch buffers take with the device's binding
//! limits and an optional budget ([`GpuContext::with_memory_budget`]); what neither catches
//! (the device really running out) comes back from the out-of-memory error scope around every
//! upload as the same `GPU_DOES_NOT_FIT`, and [`place_session`] then tries fewer blocks.

use std::sync::Arc;

use serde::Serialize;

use super::model::stack_runs;
use super::prepare_qkv::QkvVectors;
use super::session::batch_size;
use super::{GpuContext, GpuError, GpuModel};
use crate::model::{Activation, Decoder, ModelConfig, QMatrix, Weights};
use crate::{Error, GgmlType, KvType, Model, Session};

/// Bytes a model takes on the GPU, as [`GpuContext::estimate`] computes them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GpuMemory {
    /// Weight matrices as stored in the file, norms, biases and tables.
    pub weights: u64,
    /// The KV cache (f16 cache as f16s where the device has shader-f16, else f32s).
    pub kv_cache: u64,
    /// Activations, attention scores, logits and readback buffers of one session.
    pub scratch: u64,
}

impl GpuMemory {
    /// Everything together.
    pub fn total(&self) -> u64 {
        self.weights + self.kv_cache + self.scratch
    }

    /// The one-session part (KV cache and scratch).
    pub fn session(&self) -> u64 {
        self.kv_cache + self.scratch
    }
}

/// MiB with one decimal, for messages.
pub(crate) fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
}

/// The distinct types of the matrices the GPU multiplies when it holds a model's first
/// `n_layers` blocks (each block's seven, and the LM head when it holds them all), sorted:
/// one matmul pipeline each, and the activation buffers they need.
pub(crate) fn weight_types(w: &Weights, n_layers: usize) -> Vec<GgmlType> {
    let mut types: Vec<GgmlType> = Vec::new();
    if n_layers >= w.layers.len() {
        types.push(w.output.ty);
    }
    for l in w.layers.iter().take(n_layers) {
        types.extend(l.matrices().iter().map(|m| m.ty));
    }
    types.sort();
    types.dedup();
    types
}

/// How many quantized-activation buffers a session for matrices of `types` allocates.
fn act_buffers(types: &[GgmlType]) -> u64 {
    super::matmul::act_modes_used(types)
        .iter()
        .filter(|&&u| u)
        .count() as u64
}

/// A storage buffer's size as `kernel::storage` rounds it.
fn buf(bytes: u64) -> u64 {
    bytes.div_ceil(4).max(1) * 4
}

fn floats(n: usize) -> u64 {
    buf(n as u64 * 4)
}

/// Matrices stacked by rows and split into parts of at most `max` bytes, each padded to 4
/// (as `upload_matrix`).
fn stacked(ms: &[&QMatrix], max: u64) -> u64 {
    let rb = ms[0].row_bytes as u64;
    let rows_per_part = (max.saturating_sub(4) / rb.max(1)).max(1);
    let rows: u64 = ms.iter().map(|m| m.rows as u64).sum();
    let full = rows / rows_per_part;
    let rest = rows % rows_per_part;
    full * buf(rows_per_part * rb) + if rest > 0 { buf(rest * rb) } else { 0 }
}

impl GpuContext {
    /// The bytes `decoder` takes on this device with one session of `n_ctx` positions: what
    /// [`GpuModel::upload`](super::GpuModel::upload) and [`GpuSession::new`](super::GpuSession::new)
    /// will allocate for a cache of element type `kv`.
    pub fn estimate(&self, decoder: &Decoder, n_ctx: usize, kv: KvType) -> GpuMemory {
        self.estimate_layers(decoder, decoder.config.n_layer, n_ctx, kv)
    }

    /// [`GpuContext::estimate`] for a partial offload: the GPU holding the first `n_layers`
    /// blocks ([`GpuModel::upload_layers`](super::GpuModel::upload_layers)), their KV cache
    /// and scratch; the LM head only when it holds every block.
    pub fn estimate_layers(
        &self,
        decoder: &Decoder,
        n_layers: usize,
        n_ctx: usize,
        kv: KvType,
    ) -> GpuMemory {
        let n_layers = n_layers.min(decoder.config.n_layer);
        let types = weight_types(&decoder.weights, n_layers);
        let session = self.estimate_session(&decoder.config, &types, n_layers, n_ctx, kv);
        GpuMemory {
            weights: self.estimate_weights(decoder, n_layers),
            ..session
        }
    }

    /// How many of `decoder`'s blocks fit this context's memory budget with one session of
    /// `n_ctx` positions: all of them without a budget, else the most whose
    /// [`GpuContext::estimate_layers`] the budget holds (0 when not even one block does).
    pub fn layers_that_fit(&self, decoder: &Decoder, n_ctx: usize, kv: KvType) -> usize {
        let all = decoder.config.n_layer;
        let Some(budget) = self.memory_budget() else {
            return all;
        };
        // The estimate grows with the blocks held, except that holding all of them adds the
        // LM head and logits while dropping the hidden-state readback: check `all` first.
        if self.estimate_layers(decoder, all, n_ctx, kv).total() <= budget {
            return all;
        }
        (1..all)
            .rev()
            .find(|&n| self.estimate_layers(decoder, n, n_ctx, kv).total() <= budget)
            .unwrap_or(0)
    }

    /// The weights' part of [`GpuContext::estimate_layers`].
    pub(crate) fn estimate_weights(&self, decoder: &Decoder, n_layers: usize) -> u64 {
        let (c, w) = (&decoder.config, &decoder.weights);
        let max = self.max_binding();
        let vec = |v: &Option<Vec<f32>>| v.as_ref().map_or(0, |v| floats(v.len()));
        let mut weights = if n_layers >= w.layers.len() {
            stacked(&[&w.output], max) + floats(w.output_norm.len())
        } else {
            0
        };
        for l in w.layers.iter().take(n_layers) {
            // Stacked as the upload stacks them (Q/K/V and gate/up by runs of one type).
            for group in [
                &[&l.wq, &l.wk, &l.wv][..],
                &[&l.wo],
                &[&l.ffn_gate, &l.ffn_up],
                &[&l.ffn_down],
            ] {
                for run in stack_runs(group) {
                    weights += stacked(&run, max);
                }
            }
            weights += floats(l.attn_norm.len()) + floats(l.ffn_norm.len());
            for v in [&l.attn_post_norm, &l.ffn_post_norm] {
                weights += vec(v);
            }
            // The biases and Q/K norms share one buffer (`QkvVectors`), when there are any.
            let qkv = QkvVectors::floats([&l.bq, &l.bk, &l.bv, &l.q_norm, &l.k_norm]);
            if qkv > 0 {
                weights += floats(qkv);
            }
        }
        if c.activation == Activation::GeluTanh && n_layers > 0 {
            // The f16 GELU table: 65536 halves packed two per word.
            weights += buf(65536 * 2);
        }
        weights
    }

    /// The session's part of [`GpuContext::estimate_layers`] (`weights` 0) for the first
    /// `n_layers` blocks, whose matrices have the [`weight_types`] `types`.
    pub(crate) fn estimate_session(
        &self,
        c: &ModelConfig,
        types: &[GgmlType],
        n_layers: usize,
        n_ctx: usize,
        kv: KvType,
    ) -> GpuMemory {
        let max = self.max_binding();
        let (d, hd, hdv) = (c.n_embd, c.head_dim, c.head_dim_v);
        let q_dim = c.n_head * hd;
        let kv_dim = c.n_head_kv * hd;
        let v_dim = c.n_head_kv * hdv;
        // An f16 cache is stored as f16s with shader-f16, else as f32s (see `GpuSession`).
        let elem = if kv == KvType::F16 && self.features().f16 {
            2
        } else {
            4
        };
        let kv_cache = n_layers as u64
            * (buf((n_ctx * kv_dim * elem) as u64) + buf((n_ctx * v_dim * elem) as u64));
        let b = batch_size(c, n_ctx, max).max(1);
        let widest = d.max(q_dim).max(c.n_ff).max(c.n_head * hdv);
        let sums_off = b * widest;
        let mut scratch = floats(b * d) * 3 // x, xn, o
            + floats(b * (q_dim + kv_dim + v_dim)) // the Q/K/V products
            + floats(b * q_dim) // Q rotated
            + floats(b * c.n_head * hdv)
            + floats(b * 2 * c.n_ff) // the gate/up products
            + floats(b * c.n_ff) // the gated activation
            + floats(b * c.n_head * n_ctx)
            + act_buffers(types) * floats(sums_off + sums_off / 32);
        if n_layers >= c.n_layer {
            scratch += floats(c.n_vocab) * 2 // logits and their readback buffer
                + buf(super::top_k::out_bytes(c.n_vocab))
                + buf(super::top_k::READBACK_BYTES)
                + super::argmax::out_bytes(c.n_vocab)
                + 8; // the argmax (with its chunks' bests) and its readback buffer
            if c.final_logit_softcap.is_some() {
                scratch += floats(c.n_vocab);
            }
        } else {
            // A partial offload reads back the batch's hidden states instead.
            scratch += floats(b * d);
        }
        let swa_table = c.swa_layers.iter().any(|&s| s)
            && (c.rope_freq_base_swa, c.rope_freq_scale_swa)
                != (c.rope_freq_base, c.rope_freq_scale);
        scratch += floats(n_ctx * c.n_rot) * if swa_table { 2 } else { 1 };
        GpuMemory {
            weights: 0,
            kv_cache,
            scratch,
        }
    }

    /// `GPU_DOES_NOT_FIT` with both numbers when `need` exceeds the memory budget.
    pub fn check_fit(&self, need: &GpuMemory) -> Result<(), GpuError> {
        match self.memory_budget() {
            Some(allowed) if need.total() > allowed => Err(GpuError::OverBudget {
                needed: need.total(),
                allowed,
                detail: format!(
                    "weights {}, KV cache {}, scratch {}",
                    mib(need.weights),
                    mib(need.kv_cache),
                    mib(need.scratch)
                ),
            }),
            _ => Ok(()),
        }
    }
}

/// Places `model` on `ctx` and opens a session of `n_ctx` positions (0: the model's training
/// context) there: [`GpuModel::place`] (its first `layers` blocks; `None`: as many as the
/// budget holds, all without one), then the session's KV cache and scratch.
///
/// Without a budget nothing says how much memory the device has free (wgpu and WebGPU do not
/// report it), so with `layers: None` a device that runs out of memory placing the blocks or
/// the session ([`GpuError::OutOfMemory`]) is asked for half as many, down to one block; what
/// a failed try allocated is freed first. A fixed `layers` fails instead.
pub async fn place_session(
    ctx: &GpuContext,
    model: &Arc<Model>,
    layers: Option<usize>,
    n_ctx: usize,
    kv_type: KvType,
) -> Result<Session, Error> {
    let positions = if n_ctx == 0 {
        model.config().n_ctx_train
    } else {
        n_ctx
    };
    let mut ask = layers;
    loop {
        let tried = match GpuModel::place(ctx, model.decoder(), ask, positions, kv_type).await {
            // The engine's session API shares the model as an Arc (Send natively); wasm32
            // has one thread.
            #[allow(clippy::arc_with_non_send_sync)]
            Ok(gpu) => {
                let gpu = Arc::new(gpu);
                match Session::with_gpu_async(model.clone(), n_ctx, kv_type, &gpu).await {
                    Ok(s) => return Ok(s),
                    Err(Error::Gpu(e)) => (e, gpu.gpu_layers()),
                    Err(e) => return Err(e),
                }
            }
            Err(e) => {
                let blocks =
                    ask.unwrap_or_else(|| ctx.layers_that_fit(model.decoder(), positions, kv_type));
                (e, blocks.clamp(1, model.config().n_layer))
            }
        };
        match tried {
            (GpuError::OutOfMemory(_), blocks) if layers.is_none() && blocks > 1 => {
                ask = Some(blocks / 2);
            }
            (e, _) => return Err(e.into()),
        }
    }
}
