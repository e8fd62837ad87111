//! Decoder language models: configuration from GGUF metadata, weights mapped
//! in place, and the forward pass.
//!
//! `config.rs` reads hyper-parameters, `weights.rs` maps tensors, `ops.rs` and
//! `matmul.rs` hold the numeric building blocks, `forward.rs` the transformer,
//! `attend_tiled.rs` its attention for prompt batches of 64 or more tokens.

mod attend_tiled;
mod config;
mod forward;
pub mod matmul;
pub(crate) mod ops;
mod weights;

pub use config::{Activation, Architecture, ModelConfig, RopeStyle};
pub use forward::{ForwardScratch, KvCache, KvType, Logits};
pub use weights::{LayerWeights, QMatrix, Weights};

use crate::ModelBytes;
use crate::gguf::Gguf;

/// Why a model cannot be built or run.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum ModelError {
    #[error("unsupported architecture {0:?} (supported: {list})", list = Architecture::SUPPORTED.join(", "))]
    UnsupportedArchitecture(String),
    #[error("missing metadata key {0:?}")]
    MissingMetadata(String),
    #[error("invalid model configuration: {0}")]
    InvalidConfig(String),
    #[error("missing tensor {0:?}")]
    MissingTensor(String),
    #[error("tensor {name:?} has shape {found:?}, expected {expected:?}")]
    WrongShape {
        name: String,
        expected: Vec<u64>,
        found: Vec<u64>,
    },
    #[error("tensor {name:?} has type {ty}, which this engine cannot multiply")]
    UnsupportedTensorType { name: String, ty: &'static str },
    #[error("token id {token} is out of range (vocabulary has {n_vocab} tokens)")]
    TokenOutOfRange { token: u32, n_vocab: usize },
    #[error("context is full: {needed} positions needed, the context holds {capacity}")]
    ContextFull { needed: usize, capacity: usize },
    #[error("no tokens to evaluate")]
    EmptyInput,
    /// Hidden states handed to [`forward::forward_from_hidden`] that are not whole rows, or
    /// a block the model does not have.
    #[error("invalid hidden states: {0}")]
    InvalidHidden(String),
    #[error("quantized data error: {0}")]
    Quant(String),
}

impl From<crate::quant::QuantError> for ModelError {
    fn from(e: crate::quant::QuantError) -> Self {
        ModelError::Quant(e.to_string())
    }
}

impl ModelError {
    /// A stable machine-readable code for bindings.
    pub fn code(&self) -> &'static str {
        match self {
            ModelError::UnsupportedArchitecture(_) => "UNSUPPORTED_ARCHITECTURE",
            ModelError::MissingMetadata(_) => "MISSING_METADATA",
            ModelError::InvalidConfig(_) => "INVALID_MODEL_CONFIG",
            ModelError::MissingTensor(_) => "MISSING_TENSOR",
            ModelError::WrongShape { .. } => "WRONG_TENSOR_SHAPE",
            ModelError::UnsupportedTensorType { .. } => "UNSUPPORTED_TENSOR_TYPE",
            ModelError::TokenOutOfRange { .. } => "TOKEN_OUT_OF_RANGE",
            ModelError::ContextFull { .. } => "CONTEXT_FULL",
            ModelError::EmptyInput => "EMPTY_INPUT",
            ModelError::InvalidHidden(_) => "INVALID_HIDDEN_STATES",
            ModelError::Quant(_) => "QUANT_ERROR",
        }
    }
}

/// A decoder model's configuration and weights (no tokenizer; see `engine::Model`).
#[derive(Clone, Debug)]
pub struct Decoder {
    pub config: ModelConfig,
    pub weights: Weights,
}

impl Decoder {
    /// Reads the configuration and maps the weights of a parsed GGUF file.
    pub fn load(g: &Gguf, bytes: &ModelBytes) -> Result<Decoder, ModelError> {
        let config = ModelConfig::from_gguf(g)?;
        let weights = Weights::load(g, bytes, &config)?;
        Ok(Decoder { config, weights })
    }

    /// Evaluates `tokens` after what `cache` holds; see [`forward::forward`].
    pub fn forward(
        &self,
        cache: &mut KvCache,
        tokens: &[u32],
        which: Logits,
        scratch: &mut ForwardScratch,
    ) -> Result<Vec<f32>, ModelError> {
        // Run the whole pass on a pool thread: each of its ~200 parallel matmuls then
        // splits work locally instead of being injected into the pool from outside and
        // blocking the caller (a sleep and wake-up per matmul).
        rayon::scope(|_| {
            forward::forward(&self.config, &self.weights, cache, tokens, which, scratch)
        })
    }

    /// Evaluates tokens from block `first` on, given their residual stream after the blocks
    /// before it; see [`forward::forward_from_hidden`].
    pub fn forward_from_hidden(
        &self,
        first: usize,
        cache: &mut KvCache,
        hidden: &[f32],
        which: Logits,
        scratch: &mut ForwardScratch,
    ) -> Result<Vec<f32>, ModelError> {
        rayon::scope(|_| {
            forward::forward_from_hidden(
                &self.config,
                &self.weights,
                first,
                cache,
                hidden,
                which,
                scratch,
            )
        })
    }

    /// A fresh f16 KV cache for up to `n_ctx` positions.
    pub fn new_cache(&self, n_ctx: usize) -> KvCache {
        KvCache::new(&self.config, n_ctx)
    }

    /// A fresh KV cache of element type `ty` for up to `n_ctx` positions.
    pub fn new_cache_of(&self, n_ctx: usize, ty: KvType) -> KvCache {
        KvCache::with_type(&self.config, n_ctx, ty)
    }
}
