//! `hearth-core`: Hearth's pure-Rust inference engine.
//!
//! Model bytes flow through [`gguf`] (container parsing) into [`model`]
//! (configuration and weights mapped in place, quantized blocks from [`quant`]),
//! text through [`tokenizer`] and [`chat_template`], and generation through
//! [`engine`] (sessions with a KV cache) and [`sampling`]. Sentence embeddings come from
//! [`embed`] (BERT encoders over [`safetensors`] weights). Nothing here knows
//! about JavaScript; `hearth-wasm` and `hearth-node` bind it.

pub mod bytes;
pub mod chat_template;
pub mod embed;
pub mod engine;
pub mod error;
pub mod ggml_type;
pub mod gguf;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod model;
pub mod quant;
pub mod safetensors;
pub mod sampling;
pub mod timer;
pub mod tokenizer;

pub use bytes::ModelBytes;
pub use embed::{EmbedInfoJs, EmbedLoadOptions, EmbedOptions, EmbeddingModel, Embeddings};
pub use engine::{
    DecoderPooling, FinishReason, GenerateOptions, Generation, GenerationResult, Model, Session,
    TokenEvent,
};
pub use error::{Error, Result};
pub use ggml_type::GgmlType;
pub use model::KvType;
pub use sampling::SamplingOptions;
pub use timer::Timer;
