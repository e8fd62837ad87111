//! Errors that cross into JavaScript: a stable `code` (the same strings as
//! hearth-wasm: `hearth_core::Error::code()` plus the binding's own) and a
//! message, turned into a real JS `Error` with a `code` property.

use napi::bindgen_prelude::{ToNapiValue, Unknown};
use napi::{Env, JsError, sys};

/// Codes raised by the binding itself (engine errors keep their own).
pub mod code {
    /// An option or argument out of range.
    pub const INVALID_OPTION: &str = "INVALID_OPTION";
    /// An argument of the wrong shape (messages, backend name).
    pub const INVALID_ARGUMENT: &str = "HEARTH_INVALID_ARGUMENT";
    /// llama.cpp could not load the model.
    pub const LOAD_FAILED: &str = "LOAD_FAILED";
    /// llama.cpp could not create a context.
    pub const CONTEXT_FAILED: &str = "CONTEXT_FAILED";
    /// llama.cpp failed to evaluate tokens.
    pub const DECODE_FAILED: &str = "DECODE_FAILED";
    /// Tokenization failed.
    pub const TOKENIZER_ERROR: &str = "TOKENIZER_ERROR";
    /// A generation is already running in this session.
    pub const SESSION_BUSY: &str = "SESSION_BUSY";
    /// The model or session was disposed.
    pub const DISPOSED: &str = "HEARTH_DISPOSED";
    /// A bug (a caught panic, a lost thread).
    pub const INTERNAL: &str = "HEARTH_INTERNAL";
}

/// A failure on its way to JavaScript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: String,
    pub message: String,
}

impl Failure {
    pub fn new(code: &str, message: impl Into<String>) -> Failure {
        Failure {
            code: code.to_string(),
            message: message.into(),
        }
    }

    /// Builds the JS `Error` (with `code`) in `env`.
    ///
    /// # Safety
    /// `env` must be the current, live environment of the calling (JS) thread.
    pub unsafe fn to_js(&self, env: sys::napi_env) -> sys::napi_value {
        let err: napi::Error<String> = napi::Error::new(self.code.clone(), self.message.clone());
        // SAFETY: forwarded from the caller.
        unsafe { JsError::from(err).into_value(env) }
    }

    /// A `napi::Error` that throws (or rejects with) exactly this JS error object.
    pub fn into_napi(self, env: &Env) -> napi::Error {
        // SAFETY: called on the JS thread with its env.
        let value = unsafe { self.to_js(env.raw()) };
        if value.is_null() {
            return napi::Error::new(napi::Status::GenericFailure, self.message);
        }
        // SAFETY: `value` is a live JS value of this env.
        match unsafe {
            <Unknown as napi::bindgen_prelude::FromNapiValue>::from_napi_value(env.raw(), value)
        } {
            Ok(unknown) => napi::Error::from(unknown),
            Err(_) => napi::Error::new(napi::Status::GenericFailure, self.message),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl From<hearth_core::Error> for Failure {
    fn from(e: hearth_core::Error) -> Self {
        Failure::new(e.code(), e.to_string())
    }
}

impl From<hearth_llama_cpp::LlamaError> for Failure {
    fn from(e: hearth_llama_cpp::LlamaError) -> Self {
        use hearth_llama_cpp::LlamaError as E;
        let c = match &e {
            E::Load(_) => code::LOAD_FAILED,
            E::Context => code::CONTEXT_FAILED,
            E::Tokenize(_) => code::TOKENIZER_ERROR,
            E::Decode(_) => code::DECODE_FAILED,
            E::Quantize(_) => code::INTERNAL,
            E::Invalid(_) => code::INVALID_OPTION,
        };
        Failure::new(c, e.to_string())
    }
}

/// Result with a [`Failure`].
pub type Outcome<T> = std::result::Result<T, Failure>;

/// Runs `f`, turning a panic into a `HEARTH_INTERNAL` failure: nothing panics across the boundary.
pub fn guard<T>(f: impl FnOnce() -> Outcome<T>) -> Outcome<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(Failure::new(
                code::INTERNAL,
                format!("hearth-node panicked (a bug, please report it): {what}"),
            ))
        }
    }
}

/// [`guard`] for synchronous methods: failures become thrown JS errors.
pub fn sync<T>(env: &Env, f: impl FnOnce() -> Outcome<T>) -> napi::Result<T> {
    guard(f).map_err(|e| e.into_napi(env))
}

/// Converts a value for JS (used in threadsafe callbacks).
///
/// # Safety
/// `env` must be the live environment of the calling (JS) thread.
pub unsafe fn to_js_value<T: ToNapiValue>(env: sys::napi_env, v: T) -> Option<sys::napi_value> {
    // SAFETY: forwarded from the caller.
    unsafe { T::to_napi_value(env, v) }.ok()
}
