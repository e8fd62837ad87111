//! The engine worker: hearth-core running in a dedicated Web Worker, driven
//! by [`Request`]s from the page. It downloads the model itself (streaming
//! the body, reporting progress), so the page's thread never holds or parses
//! the weights, and generates one token per worker task, so a
//! [`Request::Stop`] is read between any two tokens.

use std::sync::Arc;

use gloo_worker::{HandlerId, Registrable, Worker, WorkerScope};
use hearth_core::{FinishReason, GenerateOptions, Generation, Model, ModelBytes, Session};
use js_sys::{Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::protocol::{HearthError, LoadProgress, ModelInfo, Request, Response};

/// Largest model accepted: wasm32 addresses 4 GiB, and the KV cache and
/// scratch buffers need room next to the weights (as in hearth-wasm).
pub const MAX_MODEL_BYTES: u64 = 7 << 29;

#[wasm_bindgen]
extern "C" {
    /// `performance.now()`, which workers have too.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

/// Starts the engine worker in this (worker) module: call it from the `main`
/// of the binary that the page spawns with [`crate::EngineOptions::worker_url`].
pub fn run_worker() {
    console_error_panic_hook::set_once();
    EngineWorker::registrar().register();
}

/// A generation in progress and who asked for it.
struct Running {
    job: u32,
    who: HandlerId,
    generation: Box<Generation<'static, Box<Session>>>,
}

/// The worker's state: one model, one session (its KV cache kept between chat turns).
pub struct EngineWorker {
    model: Option<Arc<Model>>,
    session: Option<Box<Session>>,
    running: Option<Running>,
    /// Counts loads, so a download superseded by a newer load is dropped.
    load_seq: u32,
}

impl std::fmt::Debug for EngineWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineWorker")
            .field("loaded", &self.model.is_some())
            .field("running", &self.running.as_ref().map(|r| r.job))
            .finish()
    }
}

/// Internal steps of the worker.
#[doc(hidden)]
#[derive(Debug)]
pub enum Msg {
    Downloaded {
        who: HandlerId,
        seq: u32,
        n_ctx: u32,
        bytes: Result<Vec<u8>, HearthError>,
    },
    Step(u32),
}

impl Worker for EngineWorker {
    type Message = Msg;
    type Input = Request;
    type Output = Response;

    fn create(_scope: &WorkerScope<Self>) -> Self {
        // `Instant` does not exist in wasm: the engine's timings read this clock.
        hearth_core::timer::set_clock(performance_now);
        EngineWorker {
            model: None,
            session: None,
            running: None,
            load_seq: 0,
        }
    }

    fn update(&mut self, scope: &WorkerScope<Self>, msg: Msg) {
        match msg {
            Msg::Downloaded {
                who,
                seq,
                n_ctx,
                bytes,
            } if seq == self.load_seq => {
                let response = match bytes.and_then(|b| self.build(b, n_ctx)) {
                    Ok(info) => Response::Loaded(info),
                    Err(error) => Response::Failed { job: None, error },
                };
                scope.respond(who, response);
            }
            Msg::Downloaded { .. } => {}
            Msg::Step(job) => self.step(scope, job),
        }
    }

    fn received(&mut self, scope: &WorkerScope<Self>, request: Request, who: HandlerId) {
        match request {
            Request::Load { url, n_ctx } => {
                self.end(scope);
                self.model = None;
                self.session = None;
                self.load_seq += 1;
                let seq = self.load_seq;
                let progress_scope = scope.clone();
                scope.send_future(async move {
                    let bytes = download(&url, |p| {
                        progress_scope.respond(who, Response::Progress(p));
                    })
                    .await;
                    Msg::Downloaded {
                        who,
                        seq,
                        n_ctx,
                        bytes,
                    }
                });
            }
            Request::Chat {
                job,
                messages,
                options,
            } => {
                let messages: Vec<_> = messages.iter().map(Into::into).collect();
                let prompt = self
                    .loaded()
                    .and_then(|m| m.tokenize_chat(&messages).map_err(HearthError::from));
                self.start(scope, who, job, prompt, options);
            }
            Request::Complete {
                job,
                prompt,
                options,
            } => {
                let prompt = self
                    .loaded()
                    .and_then(|m| m.tokenize(&prompt, true, false).map_err(HearthError::from));
                self.start(scope, who, job, prompt, options);
            }
            Request::Stop => self.end(scope),
        }
    }
}

impl EngineWorker {
    fn loaded(&self) -> Result<&Arc<Model>, HearthError> {
        self.model.as_ref().ok_or(HearthError::NotLoaded)
    }

    /// Builds the model in place from the downloaded bytes, and its session.
    fn build(&mut self, bytes: Vec<u8>, n_ctx: u32) -> Result<ModelInfo, HearthError> {
        let file_bytes = bytes.len() as u64;
        let model = Model::load(ModelBytes::from_vec(bytes))?;
        let session = Session::new(model.clone(), n_ctx as usize)?;
        let summary = model.summary();
        let info = ModelInfo {
            name: summary.name.clone(),
            architecture: summary.architecture.clone(),
            parameter_count: summary.parameter_count,
            file_bytes,
            n_ctx: session.n_ctx() as u32,
            load_ms: model.load_ms(),
        };
        self.model = Some(model);
        self.session = Some(Box::new(session));
        Ok(info)
    }

    /// Evaluates the prompt and schedules the first token.
    fn start(
        &mut self,
        scope: &WorkerScope<Self>,
        who: HandlerId,
        job: u32,
        prompt: Result<Vec<u32>, HearthError>,
        options: GenerateOptions,
    ) {
        self.end(scope);
        let started = prompt.and_then(|prompt| {
            let session = self.session.take().ok_or(HearthError::NotLoaded)?;
            Generation::start(session, &prompt, options).map_err(|(e, session)| {
                self.session = Some(session);
                HearthError::from(e)
            })
        });
        match started {
            Ok(generation) => {
                self.running = Some(Running {
                    job,
                    who,
                    generation: Box::new(generation),
                });
                schedule_step(scope, job);
            }
            Err(error) => scope.respond(
                who,
                Response::Failed {
                    job: Some(job),
                    error,
                },
            ),
        }
    }

    /// Generates one token of `job`, sends its text, and schedules the next.
    fn step(&mut self, scope: &WorkerScope<Self>, job: u32) {
        let Some(running) = self.running.as_mut().filter(|r| r.job == job) else {
            return; // stopped or superseded
        };
        let who = running.who;
        match running.generation.next() {
            Some(Ok(event)) => {
                if !event.text.is_empty() {
                    scope.respond(
                        who,
                        Response::Token {
                            job,
                            text: event.text,
                        },
                    );
                }
                schedule_step(scope, job);
            }
            Some(Err(e)) => {
                self.take_session();
                scope.respond(
                    who,
                    Response::Failed {
                        job: Some(job),
                        error: e.into(),
                    },
                );
            }
            None => self.end(scope),
        }
    }

    /// Ends the running generation, if any, and reports how it ended.
    fn end(&mut self, scope: &WorkerScope<Self>) {
        let Some(running) = self.running.as_ref() else {
            return;
        };
        let (job, who) = (running.job, running.who);
        let reason = running
            .generation
            .finish_reason()
            .unwrap_or(FinishReason::Cancelled);
        let tokens = running.generation.result().tokens.len() as u32;
        self.take_session();
        scope.respond(
            who,
            Response::Finished {
                job,
                reason,
                tokens,
            },
        );
    }

    /// Takes the session (with its KV cache) back from the running generation.
    fn take_session(&mut self) {
        if let Some(running) = self.running.take() {
            self.session = Some(running.generation.into_session());
        }
    }
}

/// Runs `Step(job)` in a later task of the worker's event loop, after any
/// message from the page already queued (a microtask would run first).
fn schedule_step(scope: &WorkerScope<EngineWorker>, job: u32) {
    scope.send_future(async move {
        next_task().await;
        Msg::Step(job)
    });
}

/// Resolves in a new task: a message through a fresh `MessageChannel`
/// (unlike `setTimeout(0)`, not clamped to 4 ms when nested).
async fn next_task() {
    let Ok(channel) = web_sys::MessageChannel::new() else {
        return;
    };
    let promise = Promise::new(&mut |resolve, _reject| {
        channel.port1().set_onmessage(Some(&resolve));
        let _ = channel.port2().post_message(&JsValue::NULL);
    });
    let _ = JsFuture::from(promise).await;
    channel.port1().set_onmessage(None);
}

/// Fetches `url` into one buffer sized from `Content-Length`, calling
/// `progress` as the body streams in (about every 0.5 % or 1 MiB).
async fn download(url: &str, progress: impl Fn(LoadProgress)) -> Result<Vec<u8>, HearthError> {
    let fetch_error = |e: &dyn std::fmt::Debug| HearthError::Fetch {
        url: url.to_string(),
        message: format!("{e:?}"),
    };
    let response = gloo_net::http::Request::get(url)
        .send()
        .await
        .map_err(|e| HearthError::Fetch {
            url: url.to_string(),
            message: e.to_string(),
        })?;
    if !response.ok() {
        return Err(HearthError::Http {
            url: url.to_string(),
            status: response.status(),
            status_text: response.status_text(),
        });
    }
    let total = response
        .headers()
        .get("content-length")
        .and_then(|v| v.trim().parse::<u64>().ok());
    let mut buf = Vec::new();
    if let Some(total) = total {
        if total > MAX_MODEL_BYTES {
            return Err(HearthError::TooLarge {
                bytes: total,
                max: MAX_MODEL_BYTES,
            });
        }
        buf.try_reserve_exact(total as usize)
            .map_err(|_| HearthError::Alloc { bytes: total })?;
    }
    progress(LoadProgress { loaded: 0, total });
    let Some(body) = response.body() else {
        return Ok(buf);
    };
    let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let step = total.map_or(1 << 20, |t| (t / 200).max(1));
    let mut reported = 0u64;
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|e| fetch_error(&e))?;
        let done = Reflect::get(&chunk, &"done".into())
            .map_err(|e| fetch_error(&e))?
            .as_bool()
            .unwrap_or(true);
        if done {
            break;
        }
        let value: Uint8Array = Reflect::get(&chunk, &"value".into())
            .map_err(|e| fetch_error(&e))?
            .unchecked_into();
        let at = buf.len();
        let n = value.length() as usize;
        if (at + n) as u64 > MAX_MODEL_BYTES {
            return Err(HearthError::TooLarge {
                bytes: (at + n) as u64,
                max: MAX_MODEL_BYTES,
            });
        }
        buf.try_reserve(n).map_err(|_| HearthError::Alloc {
            bytes: (at + n) as u64,
        })?;
        buf.resize(at + n, 0);
        value.copy_to(&mut buf[at..]);
        let loaded = buf.len() as u64;
        if loaded - reported >= step {
            reported = loaded;
            progress(LoadProgress { loaded, total });
        }
    }
    progress(LoadProgress {
        loaded: buf.len() as u64,
        total: total.or(Some(buf.len() as u64)),
    });
    Ok(buf)
}
