//! Configuration of an embedding model directory: HF `config.json` and the
//! sentence-transformers files (`modules.json`, `1_Pooling/config.json`,
//! `sentence_bert_config.json`).

use serde::Deserialize;

use super::EmbedError;

/// BERT hyper-parameters from HF `config.json`.
#[derive(Clone, Debug, PartialEq)]
pub struct BertConfig {
    /// Vocabulary size (rows of the word-embedding table).
    pub vocab_size: usize,
    /// Hidden (model) dimension, the size of the output vectors.
    pub hidden_size: usize,
    /// Number of encoder layers.
    pub num_hidden_layers: usize,
    /// Attention heads per layer.
    pub num_attention_heads: usize,
    /// Feed-forward inner dimension.
    pub intermediate_size: usize,
    /// Rows of the position-embedding table: the longest input the model takes.
    pub max_position_embeddings: usize,
    /// Rows of the token-type (segment) embedding table.
    pub type_vocab_size: usize,
    /// LayerNorm epsilon.
    pub layer_norm_eps: f32,
}

#[derive(Deserialize)]
struct RawConfig {
    architectures: Option<Vec<String>>,
    model_type: Option<String>,
    vocab_size: Option<usize>,
    hidden_size: Option<usize>,
    num_hidden_layers: Option<usize>,
    num_attention_heads: Option<usize>,
    intermediate_size: Option<usize>,
    max_position_embeddings: Option<usize>,
    type_vocab_size: Option<usize>,
    layer_norm_eps: Option<f64>,
    hidden_act: Option<String>,
    position_embedding_type: Option<String>,
}

fn invalid(msg: impl Into<String>) -> EmbedError {
    EmbedError::InvalidConfig(msg.into())
}

impl BertConfig {
    /// Parses `config.json`; anything but a BERT encoder (model_type `bert`, or
    /// `Bert*` architectures when model_type is absent) is `UNSUPPORTED_ARCHITECTURE`.
    pub fn from_json(bytes: &[u8]) -> Result<BertConfig, EmbedError> {
        let raw: RawConfig = serde_json::from_slice(bytes)
            .map_err(|e| invalid(format!("config.json is not valid: {e}")))?;
        let archs = raw.architectures.unwrap_or_default();
        let is_bert = match raw.model_type.as_deref() {
            Some(t) => t == "bert",
            None => !archs.is_empty() && archs.iter().all(|a| a.starts_with("Bert")),
        };
        if !is_bert {
            let name = raw
                .model_type
                .or_else(|| archs.first().cloned())
                .unwrap_or_else(|| "(none)".to_string());
            return Err(EmbedError::UnsupportedArchitecture(name));
        }
        if let Some(act) = raw.hidden_act.as_deref()
            && act != "gelu"
        {
            return Err(invalid(format!(
                "hidden_act {act:?} is not supported (only \"gelu\")"
            )));
        }
        if let Some(p) = raw.position_embedding_type.as_deref()
            && p != "absolute"
        {
            return Err(invalid(format!(
                "position_embedding_type {p:?} is not supported (only \"absolute\")"
            )));
        }
        let need = |v: Option<usize>, key: &str| -> Result<usize, EmbedError> {
            match v {
                Some(0) => Err(invalid(format!("{key} is 0"))),
                Some(n) => Ok(n),
                None => Err(invalid(format!("config.json has no {key}"))),
            }
        };
        let c = BertConfig {
            vocab_size: need(raw.vocab_size, "vocab_size")?,
            hidden_size: need(raw.hidden_size, "hidden_size")?,
            num_hidden_layers: need(raw.num_hidden_layers, "num_hidden_layers")?,
            num_attention_heads: need(raw.num_attention_heads, "num_attention_heads")?,
            intermediate_size: need(raw.intermediate_size, "intermediate_size")?,
            max_position_embeddings: need(raw.max_position_embeddings, "max_position_embeddings")?,
            type_vocab_size: raw.type_vocab_size.unwrap_or(2).max(1),
            layer_norm_eps: raw.layer_norm_eps.unwrap_or(1e-12) as f32,
        };
        if !c.hidden_size.is_multiple_of(c.num_attention_heads) {
            return Err(invalid(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                c.hidden_size, c.num_attention_heads
            )));
        }
        Ok(c)
    }

    /// Dimensions per attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}

/// How token vectors become one sentence vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pooling {
    /// Mean of the token vectors (padding excluded).
    Mean,
    /// The first (`[CLS]`) token's vector.
    Cls,
    /// Element-wise maximum over the tokens.
    Max,
}

impl Pooling {
    /// The name as sentence-transformers spells the mode (`"mean"`, `"cls"`, `"max"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Pooling::Mean => "mean",
            Pooling::Cls => "cls",
            Pooling::Max => "max",
        }
    }

    /// Reads `1_Pooling/config.json`; exactly one of the supported modes must be on.
    pub fn from_json(bytes: &[u8]) -> Result<Pooling, EmbedError> {
        let v: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| invalid(format!("pooling config is not valid JSON: {e}")))?;
        let on = |k: &str| v.get(k).and_then(|b| b.as_bool()).unwrap_or(false);
        for k in [
            "pooling_mode_mean_sqrt_len_tokens",
            "pooling_mode_weightedmean_tokens",
            "pooling_mode_lasttoken",
        ] {
            if on(k) {
                return Err(invalid(format!("pooling mode {k} is not supported")));
            }
        }
        let modes: Vec<Pooling> = [
            ("pooling_mode_mean_tokens", Pooling::Mean),
            ("pooling_mode_cls_token", Pooling::Cls),
            ("pooling_mode_max_tokens", Pooling::Max),
        ]
        .into_iter()
        .filter(|(k, _)| on(k))
        .map(|(_, p)| p)
        .collect();
        match modes.as_slice() {
            [p] => Ok(*p),
            [] => Err(invalid("the pooling config enables no pooling mode")),
            _ => Err(invalid(
                "the pooling config enables several modes (concatenation is not supported)",
            )),
        }
    }
}

/// What the sentence-transformers files declare (defaults when absent: mean pooling,
/// no normalisation, `max_position_embeddings` as the length limit).
#[derive(Clone, Debug, PartialEq)]
pub struct SentenceConfig {
    /// Pooling mode.
    pub pooling: Pooling,
    /// Whether a `Normalize` module follows pooling (L2 normalisation).
    pub normalize: bool,
    /// `max_seq_length` from `sentence_bert_config.json`, if given.
    pub max_seq_length: Option<usize>,
}

impl SentenceConfig {
    /// Reads the optional sentence-transformers files.
    pub fn from_json(
        pooling_json: Option<&[u8]>,
        st_config_json: Option<&[u8]>,
        modules_json: Option<&[u8]>,
    ) -> Result<SentenceConfig, EmbedError> {
        let pooling = match pooling_json {
            Some(b) => Pooling::from_json(b)?,
            None => Pooling::Mean,
        };
        let max_seq_length = match st_config_json {
            Some(b) => {
                let v: serde_json::Value = serde_json::from_slice(b)
                    .map_err(|e| invalid(format!("sentence_bert_config.json is not valid: {e}")))?;
                match v.get("max_seq_length") {
                    None | Some(serde_json::Value::Null) => None,
                    Some(n) => match n.as_u64() {
                        Some(n) if n >= 2 => Some(n as usize),
                        _ => return Err(invalid(format!("max_seq_length {n} is not valid"))),
                    },
                }
            }
            None => None,
        };
        let normalize = match modules_json {
            Some(b) => {
                let v: serde_json::Value = serde_json::from_slice(b)
                    .map_err(|e| invalid(format!("modules.json is not valid: {e}")))?;
                let list = v
                    .as_array()
                    .ok_or_else(|| invalid("modules.json is not a list"))?;
                list.iter().any(|m| {
                    m.get("type")
                        .and_then(|t| t.as_str())
                        .is_some_and(|t| t.ends_with(".Normalize"))
                })
            }
            None => false,
        };
        Ok(SentenceConfig {
            pooling,
            normalize,
            max_seq_length,
        })
    }
}

/// Pooling config path relative to the model directory, from `modules.json`'s Pooling entry.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn pooling_path(modules_json: Option<&[u8]>) -> String {
    modules_json
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
        .and_then(|v| {
            v.as_array()?.iter().find_map(|m| {
                let t = m.get("type")?.as_str()?;
                if t.ends_with(".Pooling") {
                    Some(m.get("path")?.as_str()?.to_string())
                } else {
                    None
                }
            })
        })
        .unwrap_or_else(|| "1_Pooling".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_bert() {
        let e = BertConfig::from_json(
            br#"{"model_type":"llama","architectures":["LlamaForCausalLM"]}"#,
        )
        .unwrap_err();
        assert_eq!(e.code(), "UNSUPPORTED_ARCHITECTURE");
        let e = BertConfig::from_json(br#"{"architectures":["GPT2Model"]}"#).unwrap_err();
        assert_eq!(e.code(), "UNSUPPORTED_ARCHITECTURE");
        let e = BertConfig::from_json(br#"{"model_type":"bert"}"#).unwrap_err();
        assert_eq!(e.code(), "INVALID_MODEL_CONFIG");
        let e = BertConfig::from_json(b"not json").unwrap_err();
        assert_eq!(e.code(), "INVALID_MODEL_CONFIG");
    }

    #[test]
    fn pooling_modes() {
        let p = |s: &str| Pooling::from_json(s.as_bytes());
        assert_eq!(
            p(r#"{"pooling_mode_cls_token":true}"#).unwrap(),
            Pooling::Cls
        );
        assert_eq!(
            p(r#"{"pooling_mode_max_tokens":true}"#).unwrap(),
            Pooling::Max
        );
        assert!(p(r#"{}"#).is_err());
        assert!(p(r#"{"pooling_mode_mean_tokens":true,"pooling_mode_cls_token":true}"#).is_err());
        let s = SentenceConfig::from_json(
            None,
            Some(br#"{"max_seq_length":128}"#),
            Some(br#"[{"type":"sentence_transformers.models.Normalize","path":"2_Normalize"}]"#),
        )
        .unwrap();
        assert!(s.normalize);
        assert_eq!(s.max_seq_length, Some(128));
        assert_eq!(s.pooling, Pooling::Mean);
    }
}
