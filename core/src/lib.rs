//! `hearth-core`: Hearth's pure-Rust inference engine.
//!
//! Model bytes flow through [`gguf`] (container parsing) into the quantized
//! blocks of [`quant`], the tokenizer, the model graph and the engine session.
//! Nothing here knows about JavaScript; `hearth-wasm` and `hearth-node` bind it.

pub mod bytes;
pub mod ggml_type;
pub mod gguf;
pub mod quant;

pub use bytes::ModelBytes;
pub use ggml_type::GgmlType;
