//! Reactive primitives: an [`Engine`] (one worker, its model and status) and
//! the hooks built on it, [`use_llama_chat`] and [`use_llama_completion`].
//! Their fields are signals; their methods send requests to the worker. The
//! worker ends when the reactive owner that created the hook is disposed.

use gloo_worker::{Spawnable, WorkerBridge};
use hearth_core::GenerateOptions;
use leptos::prelude::*;

use crate::protocol::{ChatMessage, HearthError, LoadProgress, ModelInfo, Request, Response};
use crate::state::{ChatState, CompletionState, EngineState, Status};
use crate::worker::EngineWorker;

/// How to start the engine and what to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineOptions {
    /// URL of the worker's JS module (the wasm-bindgen `--target web` output of a
    /// binary whose `main` calls [`crate::run_worker`]), relative to the page.
    pub worker_url: String,
    /// Load this model as soon as the hook is created.
    pub model_url: Option<String>,
    /// Context size in tokens; 0: the model's training context.
    pub n_ctx: u32,
    /// Sampling, `max_tokens`, stop strings.
    pub generate: GenerateOptions,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            worker_url: "./worker.js".into(),
            model_url: None,
            n_ctx: 2048,
            generate: GenerateOptions::default(),
        }
    }
}

/// What a hook's state must offer the [`Engine`] it runs on.
trait HasEngine: Send + Sync + 'static {
    fn engine(&self) -> &EngineState;
    fn engine_mut(&mut self) -> &mut EngineState;
    fn apply(&mut self, response: Response);
}

impl HasEngine for ChatState {
    fn engine(&self) -> &EngineState {
        &self.engine
    }
    fn engine_mut(&mut self) -> &mut EngineState {
        &mut self.engine
    }
    fn apply(&mut self, response: Response) {
        ChatState::apply(self, response);
    }
}

impl HasEngine for CompletionState {
    fn engine(&self) -> &EngineState {
        &self.engine
    }
    fn engine_mut(&mut self) -> &mut EngineState {
        &mut self.engine
    }
    fn apply(&mut self, response: Response) {
        CompletionState::apply(self, response);
    }
}

/// One engine worker seen from the page: load a model, watch its status,
/// progress and errors. [`ModelLoader`](crate::ModelLoader) takes one.
#[derive(Clone, Copy, Debug)]
pub struct Engine {
    /// `idle`, `loading`, `ready`, `generating` or `error`.
    pub status: Signal<Status>,
    /// Download progress of the current or last load.
    pub progress: Signal<Option<LoadProgress>>,
    /// The last failure, until the next load or generation.
    pub error: Signal<Option<HearthError>>,
    /// The loaded model.
    pub info: Signal<Option<ModelInfo>>,
    /// Whether a generation can start now.
    pub can_generate: Signal<bool>,
    load: Callback<String>,
    stop: Callback<()>,
}

impl Engine {
    /// Downloads and loads the GGUF model at `url` (in the worker).
    pub fn load(&self, url: impl Into<String>) {
        self.load.run(url.into());
    }

    /// Stops the running generation; what streamed so far stays.
    pub fn stop(&self) {
        self.stop.run(());
    }
}

/// The worker and the state signal a hook shares between its methods.
struct Runtime<S: HasEngine> {
    state: RwSignal<S>,
    bridge: StoredValue<Option<WorkerBridge<EngineWorker>>, LocalStorage>,
}

impl<S: HasEngine> Clone for Runtime<S> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S: HasEngine> Copy for Runtime<S> {}

impl<S: HasEngine + Default> Runtime<S> {
    /// Spawns the worker; its responses update `state`.
    fn spawn(options: &EngineOptions) -> Self {
        let state = RwSignal::new(S::default());
        let bridge = EngineWorker::spawner()
            .callback(move |response| {
                // A response arriving after the owner was disposed has nobody to show it to.
                let _ = state.try_update(|s| s.apply(response));
            })
            .as_module(true)
            .spawn(&options.worker_url);
        Runtime {
            state,
            bridge: StoredValue::new_local(Some(bridge)),
        }
    }

    fn send(&self, request: Request) {
        self.bridge.with_value(|b| {
            if let Some(b) = b {
                b.send(request);
            }
        });
    }

    /// Runs `make` on the state; sends its request, or shows its error.
    fn request(&self, make: impl FnOnce(&mut S) -> Result<Request, HearthError>) {
        let made = self
            .state
            .try_update(|s| make(s).inspect_err(|e| s.engine_mut().fail(e.clone())));
        if let Some(Ok(request)) = made {
            self.send(request);
        }
    }

    fn engine(&self, options: &EngineOptions) -> Engine {
        let state = self.state;
        let n_ctx = options.n_ctx;
        let rt = *self;
        let engine = Engine {
            status: Memo::new(move |_| state.with(|s| s.engine().status)).into(),
            progress: Memo::new(move |_| state.with(|s| s.engine().progress)).into(),
            error: Memo::new(move |_| state.with(|s| s.engine().error.clone())).into(),
            info: Memo::new(move |_| state.with(|s| s.engine().info.clone())).into(),
            can_generate: Memo::new(move |_| state.with(|s| s.engine().can_generate())).into(),
            load: Callback::new(move |url: String| {
                rt.request(|s| s.engine_mut().load(&absolute(&url)?, n_ctx));
            }),
            stop: Callback::new(move |()| {
                if rt.state.try_update(|s| s.engine_mut().stop()) == Some(true) {
                    rt.send(Request::Stop);
                }
            }),
        };
        if let Some(url) = &options.model_url {
            engine.load(url.clone());
        }
        engine
    }
}

/// `url` resolved against the page's address: the worker runs from a `blob:`
/// URL, against which `/models/…` would mean nothing.
fn absolute(url: &str) -> Result<String, HearthError> {
    let base = web_sys::window()
        .and_then(|w| w.location().href().ok())
        .unwrap_or_default();
    web_sys::Url::new_with_base(url, &base)
        .map(|u| u.href())
        .map_err(|_| HearthError::Fetch {
            url: url.to_string(),
            message: "not a valid URL".into(),
        })
}

/// A chat running in a worker: [`use_llama_chat`].
#[derive(Clone, Copy, Debug)]
pub struct LlamaChat {
    /// The model side: status, progress, error, `load`, `stop`.
    pub engine: Engine,
    /// The conversation; the last assistant message grows as tokens stream in.
    pub messages: Signal<Vec<ChatMessage>>,
    /// `idle`, `loading`, `ready`, `generating` or `error` (same as `engine.status`).
    pub status: Signal<Status>,
    /// The last failure (same as `engine.error`).
    pub error: Signal<Option<HearthError>>,
    /// Model download progress (same as `engine.progress`).
    pub progress: Signal<Option<LoadProgress>>,
    send: Callback<String>,
    clear: Callback<()>,
}

impl LlamaChat {
    /// Adds the user's message and streams the assistant's answer into `messages`.
    /// Refused (shown in `error`) while loading, generating, or before a model is loaded.
    pub fn send(&self, text: impl Into<String>) {
        self.send.run(text.into());
    }

    /// Stops the answer being streamed.
    pub fn stop(&self) {
        self.engine.stop();
    }

    /// Downloads and loads the model at `url`.
    pub fn load(&self, url: impl Into<String>) {
        self.engine.load(url);
    }

    /// Forgets the conversation (stopping any answer).
    pub fn clear(&self) {
        self.clear.run(());
    }
}

/// Starts an engine worker for a chat. The worker lives as long as the
/// calling component (the reactive owner).
///
/// ```ignore
/// let chat = use_llama_chat(EngineOptions::default());
/// chat.load("/models/SmolLM2-135M-Instruct.Q4_1.gguf");
/// chat.send("Hello!"); // chat.messages streams the reply
/// ```
pub fn use_llama_chat(options: EngineOptions) -> LlamaChat {
    let rt = Runtime::<ChatState>::spawn(&options);
    let state = rt.state;
    let engine = rt.engine(&options);
    let generate = options.generate;
    LlamaChat {
        engine,
        messages: Memo::new(move |_| state.with(|s| s.messages.clone())).into(),
        status: engine.status,
        error: engine.error,
        progress: engine.progress,
        send: Callback::new(move |text: String| {
            rt.request(|s| s.send(&text, &generate));
        }),
        clear: Callback::new(move |()| {
            engine.stop();
            let _ = state.try_update(|s| s.messages.clear());
        }),
    }
}

/// A text completion running in a worker: [`use_llama_completion`].
#[derive(Clone, Copy, Debug)]
pub struct LlamaCompletion {
    /// The model side: status, progress, error, `load`, `stop`.
    pub engine: Engine,
    /// The continuation of the last prompt, growing as tokens stream in.
    pub completion: Signal<String>,
    complete: Callback<String>,
}

impl LlamaCompletion {
    /// Continues `prompt` (plain text, no chat template) into `completion`.
    pub fn complete(&self, prompt: impl Into<String>) {
        self.complete.run(prompt.into());
    }

    /// Stops the running completion.
    pub fn stop(&self) {
        self.engine.stop();
    }
}

/// Starts an engine worker for text completion (see [`use_llama_chat`]).
pub fn use_llama_completion(options: EngineOptions) -> LlamaCompletion {
    let rt = Runtime::<CompletionState>::spawn(&options);
    let state = rt.state;
    let engine = rt.engine(&options);
    let generate = options.generate;
    LlamaCompletion {
        engine,
        completion: Memo::new(move |_| state.with(|s| s.completion.clone())).into(),
        complete: Callback::new(move |prompt: String| {
            rt.request(|s| s.complete(&prompt, &generate));
        }),
    }
}
