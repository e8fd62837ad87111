//! The engine: a loaded [`Model`] (weights, tokenizer, chat template; shared
//! behind an `Arc`) and [`Session`]s over it (KV cache, position, generation).

mod decoder_embed;
mod generate;
mod model;
mod session;
mod stop;

pub use decoder_embed::DecoderPooling;
pub use generate::{FinishReason, GenerateOptions, Generation, GenerationResult, TokenEvent};
pub use model::{EngineConfigJs, Model};
pub use session::{NextLogits, Session, Timings, TimingsJs};
pub use stop::{StopMatcher, StopOutcome};
