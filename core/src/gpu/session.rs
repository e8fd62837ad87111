//! A generation state on the GPU: the KV cache, activations, and the forward pass recorded
//! once as a list of launches (bind groups built at creation; a step only writes its token
//! count, position and input embeddings, then records the same launches and submits).

use std::sync::Arc;

use super::attention::{AttnShape, attention};
use super::elementwise::elementwise;
use super::kernel::{Dispatch, storage};
use super::matmul::{GpuMatrix, MatmulIo, act_mode, act_modes_used, matmul, quantize_act};
use super::model::Stacked;
use super::prepare_qkv::{QkvShape, prepare_qkv, rope_table};
use super::rms_norm::{add_norm, rms_norm};
use super::{GpuError, GpuModel};
use crate::model::{Architecture, KvType};

/// Most tokens one submission evaluates (longer inputs are split; bounds scratch memory).
const MAX_BATCH: usize = 32;

/// Tokens one submission evaluates for a context of `n_ctx` with bindings of at most `max`
/// bytes (the attention scores of a batch must fit one binding); 0 when not even one fits.
pub(crate) fn batch_size(c: &crate::model::ModelConfig, n_ctx: usize, max: u64) -> usize {
    let scores_row = (c.n_head * n_ctx * 4).max(1) as u64;
    ((max / scores_row) as usize).min(MAX_BATCH)
}

/// No activation buffer filled yet (see the session's `mm`).
const NONE_QUANTIZED: [bool; super::matmul::ACT_MODES] = [false; super::matmul::ACT_MODES];

/// A stack's matrices with their first output rows, as the session's `mm` takes them.
fn stacked(s: &Stacked) -> Vec<(&GpuMatrix, usize)> {
    s.iter().map(|(m, row)| (&**m, *row)).collect()
}

/// What a forward step reads back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GpuOutput {
    /// The last token's logits (`n_vocab` floats).
    Logits,
    /// Only the index and value of the last token's largest logit (8 bytes).
    Argmax,
    /// The last token's `k` largest finite logits with their ids (`k` ≤ [`MAX_TOP_K`](super::MAX_TOP_K),
    /// `4 + 8k` bytes): what a sampler whose chain starts with top-k needs.
    TopK(usize),
    /// Every token's residual stream after the GPU's blocks (`n_embd` floats per token): what
    /// a partial offload ([`GpuModel::upload_layers`]) hands the CPU, and the only output of
    /// a partial model.
    Hidden,
}

/// A forward step's result.
#[derive(Clone, Debug, PartialEq)]
pub enum GpuResult {
    /// The last token's logits.
    Logits(Vec<f32>),
    /// The greedy next token and its logit.
    Argmax { token: u32, logit: f32 },
    /// The `k` largest finite logits `(id, logit)`, largest first, ties by lower id (fewer
    /// when fewer are finite).
    TopK(Vec<(u32, f32)>),
    /// The residual stream after the GPU's blocks, `n_embd` floats per evaluated token.
    Hidden(Vec<f32>),
}

/// One sequence's state on the GPU.
#[derive(Debug)]
pub struct GpuSession {
    model: Arc<GpuModel>,
    n_ctx: usize,
    batch: usize,
    len: usize,
    step: wgpu::Buffer,
    x: wgpu::Buffer,
    layers: Vec<Dispatch>,
    /// The LM head's launches and buffers (a model holding every block).
    head: Option<SessionHead>,
    /// Where a partial model's hidden states are read back from.
    read_hidden: Option<wgpu::Buffer>,
    /// Bytes read back from the GPU so far (tests check a sampling step's readback).
    readback_bytes: u64,
    /// Given back to the context's allocation count when dropped.
    held: super::context::Held,
    kv_bytes: u64,
    /// Buffers the bind groups use, kept alive with them.
    _keep: Vec<wgpu::Buffer>,
    /// Per-kernel GPU times (`HEARTH_GPU_PROFILE`).
    profile: Option<super::profile::Profile>,
    /// The step's input rows on the CPU, reused so that a decode step does not allocate.
    embed: EmbedScratch,
    /// The next decode step's commands, recorded while the GPU ran the last step.
    next: Option<Prerecorded>,
}

/// A one-token step's command buffer recorded ahead. Recording a step cost the CPU about a
/// millisecond a token on a small model (measured: SmolLM2's 576 launches, before they were
/// fused to 274), time the GPU would otherwise wait for between tokens; a step writes its
/// token count, position and input rows with `write_buffer`, which lands before the buffer
/// runs, so the same commands serve any token at any position. Used when the next step asks
/// for the same `out` (and no gathered logits); else dropped unsubmitted.
#[derive(Debug)]
struct Prerecorded {
    out: GpuOutput,
    commands: wgpu::CommandBuffer,
}

/// One embedding row, and the step's rows as the bytes written to the GPU.
#[derive(Debug, Default)]
struct EmbedScratch {
    row: Vec<f32>,
    bytes: Vec<u8>,
}

/// A whole model's last launches: output norm, LM head, argmax and top-k, with their outputs
/// and readback buffers.
#[derive(Debug)]
struct SessionHead {
    logits: wgpu::Buffer,
    argmax_out: wgpu::Buffer,
    read_logits: wgpu::Buffer,
    read_argmax: wgpu::Buffer,
    top_k_out: wgpu::Buffer,
    top_k_params: wgpu::Buffer,
    read_top_k: wgpu::Buffer,
    tail: Vec<Dispatch>,
    argmax: [Dispatch; 2],
    top_k: Vec<Dispatch>,
}

impl GpuSession {
    /// A session with room for `n_ctx` positions and a cache of element type `kv` (f16
    /// values are stored as f32 rounded to f16, so the kernels need no shader-f16).
    pub async fn new(
        model: &Arc<GpuModel>,
        n_ctx: usize,
        kv: KvType,
    ) -> Result<GpuSession, GpuError> {
        if n_ctx == 0 {
            return Err(GpuError::Input(
                "the context must hold at least one token".into(),
            ));
        }
        // The budget covers the weights already placed and this session's buffers.
        let need = super::GpuMemory {
            weights: model.placed_weights,
            ..model.ctx.estimate_session(
                &model.config,
                &model.weight_types,
                model.layers.len(),
                n_ctx,
                kv,
            )
        };
        model.ctx.check_fit(&need)?;
        let m = model.clone();
        let (built, held) = model
            .ctx
            .scoped_held(move || Self::build(m, n_ctx, kv))
            .await?;
        let mut session = built?;
        session.held = held;
        Ok(session)
    }

    fn build(model: Arc<GpuModel>, n_ctx: usize, kv: KvType) -> Result<GpuSession, GpuError> {
        let ctx = &model.ctx;
        let c = &model.config;
        let pl = &model.pipelines;
        let max = ctx.max_binding();
        let d = c.n_embd;
        let (hd, hdv) = (c.head_dim, c.head_dim_v);
        let q_dim = c.n_head * hd;
        let kv_dim = c.n_head_kv * hd;
        let v_dim = c.n_head_kv * hdv;
        if hd > 512 {
            return Err(GpuError::Unsupported(format!(
                "head size {hd} (the attention kernel takes at most 512)"
            )));
        }
        let batch = batch_size(c, n_ctx, max);
        // An f16 cache holds f16s where the device has shader-f16, else f16 values in f32s.
        let half_kv = pl.half_kv.as_ref().filter(|_| kv == KvType::F16);
        let elem = if half_kv.is_some() { 2 } else { 4 };
        let (prepare_pl, attention_pl) = half_kv
            .map(|(p, a)| (p, a))
            .unwrap_or((&pl.prepare_qkv, &pl.attention));
        let cache_bytes = (n_ctx * kv_dim.max(v_dim) * elem) as u64;
        if batch == 0 || cache_bytes > max {
            return Err(GpuError::DoesNotFit(format!(
                "a context of {n_ctx} positions exceeds the device's binding limit of {max} bytes"
            )));
        }
        let f = |n: usize, label: &str| storage(ctx, label, (n * 4) as u64);
        let step = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("step"),
            size: 16,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let b = batch;
        let x = f(b * d, "x");
        let xn = f(b * d, "xn");
        // Each token's Q, K and V side by side (the stacked products' output), then Q
        // rotated for the attention.
        let qkv_dim = q_dim + kv_dim + v_dim;
        let qkv = f(b * qkv_dim, "qkv");
        let q = f(b * q_dim, "q");
        let attn = f(b * c.n_head * hdv, "attn");
        let o = f(b * d, "o");
        // Each token's gate and up side by side, then the gated activation.
        let gate_up = f(b * 2 * c.n_ff, "gate_up");
        let act = f(b * c.n_ff, "act");
        let scores = f(b * c.n_head * n_ctx, "scores");
        let read = |n: u64, label: &str| {
            ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: n,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        };
        let ff = model.rope_freqs.as_deref();
        let table = |base: f32, scale: f32| {
            super::kernel::storage_f32(ctx, "rope", &rope_table(n_ctx, c.n_rot, base, scale, ff))
        };
        let rope_full = table(c.rope_freq_base, c.rope_freq_scale);
        let rope_swa = if c.swa_layers.iter().any(|&s| s)
            && (c.rope_freq_base_swa, c.rope_freq_scale_swa)
                != (c.rope_freq_base, c.rope_freq_scale)
        {
            table(c.rope_freq_base_swa, c.rope_freq_scale_swa)
        } else {
            rope_full.clone()
        };
        // Activations quantized as the CPU backend quantizes them, one buffer per mode the
        // model's weight types take.
        let widest = d.max(q_dim).max(c.n_ff).max(c.n_head * hdv);
        // Behind the values: Q8_1's block sums, one per 32 (the Q4_1 products use them).
        let sums_off = b * widest;
        let xq: Vec<Option<wgpu::Buffer>> = act_modes_used(&model.weight_types)
            .iter()
            .map(|&used| used.then(|| f(sums_off + sums_off / 32, "x_quantized")))
            .collect();
        // `y = x · Wᵀ` for matrices sharing the input `x`, each writing rows of `y` from its
        // offset (rows of `stride`; 0: its own): x quantized once per mode.
        // `quantized[m]`: x is already in mode m's buffer.
        let mm = |group: &[(&GpuMatrix, usize)],
                  yb: &wgpu::Buffer,
                  stride: usize,
                  xb: &wgpu::Buffer,
                  fixed_tok: u32,
                  quantized: [bool; super::matmul::ACT_MODES]| {
            let mut out = Vec::new();
            let mut done = quantized;
            for &(w, row_off) in group {
                let mode = act_mode(w.ty) as usize;
                let src = match &xq[mode] {
                    Some(buffer) => buffer,
                    None => xb,
                };
                if mode != 0 && !done[mode] {
                    done[mode] = true;
                    out.push(quantize_act(
                        ctx,
                        &pl.quantize_act,
                        &[&step, xb, src],
                        w.cols,
                        mode as u32,
                        fixed_tok,
                        sums_off as u32,
                    ));
                }
                out.extend(matmul(
                    ctx,
                    &pl.matmul[&w.ty],
                    w,
                    &MatmulIo {
                        step: &step,
                        x: src,
                        y: yb,
                        x_off: 0,
                        fixed_tok,
                        sums_off: sums_off as u32,
                        out_stride: stride as u32,
                        row_off: row_off as u32,
                    },
                ));
            }
            out
        };
        let eps = c.rms_eps;
        let gemma = c.arch == Architecture::Gemma3;
        let mut layers = Vec::new();
        let mut keep = Vec::new();
        let mut kv_bytes = 0u64;
        // An add_norm quantizes its output for the next products in the mode the first of
        // them reads (the others, if they read another, quantize it themselves); `no_xq`
        // fills the slot when it does not (a buffer add_norm does not otherwise bind).
        let no_xq = (&scores, 0u32);
        let pre_quantize = |group: &Stacked| {
            let mode = group
                .iter()
                .map(|(m, _)| act_mode(m.ty) as usize)
                .find(|&m| m != 0);
            match mode.and_then(|m| xq[m].as_ref().map(|b| (m, b))) {
                Some((m, buffer)) => {
                    let mut ready = NONE_QUANTIZED;
                    ready[m] = true;
                    ((buffer, m as u32), ready)
                }
                None => (no_xq, NONE_QUANTIZED),
            }
        };
        // The first block's input comes from the first norm (which quantizes it too), the
        // others' from the previous block's last add_norm.
        let mut qkv_ready = NONE_QUANTIZED;
        for (il, l) in model.layers.iter().enumerate() {
            let kc = storage(ctx, "k_cache", (n_ctx * kv_dim * elem) as u64);
            let vc = storage(ctx, "v_cache", (n_ctx * v_dim * elem) as u64);
            kv_bytes += (n_ctx * (kv_dim + v_dim) * elem) as u64;
            if il == 0 {
                // Later layers get theirs from the previous layer's last residual step.
                let first_xq;
                (first_xq, qkv_ready) = pre_quantize(&l.qkv);
                layers.push(rms_norm(
                    ctx,
                    &pl.norm,
                    [&step, &l.attn_norm, &x, &xn],
                    first_xq,
                    sums_off as u32,
                    d,
                    eps,
                    0,
                    0,
                ));
            }
            layers.extend(mm(&stacked(&l.qkv), &qkv, qkv_dim, &xn, 0, qkv_ready));
            let swa = c.swa_layers[il];
            layers.push(prepare_qkv(
                ctx,
                prepare_pl,
                [
                    &step,
                    if swa { &rope_swa } else { &rope_full },
                    &qkv,
                    &q,
                    &kc,
                    &vc,
                ],
                &l.qkv_vectors,
                QkvShape {
                    n_head: c.n_head,
                    n_head_kv: c.n_head_kv,
                    head_dim: hd,
                    head_dim_v: hdv,
                    n_rot: c.n_rot,
                    style: c.rope_style,
                    round_f16: kv == KvType::F16,
                    eps,
                },
            ));
            let (q_scale, kq_scale) = if gemma {
                (c.attn_scale, 1.0)
            } else {
                (1.0, c.attn_scale)
            };
            // The output product's input quantized by the attention where a head holds
            // whole blocks of its activation type.
            let wo_mode = act_mode(l.wo.ty);
            let (attn_xq, wo_ready) = match &xq[wo_mode as usize] {
                Some(b) if super::attention::quantizes_for(wo_mode, hdv) => {
                    let mut ready = NONE_QUANTIZED;
                    ready[wo_mode as usize] = true;
                    ((b, wo_mode), ready)
                }
                _ => ((&o, 0), NONE_QUANTIZED),
            };
            layers.push(attention(
                ctx,
                attention_pl,
                [&step, &q, &kc, &vc, &scores, &attn],
                AttnShape {
                    n_head: c.n_head,
                    n_head_kv: c.n_head_kv,
                    head_dim: hd,
                    head_dim_v: hdv,
                    window: if swa {
                        c.sliding_window.unwrap_or(0)
                    } else {
                        0
                    },
                    n_ctx,
                    q_scale,
                    kq_scale,
                    round_q_f16: kv == KvType::F16,
                },
                attn_xq,
                sums_off as u32,
            ));
            layers.extend(mm(&[(&l.wo, 0)], &o, 0, &attn, 0, wo_ready));
            // x += post_norm(o); xn = ffn_norm(x), quantized for the gate/up product
            let (gate_up_xq, gate_up_ready) = pre_quantize(&l.gate_up);
            layers.push(add_norm(
                ctx,
                &pl.add_norm,
                &step,
                &o,
                &x,
                l.attn_post_norm.as_ref(),
                Some(&l.ffn_norm),
                &xn,
                gate_up_xq,
                sums_off as u32,
                d,
                eps,
            ));
            layers.extend(mm(
                &stacked(&l.gate_up),
                &gate_up,
                2 * c.n_ff,
                &xn,
                0,
                gate_up_ready,
            ));
            // act(gate) * up: straight into the down product's quantized input where it has
            // one, else as f32s.
            let down_mode = act_mode(l.ffn_down.ty) as usize;
            let mut quantized = NONE_QUANTIZED;
            match &xq[down_mode] {
                Some(xd) => {
                    let bufs: Vec<&wgpu::Buffer> = [&step, &gate_up, xd]
                        .into_iter()
                        .chain(&pl.gelu_table)
                        .collect();
                    layers.push(quantize_act(
                        ctx,
                        &pl.quantize_gated,
                        &bufs,
                        c.n_ff,
                        down_mode as u32,
                        0,
                        sums_off as u32,
                    ));
                    quantized[down_mode] = true;
                }
                None => {
                    let bufs: Vec<&wgpu::Buffer> = [&step, &gate_up, &act]
                        .into_iter()
                        .chain(&pl.gelu_table)
                        .collect();
                    layers.push(elementwise(ctx, &pl.act_mul, &bufs, c.n_ff, 0, 0.0));
                }
            }
            layers.extend(mm(&[(&l.ffn_down, 0)], &o, 0, &act, 0, quantized));
            // x += post_norm(o); xn = the next layer's attn_norm(x), quantized for its Q/K/V
            // product (the output norm, for the last token only, is the tail's)
            let next = model.layers.get(il + 1);
            let (next_xq, next_ready) =
                next.map_or((no_xq, NONE_QUANTIZED), |n| pre_quantize(&n.qkv));
            layers.push(add_norm(
                ctx,
                &pl.add_norm,
                &step,
                &o,
                &x,
                l.ffn_post_norm.as_ref(),
                next.map(|n| &n.attn_norm),
                &xn,
                next_xq,
                sums_off as u32,
                d,
                eps,
            ));
            qkv_ready = next_ready;
            keep.push(kc);
            keep.push(vc);
        }
        // A whole model, for the last token only: output norm, LM head, soft-cap, and the
        // argmax or top k when asked for. A partial one hands its hidden states back.
        let (head, read_hidden) = match &model.head {
            Some(mh) => {
                let logits = f(c.n_vocab, "logits");
                let head_group: Stacked = vec![(mh.output.clone(), 0)];
                let (head_xq, head_ready) = pre_quantize(&head_group);
                let mut tail = vec![rms_norm(
                    ctx,
                    &pl.norm,
                    [&step, &mh.output_norm, &x, &xn],
                    head_xq,
                    sums_off as u32,
                    d,
                    eps,
                    1,
                    u32::MAX,
                )];
                // With a soft-cap the LM head writes raw logits that the cap then maps into
                // `logits`.
                let raw = if c.final_logit_softcap.is_some() {
                    f(c.n_vocab, "raw_logits")
                } else {
                    logits.clone()
                };
                tail.extend(mm(&[(&mh.output, 0)], &raw, 0, &xn, 1, head_ready));
                if let Some(cap) = c.final_logit_softcap {
                    tail.push(elementwise(
                        ctx,
                        &pl.softcap,
                        &[&step, &raw, &logits],
                        0,
                        c.n_vocab,
                        cap,
                    ));
                }
                keep.push(raw);
                let argmax_out = storage(ctx, "argmax", super::argmax::out_bytes(c.n_vocab));
                let top_k_out = storage(ctx, "top_k", super::top_k::out_bytes(c.n_vocab));
                let top_k_params = super::top_k::top_k_params(ctx, c.n_vocab);
                let argmax =
                    super::argmax::argmax(ctx, &pl.argmax, &logits, &argmax_out, c.n_vocab);
                let top_k = super::top_k::top_k(
                    ctx,
                    &pl.top_k,
                    top_k_params.clone(),
                    &logits,
                    &top_k_out,
                    c.n_vocab,
                );
                let head = SessionHead {
                    read_logits: read((c.n_vocab * 4) as u64, "read_logits"),
                    read_argmax: read(8, "read_argmax"),
                    read_top_k: read(super::top_k::READBACK_BYTES, "read_top_k"),
                    logits,
                    argmax_out,
                    top_k_out,
                    top_k_params,
                    tail,
                    argmax,
                    top_k,
                };
                (Some(head), None)
            }
            None => (None, Some(read((b * d * 4) as u64, "read_hidden"))),
        };
        keep.extend([
            xn, qkv, q, attn, o, gate_up, act, scores, rope_full, rope_swa,
        ]);
        keep.extend(xq.into_iter().flatten());
        let tail_len = head.as_ref().map_or(0, |h| h.tail.len());
        let profile = super::profile::Profile::new(ctx, layers.len() + tail_len + 1);
        Ok(GpuSession {
            held: Default::default(),
            model,
            n_ctx,
            batch,
            len: 0,
            step,
            x,
            layers,
            head,
            read_hidden,
            readback_bytes: 0,
            kv_bytes,
            _keep: keep,
            profile,
            embed: EmbedScratch::default(),
            next: None,
        })
    }

    /// Positions cached.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many of the model's blocks run here (its first ones; fewer than all in a partial
    /// offload, whose outputs are hidden states).
    pub fn gpu_layers(&self) -> usize {
        self.model.layers.len()
    }

    /// The device this session runs on.
    pub fn context(&self) -> &super::GpuContext {
        &self.model.ctx
    }

    /// Whether the GPU holds the whole model (and so returns logits, argmax or top k).
    pub fn is_whole(&self) -> bool {
        self.head.is_some()
    }

    /// Context capacity.
    pub fn n_ctx(&self) -> usize {
        self.n_ctx
    }

    /// Bytes the KV cache takes on the GPU (an f16 cache holds f16s with shader-f16, f32s
    /// without).
    pub fn kv_cache_bytes(&self) -> u64 {
        self.kv_bytes
    }

    /// Whether the device this session runs on was lost.
    pub fn device_lost(&self) -> bool {
        self.model.ctx.is_lost()
    }

    /// Drops cached positions from `len` on.
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// Evaluates `tokens` after the cached positions and reads back `out` for the last one
    /// (for [`GpuOutput::Hidden`], for every one). Inputs longer than the batch are submitted
    /// in several pieces, without any readback in between except a partial model's hidden
    /// states.
    pub async fn forward(&mut self, tokens: &[u32], out: GpuOutput) -> Result<GpuResult, GpuError> {
        Ok(self.forward_gather(tokens, out, &[]).await?.0)
    }

    /// [`GpuSession::forward`] that also reads back the logits of the `gather` tokens (with
    /// [`GpuOutput::TopK`] only, at most [`MAX_TOP_K`](super::MAX_TOP_K) of them, in the same
    /// readback): what a sampler whose logit bias or penalties change those tokens needs.
    pub async fn forward_gather(
        &mut self,
        tokens: &[u32],
        out: GpuOutput,
        gather: &[u32],
    ) -> Result<(GpuResult, Vec<f32>), GpuError> {
        let c = &self.model.config;
        if !gather.is_empty() && !matches!(out, GpuOutput::TopK(_)) {
            return Err(GpuError::Input(
                "logits of chosen tokens are read back with the top k only".into(),
            ));
        }
        if gather.len() > super::MAX_TOP_K {
            return Err(GpuError::Input(format!(
                "{} tokens' logits asked for (at most {})",
                gather.len(),
                super::MAX_TOP_K
            )));
        }
        if let Some(&bad) = gather.iter().find(|&&t| t as usize >= c.n_vocab) {
            return Err(GpuError::Input(format!(
                "token id {bad} is out of range (vocabulary has {} tokens)",
                c.n_vocab
            )));
        }
        if tokens.is_empty() {
            return Err(GpuError::Input("no tokens to evaluate".into()));
        }
        if self.len + tokens.len() > self.n_ctx {
            return Err(GpuError::Input(format!(
                "context is full: {} positions needed, the context holds {}",
                self.len + tokens.len(),
                self.n_ctx
            )));
        }
        if let Some(&bad) = tokens.iter().find(|&&t| t as usize >= c.n_vocab) {
            return Err(GpuError::Input(format!(
                "token id {bad} is out of range (vocabulary has {} tokens)",
                c.n_vocab
            )));
        }
        if let GpuOutput::TopK(k) = out
            && !(1..=super::MAX_TOP_K).contains(&k)
        {
            return Err(GpuError::Input(format!(
                "top-k of {k} (1 to {} on the GPU)",
                super::MAX_TOP_K
            )));
        }
        match (&self.head, out) {
            (Some(_), GpuOutput::Hidden) => {
                return Err(GpuError::Input(
                    "hidden states come back from a partial model only".into(),
                ));
            }
            (None, GpuOutput::Logits | GpuOutput::Argmax | GpuOutput::TopK(_)) => {
                return Err(GpuError::Input(format!(
                    "the GPU holds {} of the model's {} blocks: it returns hidden states, not logits",
                    self.model.layers.len(),
                    c.n_layer
                )));
            }
            _ => {}
        }
        self.model.ctx.check()?;
        let ctx = &self.model.ctx;
        if let (GpuOutput::TopK(k), Some(h)) = (out, &self.head) {
            super::top_k::set_k(ctx, &h.top_k_params, k);
        }
        let d = c.n_embd;
        let n_chunks = tokens.len().div_ceil(self.batch);
        // Taken for the call (an error drops it; the next call grows a new one).
        let EmbedScratch {
            mut row,
            bytes: mut x,
        } = std::mem::take(&mut self.embed);
        row.resize(d, 0.0);
        let mut hidden = Vec::new();
        for (i, chunk) in tokens.chunks(self.batch).enumerate() {
            let last = i + 1 == n_chunks;
            let n = chunk.len() as u32;
            x.clear();
            for &t in chunk {
                self.model
                    .token_embd
                    .dequantize_row(t as usize, &mut row)
                    .map_err(|e| GpuError::Unsupported(e.to_string()))?;
                let s = c.embed_scale.unwrap_or(1.0);
                x.extend(row.iter().flat_map(|&v| (v * s).to_le_bytes()));
            }
            let step = super::kernel::step_bytes(n, self.len as u32);
            ctx.queue.write_buffer(&self.step, 0, &step);
            ctx.queue.write_buffer(&self.x, 0, &x);
            // Not `std::time::Instant`: it panics in wasm (the crate's timer does not).
            let started = crate::timer::Timer::start();
            let hidden_bytes = (chunk.len() * d * 4) as u64;
            // A one-token step recorded ahead (see `Prerecorded`), else recorded now.
            let commands = match self.next.take() {
                Some(next) if n == 1 && next.out == out && gather.is_empty() => next.commands,
                _ => self.encode(n, last, out, gather),
            };
            ctx.queue.submit([commands]);
            if last && self.profile.is_none() {
                // Recorded while the GPU runs this step, so the next one only submits.
                self.next = Some(Prerecorded {
                    out,
                    commands: self.encode(1, true, out, &[]),
                });
            }
            if let Some(p) = &mut self.profile {
                let (tail, pick) = Self::launches_after(&self.head, last, out);
                let names: Vec<&str> = (self.layers.iter().chain(tail).chain(pick))
                    .map(|d| d.name.as_str())
                    .collect();
                p.collect(ctx, &names, started).await?;
            }
            self.len += chunk.len();
            if let Some(read_hidden) = &self.read_hidden {
                let bytes = ctx.read(read_hidden, hidden_bytes).await?;
                self.readback_bytes += hidden_bytes;
                hidden.extend(
                    bytes
                        .chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                );
            }
        }
        self.embed = EmbedScratch { row, bytes: x };
        let Some(h) = &self.head else {
            return Ok((GpuResult::Hidden(hidden), Vec::new()));
        };
        let res = match out {
            GpuOutput::Logits => GpuResult::Logits(self.read_logits().await?),
            GpuOutput::Hidden => GpuResult::Hidden(hidden),
            GpuOutput::Argmax => {
                let b = ctx.read(&h.read_argmax, 8).await?;
                self.readback_bytes += 8;
                GpuResult::Argmax {
                    token: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                    logit: f32::from_le_bytes([b[4], b[5], b[6], b[7]]),
                }
            }
            GpuOutput::TopK(k) => {
                let result = 4 + 8 * k;
                let size = (result + 4 * gather.len()) as u64;
                let b = ctx.read(&h.read_top_k, size).await?;
                self.readback_bytes += size;
                let values = b[result..]
                    .chunks_exact(4)
                    .map(|w| f32::from_le_bytes([w[0], w[1], w[2], w[3]]))
                    .collect();
                return Ok((GpuResult::TopK(super::top_k::parse(&b[..result])), values));
            }
        };
        Ok((res, Vec::new()))
    }

    /// The launches after the blocks: on the last chunk of a whole model the head and what
    /// `out` reads (slices of the launches built once, so a step allocates none).
    fn launches_after(
        head: &Option<SessionHead>,
        last: bool,
        out: GpuOutput,
    ) -> (&[Dispatch], &[Dispatch]) {
        match (head, last) {
            (Some(h), true) => (
                &h.tail,
                match out {
                    GpuOutput::Argmax => &h.argmax,
                    GpuOutput::TopK(_) => &h.top_k,
                    GpuOutput::Logits | GpuOutput::Hidden => &[],
                },
            ),
            _ => (&[], &[]),
        }
    }

    /// Records one submission of `n` tokens: every launch, then the copies into the
    /// readback buffers of what `out` (and `gather`) asks for. Reads nothing of the step
    /// (token count and position are in the step uniform, the inputs in `x`), so the next
    /// decode step's commands can be recorded before this step's tokens are known.
    fn encode(&self, n: u32, last: bool, out: GpuOutput, gather: &[u32]) -> wgpu::CommandBuffer {
        let ctx = &self.model.ctx;
        let c = &self.model.config;
        let mut enc = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        let (tail, pick) = Self::launches_after(&self.head, last, out);
        let n_launched = (self.layers.len() + tail.len() + pick.len()) as u32;
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("forward"),
                timestamp_writes: None,
            });
            if let Some(p) = &self.profile {
                p.stamp(&mut pass, 0);
            }
            for (i, dsp) in self.layers.iter().chain(tail).chain(pick).enumerate() {
                dsp.record(&mut pass, n);
                if let Some(p) = &self.profile {
                    p.stamp(&mut pass, i as u32 + 1);
                }
            }
        }
        if let Some(p) = &self.profile {
            p.resolve(&mut enc, n_launched);
        }
        if let Some(read_hidden) = &self.read_hidden {
            // A partial model: every chunk's hidden states, so one readback per chunk.
            let bytes = u64::from(n) * (c.n_embd * 4) as u64;
            enc.copy_buffer_to_buffer(&self.x, 0, read_hidden, 0, bytes);
        }
        if let (true, Some(h)) = (last, &self.head) {
            match out {
                GpuOutput::Logits => enc.copy_buffer_to_buffer(
                    &h.logits,
                    0,
                    &h.read_logits,
                    0,
                    (c.n_vocab * 4) as u64,
                ),
                GpuOutput::Argmax => {
                    enc.copy_buffer_to_buffer(&h.argmax_out, 0, &h.read_argmax, 0, 8)
                }
                GpuOutput::TopK(k) => {
                    let result = 4 + 8 * k as u64;
                    enc.copy_buffer_to_buffer(&h.top_k_out, 0, &h.read_top_k, 0, result);
                    for (i, &id) in gather.iter().enumerate() {
                        enc.copy_buffer_to_buffer(
                            &h.logits,
                            u64::from(id) * 4,
                            &h.read_top_k,
                            result + 4 * i as u64,
                            4,
                        );
                    }
                }
                GpuOutput::Hidden => {}
            }
        }
        enc.finish()
    }

    /// The logits of the last token evaluated, read again from the GPU without a forward
    /// pass (after a reduced readback, when the caller needs the whole vocabulary after all).
    pub async fn last_logits(&mut self) -> Result<Vec<f32>, GpuError> {
        if self.len == 0 {
            return Err(GpuError::Input("no token evaluated yet".into()));
        }
        let Some(h) = &self.head else {
            return Err(GpuError::Input(
                "a partial model has no logits on the GPU".into(),
            ));
        };
        let ctx = &self.model.ctx;
        let size = (self.model.config.n_vocab * 4) as u64;
        let mut enc = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        enc.copy_buffer_to_buffer(&h.logits, 0, &h.read_logits, 0, size);
        ctx.queue.submit([enc.finish()]);
        self.read_logits().await
    }

    /// Bytes read back from the GPU since the session was created.
    pub fn readback_bytes(&self) -> u64 {
        self.readback_bytes
    }

    async fn read_logits(&mut self) -> Result<Vec<f32>, GpuError> {
        let Some(h) = &self.head else {
            return Err(GpuError::Input(
                "a partial model has no logits on the GPU".into(),
            ));
        };
        let size = (self.model.config.n_vocab * 4) as u64;
        let bytes = self.model.ctx.read(&h.read_logits, size).await?;
        self.readback_bytes += size;
        Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }
}

impl GpuResult {
    /// The logits (empty for an argmax, top-k or hidden-state result).
    pub fn logits(self) -> Vec<f32> {
        match self {
            GpuResult::Logits(l) => l,
            GpuResult::Argmax { .. } | GpuResult::TopK(_) | GpuResult::Hidden(_) => Vec::new(),
        }
    }

    /// The greedy token: the argmax, or the first largest logit (0 for hidden states).
    pub fn argmax(&self) -> u32 {
        match self {
            GpuResult::Argmax { token, .. } => *token,
            GpuResult::TopK(c) => c.first().map_or(0, |&(id, _)| id),
            GpuResult::Hidden(_) => 0,
            GpuResult::Logits(l) => {
                let mut best = 0;
                for (i, &v) in l.iter().enumerate() {
                    if v > l[best] {
                        best = i;
                    }
                }
                best as u32
            }
        }
    }
}
