//! A model summary read from GGUF metadata: what `hearth info` prints and what
//! the bindings return from `info()`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Gguf, MetaValue};

/// Count and bytes of the tensors of one ggml type.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TypeStats {
    pub count: u64,
    pub bytes: u64,
}

/// Tokenizer facts from `tokenizer.ggml.*`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenizerSummary {
    /// `tokenizer.ggml.model`: `gpt2` (byte-level BPE), `llama` (SentencePiece), `bert` …
    pub model: Option<String>,
    /// `tokenizer.ggml.pre`: the pre-tokenizer variant.
    pub pre: Option<String>,
    pub vocab_size: u64,
    pub bos_token_id: Option<u64>,
    pub eos_token_id: Option<u64>,
    pub add_bos_token: Option<bool>,
}

/// Everything `hearth info` reports about a GGUF model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelSummary {
    pub gguf_version: u32,
    pub file_size: u64,
    pub architecture: Option<String>,
    pub name: Option<String>,
    pub parameter_count: u64,
    pub context_length: Option<u64>,
    pub embedding_length: Option<u64>,
    pub block_count: Option<u64>,
    pub head_count: Option<u64>,
    pub head_count_kv: Option<u64>,
    /// `general.file_type` as llama.cpp names it (e.g. `Q4_1`), when known.
    pub file_type: Option<String>,
    pub tensor_count: u64,
    pub tensor_bytes: u64,
    /// Per ggml type name: tensor count and bytes.
    pub tensor_types: BTreeMap<String, TypeStats>,
    pub tokenizer: TokenizerSummary,
    pub vocab_size: u64,
    pub chat_template: bool,
    pub license: Option<String>,
    /// Provenance: `general.url`, `general.source.url`, base models, repositories …
    pub source: BTreeMap<String, String>,
    pub alignment: u64,
    pub metadata_count: u64,
}

/// `general.file_type` (`enum llama_ftype`) names for the common values.
fn file_type_name(v: u64) -> Option<&'static str> {
    Some(match v {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        32 => "BF16",
        _ => return None,
    })
}

impl ModelSummary {
    /// Summarises a parsed file.
    pub fn from_gguf(g: &Gguf) -> ModelSummary {
        let arch_u64 = |k: &str| g.arch_get(k).and_then(MetaValue::as_u64);
        let mut tensor_types: BTreeMap<String, TypeStats> = BTreeMap::new();
        for t in g.tensors() {
            let e = tensor_types.entry(t.ty.name().to_string()).or_default();
            e.count += 1;
            e.bytes += t.size;
        }
        let vocab_size = g
            .get_array("tokenizer.ggml.tokens")
            .map_or(0, |a| a.len() as u64);
        let mut source = BTreeMap::new();
        for (k, v) in g.metadata() {
            let keep = k == "general.url"
                || k == "general.repo_url"
                || k == "general.organization"
                || k == "general.author"
                || k == "general.version"
                || k == "general.basename"
                || k == "general.finetune"
                || k == "general.size_label"
                || k == "general.quantized_by"
                || k.starts_with("general.source.")
                || k.starts_with("general.base_model.");
            if let (true, Some(s)) = (
                keep,
                v.as_str()
                    .map(str::to_string)
                    .or_else(|| v.as_u64().map(|n| n.to_string())),
            ) {
                source.insert(k.trim_start_matches("general.").to_string(), s);
            }
        }
        ModelSummary {
            gguf_version: g.version,
            file_size: g.file_len,
            architecture: g.architecture().map(str::to_string),
            name: g.get_str("general.name").map(str::to_string),
            parameter_count: g.parameter_count(),
            context_length: arch_u64("context_length"),
            embedding_length: arch_u64("embedding_length"),
            block_count: arch_u64("block_count"),
            head_count: arch_u64("attention.head_count"),
            head_count_kv: arch_u64("attention.head_count_kv"),
            file_type: g
                .get_u64("general.file_type")
                .and_then(file_type_name)
                .map(str::to_string),
            tensor_count: g.tensors().len() as u64,
            tensor_bytes: g.tensors().iter().map(|t| t.size).sum(),
            tensor_types,
            tokenizer: TokenizerSummary {
                model: g.get_str("tokenizer.ggml.model").map(str::to_string),
                pre: g.get_str("tokenizer.ggml.pre").map(str::to_string),
                vocab_size,
                bos_token_id: g.get_u64("tokenizer.ggml.bos_token_id"),
                eos_token_id: g.get_u64("tokenizer.ggml.eos_token_id"),
                add_bos_token: g.get_bool("tokenizer.ggml.add_bos_token"),
            },
            vocab_size,
            chat_template: g.get_str("tokenizer.chat_template").is_some(),
            license: g.get_str("general.license").map(str::to_string),
            source,
            alignment: g.alignment,
            metadata_count: g.metadata().len() as u64,
        }
    }
}
