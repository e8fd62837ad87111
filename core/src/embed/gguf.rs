//! `bert`-architecture GGUF files (llama.cpp's layout) as embedding models, and the converter
//! that writes one from a Hugging Face BERT directory.
//!
//! llama.cpp's conventions (src/llama-arch.cpp, llama-vocab.cpp, convert_hf_to_gguf.py):
//! - tensors `token_embd`, `token_types`, `position_embd`, `token_embd_norm`, and per layer
//!   `blk.N.attn_q|attn_k|attn_v|attn_output`, `attn_output_norm`, `ffn_up`, `ffn_down`,
//!   `layer_output_norm` (`.weight`/`.bias`), dims in ggml order (`[in, out]`);
//! - metadata `bert.{context_length, embedding_length, feed_forward_length, block_count,
//!   attention.head_count, attention.layer_norm_epsilon, attention.causal, pooling_type}`;
//! - tokenizer `tokenizer.ggml.model = "bert"` (WordPiece, llama.cpp "WPM") whose vocabulary
//!   is stored in the "phantom space" form: a word-start piece `x` is `▁x`, a continuation
//!   `##x` is `x`, bracketed specials (`[CLS]`) stay as they are. Text is lowercased and
//!   accent-stripped unless `tokenizer.ggml.normalizer.lowercase|strip_accents` say otherwise,
//!   and split on whitespace, punctuation and CJK characters.
//!
//! The loader turns the vocabulary back into HF WordPiece form and runs it with the
//! `tokenizers` crate (BertNormalizer, BertPreTokenizer, `[CLS] … [SEP]`), and maps the tensors
//! onto the HF names the BERT encoder reads, so both formats share one encoder. GGUF declares
//! no normalisation: vectors are L2-normalised by default, as llama.cpp's embedding tool does.
//! Differences from llama.cpp kept on purpose: special-token text written in the input
//! (`"[SEP]"`) is recognised as that token (llama.cpp splits it as text unless asked).

use std::collections::HashMap;

use serde_json::json;

use super::config::{BertConfig, Pooling, SentenceConfig};
use super::{EmbedError, EmbedLoadOptions, EmbeddingModel};
use crate::gguf::{Gguf, MetaArray, MetaValue};
use crate::safetensors::{SafeTensors, SafeTensorsError, TensorEntry};
use crate::tokenizer::Tokenizer;
use crate::{ModelBytes, Result};

#[cfg(not(target_arch = "wasm32"))]
pub use convert::convert_dir;

/// The phantom-space marker llama.cpp's WordPiece vocabulary puts before word-start pieces.
const PHANTOM: char = '\u{2581}';

/// GGUF `pooling_type` values (llama.cpp `enum llama_pooling_type`).
const POOLING_MEAN: u64 = 1;
const POOLING_CLS: u64 = 2;

/// `(HF name, GGUF name)` of every tensor of a BERT encoder with `layers` layers.
fn tensor_names(layers: usize) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = Vec::new();
    let mut both = |hf: &str, gg: &str| {
        for s in ["weight", "bias"] {
            v.push((format!("{hf}.{s}"), format!("{gg}.{s}")));
        }
    };
    both("embeddings.LayerNorm", "token_embd_norm");
    for i in 0..layers {
        let (p, b) = (format!("encoder.layer.{i}"), format!("blk.{i}"));
        for (hf, gg) in [
            ("attention.self.query", "attn_q"),
            ("attention.self.key", "attn_k"),
            ("attention.self.value", "attn_v"),
            ("attention.output.dense", "attn_output"),
            ("attention.output.LayerNorm", "attn_output_norm"),
            ("intermediate.dense", "ffn_up"),
            ("output.dense", "ffn_down"),
            ("output.LayerNorm", "layer_output_norm"),
        ] {
            both(&format!("{p}.{hf}"), &format!("{b}.{gg}"));
        }
    }
    for (hf, gg) in [
        ("embeddings.word_embeddings.weight", "token_embd.weight"),
        (
            "embeddings.token_type_embeddings.weight",
            "token_types.weight",
        ),
        (
            "embeddings.position_embeddings.weight",
            "position_embd.weight",
        ),
    ] {
        v.push((hf.into(), gg.into()));
    }
    v
}

fn invalid(msg: impl Into<String>) -> EmbedError {
    EmbedError::InvalidConfig(msg.into())
}

/// Whether `bytes` start like a GGUF file.
pub fn is_gguf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"GGUF")
}

impl EmbeddingModel {
    /// Loads a `bert` GGUF file (memory-mapped).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load_gguf_file(
        path: impl AsRef<std::path::Path>,
        options: EmbedLoadOptions,
    ) -> Result<EmbeddingModel> {
        let path = path.as_ref();
        let bytes = ModelBytes::map_file(path).map_err(|e| crate::Error::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::from_gguf(bytes, options)
    }

    /// Loads a model from a path: a Hugging Face directory, or a `bert` GGUF file.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load_path_with(
        path: impl AsRef<std::path::Path>,
        options: EmbedLoadOptions,
    ) -> Result<EmbeddingModel> {
        let path = path.as_ref();
        if path.is_dir() {
            Self::load_dir_with(path, options)
        } else {
            Self::load_gguf_file(path, options)
        }
    }

    /// Builds a model from the bytes of a `bert` GGUF file (F32, F16, BF16 or quantized
    /// tensors; `options.quantize` converts the matrices to Q8_0). Any other architecture is
    /// `UNSUPPORTED_ARCHITECTURE`.
    pub fn from_gguf(bytes: ModelBytes, options: EmbedLoadOptions) -> Result<EmbeddingModel> {
        let g = Gguf::parse(&bytes)?;
        match g.architecture() {
            Some("bert") => {}
            other => {
                return Err(EmbedError::UnsupportedArchitecture(
                    other.unwrap_or("(none)").to_string(),
                )
                .into());
            }
        }
        let need = |key: &str| -> std::result::Result<usize, EmbedError> {
            match g.arch_get(key).and_then(MetaValue::as_u64) {
                Some(0) => Err(invalid(format!("bert.{key} is 0"))),
                Some(n) => Ok(n as usize),
                None => Err(invalid(format!("the GGUF has no bert.{key}"))),
            }
        };
        if g.arch_get("attention.causal").and_then(MetaValue::as_bool) == Some(true) {
            return Err(
                invalid("bert.attention.causal is true (an encoder is bidirectional)").into(),
            );
        }
        let pooling = match g.arch_get("pooling_type").and_then(MetaValue::as_u64) {
            None | Some(POOLING_MEAN) => Pooling::Mean,
            Some(POOLING_CLS) => Pooling::Cls,
            Some(p) => {
                return Err(invalid(format!(
                    "bert.pooling_type {p} is not supported (1 mean, 2 cls)"
                ))
                .into());
            }
        };
        let dims = |name: &str| {
            g.tensor(name)
                .map(|t| t.dims.clone())
                .ok_or_else(|| SafeTensorsError::MissingTensor(name.to_string()))
        };
        let word = dims("token_embd.weight")?;
        let types = dims("token_types.weight")?;
        let config = BertConfig {
            vocab_size: word.get(1).copied().unwrap_or(0) as usize,
            hidden_size: need("embedding_length")?,
            num_hidden_layers: need("block_count")?,
            num_attention_heads: need("attention.head_count")?,
            intermediate_size: need("feed_forward_length")?,
            max_position_embeddings: need("context_length")?,
            type_vocab_size: types.get(1).copied().unwrap_or(1).max(1) as usize,
            layer_norm_eps: g
                .arch_get("attention.layer_norm_epsilon")
                .and_then(MetaValue::as_f64)
                .unwrap_or(1e-12) as f32,
        };
        if config.vocab_size == 0
            || !config
                .hidden_size
                .is_multiple_of(config.num_attention_heads)
        {
            return Err(invalid(format!(
                "embedding_length {} and head_count {} do not fit, or token_embd is empty",
                config.hidden_size, config.num_attention_heads
            ))
            .into());
        }
        let tokenizer = Tokenizer::from_hf_json(&wordpiece_json(&g)?)?;
        if tokenizer.vocab_size() > config.vocab_size {
            return Err(invalid(format!(
                "the tokenizer has {} tokens but token_embd has {} rows",
                tokenizer.vocab_size(),
                config.vocab_size
            ))
            .into());
        }
        let mut entries = HashMap::new();
        for (hf, gg) in tensor_names(config.num_hidden_layers) {
            let t = g
                .tensor(&gg)
                .ok_or_else(|| SafeTensorsError::MissingTensor(gg.clone()))?;
            let r = t.range();
            entries.insert(
                hf,
                TensorEntry {
                    dtype: t.ty.name().to_string(),
                    ty: Some(t.ty),
                    shape: t.dims.iter().rev().map(|&d| d as usize).collect(),
                    start: r.start,
                    end: r.end,
                },
            );
        }
        let st = SafeTensors::from_entries(bytes.clone(), entries);
        let sentence = SentenceConfig {
            pooling,
            normalize: true,
            max_seq_length: None,
        };
        Self::from_tensors(config, sentence, tokenizer, &st, options)
    }
}

/// A Hugging Face `tokenizer.json` equivalent to the GGUF's WordPiece tokenizer.
fn wordpiece_json(g: &Gguf) -> std::result::Result<Vec<u8>, EmbedError> {
    match g.get_str("tokenizer.ggml.model") {
        Some("bert") => {}
        other => {
            return Err(invalid(format!(
                "a bert GGUF needs tokenizer.ggml.model \"bert\" (WordPiece), found {other:?}"
            )));
        }
    }
    let tokens = g
        .get_array("tokenizer.ggml.tokens")
        .and_then(MetaArray::as_strings)
        .ok_or_else(|| invalid("the GGUF has no tokenizer.ggml.tokens"))?;
    let types = g
        .get_array("tokenizer.ggml.token_type")
        .and_then(MetaArray::to_i64s);
    let id = |key: &str, default: u64| -> std::result::Result<usize, EmbedError> {
        let v = g.get_u64(key).unwrap_or(default) as usize;
        if v < tokens.len() {
            Ok(v)
        } else {
            Err(invalid(format!("{key} {v} is outside the vocabulary")))
        }
    };
    // llama.cpp's defaults for "bert" (llama-vocab.cpp): CLS 101, UNK 100, SEP 102.
    let cls = id(
        "tokenizer.ggml.cls_token_id",
        g.get_u64("tokenizer.ggml.bos_token_id").unwrap_or(101),
    )?;
    let sep = id("tokenizer.ggml.seperator_token_id", 102)?;
    let unk = id("tokenizer.ggml.unknown_token_id", 100)?;
    let mut specials = vec![cls, sep, unk];
    for key in [
        "tokenizer.ggml.padding_token_id",
        "tokenizer.ggml.mask_token_id",
    ] {
        if let Some(v) = g.get_u64(key).filter(|&v| (v as usize) < tokens.len()) {
            specials.push(v as usize);
        }
    }
    specials.sort_unstable();
    specials.dedup();
    let is_control = |i: usize| {
        types
            .as_ref()
            .and_then(|t| t.get(i))
            .is_some_and(|&t| t == 3)
    };
    let mut vocab = serde_json::Map::with_capacity(tokens.len());
    for (i, t) in tokens.iter().enumerate() {
        let hf = if let Some(word) = t.strip_prefix(PHANTOM) {
            word.to_string()
        } else if is_control(i) || specials.contains(&i) || (t.starts_with('[') && t.ends_with(']'))
        {
            t.clone()
        } else {
            format!("##{t}")
        };
        vocab.insert(hf, json!(i));
    }
    let lowercase = g
        .get_bool("tokenizer.ggml.normalizer.lowercase")
        .unwrap_or(true);
    let strip_accents = g
        .get_bool("tokenizer.ggml.normalizer.strip_accents")
        .unwrap_or(lowercase);
    let added: Vec<_> = specials
        .iter()
        .map(|&i| {
            json!({"id": i, "content": tokens[i], "single_word": false, "lstrip": false,
                   "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    let j = json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": true,
            "handle_chinese_chars": true, "strip_accents": strip_accents, "lowercase": lowercase},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "BertProcessing", "sep": [tokens[sep], sep],
            "cls": [tokens[cls], cls]},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
        // llama.cpp has no per-word length limit; HF's default is 100 characters.
        "model": {"type": "WordPiece", "unk_token": tokens[unk],
            "continuing_subword_prefix": "##", "max_input_chars_per_word": 1_000_000,
            "vocab": vocab},
    });
    Ok(serde_json::to_vec(&j).expect("JSON values serialise"))
}

#[cfg(not(target_arch = "wasm32"))]
mod convert {
    use super::*;
    use crate::gguf::GgufWriter;
    use crate::tokenizer::TokenAttr;
    use crate::{GgmlType, quant};

    /// Converts a Hugging Face BERT directory (as [`EmbeddingModel::load_dir`] reads it) into a
    /// `bert` GGUF file with llama.cpp's names and keys. The layer matrices are stored as
    /// `matrix_type` (`F32`, `F16` or `Q8_0`); embedding tables, biases and norms stay F32.
    pub fn convert_dir(dir: impl AsRef<std::path::Path>, matrix_type: GgmlType) -> Result<Vec<u8>> {
        if !matches!(matrix_type, GgmlType::F32 | GgmlType::F16 | GgmlType::Q8_0) {
            return Err(crate::Error::InvalidOption {
                option: "type",
                message: format!("{matrix_type} (use F32, F16 or Q8_0)"),
            });
        }
        let dir = dir.as_ref();
        // Loading validates the whole directory first (config, tokenizer, tensor shapes).
        let model = EmbeddingModel::load_dir(dir)?;
        let c = model.config.clone();
        let pooling = match model.sentence.pooling {
            Pooling::Mean => POOLING_MEAN,
            Pooling::Cls => POOLING_CLS,
            Pooling::Max => {
                return Err(invalid("max pooling has no GGUF pooling_type").into());
            }
        };
        let st_path = dir.join("model.safetensors");
        let st_bytes = ModelBytes::map_file(&st_path).map_err(|e| crate::Error::Io {
            path: st_path.display().to_string(),
            message: e.to_string(),
        })?;
        let st = SafeTensors::from_bytes(st_bytes)?;
        let prefix = if st
            .tensors()
            .contains_key("embeddings.word_embeddings.weight")
        {
            ""
        } else {
            "bert."
        };

        let tok = model.tokenizer();
        let mut tokens = Vec::with_capacity(tok.vocab_size());
        let mut types = Vec::with_capacity(tok.vocab_size());
        for id in 0..tok.vocab_size() as u32 {
            let t = tok.token_text(id).unwrap_or_default();
            let control = tok
                .token_attr(id)
                .is_some_and(|a| a.intersects(TokenAttr::CONTROL));
            // convert_hf_to_gguf.py's phantom-space form (see the module docs).
            tokens.push(if control || (t.starts_with('[') && t.ends_with(']')) {
                t.to_string()
            } else if let Some(rest) = t.strip_prefix("##") {
                rest.to_string()
            } else {
                format!("{PHANTOM}{t}")
            });
            types.push(if control { 3 } else { 1 });
        }
        let find = |name: &str| tok.token_to_id(name);

        let mut w = GgufWriter::new();
        w.meta_str("general.architecture", "bert")
            .meta_str(
                "general.name",
                dir.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default(),
            )
            .meta_u32("bert.context_length", c.max_position_embeddings as u32)
            .meta_u32("bert.embedding_length", c.hidden_size as u32)
            .meta_u32("bert.feed_forward_length", c.intermediate_size as u32)
            .meta_u32("bert.block_count", c.num_hidden_layers as u32)
            .meta_u32("bert.attention.head_count", c.num_attention_heads as u32)
            .meta_f32("bert.attention.layer_norm_epsilon", c.layer_norm_eps)
            .meta("bert.attention.causal", MetaValue::Bool(false))
            .meta_u32("bert.pooling_type", pooling as u32)
            .meta_u32(
                "general.file_type",
                match matrix_type {
                    GgmlType::F32 => 0,
                    GgmlType::F16 => 1,
                    _ => 7,
                },
            )
            .meta_str("tokenizer.ggml.model", "bert")
            .meta(
                "tokenizer.ggml.tokens",
                MetaValue::Array(MetaArray::String(tokens)),
            )
            .meta(
                "tokenizer.ggml.token_type",
                MetaValue::Array(MetaArray::I32(types)),
            )
            .meta_u32("tokenizer.ggml.token_type_count", c.type_vocab_size as u32);
        for (key, names) in [
            ("tokenizer.ggml.cls_token_id", ["[CLS]", "<s>"]),
            ("tokenizer.ggml.seperator_token_id", ["[SEP]", "</s>"]),
            ("tokenizer.ggml.unknown_token_id", ["[UNK]", "<unk>"]),
            ("tokenizer.ggml.padding_token_id", ["[PAD]", "<pad>"]),
            ("tokenizer.ggml.mask_token_id", ["[MASK]", "<mask>"]),
        ] {
            if let Some(id) = names.iter().find_map(|n| find(n)) {
                w.meta_u32(key, id);
            }
        }
        for (hf, gg) in tensor_names(c.num_hidden_layers) {
            let name = format!("{prefix}{hf}");
            let t = st.get(&name)?;
            let shape = t.shape.clone();
            let values = st.to_f32(&name, &shape)?;
            let dims: Vec<u64> = shape.iter().rev().map(|&d| d as u64).collect();
            let is_matrix = gg.starts_with("blk.") && gg.ends_with(".weight") && shape.len() == 2;
            if !is_matrix || matrix_type == GgmlType::F32 || !shape[1].is_multiple_of(32) {
                w.tensor_f32(gg, &dims, &values);
                continue;
            }
            let row_bytes = matrix_type
                .row_bytes(shape[1] as u64)
                .expect("whole blocks") as usize;
            let mut data = vec![0u8; shape[0] * row_bytes];
            for (src, dst) in values
                .chunks_exact(shape[1])
                .zip(data.chunks_exact_mut(row_bytes))
            {
                quant::quantize_row(matrix_type, src, dst)
                    .map_err(|e| SafeTensorsError::Invalid(format!("{name}: {e}")))?;
            }
            w.tensor(gg, &dims, matrix_type, data);
        }
        Ok(w.to_bytes())
    }
}
