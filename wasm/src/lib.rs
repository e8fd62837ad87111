//! `hearth-wasm`: wasm-bindgen bindings of [`hearth_core`] for JavaScript.
//!
//! This crate is the only place that knows about JS values. Results cross the
//! boundary through `serde-wasm-bindgen` in its JSON-compatible mode, so a
//! result object has exactly the shape (snake_case keys, `null` for absent
//! values, plain objects for maps) that `hearth info --json` prints.
//!
//! Errors cross as JS `Error` objects carrying a stable `code` property
//! (e.g. `"GGUF_BAD_MAGIC"`); inputs are never unwrapped, so malformed bytes
//! give an error, not a trap.

mod embed;
mod engine;
#[cfg(feature = "gpu")]
mod gpu;
mod matrix;

pub use embed::WasmEmbeddingModel;
pub use engine::{MAX_MODEL_BYTES, ModelLoader, WasmModel, WasmSession};
#[cfg(feature = "gpu")]
pub use gpu::WasmGpuSession;
use hearth_core::gguf::{Gguf, GgufError, ModelSummary};
pub use matrix::WasmMatrix;
use serde::Serialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `performance.now()`: present on windows, workers and Node.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

/// Runs when the module is instantiated: `Instant` does not exist in wasm, so
/// the engine's timings read `performance.now()`.
#[wasm_bindgen(start)]
pub fn start() {
    hearth_core::timer::set_clock(performance_now);
}

/// Starts the engine's rayon pool of `n` Web Workers sharing this module's memory
/// (threaded build only). Await it once, before loading a model.
#[cfg(all(feature = "threads", target_arch = "wasm32"))]
pub use wasm_bindgen_rayon::init_thread_pool;

/// Threads the engine's matrix products run on: the rayon pool's size in the
/// threaded build (after `initThreadPool`), 1 in the single-threaded build.
#[wasm_bindgen(js_name = threadCount)]
pub fn thread_count() -> usize {
    rayon::current_num_threads()
}

/// Whether this build's engine has the WebGPU backend (the `gpu` feature: wgpu on
/// `navigator.gpu`); the runner's backend chain skips WebGPU when it has not.
#[wasm_bindgen(js_name = hasGpu)]
pub fn has_gpu() -> bool {
    cfg!(feature = "gpu")
}

/// The SIMD kernel set the engine uses (`"simd128"` in the wasm builds, `"scalar"` without it).
#[wasm_bindgen(js_name = simdLevel)]
pub fn simd_level() -> String {
    hearth_core::quant::simd_level().to_string()
}

/// Error code for a result that could not be converted to a JS value.
const SERIALIZE_CODE: &str = "HEARTH_SERIALIZE";

/// The version of this crate (and of `hearth-core`, which shares it).
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Parses the GGUF header in `bytes` and returns the model summary as a plain
/// JS object with snake_case keys (the same shape as `hearth info --json`).
///
/// Throws an `Error` whose `code` is a stable `GGUF_*` string when the bytes
/// are not a valid GGUF file.
#[wasm_bindgen(js_name = ggufInfo)]
pub fn gguf_info(bytes: &[u8]) -> Result<JsValue, JsValue> {
    let gguf = Gguf::parse(bytes).map_err(gguf_error)?;
    to_js(&ModelSummary::from_gguf(&gguf))
}

/// Serializes `value` JSON-compatibly: maps become objects, `None` becomes `null`.
fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| js_error(SERIALIZE_CODE, &format!("cannot convert result to JS: {e}")))
}

/// Converts a parse error into a JS `Error` with its stable code.
fn gguf_error(e: GgufError) -> JsValue {
    js_error(e.code(), &e.to_string())
}

/// Converts an engine error into a JS `Error` with its stable code.
fn core_error(e: hearth_core::Error) -> JsValue {
    js_error(e.code(), &e.to_string())
}

/// Builds `new Error(message)` with `code` set.
fn js_error(code: &str, message: &str) -> JsValue {
    let err = js_sys::Error::new(message);
    // Setting a property on a fresh, non-frozen Error cannot fail; if it somehow
    // did, the error still carries its message, so the result is ignored.
    let _ = js_sys::Reflect::set(&err, &JsValue::from_str("code"), &JsValue::from_str(code));
    err.into()
}
