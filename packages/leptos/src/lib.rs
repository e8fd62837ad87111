//! `hearth-leptos`: Hearth for [Leptos](https://leptos.dev) apps, in Rust only.
//!
//! hearth-core runs in a dedicated Web Worker ([`run_worker`], built as a
//! second binary of the app) that downloads the model with progress and
//! streams tokens back, so the page's thread never blocks. The page holds
//! signals: [`use_llama_chat`] / [`use_llama_completion`] return them with
//! `send`/`complete`/`stop` methods, and the components [`ModelLoader`],
//! [`Chat`] and [`Completion`] render them.
//!
//! The [`protocol`] between page and worker and the [`state`] machines are
//! plain Rust (also built and tested natively); everything touching the
//! browser exists only on `wasm32`.

pub mod protocol;
pub mod state;

#[cfg(target_arch = "wasm32")]
mod components;
#[cfg(target_arch = "wasm32")]
mod hooks;
#[cfg(target_arch = "wasm32")]
pub mod worker;

#[cfg(target_arch = "wasm32")]
pub use components::{Chat, Completion, ModelLoader};
pub use hearth_core::{GenerateOptions, SamplingOptions};
#[cfg(target_arch = "wasm32")]
pub use hooks::{
    Engine, EngineOptions, LlamaChat, LlamaCompletion, use_llama_chat, use_llama_completion,
};
pub use protocol::{ChatMessage, HearthError, LoadProgress, ModelInfo, Role};
pub use state::Status;
#[cfg(target_arch = "wasm32")]
pub use worker::run_worker;
