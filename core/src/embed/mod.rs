//! Text embeddings with BERT-family encoders (sentence-transformers models such as
//! all-MiniLM-L6-v2) loaded from a Hugging Face model directory.
//!
//! [`EmbeddingModel::load_dir`] reads `config.json`, `tokenizer.json`, `model.safetensors` and
//! the sentence-transformers files (`modules.json`, the Pooling module's `config.json`,
//! `sentence_bert_config.json`); [`EmbeddingModel::from_parts`] takes the same files as bytes
//! (for wasm). [`EmbeddingModel::embed`] tokenizes (`[CLS] … [SEP]`), truncates at the model's
//! length limit (flagged per input), runs the encoder over batches, pools by the declared mode
//! and L2-normalises when a `Normalize` module is declared. [`similarity`] has cosine and top-k.

mod bert;
mod config;
pub mod gguf;
mod sgemm;
pub mod similarity;

pub use config::{BertConfig, Pooling, SentenceConfig};

use crate::safetensors::{SafeTensors, SafeTensorsError};
use crate::tokenizer::{Tokenizer, TokenizerError};
use crate::{Error, GgmlType, ModelBytes, Result};

use bert::BertWeights;

/// Why an embedding model cannot be loaded or run (tensor-level problems are
/// [`SafeTensorsError`]s, tokenizer problems [`TokenizerError`]s).
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum EmbedError {
    /// A file the model directory must have is absent.
    #[error("the model directory {dir} has no {file}")]
    MissingFile {
        /// The directory.
        dir: String,
        /// The missing file's name.
        file: &'static str,
    },
    /// `config.json` describes a model that is not a BERT encoder.
    #[error(
        "unsupported embedding architecture {0:?} (supported: BERT encoders, model_type \"bert\")"
    )]
    UnsupportedArchitecture(String),
    /// A configuration file is malformed or asks for something unsupported.
    #[error("invalid embedding model configuration: {0}")]
    InvalidConfig(String),
    /// `embed` was called with no texts.
    #[error("no texts to embed")]
    EmptyInput,
}

impl EmbedError {
    /// A stable machine-readable code for bindings.
    pub fn code(&self) -> &'static str {
        match self {
            EmbedError::MissingFile { .. } => "MISSING_MODEL_FILE",
            EmbedError::UnsupportedArchitecture(_) => "UNSUPPORTED_ARCHITECTURE",
            EmbedError::InvalidConfig(_) => "INVALID_MODEL_CONFIG",
            EmbedError::EmptyInput => "EMPTY_INPUT",
        }
    }
}

/// Load-time options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EmbedLoadOptions {
    /// Quantize the encoder's matrices to Q8_0 at load (about 3.8× smaller than F32, faster
    /// integer dot products, cosine ≥ 0.99 to the F32 vectors). Embedding tables, biases and
    /// norms stay F32.
    pub quantize: bool,
}

/// Options of one [`EmbeddingModel::embed`] call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EmbedOptions {
    /// L2-normalise the vectors: `None` follows the model (a declared `Normalize` module).
    pub normalize: Option<bool>,
    /// Texts per encoder batch; `0` means 32.
    pub batch_size: usize,
}

/// The result of [`EmbeddingModel::embed`].
#[derive(Clone, Debug, PartialEq)]
pub struct Embeddings {
    /// One vector of `dims` values per input text, in input order.
    pub vectors: Vec<Vec<f32>>,
    /// Per input: whether its tokens were cut at the model's length limit.
    pub truncated: Vec<bool>,
    /// Vector length (the model's hidden size).
    pub dims: usize,
}

/// A text after tokenization and truncation, as the encoder sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedText {
    /// Token ids including `[CLS]`/`[SEP]`.
    pub ids: Vec<u32>,
    /// Whether tokens were dropped to fit [`EmbedInfo::max_tokens`].
    pub truncated: bool,
}

/// What a loaded embedding model is.
#[derive(Clone, Debug, PartialEq)]
pub struct EmbedInfo {
    /// Architecture family (`"bert"`).
    pub architecture: &'static str,
    /// Output vector length.
    pub dims: usize,
    /// Encoder layers.
    pub layers: usize,
    /// Attention heads.
    pub heads: usize,
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Longest token sequence (special tokens included) before truncation.
    pub max_tokens: usize,
    /// Pooling mode.
    pub pooling: Pooling,
    /// Whether vectors are L2-normalised by default.
    pub normalize: bool,
    /// Type the encoder matrices are multiplied in (`F32`, `F16`, `BF16`, or `Q8_0` when
    /// quantized at load).
    pub matrix_type: GgmlType,
    /// Whether the matrices were quantized at load.
    pub quantized: bool,
    /// Bytes of the encoder matrices as multiplied.
    pub matrix_bytes: usize,
}

/// [`EmbedInfo`] with camelCase keys: what both JavaScript bindings (hearth-wasm, hearth-node)
/// return from an embedding model's `info()`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmbedInfoJs {
    /// Architecture family (`"bert"`).
    pub architecture: &'static str,
    /// Output vector length.
    pub dims: usize,
    /// Encoder layers.
    pub layers: usize,
    /// Attention heads.
    pub heads: usize,
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Longest token sequence before truncation.
    pub max_tokens: usize,
    /// `"mean"`, `"cls"` or `"max"`.
    pub pooling: &'static str,
    /// Whether vectors are L2-normalised by default.
    pub normalize: bool,
    /// Type the encoder matrices are multiplied in (`"F32"`, `"Q8_0"` …).
    pub matrix_type: &'static str,
    /// Whether the matrices were quantized at load.
    pub quantized: bool,
    /// Bytes of the encoder matrices as multiplied.
    pub matrix_bytes: usize,
}

impl From<&EmbedInfo> for EmbedInfoJs {
    fn from(i: &EmbedInfo) -> Self {
        EmbedInfoJs {
            architecture: i.architecture,
            dims: i.dims,
            layers: i.layers,
            heads: i.heads,
            vocab_size: i.vocab_size,
            max_tokens: i.max_tokens,
            pooling: i.pooling.as_str(),
            normalize: i.normalize,
            matrix_type: i.matrix_type.name(),
            quantized: i.quantized,
            matrix_bytes: i.matrix_bytes,
        }
    }
}

/// A loaded BERT-family sentence embedding model.
#[derive(Debug)]
pub struct EmbeddingModel {
    config: BertConfig,
    sentence: SentenceConfig,
    tokenizer: Tokenizer,
    weights: BertWeights,
    max_tokens: usize,
    quantized: bool,
}

#[cfg(not(target_arch = "wasm32"))]
fn read_file(dir: &std::path::Path, file: &'static str, required: bool) -> Result<Option<Vec<u8>>> {
    let p = dir.join(file);
    match std::fs::read(&p) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if required {
                Err(EmbedError::MissingFile {
                    dir: dir.display().to_string(),
                    file,
                }
                .into())
            } else {
                Ok(None)
            }
        }
        Err(e) => Err(Error::Io {
            path: p.display().to_string(),
            message: e.to_string(),
        }),
    }
}

impl EmbeddingModel {
    /// Loads a Hugging Face model directory with default options (F32 or the file's type).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load_dir(dir: impl AsRef<std::path::Path>) -> Result<EmbeddingModel> {
        Self::load_dir_with(dir, EmbedLoadOptions::default())
    }

    /// Loads a Hugging Face model directory; `model.safetensors` is memory-mapped.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load_dir_with(
        dir: impl AsRef<std::path::Path>,
        options: EmbedLoadOptions,
    ) -> Result<EmbeddingModel> {
        let dir = dir.as_ref();
        if !dir.is_dir() {
            return Err(Error::Io {
                path: dir.display().to_string(),
                message: "not a directory".into(),
            });
        }
        let config = read_file(dir, "config.json", true)?.expect("required");
        let tokenizer = read_file(dir, "tokenizer.json", true)?.expect("required");
        let weights_path = dir.join("model.safetensors");
        if !weights_path.exists() {
            return Err(EmbedError::MissingFile {
                dir: dir.display().to_string(),
                file: "model.safetensors",
            }
            .into());
        }
        let weights = ModelBytes::map_file(&weights_path).map_err(|e| Error::Io {
            path: weights_path.display().to_string(),
            message: e.to_string(),
        })?;
        let modules = read_file(dir, "modules.json", false)?;
        let pooling_dir = config::pooling_path(modules.as_deref());
        let pooling_file = dir.join(&pooling_dir).join("config.json");
        let pooling = match std::fs::read(&pooling_file) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(Error::Io {
                    path: pooling_file.display().to_string(),
                    message: e.to_string(),
                });
            }
        };
        let st_config = read_file(dir, "sentence_bert_config.json", false)?;
        Self::from_parts(
            &config,
            &tokenizer,
            weights,
            pooling.as_deref(),
            st_config.as_deref(),
            modules.as_deref(),
            options,
        )
    }

    /// Builds a model from the directory's files as bytes: `config.json`, `tokenizer.json`,
    /// `model.safetensors`, and optionally the Pooling module's `config.json`,
    /// `sentence_bert_config.json` and `modules.json` (absent: mean pooling, no
    /// normalisation, `max_position_embeddings` tokens).
    pub fn from_parts(
        config_json: &[u8],
        tokenizer_json: &[u8],
        safetensors: ModelBytes,
        pooling_json: Option<&[u8]>,
        st_config_json: Option<&[u8]>,
        modules_json: Option<&[u8]>,
        options: EmbedLoadOptions,
    ) -> Result<EmbeddingModel> {
        let config = BertConfig::from_json(config_json)?;
        let sentence = SentenceConfig::from_json(pooling_json, st_config_json, modules_json)?;
        let tokenizer = Tokenizer::from_hf_json(tokenizer_json)?;
        if tokenizer.vocab_size() > config.vocab_size {
            return Err(EmbedError::InvalidConfig(format!(
                "the tokenizer has {} tokens but the model's vocab_size is {}",
                tokenizer.vocab_size(),
                config.vocab_size
            ))
            .into());
        }
        let st = SafeTensors::from_bytes(safetensors)?;
        Self::from_tensors(config, sentence, tokenizer, &st, options)
    }

    /// Builds a model from parsed configuration, tokenizer and HF-named tensors.
    fn from_tensors(
        config: BertConfig,
        sentence: SentenceConfig,
        tokenizer: Tokenizer,
        st: &SafeTensors,
        options: EmbedLoadOptions,
    ) -> Result<EmbeddingModel> {
        let weights = BertWeights::load(st, &config, options.quantize)?;
        let max_tokens = sentence
            .max_seq_length
            .unwrap_or(config.max_position_embeddings)
            .min(config.max_position_embeddings);
        Ok(EmbeddingModel {
            config,
            sentence,
            tokenizer,
            weights,
            max_tokens,
            quantized: options.quantize,
        })
    }

    /// What the model is.
    pub fn info(&self) -> EmbedInfo {
        EmbedInfo {
            architecture: "bert",
            dims: self.config.hidden_size,
            layers: self.config.num_hidden_layers,
            heads: self.config.num_attention_heads,
            vocab_size: self.config.vocab_size,
            max_tokens: self.max_tokens,
            pooling: self.sentence.pooling,
            normalize: self.sentence.normalize,
            matrix_type: self.weights.matrix_type,
            quantized: self.quantized,
            matrix_bytes: self.weights.matrix_bytes,
        }
    }

    /// The BERT hyper-parameters.
    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Tokenizes one text as [`embed`](Self::embed) does: special tokens added, then cut to
    /// [`EmbedInfo::max_tokens`] keeping the closing special token (as HF truncation does).
    pub fn encode(&self, text: &str) -> Result<EncodedText> {
        let mut ids = self.tokenizer.encode(text, true, false)?;
        let truncated = ids.len() > self.max_tokens;
        if truncated {
            let last = *ids.last().expect("longer than max_tokens");
            ids.truncate(self.max_tokens);
            if self.tokenizer.is_special(last) {
                ids[self.max_tokens - 1] = last;
            }
        }
        if let Some(&bad) = ids
            .iter()
            .find(|&&id| id as usize >= self.config.vocab_size)
        {
            return Err(TokenizerError::InvalidToken {
                id: bad,
                vocab_size: self.config.vocab_size,
            }
            .into());
        }
        Ok(EncodedText { ids, truncated })
    }

    /// Embeds `texts`: one vector per text, in order, with per-text truncation flags.
    pub fn embed(&self, texts: &[&str], options: EmbedOptions) -> Result<Embeddings> {
        if texts.is_empty() {
            return Err(EmbedError::EmptyInput.into());
        }
        let batch = if options.batch_size == 0 {
            32
        } else {
            options.batch_size
        };
        let normalize = options.normalize.unwrap_or(self.sentence.normalize);
        let encoded = texts
            .iter()
            .map(|t| self.encode(t))
            .collect::<Result<Vec<_>>>()?;
        let truncated = encoded.iter().map(|e| e.truncated).collect();
        let mut vectors = Vec::with_capacity(texts.len());
        for chunk in encoded.chunks(batch) {
            let seqs: Vec<Vec<u32>> = chunk.iter().map(|e| e.ids.clone()).collect();
            vectors.extend(bert::encode(
                &self.config,
                &self.weights,
                &seqs,
                self.sentence.pooling,
            ));
        }
        if normalize {
            vectors.iter_mut().for_each(|v| similarity::normalize(v));
        }
        Ok(Embeddings {
            vectors,
            truncated,
            dims: self.config.hidden_size,
        })
    }
}

impl From<SafeTensorsError> for Error {
    fn from(e: SafeTensorsError) -> Self {
        Error::SafeTensors(e)
    }
}

impl From<EmbedError> for Error {
    fn from(e: EmbedError) -> Self {
        Error::Embed(e)
    }
}
