//! The engine bindings: streaming model loading ([`ModelLoader`]), a loaded
//! model ([`WasmModel`]) and sessions with a step-by-step generation API
//! ([`WasmSession`]).
//!
//! Options come from JS as camelCase objects (the serde shape of
//! [`GenerateOptions`]); results go back as camelCase objects. Every failure is
//! a JS `Error` with a stable `code`; inputs are never unwrapped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hearth_core::chat_template::ChatMessage;
use hearth_core::engine::{EngineConfigJs, TimingsJs};
use hearth_core::gguf::ModelSummary;
use hearth_core::{
    FinishReason, GenerateOptions, Generation, GenerationResult, Model, ModelBytes, Session,
    TokenEvent,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use wasm_bindgen::prelude::*;

use crate::{core_error, js_error, to_js};

/// Largest model accepted: wasm32 addresses 4 GiB, and the KV cache, scratch
/// buffers and the tokenizer need room next to the weights.
pub const MAX_MODEL_BYTES: f64 = 3.5 * 1024.0 * 1024.0 * 1024.0;

/// Codes raised by the bindings themselves (engine errors keep their own).
mod code {
    pub const TOO_LARGE: &str = "MODEL_TOO_LARGE";
    pub const ALLOC: &str = "MODEL_ALLOC_FAILED";
    pub const SIZE_MISMATCH: &str = "MODEL_SIZE_MISMATCH";
    pub const SHA256_MISMATCH: &str = "SHA256_MISMATCH";
    pub const INVALID_OPTION: &str = "INVALID_OPTION";
    pub const INVALID_ARGUMENT: &str = "HEARTH_INVALID_ARGUMENT";
    pub const LOADER_FINISHED: &str = "MODEL_LOADER_FINISHED";
}

/// Receives a model file chunk by chunk into one buffer allocated up front
/// from the known size, then builds the model from it without another copy.
#[wasm_bindgen]
#[derive(Debug)]
pub struct ModelLoader {
    buf: Vec<u8>,
    total: usize,
    hasher: Option<Sha256>,
    finished: bool,
}

#[wasm_bindgen]
impl ModelLoader {
    /// Reserves `total` bytes. `sha256`: also hash the bytes as they arrive
    /// (for [`ModelLoader::verify_sha256`]).
    ///
    /// Throws `MODEL_TOO_LARGE` above 3.5 GiB and `MODEL_ALLOC_FAILED` when
    /// the memory cannot be had.
    #[wasm_bindgen(constructor)]
    pub fn new(total: f64, sha256: Option<bool>) -> Result<ModelLoader, JsValue> {
        if !(total.is_finite() && total >= 0.0 && total.fract() == 0.0) {
            return Err(js_error(
                code::INVALID_ARGUMENT,
                &format!("model size must be a whole number of bytes, got {total}"),
            ));
        }
        if total > MAX_MODEL_BYTES || total > usize::MAX as f64 {
            return Err(js_error(
                code::TOO_LARGE,
                &format!(
                    "the model has {:.2} GiB; WebAssembly (wasm32) can hold at most {:.1} GiB",
                    total / (1u64 << 30) as f64,
                    MAX_MODEL_BYTES / (1u64 << 30) as f64
                ),
            ));
        }
        let total = total as usize;
        let mut buf = Vec::new();
        buf.try_reserve_exact(total).map_err(|e| {
            js_error(
                code::ALLOC,
                &format!("cannot allocate {total} bytes for the model: {e}"),
            )
        })?;
        Ok(ModelLoader {
            buf,
            total,
            hasher: sha256.unwrap_or(false).then(Sha256::new),
            finished: false,
        })
    }

    /// Appends a chunk, copying it straight from JS into the model buffer.
    pub fn push(&mut self, chunk: &js_sys::Uint8Array) -> Result<(), JsValue> {
        self.check_open()?;
        let n = chunk.length() as usize;
        let at = self.buf.len();
        if n > self.total - at {
            return Err(js_error(
                code::SIZE_MISMATCH,
                &format!(
                    "received more than the announced {} bytes ({} + {n})",
                    self.total, at
                ),
            ));
        }
        // Within the reserved capacity: no reallocation, no second copy.
        self.buf.resize(at + n, 0);
        let dst = &mut self.buf[at..];
        chunk.copy_to(dst);
        if let Some(h) = &mut self.hasher {
            h.update(&*dst);
        }
        Ok(())
    }

    /// Bytes received so far.
    #[wasm_bindgen(getter)]
    pub fn loaded(&self) -> f64 {
        self.buf.len() as f64
    }

    /// The announced size.
    #[wasm_bindgen(getter)]
    pub fn total(&self) -> f64 {
        self.total as f64
    }

    /// Checks the SHA-256 of the bytes received against `expected` (hex, any
    /// case). Throws `SHA256_MISMATCH`, or `HEARTH_INVALID_ARGUMENT` when the
    /// loader was not created with hashing on.
    #[wasm_bindgen(js_name = verifySha256)]
    pub fn verify_sha256(&mut self, expected: &str) -> Result<(), JsValue> {
        self.check_open()?;
        let hasher = self.hasher.take().ok_or_else(|| {
            js_error(
                code::INVALID_ARGUMENT,
                "the loader was created without SHA-256 hashing",
            )
        })?;
        let actual: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if actual.eq_ignore_ascii_case(expected.trim()) {
            Ok(())
        } else {
            Err(js_error(
                code::SHA256_MISMATCH,
                &format!("the model's SHA-256 is {actual}, expected {expected}"),
            ))
        }
    }

    /// Parses the complete buffer and builds the model (the buffer becomes the
    /// model's weights in place). The loader cannot be used afterwards.
    pub fn finish(&mut self) -> Result<WasmModel, JsValue> {
        self.check_open()?;
        if self.buf.len() != self.total {
            return Err(js_error(
                code::SIZE_MISMATCH,
                &format!(
                    "received {} of the announced {} bytes",
                    self.buf.len(),
                    self.total
                ),
            ));
        }
        self.finished = true;
        let bytes = ModelBytes::from_vec(std::mem::take(&mut self.buf));
        let model = Model::load(bytes).map_err(core_error)?;
        Ok(WasmModel { model })
    }

    fn check_open(&self) -> Result<(), JsValue> {
        if self.finished {
            Err(js_error(
                code::LOADER_FINISHED,
                "this loader has already built its model",
            ))
        } else {
            Ok(())
        }
    }
}

#[derive(Serialize)]
struct ModelInfo<'a> {
    summary: &'a ModelSummary,
    config: EngineConfigJs,
}

/// A loaded model: weights, tokenizer, chat template. Sessions share it.
#[wasm_bindgen]
#[derive(Debug)]
pub struct WasmModel {
    model: Arc<Model>,
}

impl WasmModel {
    /// The engine's model (for the WebGPU engine in `gpu.rs`).
    #[cfg(feature = "gpu")]
    pub(crate) fn model(&self) -> &Arc<Model> {
        &self.model
    }
}

#[wasm_bindgen]
impl WasmModel {
    /// `{ summary, config }`: the `hearth info --json` summary (snake_case
    /// keys) and the engine's view of the model (camelCase keys).
    pub fn info(&self) -> Result<JsValue, JsValue> {
        let m = &self.model;
        to_js(&ModelInfo {
            summary: m.summary(),
            config: EngineConfigJs::from_model(m),
        })
    }

    /// Tokenizes `text`. `addSpecial`: add BOS/EOS as the model declares;
    /// `parseSpecial`: control-token text like `<|im_start|>` becomes that token.
    pub fn tokenize(
        &self,
        text: &str,
        #[wasm_bindgen(js_name = addSpecial)] add_special: bool,
        #[wasm_bindgen(js_name = parseSpecial)] parse_special: bool,
    ) -> Result<Vec<u32>, JsValue> {
        self.model
            .tokenize(text, add_special, parse_special)
            .map_err(core_error)
    }

    /// Turns token ids back into text; special tokens are rendered unless
    /// `skipSpecial`. Throws `TOKENIZER_ERROR` for ids outside the vocabulary.
    pub fn detokenize(
        &self,
        ids: &[u32],
        #[wasm_bindgen(js_name = skipSpecial)] skip_special: Option<bool>,
    ) -> Result<String, JsValue> {
        self.model
            .detokenize(ids, skip_special.unwrap_or(false))
            .map_err(core_error)
    }

    /// Renders `messages` (`[{ role, content }]`) with the model's chat template.
    #[wasm_bindgen(js_name = applyChatTemplate)]
    pub fn apply_chat_template(
        &self,
        messages: JsValue,
        #[wasm_bindgen(js_name = addGenerationPrompt)] add_generation_prompt: bool,
    ) -> Result<String, JsValue> {
        let messages = parse_messages(messages)?;
        self.model
            .apply_chat_template(&messages, add_generation_prompt)
            .map_err(core_error)
    }

    /// The prompt tokens of a chat (template, generation prompt, BOS as needed).
    #[wasm_bindgen(js_name = tokenizeChat)]
    pub fn tokenize_chat(&self, messages: JsValue) -> Result<Vec<u32>, JsValue> {
        let messages = parse_messages(messages)?;
        self.model.tokenize_chat(&messages).map_err(core_error)
    }

    /// A session (KV cache) for `nCtx` tokens; 0 means the model's training context.
    #[wasm_bindgen(js_name = createSession)]
    pub fn create_session(
        &self,
        #[wasm_bindgen(js_name = nCtx)] n_ctx: u32,
    ) -> Result<WasmSession, JsValue> {
        let session = Session::new(self.model.clone(), n_ctx as usize).map_err(core_error)?;
        Ok(WasmSession {
            model: self.model.clone(),
            state: State::Idle(Box::new(session)),
            cancel: Arc::new(AtomicBool::new(false)),
        })
    }
}

/// A session is either waiting or running a generation that owns it.
#[derive(Debug)]
pub(crate) enum State {
    Idle(Box<Session>),
    Running(Box<Generation<'static, Box<Session>>>),
    /// Only while switching between the two.
    Moving,
}

/// A conversation state (KV cache) with a step-by-step generation API:
/// `start`/`startChat`, then `next()` until it returns `undefined`, then
/// `result()`. The KV cache keeps the prompt and output, so a following
/// prompt that extends them (the next chat turn) only evaluates what is new.
#[wasm_bindgen]
#[derive(Debug)]
pub struct WasmSession {
    model: Arc<Model>,
    state: State,
    cancel: Arc<AtomicBool>,
}

/// `{ token, text }` for JS (`token` is `null` on the final flush event).
#[derive(Serialize)]
struct JsTokenEvent<'a> {
    token: Option<u32>,
    text: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsResult<'a> {
    text: &'a str,
    tokens: &'a [u32],
    prompt_tokens: &'a [u32],
    finish_reason: FinishReason,
    timings: TimingsJs,
}

pub(crate) fn result_to_js(r: &GenerationResult) -> Result<JsValue, JsValue> {
    to_js(&JsResult {
        text: &r.text,
        tokens: &r.tokens,
        prompt_tokens: &r.prompt_tokens,
        finish_reason: r.finish_reason,
        timings: TimingsJs::from(&r.timings),
    })
}

pub(crate) fn event_to_js(ev: &TokenEvent) -> Result<JsValue, JsValue> {
    to_js(&JsTokenEvent {
        token: ev.token,
        text: &ev.text,
    })
}

#[wasm_bindgen]
impl WasmSession {
    /// Starts generating after `prompt` (token ids). `options`: a
    /// `GenerateOptions` object (`{ maxTokens, stop, ignoreEos, renderSpecial,
    /// sampling: { temperature, topK, topP, minP, repeatPenalty, seed, … } }`),
    /// missing keys take their defaults. A generation still running is ended first.
    pub fn start(&mut self, prompt: &[u32], options: JsValue) -> Result<(), JsValue> {
        let opts = parse_options(options)?;
        self.start_tokens(prompt, opts)
    }

    /// Starts a chat turn: renders `messages` with the chat template and
    /// generates the assistant's reply, reusing the cached prefix of earlier turns.
    #[wasm_bindgen(js_name = startChat)]
    pub fn start_chat(&mut self, messages: JsValue, options: JsValue) -> Result<(), JsValue> {
        let messages = parse_messages(messages)?;
        let opts = parse_options(options)?;
        let prompt = self.model.tokenize_chat(&messages).map_err(core_error)?;
        self.start_tokens(&prompt, opts)
    }

    /// The next `{ token, text }` event, or `undefined` once the generation has
    /// ended (or none is running). Throws on engine errors; the generation then ends.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<JsValue, JsValue> {
        let State::Running(generation) = &mut self.state else {
            return Ok(JsValue::UNDEFINED);
        };
        match generation.next() {
            None => Ok(JsValue::UNDEFINED),
            Some(Ok(ev)) => event_to_js(&ev),
            Some(Err(e)) => Err(core_error(e)),
        }
    }

    /// Asks the running generation to stop before its next token; `next()`
    /// then ends it with finish reason `cancelled`.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Ends the generation and returns `{ text, tokens, promptTokens,
    /// finishReason, timings }`. Before `next()` returned `undefined` the
    /// result is partial (finish reason `cancelled`). Throws
    /// `HEARTH_INVALID_ARGUMENT` when no generation was started.
    pub fn result(&mut self) -> Result<JsValue, JsValue> {
        let State::Running(generation) = &self.state else {
            return Err(js_error(
                code::INVALID_ARGUMENT,
                "no generation to take a result from: call start() first",
            ));
        };
        let result = generation.result();
        self.end();
        result_to_js(&result)
    }

    /// Runs a whole generation synchronously, calling `onToken({ token, text })`
    /// for each event, and returns the result (see `result()`). `onToken`
    /// returning `false` cancels.
    pub fn generate(
        &mut self,
        prompt: &[u32],
        options: JsValue,
        #[wasm_bindgen(js_name = onToken)] on_token: Option<js_sys::Function>,
    ) -> Result<JsValue, JsValue> {
        self.start(prompt, options)?;
        self.drain(on_token.as_ref())
    }

    /// `startChat` and run to the end, like `generate`.
    pub fn chat(
        &mut self,
        messages: JsValue,
        options: JsValue,
        #[wasm_bindgen(js_name = onToken)] on_token: Option<js_sys::Function>,
    ) -> Result<JsValue, JsValue> {
        self.start_chat(messages, options)?;
        self.drain(on_token.as_ref())
    }

    /// Forgets the conversation (empties the KV cache); ends a running generation.
    pub fn reset(&mut self) {
        self.end();
        if let State::Idle(s) = &mut self.state {
            s.reset();
        }
    }

    /// Whether a generation is running (started and its result not taken).
    #[wasm_bindgen(getter)]
    pub fn running(&self) -> bool {
        matches!(self.state, State::Running(_))
    }

    /// Context capacity in tokens.
    #[wasm_bindgen(getter, js_name = nCtx)]
    pub fn n_ctx(&self) -> usize {
        match &self.state {
            State::Idle(s) => s.n_ctx(),
            State::Running(g) => g.session().n_ctx(),
            State::Moving => 0,
        }
    }
}

impl WasmSession {
    fn start_tokens(&mut self, prompt: &[u32], opts: GenerateOptions) -> Result<(), JsValue> {
        self.end();
        let State::Idle(session) = std::mem::replace(&mut self.state, State::Moving) else {
            // `end` always leaves the session idle; recover rather than trap.
            return Err(js_error("HEARTH_INTERNAL", "session state lost"));
        };
        self.cancel = Arc::new(AtomicBool::new(false));
        match Generation::start(session, prompt, opts) {
            Ok(g) => {
                self.state = State::Running(Box::new(g.with_cancel(self.cancel.clone())));
                Ok(())
            }
            Err((e, session)) => {
                self.state = State::Idle(session);
                Err(core_error(e))
            }
        }
    }

    /// Takes the session back from a running generation.
    fn end(&mut self) {
        if matches!(self.state, State::Running(_))
            && let State::Running(g) = std::mem::replace(&mut self.state, State::Moving)
        {
            self.state = State::Idle(g.into_session());
        }
    }

    fn drain(&mut self, on_token: Option<&js_sys::Function>) -> Result<JsValue, JsValue> {
        loop {
            let ev = match self.next() {
                Ok(ev) => ev,
                Err(e) => {
                    self.end();
                    return Err(e);
                }
            };
            if ev.is_undefined() {
                break;
            }
            if let Some(f) = on_token {
                match f.call1(&JsValue::NULL, &ev) {
                    Ok(v) if v == JsValue::FALSE => self.cancel(),
                    Ok(_) => {}
                    Err(e) => {
                        self.end();
                        return Err(e);
                    }
                }
            }
        }
        self.result()
    }
}

pub(crate) fn parse_options(options: JsValue) -> Result<GenerateOptions, JsValue> {
    if options.is_undefined() || options.is_null() {
        return Ok(GenerateOptions::default());
    }
    serde_wasm_bindgen::from_value(options).map_err(|e| {
        js_error(
            code::INVALID_OPTION,
            &format!("invalid generate options: {e}"),
        )
    })
}

pub(crate) fn parse_messages(messages: JsValue) -> Result<Vec<ChatMessage>, JsValue> {
    serde_wasm_bindgen::from_value(messages).map_err(|e| {
        js_error(
            code::INVALID_ARGUMENT,
            &format!("messages must be an array of {{ role, content }} strings: {e}"),
        )
    })
}
