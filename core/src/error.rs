//! The one error type of hearth-core's public API; every variant has a stable
//! `code()` that the bindings expose to JavaScript.

use crate::chat_template::TemplateError;
use crate::embed::EmbedError;
use crate::gguf::GgufError;
use crate::model::ModelError;
use crate::safetensors::SafeTensorsError;
use crate::sampling::SamplingError;
use crate::tokenizer::TokenizerError;

/// Any failure of loading or running a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("cannot read {path}: {message}")]
    Io { path: String, message: String },
    #[error(transparent)]
    Gguf(#[from] GgufError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Sampling(#[from] SamplingError),
    #[error(transparent)]
    SafeTensors(SafeTensorsError),
    #[error(transparent)]
    Embed(EmbedError),
    #[error("invalid option {option}: {message}")]
    InvalidOption {
        option: &'static str,
        message: String,
    },
    #[error("the prompt has {prompt} tokens but the context holds {n_ctx}")]
    PromptTooLong { prompt: usize, n_ctx: usize },
    #[error("the model has no chat template and no built-in one fits")]
    NoChatTemplate,
    /// The GPU backend failed (see [`crate::gpu::GpuError::code`]).
    #[cfg(feature = "gpu")]
    #[error(transparent)]
    Gpu(#[from] crate::gpu::GpuError),
}

impl Error {
    /// A stable machine-readable code (`"GGUF_TRUNCATED"`, `"PROMPT_TOO_LONG"` …).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Io { .. } => "IO_ERROR",
            Error::Gguf(e) => e.code(),
            Error::Model(e) => e.code(),
            Error::Tokenizer(_) => "TOKENIZER_ERROR",
            Error::Template(_) => "TEMPLATE_ERROR",
            Error::Sampling(_) => "INVALID_SAMPLING_OPTION",
            Error::SafeTensors(e) => e.code(),
            Error::Embed(e) => e.code(),
            Error::InvalidOption { .. } => "INVALID_OPTION",
            Error::PromptTooLong { .. } => "PROMPT_TOO_LONG",
            Error::NoChatTemplate => "NO_CHAT_TEMPLATE",
            #[cfg(feature = "gpu")]
            Error::Gpu(e) => e.code(),
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
