use thiserror::Error;

/// Everything that can go wrong building a [`Tokenizer`](super::Tokenizer) or using one.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TokenizerError {
    /// `tokenizer.ggml.model` names an algorithm we do not implement.
    #[error("unknown tokenizer model {0:?} (supported: \"gpt2\", \"llama\")")]
    UnknownModel(String),
    /// `tokenizer.ggml.pre` names a pre-tokenizer we do not implement.
    #[error("unknown or unsupported pre-tokenizer {0:?}")]
    UnknownPreTokenizer(String),
    /// A required metadata key is absent or has the wrong type.
    #[error("missing or mistyped tokenizer metadata: {0}")]
    MissingMetadata(&'static str),
    /// Parallel arrays disagree (token types or scores shorter than the token list, duplicate tokens…).
    #[error("inconsistent tokenizer metadata: {0}")]
    Inconsistent(String),
    /// A token id outside `0..vocab_size`.
    #[error("token id {id} out of range (vocabulary has {vocab_size} tokens)")]
    InvalidToken {
        /// The offending id.
        id: u32,
        /// Number of tokens in the vocabulary.
        vocab_size: usize,
    },
    /// The model needs a token it does not have (e.g. `add_bos` without a BOS id).
    #[error("the model has no {0} token")]
    MissingSpecialToken(&'static str),
    /// An error from the `tokenizers` crate (building the BPE model, parsing `tokenizer.json`, encoding).
    #[error("tokenizers: {0}")]
    Backend(String),
}

impl From<tokenizers::Error> for TokenizerError {
    fn from(e: tokenizers::Error) -> Self {
        TokenizerError::Backend(e.to_string())
    }
}
