//! `hearth-node`: the Node.js native addon of Hearth (napi-rs).
//!
//! `loadModel(path, { backend })` memory-maps a GGUF file on a libuv worker
//! thread and resolves with a [`NativeModel`] run by the hearth-core engine
//! (default) or by llama.cpp. A [`NativeSession`] generates on a thread of its
//! own and streams `{ token, text }` events to a JS callback through a
//! threadsafe function, so the event loop never blocks; its promise settles
//! after the last event was delivered.
//!
//! Every failure is a JS `Error` with a stable `code` (the strings of
//! hearth-wasm: `hearth_core::Error::code()` plus this crate's own, see
//! [`error::code`]); panics are caught and become `HEARTH_INTERNAL`.

mod backend;
pub mod embed;
mod error;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use hearth_core::chat_template::ChatMessage;
use hearth_core::engine::TimingsJs;
use hearth_core::gpu::{Device, DeviceReport, GpuChoice, GpuContext};
use hearth_core::{FinishReason, GenerateOptions, GenerationResult, TokenEvent};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, sys};
use napi_derive::napi;
use serde::Serialize;

use crate::backend::{Backend, BackendKind, EngineSession};
use crate::error::{Failure, Outcome, code, guard, sync, to_js_value};

/// The version of this addon (and of hearth-core, which shares it).
#[napi]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Threads in the engine's pool: `RAYON_NUM_THREADS` when set before the first
/// generation, else every core (what `hearth run --json` reports as `threads`).
#[napi]
pub fn thread_count() -> u32 {
    u32::try_from(rayon::current_num_threads()).unwrap_or(u32::MAX)
}

/// Options of `loadModel` and `loadModelFromBytes`.
#[napi(object)]
#[derive(Debug, Default)]
pub struct LoadModelOptions {
    /// `'hearth'` (default) or `'llama.cpp'` (`loadModel` only).
    pub backend: Option<String>,
    /// Where hearth-core runs the model's sessions: `'auto'` (default: the GPU — Vulkan,
    /// Metal or DX12 through wgpu — when a hardware adapter exists and at least one block
    /// fits, else the CPU), `'cpu'`, or `'gpu'` (any adapter, software ones included; an
    /// error without one). llama.cpp runs on the CPU here: `'gpu'` is refused for it.
    pub device: Option<String>,
    /// `'auto'` also takes a software adapter (lavapipe, llvmpipe).
    pub allow_software_gpu: Option<bool>,
    /// Bytes of GPU memory the weights, KV cache and scratch may take: a model needing more
    /// runs as many of its first blocks as fit on the GPU, the rest on the CPU; when not one
    /// fits, `'auto'` runs on the CPU and `'gpu'` fails with `GPU_DOES_NOT_FIT`.
    pub gpu_max_memory_bytes: Option<f64>,
    /// How many of the model's first blocks run on the GPU (default: as many as fit).
    pub gpu_layers: Option<u32>,
    /// A GPU device lost during a generation: `'error'` (default) rejects it with
    /// `GPU_DEVICE_LOST`; `'cpu'` evaluates the conversation again on the CPU and goes on
    /// there (`session.device` then says `'cpu'`).
    pub on_device_lost: Option<String>,
}

/// Where a model's sessions run, chosen at load (see [`LoadModelOptions`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct Placement {
    pub device: Device,
    pub choice: GpuChoice,
    /// A lost device moves the session to the CPU (`onDeviceLost: 'cpu'`).
    pub cpu_fallback: bool,
}

impl Placement {
    fn parse(kind: BackendKind, o: Option<&LoadModelOptions>) -> Outcome<Placement> {
        let Some(o) = o else {
            return Ok(Placement::default());
        };
        let device = match o.device.as_deref() {
            None => Device::Auto,
            Some(name) => Device::parse(name)?,
        };
        if kind == BackendKind::LlamaCpp && device == Device::Gpu {
            return Err(Failure::new(
                code::INVALID_OPTION,
                "invalid option device: 'gpu' (llama.cpp runs on the CPU in this addon; use the hearth backend)",
            ));
        }
        let max_memory_bytes = match o.gpu_max_memory_bytes {
            None => None,
            Some(b) if b.is_finite() && b >= 1.0 && b.fract() == 0.0 => Some(b as u64),
            Some(b) => {
                return Err(Failure::new(
                    code::INVALID_OPTION,
                    format!("invalid option gpuMaxMemoryBytes: {b} (expected an integer > 0)"),
                ));
            }
        };
        let cpu_fallback = match o.on_device_lost.as_deref() {
            None | Some("error") => false,
            Some("cpu") => true,
            Some(other) => {
                return Err(Failure::new(
                    code::INVALID_OPTION,
                    format!("invalid option onDeviceLost: {other:?} (expected 'error' or 'cpu')"),
                ));
            }
        };
        Ok(Placement {
            device,
            cpu_fallback,
            choice: GpuChoice {
                allow_software: o.allow_software_gpu.unwrap_or(false),
                max_memory_bytes,
                gpu_layers: o.gpu_layers.map(|n| n as usize),
            },
        })
    }
}

/// Loads a model on a libuv worker thread.
#[derive(Debug)]
pub struct LoadTask {
    source: Option<LoadSource>,
    kind: BackendKind,
    placement: Placement,
}

#[derive(Debug)]
enum LoadSource {
    Path(PathBuf),
    Bytes(Vec<u8>),
}

impl Task for LoadTask {
    type Output = Outcome<Backend>;
    type JsValue = NativeModel;

    fn compute(&mut self) -> Result<Self::Output> {
        let source = self.source.take();
        let kind = self.kind;
        Ok(guard(|| match source {
            Some(LoadSource::Path(p)) => Backend::load_file(&p, kind),
            Some(LoadSource::Bytes(b)) => Backend::load_bytes(b),
            None => Err(Failure::new(code::INTERNAL, "load task ran twice")),
        }))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<Self::JsValue> {
        match output {
            Ok(backend) => Ok(NativeModel {
                backend: Mutex::new(Some(Arc::new(backend))),
                placement: self.placement,
            }),
            Err(f) => Err(f.into_napi(&env)),
        }
    }
}

/// Memory-maps and loads the GGUF model at `path` off the main thread.
///
/// Rejects with `IO_ERROR` (cannot read), `GGUF_*` (not a model or a damaged
/// one), `LOAD_FAILED` (llama.cpp refused it), `INVALID_OPTION` (backend, device, GPU
/// options). The device is chosen when a session is created (`createSession`).
#[napi(ts_return_type = "Promise<NativeModel>")]
pub fn load_model(
    env: Env,
    path: String,
    options: Option<LoadModelOptions>,
) -> Result<AsyncTask<LoadTask>> {
    let (kind, placement) = sync(&env, || {
        let kind = BackendKind::parse(options.as_ref().and_then(|o| o.backend.as_deref()))?;
        Ok((kind, Placement::parse(kind, options.as_ref())?))
    })?;
    Ok(AsyncTask::new(LoadTask {
        source: Some(LoadSource::Path(PathBuf::from(path))),
        kind,
        placement,
    }))
}

/// Loads a model from bytes in memory (a copy is made; Hearth engine only; `options.backend`
/// is ignored).
#[napi(ts_return_type = "Promise<NativeModel>")]
pub fn load_model_from_bytes(
    env: Env,
    bytes: &[u8],
    options: Option<LoadModelOptions>,
) -> Result<AsyncTask<LoadTask>> {
    let placement = sync(&env, || {
        Placement::parse(BackendKind::Hearth, options.as_ref())
    })?;
    Ok(AsyncTask::new(LoadTask {
        source: Some(LoadSource::Bytes(bytes.to_vec())),
        kind: BackendKind::Hearth,
        placement,
    }))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn parse_messages(messages: serde_json::Value) -> Outcome<Vec<ChatMessage>> {
    serde_json::from_value(messages).map_err(|e| {
        Failure::new(
            code::INVALID_ARGUMENT,
            format!("messages must be an array of {{ role, content }} strings: {e}"),
        )
    })
}

/// Whole numbers as integers: napi hands JS numbers beyond 32 bits over as
/// floats, which serde refuses for integer fields (`seed: 5e9` is a valid seed).
fn integral_numbers(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|f| n.is_f64() && f.fract() == 0.0)
                && (0.0..9_007_199_254_740_992.0).contains(&f)
            {
                *n = serde_json::Number::from(f as u64);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        serde_json::Value::Object(map) => map.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

fn parse_options(options: Option<serde_json::Value>) -> Outcome<GenerateOptions> {
    match options {
        None | Some(serde_json::Value::Null) => Ok(GenerateOptions::default()),
        Some(mut v) => serde_json::from_value({
            integral_numbers(&mut v);
            v
        })
        .map_err(|e| {
            Failure::new(
                code::INVALID_OPTION,
                format!("invalid generate options: {e}"),
            )
        }),
    }
}

/// A loaded model: weights (memory-mapped), tokenizer, chat template.
#[napi]
#[derive(Debug)]
pub struct NativeModel {
    backend: Mutex<Option<Arc<Backend>>>,
    placement: Placement,
}

impl NativeModel {
    fn get(&self) -> Outcome<Arc<Backend>> {
        lock(&self.backend)
            .clone()
            .ok_or_else(|| Failure::new(code::DISPOSED, "the model was disposed"))
    }
}

#[napi]
impl NativeModel {
    /// `{ summary, config, backend }`: the `hearth info --json` summary
    /// (snake_case keys), the engine's view of the model (camelCase keys) and
    /// the backend's name.
    #[napi(ts_return_type = "{ summary: any; config: any; backend: 'hearth' | 'llama.cpp' }")]
    pub fn info(&self, env: Env) -> Result<serde_json::Value> {
        sync(&env, || self.get()?.info())
    }

    /// The backend running this model.
    #[napi(getter, ts_return_type = "'hearth' | 'llama.cpp'")]
    pub fn backend(&self, env: Env) -> Result<String> {
        sync(&env, || Ok(self.get()?.kind().name().to_string()))
    }

    /// Tokenizes `text`; `addSpecial` adds BOS/EOS as the model declares,
    /// `parseSpecial` turns control-token text into those tokens.
    #[napi]
    pub fn tokenize(
        &self,
        env: Env,
        text: String,
        add_special: Option<bool>,
        parse_special: Option<bool>,
    ) -> Result<Vec<u32>> {
        sync(&env, || {
            self.get()?.tokenize(
                &text,
                add_special.unwrap_or(true),
                parse_special.unwrap_or(false),
            )
        })
    }

    /// Turns token ids back into text (special tokens rendered unless `skipSpecial`).
    #[napi]
    pub fn detokenize(
        &self,
        env: Env,
        ids: Vec<u32>,
        skip_special: Option<bool>,
    ) -> Result<String> {
        sync(&env, || {
            self.get()?.detokenize(&ids, skip_special.unwrap_or(false))
        })
    }

    /// Renders `messages` (`[{ role, content }]`) with the model's chat template.
    #[napi(
        ts_args_type = "messages: Array<{ role: string; content: string }>, addGenerationPrompt?: boolean"
    )]
    pub fn apply_chat_template(
        &self,
        env: Env,
        messages: serde_json::Value,
        add_generation_prompt: Option<bool>,
    ) -> Result<String> {
        sync(&env, || {
            let messages = parse_messages(messages)?;
            self.get()?
                .apply_chat_template(&messages, add_generation_prompt.unwrap_or(true))
        })
    }

    /// The prompt tokens of a chat (template, generation prompt, BOS as needed).
    #[napi(ts_args_type = "messages: Array<{ role: string; content: string }>")]
    pub fn tokenize_chat(&self, env: Env, messages: serde_json::Value) -> Result<Vec<u32>> {
        sync(&env, || {
            let messages = parse_messages(messages)?;
            self.get()?.tokenize_chat(&messages)
        })
    }

    /// A session (KV cache) for `nCtx` tokens; 0 or absent: the model's training context.
    /// With the hearth backend this is where the device is chosen and the weights go to the
    /// GPU (see `LoadModelOptions.device`; `session.device` says what was chosen): it rejects
    /// with `GPU_*` codes when `device: 'gpu'` cannot run.
    #[napi]
    pub fn create_session(&self, env: Env, n_ctx: Option<u32>) -> Result<NativeSession> {
        sync(&env, || {
            let backend = self.get()?;
            let (engine, device) =
                backend.create_session(n_ctx.unwrap_or(0) as usize, self.placement)?;
            let n_ctx = engine.n_ctx() as u32;
            let gpu = engine.gpu_context();
            Ok(NativeSession {
                device: Mutex::new(device),
                gpu,
                shared: Arc::new(Shared {
                    backend: Mutex::new(Some(backend)),
                    engine: Mutex::new(Some(engine)),
                    busy: AtomicBool::new(false),
                    cancel: Mutex::new(Arc::new(AtomicBool::new(false))),
                    disposed: AtomicBool::new(false),
                }),
                n_ctx,
            })
        })
    }

    /// Releases the model (sessions created from it keep their share until disposed).
    #[napi]
    pub fn dispose(&self) {
        lock(&self.backend).take();
    }
}

/// What a session's generation thread and its JS object share.
#[derive(Debug)]
struct Shared {
    /// The model (`None` once disposed, so that disposing frees it).
    backend: Mutex<Option<Arc<Backend>>>,
    /// `None` once disposed.
    engine: Mutex<Option<Box<dyn EngineSession>>>,
    /// A generation is running (set on the JS thread before the thread starts).
    busy: AtomicBool,
    /// The running generation's cancel flag.
    cancel: Mutex<Arc<AtomicBool>>,
    /// `dispose()` was called (the generation thread frees the engine when it ends).
    disposed: AtomicBool,
}

/// `{ token, text }` for JS; `token` is `null` on the final event that releases held-back text.
#[derive(Serialize)]
struct JsTokenEvent {
    token: Option<u32>,
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsResult {
    text: String,
    tokens: Vec<u32>,
    prompt_tokens: Vec<u32>,
    finish_reason: FinishReason,
    /// The ten highest raw logits `[token, logit]` at the first generated
    /// position, as `hearth run --json` prints them (for the Node CLI).
    top_logits: Vec<(u32, f32)>,
    timings: TimingsJs,
}

impl From<GenerationResult> for JsResult {
    fn from(r: GenerationResult) -> Self {
        JsResult {
            timings: TimingsJs::from(&r.timings),
            top_logits: r.top_logits,
            text: r.text,
            tokens: r.tokens,
            prompt_tokens: r.prompt_tokens,
            finish_reason: r.finish_reason,
        }
    }
}

/// A promise's resolve/reject handle, settled on the JS thread only.
struct RawDeferred(sys::napi_deferred);

// SAFETY: the handle is only carried through the generation thread and used
// (resolved or rejected) on the JS thread, inside the threadsafe-function callback.
unsafe impl Send for RawDeferred {}

/// What the generation thread sends to the JS thread, in order.
enum Event {
    Token(JsTokenEvent),
    End(RawDeferred, Outcome<JsResult>),
}

type EventFn = ThreadsafeFunction<Event, Unknown<'static>, serde_json::Value, Status, false>;

/// A conversation state (KV cache). Generations run on a thread of their own;
/// one at a time (a second `generate` while one runs rejects with `SESSION_BUSY`:
/// `@hearth/runner` queues them).
#[napi]
#[derive(Debug)]
pub struct NativeSession {
    shared: Arc<Shared>,
    n_ctx: u32,
    /// Where it runs (moved to the CPU after a lost device, see `refresh_device`).
    device: Mutex<DeviceReport>,
    /// The GPU device, for the test hook `loseGpuDevice`.
    gpu: Option<GpuContext>,
}

#[napi]
impl NativeSession {
    /// Where the session runs: `{ device: 'cpu' | 'gpu', adapter, reason, gpuLayers }` —
    /// the adapter (`{ name, backend, deviceType, software, features }`) or `null` on the
    /// CPU, why `'auto'` chose the CPU (or `null`), and how many of the model's blocks run on
    /// the GPU (all of them, fewer in a partial offload, 0 on the CPU).
    #[napi(
        getter,
        ts_return_type = "{ device: 'cpu' | 'gpu'; adapter: { name: string; backend: string; deviceType: string; software: boolean; features: string[] } | null; reason: string | null; gpuLayers: number }"
    )]
    pub fn device(&self) -> serde_json::Value {
        self.refresh_device();
        let d = &*lock(&self.device);
        serde_json::json!({
            "device": d.backend,
            "adapter": d.adapter.as_ref().map(|a| serde_json::json!({
                "name": a.name,
                "backend": a.backend,
                "deviceType": a.device_type,
                "software": a.software,
                "features": a.features,
            })),
            "reason": d.reason,
            "gpuLayers": d.gpu_layers,
        })
    }

    /// Context capacity in tokens.
    #[napi(getter)]
    pub fn n_ctx(&self) -> u32 {
        self.n_ctx
    }

    /// Whether a generation is running.
    #[napi(getter)]
    pub fn running(&self) -> bool {
        self.shared.busy.load(Ordering::SeqCst)
    }

    /// Generates after `prompt` (token ids) with `options` (hearth-core's
    /// `GenerateOptions`: `{ maxTokens, stop, ignoreEos, renderSpecial,
    /// sampling: { temperature, topK, topP, minP, repeatPenalty, seed, … } }`).
    /// `onToken` receives each `{ token, text }` event, then `null` once when
    /// the generation has ended; the promise settles right after that with
    /// `{ text, tokens, promptTokens, finishReason, topLogits, timings }`.
    #[napi(
        ts_args_type = "prompt: Array<number> | Uint32Array, options: object | undefined | null, onToken: (event: { token: number | null; text: string } | null) => void",
        ts_return_type = "Promise<any>"
    )]
    pub fn generate<'env>(
        &self,
        env: &'env Env,
        prompt: Vec<u32>,
        options: Option<serde_json::Value>,
        on_token: Function<'_, serde_json::Value, Unknown<'static>>,
    ) -> Result<Object<'env>> {
        let opts = sync(env, || parse_options(options))?;
        self.start(env, on_token, move |_| Ok(prompt), opts)
    }

    /// Renders `messages` with the chat template and generates the assistant's
    /// reply, reusing the cached prefix of earlier turns (see `generate`).
    #[napi(
        ts_args_type = "messages: Array<{ role: string; content: string }>, options: object | undefined | null, onToken: (event: { token: number | null; text: string } | null) => void",
        ts_return_type = "Promise<any>"
    )]
    pub fn chat<'env>(
        &self,
        env: &'env Env,
        messages: serde_json::Value,
        options: Option<serde_json::Value>,
        on_token: Function<'_, serde_json::Value, Unknown<'static>>,
    ) -> Result<Object<'env>> {
        let (messages, opts) = sync(env, || {
            Ok((parse_messages(messages)?, parse_options(options)?))
        })?;
        self.start(
            env,
            on_token,
            move |b: &Backend| b.tokenize_chat(&messages),
            opts,
        )
    }

    /// Test hook: destroys the session's GPU device, as a driver reset would lose it (the
    /// next GPU step fails, or moves to the CPU with `onDeviceLost: 'cpu'`). A no-op on the CPU.
    #[napi]
    pub fn lose_gpu_device(&self) {
        if let Some(ctx) = &self.gpu {
            ctx.destroy();
        }
    }

    /// Stops the running generation before its next token (finish reason `cancelled`).
    #[napi]
    pub fn cancel(&self) {
        lock(&self.shared.cancel).store(true, Ordering::SeqCst);
    }

    /// Forgets the conversation (empties the KV cache). Throws `SESSION_BUSY` while generating.
    #[napi]
    pub fn reset(&self, env: Env) -> Result<()> {
        sync(&env, || {
            self.check_idle()?;
            match lock(&self.shared.engine).as_mut() {
                Some(e) => {
                    e.reset();
                    Ok(())
                }
                None => Err(Failure::new(code::DISPOSED, "the session was disposed")),
            }
        })
    }

    /// Cancels a running generation and frees the KV cache (at once, or when
    /// the generation thread ends).
    #[napi]
    pub fn dispose(&self) {
        self.cancel();
        self.shared.disposed.store(true, Ordering::SeqCst);
        lock(&self.shared.backend).take();
        if let Ok(mut engine) = self.shared.engine.try_lock() {
            engine.take();
        }
    }
}

impl NativeSession {
    /// A session the engine moved off a lost GPU device runs on the CPU now. Checked
    /// between generations only (the engine is locked while one runs).
    fn refresh_device(&self) {
        let on_cpu = match self.shared.engine.try_lock() {
            Ok(e) => e.as_ref().is_some_and(|e| e.gpu_layers() == 0),
            Err(_) => return,
        };
        let mut d = lock(&self.device);
        if on_cpu && d.backend == "gpu" {
            *d = DeviceReport::cpu(Some("the GPU device was lost (onDeviceLost: 'cpu')".into()));
        }
    }

    fn check_idle(&self) -> Outcome<()> {
        if self.shared.busy.load(Ordering::SeqCst) {
            Err(Failure::new(
                code::SESSION_BUSY,
                "a generation is running in this session",
            ))
        } else {
            Ok(())
        }
    }

    fn start<'env>(
        &self,
        env: &'env Env,
        on_token: Function<'_, serde_json::Value, Unknown<'static>>,
        prompt: impl FnOnce(&Backend) -> Outcome<Vec<u32>> + Send + 'static,
        opts: GenerateOptions,
    ) -> Result<Object<'env>> {
        let backend = sync(env, || {
            self.check_idle()?;
            match (
                lock(&self.shared.backend).clone(),
                lock(&self.shared.engine).is_some(),
            ) {
                (Some(b), true) => Ok(b),
                _ => Err(Failure::new(code::DISPOSED, "the session was disposed")),
            }
        })?;
        let tsfn: EventFn = on_token
            .build_threadsafe_function::<Event>()
            .callee_handled::<false>()
            .build_callback(|ctx| {
                let raw_env = ctx.env.raw();
                match ctx.value {
                    Event::Token(ev) => Ok(serde_json::to_value(&ev).unwrap_or_default()),
                    Event::End(deferred, outcome) => {
                        // SAFETY: on the JS thread with its env; the deferred is settled once.
                        unsafe { settle(raw_env, deferred, outcome) };
                        Ok(serde_json::Value::Null)
                    }
                }
            })?;

        let mut deferred = std::ptr::null_mut();
        let mut promise = std::ptr::null_mut();
        // SAFETY: plain N-API call on the JS thread.
        let status = unsafe { sys::napi_create_promise(env.raw(), &mut deferred, &mut promise) };
        if status != sys::Status::napi_ok {
            return Err(Error::new(
                Status::GenericFailure,
                "cannot create a promise",
            ));
        }
        let deferred = RawDeferred(deferred);

        let flag = Arc::new(AtomicBool::new(false));
        *lock(&self.shared.cancel) = flag.clone();
        self.shared.busy.store(true, Ordering::SeqCst);
        let shared = self.shared.clone();
        let spawned = std::thread::Builder::new()
            .name("hearth-generate".into())
            .spawn(move || {
                let events = &tsfn;
                let outcome = guard(|| {
                    let prompt = prompt(&backend)?;
                    let mut engine = lock(&shared.engine);
                    let engine = engine
                        .as_mut()
                        .ok_or_else(|| Failure::new(code::DISPOSED, "the session was disposed"))?;
                    let result = engine.generate(&prompt, opts, flag, &mut |ev: TokenEvent| {
                        events.call(
                            Event::Token(JsTokenEvent {
                                token: ev.token,
                                text: ev.text,
                            }),
                            ThreadsafeFunctionCallMode::NonBlocking,
                        );
                    })?;
                    Ok(JsResult::from(result))
                });
                if shared.disposed.load(Ordering::SeqCst) {
                    lock(&shared.engine).take();
                }
                shared.busy.store(false, Ordering::SeqCst);
                events.call(
                    Event::End(deferred, outcome),
                    ThreadsafeFunctionCallMode::Blocking,
                );
            });
        if let Err(e) = spawned {
            self.shared.busy.store(false, Ordering::SeqCst);
            return Err(Failure::new(
                code::INTERNAL,
                format!("cannot start a generation thread: {e}"),
            )
            .into_napi(env));
        }
        // SAFETY: `promise` is a live value of this env.
        unsafe { Object::from_napi_value(env.raw(), promise) }
    }
}

/// Resolves or rejects a generation's promise.
///
/// # Safety
/// On the JS thread, with its live env; `deferred` not settled before.
unsafe fn settle(env: sys::napi_env, deferred: RawDeferred, outcome: Outcome<JsResult>) {
    let value = match &outcome {
        Ok(r) => serde_json::to_value(r)
            .map_err(|e| Failure::new(code::INTERNAL, format!("cannot serialize result: {e}")))
            // SAFETY: forwarded from the caller.
            .and_then(|v| {
                unsafe { to_js_value(env, v) }
                    .ok_or_else(|| Failure::new(code::INTERNAL, "cannot convert the result"))
            }),
        Err(f) => Err(f.clone()),
    };
    // SAFETY: forwarded from the caller.
    unsafe {
        match value {
            Ok(v) => {
                sys::napi_resolve_deferred(env, deferred.0, v);
            }
            Err(f) => {
                sys::napi_reject_deferred(env, deferred.0, f.to_js(env));
            }
        }
    }
}
