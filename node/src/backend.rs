//! The two engines behind one interface: hearth-core (default) and llama.cpp.
//!
//! Both share the parts that are not the forward pass: options
//! ([`GenerateOptions`]), sampling ([`Sampler`]), stop strings
//! ([`StopMatcher`]), streaming-safe UTF-8 ([`StreamDecoder`]), chat templates
//! (hearth-core's renderer) and the error codes. The llama.cpp backend
//! tokenizes with llama.cpp's own tokenizer (the one its weights were trained
//! with in llama.cpp's view), and renders chat templates with hearth-core.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hearth_core::chat_template::{ChatMessage, ChatTemplate};
use hearth_core::engine::{EngineConfigJs, StopMatcher, StopOutcome, Timings};
use hearth_core::gguf::{Gguf, ModelSummary};
use hearth_core::gpu::{self, DeviceReport, GpuContext, GpuOptions};
use hearth_core::model::{ModelConfig, ModelError};
use hearth_core::sampling::Sampler;
use hearth_core::tokenizer::{StreamDecoder, Tokenizer};
use hearth_core::{
    Error, FinishReason, GenerateOptions, GenerationResult, KvType, Model, ModelBytes, Session,
    Timer, TokenEvent,
};
use hearth_llama_cpp as llama;
use serde::Serialize;

use crate::Placement;
use crate::error::{Failure, Outcome, code};

/// Which engine runs the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    Hearth,
    LlamaCpp,
}

impl BackendKind {
    pub fn parse(name: Option<&str>) -> Outcome<BackendKind> {
        match name {
            None | Some("hearth") => Ok(BackendKind::Hearth),
            Some("llama.cpp") => Ok(BackendKind::LlamaCpp),
            Some(other) => Err(Failure::new(
                code::INVALID_OPTION,
                format!("invalid option backend: {other:?} (expected 'hearth' or 'llama.cpp')"),
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Hearth => "hearth",
            BackendKind::LlamaCpp => "llama.cpp",
        }
    }
}

/// `{ summary, config, backend }`.
#[derive(Serialize)]
pub struct ModelInfo<'a> {
    summary: &'a ModelSummary,
    config: EngineConfigJs,
    backend: &'static str,
}

fn engine_config(
    c: Option<&ModelConfig>,
    summary: &ModelSummary,
    tok: Option<&Tokenizer>,
    has_template: bool,
    load_ms: f64,
) -> EngineConfigJs {
    let s = |v: Option<u64>| v.unwrap_or(0) as usize;
    match (c, tok) {
        (Some(c), Some(tok)) => EngineConfigJs::new(c, tok, has_template, load_ms),
        _ => EngineConfigJs {
            architecture: summary.architecture.clone().unwrap_or_default(),
            n_vocab: summary.vocab_size as usize,
            n_embd: s(summary.embedding_length),
            n_layer: s(summary.block_count),
            n_head: s(summary.head_count),
            n_head_kv: s(summary.head_count_kv.or(summary.head_count)),
            head_dim: match (summary.embedding_length, summary.head_count) {
                (Some(e), Some(h)) if h > 0 => (e / h) as usize,
                _ => 0,
            },
            n_ff: 0,
            n_ctx_train: s(summary.context_length),
            sliding_window: None,
            bos_token_id: summary.tokenizer.bos_token_id.map(|v| v as u32),
            eos_token_id: summary.tokenizer.eos_token_id.map(|v| v as u32),
            has_chat_template: has_template,
            load_ms,
        },
    }
}

/// A loaded model of either backend.
#[derive(Debug)]
pub enum Backend {
    Hearth(Arc<Model>),
    Llama(Arc<LlamaModel>),
}

/// A model run by llama.cpp, with hearth-core's parse of its header for
/// `info()` and chat templates.
#[derive(Debug)]
pub struct LlamaModel {
    model: llama::Model,
    summary: ModelSummary,
    config: Option<ModelConfig>,
    tokenizer: Option<Tokenizer>,
    template: Option<ChatTemplate>,
    load_ms: f64,
}

/// Drops the message of a hearth error, keeping the failure.
fn io_failure(path: &Path, e: std::io::Error) -> Failure {
    Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
    .into()
}

impl Backend {
    /// Loads (memory-maps) a GGUF file.
    pub fn load_file(path: &Path, kind: BackendKind) -> Outcome<Backend> {
        match kind {
            BackendKind::Hearth => Ok(Backend::Hearth(Model::load_file(path)?)),
            BackendKind::LlamaCpp => {
                let timer = Timer::start();
                // Parse the header with hearth-core first: malformed files get the same
                // GGUF_* codes as with the Hearth engine, and llama.cpp never sees them.
                let bytes = ModelBytes::map_file(path).map_err(|e| io_failure(path, e))?;
                let gguf = Gguf::parse(&bytes).map_err(Error::from)?;
                let summary = ModelSummary::from_gguf(&gguf);
                let config = ModelConfig::from_gguf(&gguf).ok();
                let tokenizer = Tokenizer::from_gguf(&gguf).ok();
                let template = tokenizer
                    .as_ref()
                    .and_then(|t| ChatTemplate::from_gguf(&gguf, t).ok());
                drop(gguf);
                drop(bytes);
                let model = llama::Model::load(path)?;
                Ok(Backend::Llama(Arc::new(LlamaModel {
                    model,
                    summary,
                    config,
                    tokenizer,
                    template,
                    load_ms: timer.ms(),
                })))
            }
        }
    }

    /// Loads a model from bytes in memory (Hearth engine only: llama.cpp reads files).
    pub fn load_bytes(bytes: Vec<u8>) -> Outcome<Backend> {
        Ok(Backend::Hearth(Model::load(ModelBytes::from_vec(bytes))?))
    }

    pub fn kind(&self) -> BackendKind {
        match self {
            Backend::Hearth(_) => BackendKind::Hearth,
            Backend::Llama(_) => BackendKind::LlamaCpp,
        }
    }

    pub fn info(&self) -> Outcome<serde_json::Value> {
        let info = match self {
            Backend::Hearth(m) => ModelInfo {
                summary: m.summary(),
                config: engine_config(
                    Some(m.config()),
                    m.summary(),
                    Some(m.tokenizer()),
                    m.chat_template().is_some(),
                    m.load_ms(),
                ),
                backend: "hearth",
            },
            Backend::Llama(m) => ModelInfo {
                summary: &m.summary,
                config: engine_config(
                    m.config.as_ref(),
                    &m.summary,
                    m.tokenizer.as_ref(),
                    m.template.is_some(),
                    m.load_ms,
                ),
                backend: "llama.cpp",
            },
        };
        serde_json::to_value(&info)
            .map_err(|e| Failure::new(code::INTERNAL, format!("cannot serialize info: {e}")))
    }

    pub fn tokenize(
        &self,
        text: &str,
        add_special: bool,
        parse_special: bool,
    ) -> Outcome<Vec<u32>> {
        match self {
            Backend::Hearth(m) => Ok(m.tokenize(text, add_special, parse_special)?),
            Backend::Llama(m) => m.tokenize(text, add_special, parse_special),
        }
    }

    pub fn detokenize(&self, ids: &[u32], skip_special: bool) -> Outcome<String> {
        match self {
            Backend::Hearth(m) => Ok(m.detokenize(ids, skip_special)?),
            Backend::Llama(m) => {
                let mut bytes = Vec::new();
                for &id in ids {
                    m.check_token(id)
                        .map_err(|e| Failure::new(code::TOKENIZER_ERROR, e.message))?;
                    bytes.extend(m.model.token_to_piece(id as i32, !skip_special));
                }
                Ok(String::from_utf8_lossy(&bytes).into_owned())
            }
        }
    }

    pub fn apply_chat_template(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
    ) -> Outcome<String> {
        match self {
            Backend::Hearth(m) => Ok(m.apply_chat_template(messages, add_generation_prompt)?),
            Backend::Llama(m) => {
                let t = m.template.as_ref().ok_or(Error::NoChatTemplate)?;
                Ok(t.render(messages, add_generation_prompt, None)
                    .map_err(Error::from)?)
            }
        }
    }

    /// The prompt tokens of a chat (template, generation prompt, BOS as the model declares).
    pub fn tokenize_chat(&self, messages: &[ChatMessage]) -> Outcome<Vec<u32>> {
        match self {
            Backend::Hearth(m) => Ok(m.tokenize_chat(messages)?),
            Backend::Llama(m) => {
                let text = self.apply_chat_template(messages, true)?;
                let bos_in_text = m
                    .tokenizer
                    .as_ref()
                    .and_then(|t| t.bos().and_then(|b| t.token_text(b)))
                    .is_some_and(|b| !b.is_empty() && text.starts_with(b));
                m.tokenize(&text, !bos_in_text, true)
            }
        }
    }

    /// A session for `n_ctx` tokens (0: the model's training context), on the device
    /// `placement` picks (hearth-core's `gpu::open_session`, as the CLI's `--backend`),
    /// and where it runs. llama.cpp sessions run on the CPU.
    pub fn create_session(
        &self,
        n_ctx: usize,
        placement: Placement,
    ) -> Outcome<(Box<dyn EngineSession>, DeviceReport)> {
        match self {
            Backend::Hearth(m) => {
                let (mut session, report) = gpu::open_session(
                    m,
                    placement.device,
                    placement.choice,
                    GpuOptions::default(),
                    n_ctx,
                    KvType::F16,
                )?;
                session.set_cpu_fallback(placement.cpu_fallback);
                Ok((Box::new(HearthSession(session)), report))
            }
            Backend::Llama(m) => Ok((
                Box::new(LlamaSession::new(m.clone(), n_ctx)?),
                DeviceReport::cpu(None),
            )),
        }
    }
}

impl LlamaModel {
    fn n_vocab(&self) -> usize {
        self.model.n_vocab()
    }

    fn check_token(&self, id: u32) -> Outcome<()> {
        if (id as usize) < self.n_vocab() {
            Ok(())
        } else {
            Err(Error::from(ModelError::TokenOutOfRange {
                token: id,
                n_vocab: self.n_vocab(),
            })
            .into())
        }
    }

    fn tokenize(&self, text: &str, add_special: bool, parse_special: bool) -> Outcome<Vec<u32>> {
        Ok(self
            .model
            .tokenize(text, add_special, parse_special)?
            .into_iter()
            .map(|t| t as u32)
            .collect())
    }
}

/// One conversation (KV cache) in either backend.
pub trait EngineSession: Send + std::fmt::Debug {
    /// Context capacity in tokens.
    fn n_ctx(&self) -> usize;
    /// Empties the KV cache.
    fn reset(&mut self);
    /// How many of the model's blocks run on the GPU (0 on the CPU).
    fn gpu_layers(&self) -> usize {
        0
    }
    /// The GPU device the session runs on, if any.
    fn gpu_context(&self) -> Option<GpuContext> {
        None
    }
    /// Evaluates `prompt` (reusing the cached prefix) and generates, calling
    /// `emit` for every event; stops between tokens once `cancel` is set.
    fn generate(
        &mut self,
        prompt: &[u32],
        opts: GenerateOptions,
        cancel: Arc<AtomicBool>,
        emit: &mut dyn FnMut(TokenEvent),
    ) -> Outcome<GenerationResult>;
}

#[derive(Debug)]
struct HearthSession(Session);

impl EngineSession for HearthSession {
    fn n_ctx(&self) -> usize {
        self.0.n_ctx()
    }

    fn gpu_layers(&self) -> usize {
        self.0.gpu_layers()
    }

    fn gpu_context(&self) -> Option<GpuContext> {
        self.0.gpu_context().cloned()
    }

    fn reset(&mut self) {
        self.0.reset();
    }

    fn generate(
        &mut self,
        prompt: &[u32],
        opts: GenerateOptions,
        cancel: Arc<AtomicBool>,
        emit: &mut dyn FnMut(TokenEvent),
    ) -> Outcome<GenerationResult> {
        let mut generation = self.0.generate(prompt, opts)?.with_cancel(cancel);
        for ev in generation.by_ref() {
            emit(ev?);
        }
        Ok(generation.result())
    }
}

/// A llama.cpp context that owns (a share of) its model.
struct OwnedContext {
    // Declared before `model`: dropped first, while the model it borrows is alive.
    ctx: llama::Context<'static>,
    model: Arc<LlamaModel>,
}

impl std::fmt::Debug for OwnedContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnedContext")
            .field("n_past", &self.ctx.n_past())
            .finish()
    }
}

impl OwnedContext {
    fn new(model: Arc<LlamaModel>, n_ctx: usize) -> Outcome<OwnedContext> {
        // SAFETY: the `Arc` keeps the model at a stable address for as long as this
        // struct lives, and `ctx` is dropped before `model` (field order).
        let m: &'static llama::Model = unsafe { &*std::ptr::from_ref(&model.model) };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let ctx = llama::Context::new(
            m,
            llama::ContextOptions {
                n_ctx: u32::try_from(n_ctx).map_err(|_| {
                    Failure::new(code::INVALID_OPTION, format!("context {n_ctx} too large"))
                })?,
                n_threads: threads.min(16) as i32,
                n_batch: PREFILL_BATCH as u32,
                flash_attn: None,
            },
        )?;
        Ok(OwnedContext { ctx, model })
    }
}

/// Prompt tokens per llama.cpp decode call (its batch size).
const PREFILL_BATCH: usize = 512;

#[derive(Debug)]
struct LlamaSession {
    ctx: OwnedContext,
    n_ctx: usize,
    history: Vec<u32>,
}

impl LlamaSession {
    fn new(model: Arc<LlamaModel>, n_ctx: usize) -> Outcome<LlamaSession> {
        let train = model.model.n_ctx_train();
        let n_ctx = if n_ctx == 0 { train } else { n_ctx };
        if n_ctx > train.max(1) * 4 {
            return Err(Error::InvalidOption {
                option: "context_length",
                message: format!(
                    "{n_ctx} is more than four times the model's training context {train}"
                ),
            }
            .into());
        }
        Ok(LlamaSession {
            ctx: OwnedContext::new(model, n_ctx)?,
            n_ctx,
            history: Vec::new(),
        })
    }

    fn eval(&mut self, tokens: &[u32]) -> Outcome<Vec<f32>> {
        let toks: Vec<i32> = tokens.iter().map(|&t| t as i32).collect();
        match self.ctx.ctx.eval(&toks) {
            Ok(l) => {
                self.history.extend_from_slice(tokens);
                Ok(l)
            }
            Err(e) => {
                // Forget whatever the failed batch may have left in the cache.
                let _ = self.ctx.ctx.truncate(self.history.len());
                Err(e.into())
            }
        }
    }

    /// Makes the cache hold `prompt`; returns the last logits and the reused prefix length.
    fn prefill(&mut self, prompt: &[u32]) -> Outcome<(Vec<f32>, usize)> {
        if prompt.is_empty() {
            return Err(Error::InvalidOption {
                option: "prompt",
                message: "the prompt has no tokens".into(),
            }
            .into());
        }
        for &t in prompt {
            self.ctx.model.check_token(t)?;
        }
        if prompt.len() > self.n_ctx {
            return Err(Error::PromptTooLong {
                prompt: prompt.len(),
                n_ctx: self.n_ctx,
            }
            .into());
        }
        let common = self
            .history
            .iter()
            .zip(prompt)
            .take_while(|(a, b)| a == b)
            .count();
        let keep = common.min(prompt.len() - 1);
        if self.ctx.ctx.truncate(keep).is_err() {
            self.ctx.ctx.clear();
            self.history.clear();
            return self.prefill_from(prompt, 0);
        }
        self.history.truncate(keep);
        self.prefill_from(prompt, keep)
    }

    fn prefill_from(&mut self, prompt: &[u32], keep: usize) -> Outcome<(Vec<f32>, usize)> {
        let mut logits = Vec::new();
        for chunk in prompt[keep..].chunks(PREFILL_BATCH) {
            logits = self.eval(chunk)?;
        }
        Ok((logits, keep))
    }
}

impl EngineSession for LlamaSession {
    fn n_ctx(&self) -> usize {
        self.n_ctx
    }

    fn reset(&mut self) {
        self.ctx.ctx.clear();
        self.history.clear();
    }

    /// The same loop as hearth-core's `Generation`, over llama.cpp's logits.
    fn generate(
        &mut self,
        prompt: &[u32],
        opts: GenerateOptions,
        cancel: Arc<AtomicBool>,
        emit: &mut dyn FnMut(TokenEvent),
    ) -> Outcome<GenerationResult> {
        let model = self.ctx.model.clone();
        opts.sampling
            .validate(model.n_vocab())
            .map_err(Error::from)?;
        if opts.max_tokens == 0 {
            return Err(Error::InvalidOption {
                option: "max_tokens",
                message: "must be at least 1".into(),
            }
            .into());
        }
        let started = Timer::start();
        let t_prompt = Timer::start();
        let (mut logits, reused) = self.prefill(prompt)?;
        let prompt_ms = t_prompt.ms();
        let mut timings = Timings {
            load_ms: model.load_ms,
            prompt_tokens: prompt.len(),
            reused_tokens: reused,
            prompt_ms,
            prefill_tok_s: if prompt_ms > 0.0 {
                (prompt.len() - reused) as f64 * 1e3 / prompt_ms
            } else {
                0.0
            },
            ..Timings::default()
        };
        let top_logits = top_k_logits(&logits, 10);
        let mut sampler = Sampler::new(opts.sampling.clone());
        let mut decoder = StreamDecoder::new(!opts.render_special);
        let mut stop = StopMatcher::new(&opts.stop);
        let mut tokens = Vec::new();
        let mut text = String::new();
        let mut first_token: Option<Timer> = None;
        let mut stopped_by_string = false;
        let finish = loop {
            if cancel.load(Ordering::Relaxed) {
                break FinishReason::Cancelled;
            }
            let tok = sampler.sample(&mut logits, &self.history);
            if !opts.ignore_eos && model.model.is_eog(tok as i32) {
                break FinishReason::Stop;
            }
            if first_token.is_none() {
                timings.ttft_ms = started.ms();
                first_token = Some(Timer::start());
            }
            tokens.push(tok);
            let piece =
                decoder.push_bytes(&model.model.token_to_piece(tok as i32, opts.render_special));
            match stop.push(&piece) {
                StopOutcome::Continue(t) => {
                    text.push_str(&t);
                    emit(TokenEvent {
                        token: Some(tok),
                        text: t,
                    });
                }
                StopOutcome::Stop(t) => {
                    text.push_str(&t);
                    emit(TokenEvent {
                        token: Some(tok),
                        text: t,
                    });
                    stopped_by_string = true;
                    break FinishReason::Stop;
                }
            }
            if tokens.len() >= opts.max_tokens {
                break FinishReason::Length;
            }
            if self.history.len() >= self.n_ctx {
                break FinishReason::ContextFull;
            }
            logits = self.eval(&[tok])?;
            if let Some(t) = first_token.filter(|_| tokens.len() > 1) {
                timings.decode_ms = t.ms();
                let n = (tokens.len() - 1) as f64;
                timings.decode_tok_s = if timings.decode_ms > 0.0 {
                    n * 1e3 / timings.decode_ms
                } else {
                    0.0
                };
            }
        };
        if !stopped_by_string {
            // Held-back bytes and text that never became a stop string are real output.
            let tail = decoder.finish();
            let rest = match stop.push(&tail) {
                StopOutcome::Stop(t) => t,
                StopOutcome::Continue(t) => t + &stop.flush(),
            };
            if !rest.is_empty() {
                text.push_str(&rest);
                emit(TokenEvent {
                    token: None,
                    text: rest,
                });
            }
        }
        timings.generated_tokens = tokens.len();
        Ok(GenerationResult {
            text,
            tokens,
            prompt_tokens: prompt.to_vec(),
            finish_reason: finish,
            top_logits,
            timings,
        })
    }
}

fn top_k_logits(logits: &[f32], k: usize) -> Vec<(u32, f32)> {
    let mut top: Vec<(u32, f32)> = Vec::with_capacity(k + 1);
    for (i, &l) in logits.iter().enumerate() {
        if top.len() < k || l > top[top.len() - 1].1 {
            let at = top.iter().position(|&(_, x)| l > x).unwrap_or(top.len());
            top.insert(at, (i as u32, l));
            top.truncate(k);
        }
    }
    top
}
