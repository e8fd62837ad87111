//! A loaded model: parsed header, mapped weights, tokenizer and chat template.

use std::sync::Arc;

use crate::chat_template::{ChatMessage, ChatTemplate};
use crate::error::{Error, Result};
use crate::gguf::{Gguf, ModelSummary};
use crate::model::{Decoder, ModelConfig};
use crate::tokenizer::Tokenizer;
use crate::{ModelBytes, Timer};

/// The engine's view of a model with camelCase keys: the `config` that both
/// JavaScript bindings (hearth-wasm, hearth-node) return from `info()`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineConfigJs {
    pub architecture: String,
    pub n_vocab: usize,
    pub n_embd: usize,
    pub n_layer: usize,
    pub n_head: usize,
    pub n_head_kv: usize,
    pub head_dim: usize,
    pub n_ff: usize,
    pub n_ctx_train: usize,
    pub sliding_window: Option<usize>,
    pub bos_token_id: Option<u32>,
    pub eos_token_id: Option<u32>,
    pub has_chat_template: bool,
    pub load_ms: f64,
}

impl EngineConfigJs {
    /// From a model configuration and its tokenizer.
    pub fn new(c: &ModelConfig, tok: &Tokenizer, has_chat_template: bool, load_ms: f64) -> Self {
        EngineConfigJs {
            architecture: c.arch.name().to_string(),
            n_vocab: c.n_vocab,
            n_embd: c.n_embd,
            n_layer: c.n_layer,
            n_head: c.n_head,
            n_head_kv: c.n_head_kv,
            head_dim: c.head_dim,
            n_ff: c.n_ff,
            n_ctx_train: c.n_ctx_train,
            sliding_window: c.sliding_window,
            bos_token_id: tok.bos(),
            eos_token_id: tok.eos(),
            has_chat_template,
            load_ms,
        }
    }

    /// From a loaded [`Model`].
    pub fn from_model(m: &Model) -> Self {
        EngineConfigJs::new(
            m.config(),
            m.tokenizer(),
            m.chat_template().is_some(),
            m.load_ms(),
        )
    }
}

/// Everything needed to run a model; cheap to share between sessions (`Arc<Model>`).
#[derive(Debug)]
pub struct Model {
    bytes: ModelBytes,
    summary: ModelSummary,
    decoder: Decoder,
    tokenizer: Tokenizer,
    template: Option<ChatTemplate>,
    load_ms: f64,
}

impl Model {
    /// Loads a model from bytes already in memory (or mapped).
    pub fn load(bytes: ModelBytes) -> Result<Arc<Model>> {
        let timer = Timer::start();
        let gguf = Gguf::parse(&bytes)?;
        let decoder = Decoder::load(&gguf, &bytes)?;
        let tokenizer = Tokenizer::from_gguf(&gguf)?;
        if tokenizer.vocab_size() != decoder.config.n_vocab {
            return Err(crate::model::ModelError::InvalidConfig(format!(
                "tokenizer has {} tokens, the output layer {}",
                tokenizer.vocab_size(),
                decoder.config.n_vocab
            ))
            .into());
        }
        let template = Some(ChatTemplate::from_gguf(&gguf, &tokenizer)?);
        let summary = ModelSummary::from_gguf(&gguf);
        Ok(Arc::new(Model {
            bytes,
            summary,
            decoder,
            tokenizer,
            template,
            load_ms: timer.ms(),
        }))
    }

    /// Memory-maps and loads a GGUF file.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load_file(path: impl AsRef<std::path::Path>) -> Result<Arc<Model>> {
        let path = path.as_ref();
        let bytes = ModelBytes::map_file(path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Model::load(bytes)
    }

    /// What `hearth info` reports.
    pub fn summary(&self) -> &ModelSummary {
        &self.summary
    }

    /// Shape and hyper-parameters.
    pub fn config(&self) -> &ModelConfig {
        &self.decoder.config
    }

    /// The GGUF file's bytes (for metadata read on demand).
    pub(crate) fn bytes(&self) -> &ModelBytes {
        &self.bytes
    }

    /// The decoder (configuration and weights), e.g. to upload it to the GPU.
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The chat template (the file's own, or a built-in one for its family).
    pub fn chat_template(&self) -> Option<&ChatTemplate> {
        self.template.as_ref()
    }

    /// Milliseconds spent in [`Model::load`] (parse, map, tokenizer, template).
    pub fn load_ms(&self) -> f64 {
        self.load_ms
    }

    /// Size of the model bytes.
    pub fn file_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// Tokenizes text; `add_special` adds BOS/EOS as the model declares.
    pub fn tokenize(&self, text: &str, add_special: bool, parse_special: bool) -> Result<Vec<u32>> {
        Ok(self.tokenizer.encode(text, add_special, parse_special)?)
    }

    /// Turns tokens back into text (special tokens rendered unless `skip_special`).
    pub fn detokenize(&self, tokens: &[u32], skip_special: bool) -> Result<String> {
        Ok(self.tokenizer.decode(tokens, skip_special)?)
    }

    /// Renders messages with the chat template (ending with the assistant's
    /// turn header) and tokenizes the result, parsing special tokens. BOS is
    /// added as the model declares unless the template already wrote it.
    pub fn tokenize_chat(&self, messages: &[ChatMessage]) -> Result<Vec<u32>> {
        let text = self.apply_chat_template(messages, true)?;
        let bos_in_text = self
            .tokenizer
            .bos()
            .and_then(|b| self.tokenizer.token_text(b))
            .is_some_and(|b| !b.is_empty() && text.starts_with(b));
        self.tokenize(&text, !bos_in_text, true)
    }

    /// Renders messages with the model's chat template.
    pub fn apply_chat_template(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
    ) -> Result<String> {
        let t = self.template.as_ref().ok_or(Error::NoChatTemplate)?;
        Ok(t.render(messages, add_generation_prompt, None)?)
    }
}
