//! Pooled text embeddings from a decoder LLM (llama / qwen2 / gemma3 GGUF files): the final
//! hidden states after the output norm, pooled over the tokens by mean or by taking the last
//! token, as llama.cpp does for `--embedding` with `--pooling mean|last`.

use crate::Result;
use crate::embed::EmbedError;
use crate::embed::similarity;
use crate::gguf::Gguf;
use crate::model::{ForwardScratch, Logits};

use super::Model;

/// How a decoder's token states become one vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecoderPooling {
    /// Mean over every token (llama.cpp `LLAMA_POOLING_TYPE_MEAN`, GGUF `pooling_type` 1).
    Mean,
    /// The last token's state (llama.cpp `LLAMA_POOLING_TYPE_LAST`, GGUF `pooling_type` 3).
    Last,
}

impl DecoderPooling {
    /// From a GGUF `{arch}.pooling_type` value: 1 mean, 3 last; others are unsupported here.
    pub fn from_gguf_value(v: u64) -> Option<DecoderPooling> {
        match v {
            1 => Some(DecoderPooling::Mean),
            3 => Some(DecoderPooling::Last),
            _ => None,
        }
    }
}

/// Tokens per forward call: bounds the scratch memory of long texts.
const BATCH: usize = 512;

impl Model {
    /// The pooling the GGUF file declares (`{arch}.pooling_type`), if any it supports.
    pub fn declared_pooling(&self) -> Option<DecoderPooling> {
        let g = Gguf::parse(self.bytes()).ok()?;
        g.arch_get("pooling_type")
            .and_then(|v| v.as_u64())
            .and_then(DecoderPooling::from_gguf_value)
    }

    /// Embeds `text` (tokenized with the model's BOS/EOS rules): its tokens run through the
    /// decoder in a fresh cache, the final hidden states (after the output norm) are pooled by
    /// `pooling` (`None`: as the GGUF declares, else mean) and L2-normalised when `normalize`.
    ///
    /// Errors: `EMPTY_INPUT` for a text without tokens, `CONTEXT_FULL` past the training
    /// context, tokenizer errors.
    pub fn embed_text(
        &self,
        text: &str,
        pooling: Option<DecoderPooling>,
        normalize: bool,
    ) -> Result<Vec<f32>> {
        let tokens = self.tokenize(text, true, false)?;
        self.embed_tokens(&tokens, pooling, normalize)
    }

    /// [`embed_text`](Self::embed_text) for token ids.
    pub fn embed_tokens(
        &self,
        tokens: &[u32],
        pooling: Option<DecoderPooling>,
        normalize: bool,
    ) -> Result<Vec<f32>> {
        if tokens.is_empty() {
            return Err(EmbedError::EmptyInput.into());
        }
        let pooling = pooling
            .or_else(|| self.declared_pooling())
            .unwrap_or(DecoderPooling::Mean);
        let decoder = self.decoder();
        let d = decoder.config.n_embd;
        let mut cache = decoder.new_cache(tokens.len());
        let mut scratch = ForwardScratch::default();
        let mut sum = vec![0f64; d];
        let mut last = Vec::new();
        for chunk in tokens.chunks(BATCH) {
            let hidden = decoder.forward(&mut cache, chunk, Logits::Hidden, &mut scratch)?;
            for row in hidden.chunks_exact(d) {
                sum.iter_mut().zip(row).for_each(|(s, &x)| *s += x as f64);
            }
            last = hidden[hidden.len() - d..].to_vec();
        }
        let mut v = match pooling {
            DecoderPooling::Mean => sum
                .iter()
                .map(|&s| (s / tokens.len() as f64) as f32)
                .collect(),
            DecoderPooling::Last => last,
        };
        if normalize {
            similarity::normalize(&mut v);
        }
        Ok(v)
    }
}
