//! A session: one KV cache over a shared model, with prefix reuse.

use std::sync::Arc;

use serde::Serialize;

use super::Model;
use crate::error::{Error, Result};
use crate::model::{ForwardScratch, KvCache, KvType, Logits};
use crate::sampling::Needs;

/// Prompt tokens evaluated per forward call (bounds scratch memory).
const PREFILL_BATCH: usize = 512;

/// Per-stage timings of the last prompt evaluation and generation.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Timings {
    /// Model load time.
    pub load_ms: f64,
    /// Tokens in the prompt.
    pub prompt_tokens: usize,
    /// Prompt tokens found in the KV cache and not evaluated again.
    pub reused_tokens: usize,
    /// Time to evaluate the new prompt tokens.
    pub prompt_ms: f64,
    /// Prompt tokens per second (new tokens only).
    pub prefill_tok_s: f64,
    /// Time from the start of the request to the first generated token.
    pub ttft_ms: f64,
    /// Generated tokens.
    pub generated_tokens: usize,
    /// Time spent generating after the first token.
    pub decode_ms: f64,
    /// Tokens per second after the first one.
    pub decode_tok_s: f64,
    /// Bytes held by the KV cache.
    pub kv_cache_bytes: usize,
}

/// [`Timings`] with camelCase field names (`ttftMs`, `decodeTokS` …): the shape
/// both JavaScript bindings (hearth-wasm, hearth-node) send, so they cannot
/// drift apart. The CLI prints the snake_case [`Timings`].
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimingsJs {
    pub load_ms: f64,
    pub prompt_tokens: usize,
    pub reused_tokens: usize,
    pub prompt_ms: f64,
    pub prefill_tok_s: f64,
    pub ttft_ms: f64,
    pub generated_tokens: usize,
    pub decode_ms: f64,
    pub decode_tok_s: f64,
    pub kv_cache_bytes: usize,
}

impl From<&Timings> for TimingsJs {
    fn from(t: &Timings) -> Self {
        TimingsJs {
            load_ms: t.load_ms,
            prompt_tokens: t.prompt_tokens,
            reused_tokens: t.reused_tokens,
            prompt_ms: t.prompt_ms,
            prefill_tok_s: t.prefill_tok_s,
            ttft_ms: t.ttft_ms,
            generated_tokens: t.generated_tokens,
            decode_ms: t.decode_ms,
            decode_tok_s: t.decode_tok_s,
            kv_cache_bytes: t.kv_cache_bytes,
        }
    }
}

/// The output of a forward pass reduced to what the sampler [`Needs`]: on the CPU always the
/// logits; on the GPU only what is read back (the argmax, or the top k).
#[derive(Clone, Debug, PartialEq)]
pub enum NextLogits {
    /// The last token's logits.
    Full(Vec<f32>),
    /// The largest logit's token.
    Argmax(u32),
    /// What [`Needs::TopK`] asks for: the largest finite logits `(id, logit)` (at least one),
    /// largest first, and the logits of the `extra` tokens.
    TopK {
        top: Vec<(u32, f32)>,
        extra: Vec<(u32, f32)>,
    },
}

/// A conversation state: the KV cache and the tokens it holds.
#[derive(Debug)]
pub struct Session {
    model: Arc<Model>,
    cache: KvCache,
    history: Vec<u32>,
    scratch: ForwardScratch,
    /// The GPU backend's state when the session runs there (the CPU cache then stays empty,
    /// or holds the CPU's blocks in a partial offload).
    #[cfg(feature = "gpu")]
    gpu: Option<crate::gpu::GpuSession>,
    /// A lost GPU device moves the session to the CPU instead of failing (see
    /// [`Session::set_cpu_fallback`]).
    #[cfg(feature = "gpu")]
    cpu_fallback: bool,
}

impl Session {
    /// A session with room for `n_ctx` tokens (0: the model's training context) and an f16
    /// KV cache (llama.cpp's default).
    pub fn new(model: Arc<Model>, n_ctx: usize) -> Result<Session> {
        Self::with_kv_type(model, n_ctx, KvType::F16)
    }

    /// [`Session::new`] with the KV cache's element type chosen (see [`KvType`]).
    pub fn with_kv_type(model: Arc<Model>, n_ctx: usize, kv_type: KvType) -> Result<Session> {
        let train = model.config().n_ctx_train;
        let n_ctx = if n_ctx == 0 { train } else { n_ctx };
        if n_ctx > train.max(1) * 4 {
            return Err(Error::InvalidOption {
                option: "context_length",
                message: format!(
                    "{n_ctx} is more than four times the model's training context {train}"
                ),
            });
        }
        let cache = model.decoder().new_cache_of(n_ctx, kv_type);
        Ok(Session {
            model,
            cache,
            history: Vec::new(),
            scratch: ForwardScratch::default(),
            #[cfg(feature = "gpu")]
            gpu: None,
            #[cfg(feature = "gpu")]
            cpu_fallback: false,
        })
    }

    /// A session whose forward passes run on the GPU (`gpu` holds `model`'s weights, see
    /// [`crate::gpu::GpuModel::upload`], or only its first blocks with
    /// [`crate::gpu::GpuModel::upload_layers`]: the CPU then runs the rest); generation and
    /// sampling work as on the CPU. Native
    /// only: it blocks on the GPU's futures (wasm callers drive a `GpuSession` themselves).
    #[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
    pub fn with_gpu(
        model: Arc<Model>,
        n_ctx: usize,
        kv_type: KvType,
        gpu: &Arc<crate::gpu::GpuModel>,
    ) -> Result<Session> {
        let mut s = Self::with_kv_type(model, n_ctx, kv_type)?;
        let g = crate::gpu::block_on(crate::gpu::GpuSession::new(gpu, s.n_ctx(), kv_type))?;
        s.gpu = Some(g);
        Ok(s)
    }

    /// [`Session::with_gpu`] without blocking (wasm32, where the forward passes must then
    /// go through [`Session::eval_async`] / [`Generation::start_async`](super::Generation)).
    #[cfg(feature = "gpu")]
    pub async fn with_gpu_async(
        model: Arc<Model>,
        n_ctx: usize,
        kv_type: KvType,
        gpu: &Arc<crate::gpu::GpuModel>,
    ) -> Result<Session> {
        let mut s = Self::with_kv_type(model, n_ctx, kv_type)?;
        s.gpu = Some(crate::gpu::GpuSession::new(gpu, s.n_ctx(), kv_type).await?);
        Ok(s)
    }

    /// `true`: when the GPU device is lost, drop the GPU state, evaluate the history again on
    /// the CPU (same weights, already in memory) and go on there, so a running generation
    /// continues; `false` (default): forward passes fail with `GPU_DEVICE_LOST`.
    #[cfg(feature = "gpu")]
    pub fn set_cpu_fallback(&mut self, on: bool) {
        self.cpu_fallback = on;
    }

    /// The GPU device the session runs on (`None` on the CPU, and after a lost device moved
    /// it there).
    #[cfg(feature = "gpu")]
    pub fn gpu_context(&self) -> Option<&crate::gpu::GpuContext> {
        self.gpu.as_ref().map(|g| g.context())
    }

    /// How many of the model's blocks run on the GPU: all of them, fewer in a partial
    /// offload (the CPU runs the rest and the LM head), 0 on the CPU.
    pub fn gpu_layers(&self) -> usize {
        #[cfg(feature = "gpu")]
        if let Some(g) = &self.gpu {
            return g.gpu_layers();
        }
        0
    }

    /// Whether forward passes run on the GPU (wholly or in part, see [`Session::gpu_layers`]).
    pub fn on_gpu(&self) -> bool {
        #[cfg(feature = "gpu")]
        return self.gpu.is_some();
        #[cfg(not(feature = "gpu"))]
        false
    }

    /// The model.
    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }

    /// Context capacity in tokens.
    pub fn n_ctx(&self) -> usize {
        self.cache.capacity()
    }

    /// Tokens currently in the KV cache.
    pub fn history(&self) -> &[u32] {
        &self.history
    }

    /// The KV cache's element type.
    pub fn kv_type(&self) -> KvType {
        self.cache.kv_type()
    }

    /// Bytes held by the KV cache (on the GPU and on the CPU together in a partial offload).
    pub fn kv_cache_bytes(&self) -> usize {
        #[cfg(feature = "gpu")]
        if let Some(g) = &self.gpu {
            return g.kv_cache_bytes() as usize + self.cache.memory_bytes();
        }
        self.cache.memory_bytes()
    }

    /// Forgets everything (empties the KV cache).
    pub fn reset(&mut self) {
        self.truncate_cache(0);
        self.history.clear();
    }

    /// Makes the cache hold exactly `prompt` and returns the logits after its
    /// last token, reusing the longest common prefix with what is cached.
    /// Returns `(logits, reused_tokens)`.
    pub fn prefill(&mut self, prompt: &[u32]) -> Result<(Vec<f32>, usize)> {
        let keep = self.keep_prefix(prompt)?;
        let mut logits = Vec::new();
        for chunk in prompt[keep..].chunks(PREFILL_BATCH) {
            logits = self.eval(chunk)?;
        }
        Ok((logits, keep))
    }

    /// [`Session::prefill`] with the forward passes awaited (GPU sessions on wasm32).
    pub async fn prefill_async(&mut self, prompt: &[u32]) -> Result<(Vec<f32>, usize)> {
        let keep = self.keep_prefix(prompt)?;
        let mut logits = Vec::new();
        for chunk in prompt[keep..].chunks(PREFILL_BATCH) {
            logits = self.eval_async(chunk).await?;
        }
        Ok((logits, keep))
    }

    /// Checks `prompt`, keeps the longest prefix the cache shares with it (all but its
    /// last token at most, to get its logits) and returns that prefix's length.
    fn keep_prefix(&mut self, prompt: &[u32]) -> Result<usize> {
        if prompt.is_empty() {
            return Err(Error::InvalidOption {
                option: "prompt",
                message: "the prompt has no tokens".into(),
            });
        }
        if prompt.len() > self.n_ctx() {
            return Err(Error::PromptTooLong {
                prompt: prompt.len(),
                n_ctx: self.n_ctx(),
            });
        }
        let common = self
            .history
            .iter()
            .zip(prompt)
            .take_while(|(a, b)| a == b)
            .count();
        let keep = common.min(prompt.len() - 1);
        self.truncate_cache(keep);
        self.history.truncate(keep);
        Ok(keep)
    }

    /// Evaluates `tokens` after the cached ones; returns the last one's logits.
    pub fn eval(&mut self, tokens: &[u32]) -> Result<Vec<f32>> {
        self.forward(tokens, Logits::Last)
    }

    /// [`Session::eval`] with the forward pass awaited: the GPU backend's on wasm32, where
    /// nothing may block; on the CPU it runs at once.
    pub async fn eval_async(&mut self, tokens: &[u32]) -> Result<Vec<f32>> {
        #[cfg(feature = "gpu")]
        if self.gpu.is_some() {
            return self.forward_gpu_logits(tokens).await;
        }
        self.forward(tokens, Logits::Last)
    }

    /// [`Session::eval`] returning only what a sampler `needs` of the last token's logits:
    /// on the GPU that is all that is read back (8 bytes for the argmax, `4 + 8k` for the top
    /// k) instead of the vocabulary's logits.
    pub fn eval_for(&mut self, tokens: &[u32], needs: Needs) -> Result<NextLogits> {
        #[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
        if self.gpu.is_some() {
            return crate::gpu::block_on(self.eval_for_async(tokens, needs));
        }
        let _ = needs;
        self.eval(tokens).map(NextLogits::Full)
    }

    /// [`Session::eval_for`] with the forward pass awaited (GPU sessions on wasm32).
    pub async fn eval_for_async(&mut self, tokens: &[u32], needs: Needs) -> Result<NextLogits> {
        #[cfg(feature = "gpu")]
        if self.gpu.is_some() {
            use crate::gpu::{GpuOutput, GpuResult, MAX_TOP_K};
            let n_vocab = self.model.config().n_vocab;
            let (out, gather) = match needs {
                Needs::Argmax => (GpuOutput::Argmax, Vec::new()),
                Needs::TopK { k, extra }
                    if k >= 1
                        && k + extra.len() <= MAX_TOP_K
                        && extra.iter().all(|&id| (id as usize) < n_vocab) =>
                {
                    (GpuOutput::TopK(k + extra.len()), extra)
                }
                _ => (GpuOutput::Logits, Vec::new()),
            };
            return match self.forward_gpu(tokens, out, &gather).await? {
                (GpuResult::Argmax { token, .. }, _) if (token as usize) < n_vocab => {
                    Ok(NextLogits::Argmax(token))
                }
                (GpuResult::TopK(top), values) if !top.is_empty() => Ok(NextLogits::TopK {
                    top,
                    extra: gather.into_iter().zip(values).collect(),
                }),
                (GpuResult::Logits(l), _) => Ok(NextLogits::Full(l)),
                // No finite logit: the sampler's rules on the whole vocabulary decide.
                _ => self.last_gpu_logits().await.map(NextLogits::Full),
            };
        }
        let _ = needs;
        self.eval_async(tokens).await.map(NextLogits::Full)
    }

    /// The last evaluated token's logits, read again from the GPU.
    #[cfg(feature = "gpu")]
    async fn last_gpu_logits(&mut self) -> Result<Vec<f32>> {
        match &mut self.gpu {
            Some(g) => Ok(g.last_logits().await?),
            None => Err(crate::gpu::GpuError::Input("the session is not on the GPU".into()).into()),
        }
    }

    /// Bytes read back from the GPU by this session (0 on the CPU): a decode step reads the
    /// vocabulary's logits only when the sampler needs them.
    pub fn gpu_readback_bytes(&self) -> u64 {
        #[cfg(feature = "gpu")]
        if let Some(g) = &self.gpu {
            return g.readback_bytes();
        }
        0
    }

    /// Evaluates `tokens` and returns logits for every one of them (`n_vocab` each).
    pub fn eval_all(&mut self, tokens: &[u32]) -> Result<Vec<f32>> {
        self.forward(tokens, Logits::All)
    }

    fn truncate_cache(&mut self, len: usize) {
        self.cache.truncate(len);
        #[cfg(feature = "gpu")]
        if let Some(g) = &mut self.gpu {
            g.truncate(len);
        }
    }

    fn forward(&mut self, tokens: &[u32], which: Logits) -> Result<Vec<f32>> {
        #[cfg(feature = "gpu")]
        if self.gpu.is_some() {
            if which != Logits::Last {
                return Err(crate::gpu::GpuError::Unsupported(
                    "logits of every position (only the last token's)".into(),
                )
                .into());
            }
            #[cfg(not(target_arch = "wasm32"))]
            return crate::gpu::block_on(self.forward_gpu_logits(tokens));
            #[cfg(target_arch = "wasm32")]
            return Err(crate::gpu::GpuError::Unsupported(
                "blocking on the GPU in wasm (use the async calls)".into(),
            )
            .into());
        }
        self.forward_cpu(tokens, which)
    }

    /// One forward pass on the GPU reading back the last token's logits.
    #[cfg(feature = "gpu")]
    async fn forward_gpu_logits(&mut self, tokens: &[u32]) -> Result<Vec<f32>> {
        Ok(self
            .forward_gpu(tokens, crate::gpu::GpuOutput::Logits, &[])
            .await?
            .0
            .logits())
    }

    /// One forward pass on the GPU reading back `out` and the logits of the `gather` tokens.
    /// A lost device moves the session to the CPU when [`Session::set_cpu_fallback`] is on
    /// (the result is then the logits).
    #[cfg(feature = "gpu")]
    async fn forward_gpu(
        &mut self,
        tokens: &[u32],
        out: crate::gpu::GpuOutput,
        gather: &[u32],
    ) -> Result<(crate::gpu::GpuResult, Vec<f32>)> {
        let Some(g) = &mut self.gpu else {
            return self
                .forward_cpu(tokens, Logits::Last)
                .map(|l| (crate::gpu::GpuResult::Logits(l), Vec::new()));
        };
        // A partial offload: the GPU's blocks give hidden states, the CPU runs the rest (with
        // their KV cache) and the LM head, so the result is the logits whatever `out` asked.
        let first_on_cpu = g.gpu_layers();
        let (out, gather) = if g.is_whole() {
            (out, gather)
        } else {
            (crate::gpu::GpuOutput::Hidden, &[][..])
        };
        match g.forward_gather(tokens, out, gather).await {
            Ok((crate::gpu::GpuResult::Hidden(hidden), _)) => {
                let logits = self.model.decoder().forward_from_hidden(
                    first_on_cpu,
                    &mut self.cache,
                    &hidden,
                    Logits::Last,
                    &mut self.scratch,
                );
                match logits {
                    Ok(l) => {
                        self.history.extend_from_slice(tokens);
                        Ok((crate::gpu::GpuResult::Logits(l), Vec::new()))
                    }
                    Err(e) => {
                        self.truncate_cache(self.history.len());
                        Err(e.into())
                    }
                }
            }
            Ok(r) => {
                self.history.extend_from_slice(tokens);
                Ok(r)
            }
            Err(e) => {
                g.truncate(self.history.len());
                // A failed readback is a lost device too: WebGPU rejects the pending map
                // before the device's `lost` promise resolves, and a map fails otherwise only
                // on misuse, which the kernels' validation scopes report first.
                let lost = matches!(
                    e,
                    crate::gpu::GpuError::DeviceLost(_) | crate::gpu::GpuError::Map(_)
                ) || g.device_lost();
                let e = match e {
                    crate::gpu::GpuError::Map(m) if lost => crate::gpu::GpuError::DeviceLost(m),
                    e => e,
                };
                if !(lost && self.cpu_fallback) {
                    return Err(e.into());
                }
                self.gpu = None;
                self.move_to_cpu(tokens)
                    .map(|l| (crate::gpu::GpuResult::Logits(l), Vec::new()))
            }
        }
    }

    /// After a lost device: rebuilds the KV cache on the CPU from the history, then
    /// evaluates `tokens` there.
    #[cfg(feature = "gpu")]
    fn move_to_cpu(&mut self, tokens: &[u32]) -> Result<Vec<f32>> {
        let history = std::mem::take(&mut self.history);
        self.cache.truncate(0);
        for chunk in history.chunks(PREFILL_BATCH) {
            self.forward_cpu(chunk, Logits::Last)?;
        }
        self.forward_cpu(tokens, Logits::Last)
    }

    fn forward_cpu(&mut self, tokens: &[u32], which: Logits) -> Result<Vec<f32>> {
        let out = self
            .model
            .decoder()
            .forward(&mut self.cache, tokens, which, &mut self.scratch);
        match out {
            Ok(l) => {
                self.history.extend_from_slice(tokens);
                Ok(l)
            }
            Err(e) => {
                // A failed batch may have written part of its keys: drop them.
                self.truncate_cache(self.history.len());
                Err(e.into())
            }
        }
    }
}
