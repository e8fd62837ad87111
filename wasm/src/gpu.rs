//! The WebGPU engine (feature `gpu`): hearth-core's wgpu backend on the worker's
//! `navigator.gpu`. A [`WasmGpuSession`] is a [`WasmSession`](crate::WasmSession)
//! whose calls that run the model (`start`, `startChat`, `next`) return promises:
//! wasm cannot block on the GPU, so each forward pass is awaited.
//!
//! The adapter was already chosen by the runner (`chain.ts`: a fallback adapter
//! only when allowed), so software adapters are accepted here.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hearth_core::gpu::{GpuContext, GpuOptions, place_session};
use hearth_core::{GenerateOptions, Generation, KvType, Model};
use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::engine::{State, WasmModel, event_to_js, parse_messages, parse_options, result_to_js};
use crate::{core_error, js_error, to_js};

#[wasm_bindgen]
impl WasmModel {
    /// A session on WebGPU for `nCtx` tokens (0: the training context): requests the
    /// adapter and device, uploads the weights (in their GGUF formats) and builds the
    /// GPU KV cache. `cpuFallback`: a lost device moves the session to the CPU (its
    /// history is evaluated again there) instead of failing with `GPU_DEVICE_LOST`.
    /// `maxMemoryBytes`: GPU memory the weights, KV cache and scratch may take; a model that
    /// needs more runs its first blocks on the GPU, as many as fit, and the rest on the CPU
    /// (WebGPU cannot say how much memory is free, so without it the device's limits decide,
    /// and a device that runs out of memory is asked for half the blocks, down to one).
    /// `gpuLayers`: how many of the first blocks to place (default: as many as fit). Checked
    /// before anything is uploaded. Rejects with
    /// `GPU_NO_ADAPTER`, `GPU_DEVICE`, `GPU_DOES_NOT_FIT` (with the bytes needed and allowed in
    /// its message; not even one block fits, or not the `gpuLayers` asked for),
    /// `GPU_UNSUPPORTED`.
    #[wasm_bindgen(js_name = createGpuSession)]
    pub fn create_gpu_session(
        &self,
        #[wasm_bindgen(js_name = nCtx)] n_ctx: u32,
        #[wasm_bindgen(js_name = cpuFallback)] cpu_fallback: bool,
        #[wasm_bindgen(js_name = maxMemoryBytes)] max_memory_bytes: Option<f64>,
        #[wasm_bindgen(js_name = gpuLayers)] gpu_layers: Option<u32>,
    ) -> Promise {
        let model = self.model().clone();
        future_to_promise(async move {
            let err = |e: hearth_core::gpu::GpuError| core_error(e.into());
            let ctx = GpuContext::new(GpuOptions {
                allow_software: true,
                ..Default::default()
            })
            .await
            .map_err(err)?
            .with_memory_budget(max_memory_bytes.map(|b| b.max(0.0) as u64));
            let layers = gpu_layers.map(|l| l as usize);
            let mut session = place_session(&ctx, &model, layers, n_ctx as usize, KvType::F16)
                .await
                .map_err(core_error)?;
            session.set_cpu_fallback(cpu_fallback);
            Ok(WasmGpuSession {
                adapter: to_js(ctx.adapter())?,
                ctx,
                model,
                state: Rc::new(RefCell::new(State::Idle(Box::new(session)))),
                cancel: Arc::new(AtomicBool::new(false)),
            }
            .into())
        })
    }
}

/// A session on WebGPU: `await start(prompt, options)` (or `startChat`), then
/// `await next()` until it gives `undefined`, then `result()`.
#[wasm_bindgen]
#[derive(Debug)]
pub struct WasmGpuSession {
    model: Arc<Model>,
    /// Shared with the pending promise of `start`/`next`, which holds the generation
    /// while the GPU works (the state reads `Moving` then).
    state: Rc<RefCell<State>>,
    cancel: Arc<AtomicBool>,
    adapter: JsValue,
    /// The device, for the test hook (usable while a step holds the session).
    ctx: GpuContext,
}

const BUSY: &str = "HEARTH_BUSY";

#[wasm_bindgen]
impl WasmGpuSession {
    /// Starts generating after `prompt` (token ids); see `WasmSession.start`.
    pub fn start(&self, prompt: Vec<u32>, options: JsValue) -> Result<Promise, JsValue> {
        let opts = parse_options(options)?;
        Ok(self.start_tokens(prompt, opts))
    }

    /// Starts a chat turn (the chat template over `messages`); see `WasmSession.startChat`.
    #[wasm_bindgen(js_name = startChat)]
    pub fn start_chat(&self, messages: JsValue, options: JsValue) -> Result<Promise, JsValue> {
        let messages = parse_messages(messages)?;
        let opts = parse_options(options)?;
        let prompt = self.model.tokenize_chat(&messages).map_err(core_error)?;
        Ok(self.start_tokens(prompt, opts))
    }

    /// Resolves to the next `{ token, text }` event, or `undefined` at the end.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&self) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let taken = std::mem::replace(&mut *state.borrow_mut(), State::Moving);
            let mut generation = match taken {
                State::Running(g) => g,
                State::Moving => return Err(js_error(BUSY, "a step is already running")),
                idle => {
                    *state.borrow_mut() = idle;
                    return Ok(JsValue::UNDEFINED);
                }
            };
            let event = generation.next_async().await;
            *state.borrow_mut() = State::Running(generation);
            match event {
                None => Ok(JsValue::UNDEFINED),
                Some(Ok(ev)) => event_to_js(&ev),
                Some(Err(e)) => Err(core_error(e)),
            }
        })
    }

    /// Stops the running generation before its next token.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Ends the generation and returns its result (see `WasmSession.result`).
    pub fn result(&self) -> Result<JsValue, JsValue> {
        let mut state = self.state.borrow_mut();
        let State::Running(generation) = &*state else {
            return Err(js_error(
                "HEARTH_INVALID_ARGUMENT",
                "no generation to take a result from: call start() first",
            ));
        };
        let result = generation.result();
        end(&mut state);
        result_to_js(&result)
    }

    /// Forgets the conversation; ends a running generation.
    pub fn reset(&self) {
        let mut state = self.state.borrow_mut();
        end(&mut state);
        if let State::Idle(s) = &mut *state {
            s.reset();
        }
    }

    /// Whether a generation is running (started and its result not taken).
    #[wasm_bindgen(getter)]
    pub fn running(&self) -> bool {
        matches!(*self.state.borrow(), State::Running(_))
    }

    /// Context capacity in tokens.
    #[wasm_bindgen(getter, js_name = nCtx)]
    pub fn n_ctx(&self) -> usize {
        match &*self.state.borrow() {
            State::Idle(s) => s.n_ctx(),
            State::Running(g) => g.session().n_ctx(),
            State::Moving => 0,
        }
    }

    /// Whether the model still runs on the GPU (false after a lost device moved it to the CPU).
    #[wasm_bindgen(getter, js_name = onGpu)]
    pub fn on_gpu(&self) -> bool {
        match &*self.state.borrow() {
            State::Idle(s) => s.on_gpu(),
            State::Running(g) => g.session().on_gpu(),
            // A step is running: it started on the GPU and reports a move when it ends.
            State::Moving => true,
        }
    }

    /// How many of the model's blocks run on the GPU: all, fewer in a partial offload (the
    /// CPU runs the rest and the LM head), 0 once a lost device moved the session to the CPU.
    #[wasm_bindgen(getter, js_name = gpuLayers)]
    pub fn gpu_layers(&self) -> usize {
        match &*self.state.borrow() {
            State::Idle(s) => s.gpu_layers(),
            State::Running(g) => g.session().gpu_layers(),
            State::Moving => 0,
        }
    }

    /// The adapter (`{ name, backend, device_type, software, features }`; `features`: the
    /// optional WebGPU features the kernels use, e.g. `["shader-f16"]`).
    #[wasm_bindgen(getter)]
    pub fn adapter(&self) -> JsValue {
        self.adapter.clone()
    }

    /// Test hook: destroys the GPU device (`GPUDevice.destroy()`), as a driver reset
    /// would lose it; the next forward pass fails (or moves to the CPU).
    #[wasm_bindgen(js_name = loseGpuDevice)]
    pub fn lose_gpu_device(&self) {
        self.ctx.destroy();
    }
}

impl WasmGpuSession {
    fn start_tokens(&self, prompt: Vec<u32>, opts: GenerateOptions) -> Promise {
        let state = self.state.clone();
        // A new generation is not cancelled by an earlier cancel.
        self.cancel.store(false, Ordering::Relaxed);
        let flag = self.cancel.clone();
        future_to_promise(async move {
            let session = {
                let mut st = state.borrow_mut();
                end(&mut st);
                match std::mem::replace(&mut *st, State::Moving) {
                    State::Idle(s) => s,
                    other => {
                        *st = other;
                        return Err(js_error(BUSY, "a step is already running"));
                    }
                }
            };
            match Generation::start_async(session, &prompt, opts).await {
                Ok(g) => {
                    *state.borrow_mut() = State::Running(Box::new(g.with_cancel(flag)));
                    Ok(JsValue::UNDEFINED)
                }
                Err((e, session)) => {
                    *state.borrow_mut() = State::Idle(session);
                    Err(core_error(e))
                }
            }
        })
    }
}

/// Takes the session back from a running generation.
fn end(state: &mut State) {
    if matches!(state, State::Running(_))
        && let State::Running(g) = std::mem::replace(state, State::Moving)
    {
        *state = State::Idle(g.into_session());
    }
}
