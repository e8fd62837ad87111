//! Hyper-parameters of a decoder model, read from GGUF metadata.

use super::ModelError;
use crate::gguf::Gguf;

/// Supported decoder architectures (`general.architecture`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Architecture {
    /// Llama 1–3, SmolLM, TinyLlama, Mistral-style models.
    Llama,
    /// Qwen 2 / 2.5: Llama with QKV biases and NeoX RoPE.
    Qwen2,
    /// Gemma 3: QK-norm, sandwich norms, GELU, local/global attention.
    Gemma3,
}

impl Architecture {
    /// The names accepted in `general.architecture`.
    pub const SUPPORTED: &'static [&'static str] = &["llama", "qwen2", "gemma3"];

    /// Parses `general.architecture`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "llama" => Some(Architecture::Llama),
            "qwen2" => Some(Architecture::Qwen2),
            "gemma3" => Some(Architecture::Gemma3),
            _ => None,
        }
    }

    /// The GGUF name.
    pub fn name(self) -> &'static str {
        match self {
            Architecture::Llama => "llama",
            Architecture::Qwen2 => "qwen2",
            Architecture::Gemma3 => "gemma3",
        }
    }
}

/// How RoPE pairs dimensions: adjacent (`x[2i], x[2i+1]`, ggml's NORM) or split halves (NEOX).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RopeStyle {
    Norm,
    Neox,
}

/// Feed-forward activation applied to the gate projection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    Silu,
    GeluTanh,
}

/// Everything the forward pass needs to know about a model's shape.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelConfig {
    pub arch: Architecture,
    pub n_vocab: usize,
    pub n_embd: usize,
    pub n_layer: usize,
    pub n_head: usize,
    pub n_head_kv: usize,
    /// Per-head size of Q and K.
    pub head_dim: usize,
    /// Per-head size of V.
    pub head_dim_v: usize,
    pub n_ff: usize,
    /// Context length the model was trained with.
    pub n_ctx_train: usize,
    pub rms_eps: f32,
    pub rope_style: RopeStyle,
    /// Number of rotated dimensions per head.
    pub n_rot: usize,
    pub rope_freq_base: f32,
    pub rope_freq_scale: f32,
    /// RoPE base and scale for sliding-window layers (Gemma 3's local layers).
    pub rope_freq_base_swa: f32,
    pub rope_freq_scale_swa: f32,
    /// Sliding-window size for local layers, if any.
    pub sliding_window: Option<usize>,
    /// Per layer: whether it uses the sliding window.
    pub swa_layers: Vec<bool>,
    /// Multiplier applied to token embeddings (Gemma: `sqrt(n_embd)`).
    pub embed_scale: Option<f32>,
    /// Scale applied to `Q·K` (usually `1/sqrt(head_dim)`).
    pub attn_scale: f32,
    /// Soft-capping of final logits (`cap * tanh(x / cap)`), if declared.
    pub final_logit_softcap: Option<f32>,
    pub activation: Activation,
}

fn req(g: &Gguf, arch: &str, key: &str) -> Result<usize, ModelError> {
    let full = format!("{arch}.{key}");
    g.get_u64(&full)
        .and_then(|v| usize::try_from(v).ok())
        .ok_or(ModelError::MissingMetadata(full))
}

fn opt_f32(g: &Gguf, arch: &str, key: &str) -> Option<f32> {
    g.get_f64(&format!("{arch}.{key}")).map(|v| v as f32)
}

impl ModelConfig {
    /// Reads the hyper-parameters of a supported architecture.
    pub fn from_gguf(g: &Gguf) -> Result<ModelConfig, ModelError> {
        let name = g
            .architecture()
            .ok_or_else(|| ModelError::MissingMetadata("general.architecture".into()))?;
        let arch = Architecture::from_name(name)
            .ok_or_else(|| ModelError::UnsupportedArchitecture(name.to_string()))?;
        let a = name;
        let n_embd = req(g, a, "embedding_length")?;
        let n_layer = req(g, a, "block_count")?;
        let n_head = req(g, a, "attention.head_count")?;
        let n_head_kv = g
            .get_u64(&format!("{a}.attention.head_count_kv"))
            .map_or(n_head, |v| v as usize);
        if n_head == 0 || n_head_kv == 0 || n_head % n_head_kv != 0 || n_layer == 0 || n_embd == 0 {
            return Err(ModelError::InvalidConfig(format!(
                "heads {n_head}, kv heads {n_head_kv}, layers {n_layer}, embedding {n_embd}"
            )));
        }
        let head_dim = g
            .get_u64(&format!("{a}.attention.key_length"))
            .map_or(n_embd / n_head, |v| v as usize);
        let head_dim_v = g
            .get_u64(&format!("{a}.attention.value_length"))
            .map_or(head_dim, |v| v as usize);
        let n_ff = req(g, a, "feed_forward_length")?;
        let n_vocab = g
            .get_array("tokenizer.ggml.tokens")
            .map(|t| t.len())
            .or_else(|| g.get_u64(&format!("{a}.vocab_size")).map(|v| v as usize))
            .ok_or_else(|| ModelError::MissingMetadata("tokenizer.ggml.tokens".into()))?;
        let n_rot = g
            .get_u64(&format!("{a}.rope.dimension_count"))
            .map_or(head_dim, |v| v as usize);
        if n_rot > head_dim || !n_rot.is_multiple_of(2) {
            return Err(ModelError::InvalidConfig(format!(
                "rope dimension {n_rot} for head size {head_dim}"
            )));
        }
        let rope_freq_base = opt_f32(g, a, "rope.freq_base").unwrap_or(10_000.0);
        let rope_freq_scale = match g.get_str(&format!("{a}.rope.scaling.type")) {
            None | Some("none") => 1.0,
            Some("linear") => 1.0 / opt_f32(g, a, "rope.scaling.factor").unwrap_or(1.0),
            Some(other) => {
                return Err(ModelError::InvalidConfig(format!(
                    "unsupported rope scaling {other:?}"
                )));
            }
        };
        let rms_eps = opt_f32(g, a, "attention.layer_norm_rms_epsilon").unwrap_or(1e-5);
        let n_ctx_train = req(g, a, "context_length")?;

        let mut cfg = ModelConfig {
            arch,
            n_vocab,
            n_embd,
            n_layer,
            n_head,
            n_head_kv,
            head_dim,
            head_dim_v,
            n_ff,
            n_ctx_train,
            rms_eps,
            rope_style: RopeStyle::Norm,
            n_rot,
            rope_freq_base,
            rope_freq_scale,
            rope_freq_base_swa: 10_000.0,
            rope_freq_scale_swa: 1.0,
            sliding_window: None,
            swa_layers: vec![false; n_layer],
            embed_scale: None,
            attn_scale: 1.0 / (head_dim as f32).sqrt(),
            final_logit_softcap: opt_f32(g, a, "final_logit_softcapping").filter(|&c| c > 0.0),
            activation: Activation::Silu,
        };
        match arch {
            Architecture::Llama => {}
            Architecture::Qwen2 => cfg.rope_style = RopeStyle::Neox,
            Architecture::Gemma3 => {
                cfg.rope_style = RopeStyle::Neox;
                cfg.activation = Activation::GeluTanh;
                cfg.embed_scale = Some((n_embd as f32).sqrt());
                if let Some(w) = g
                    .get_u64(&format!("{a}.attention.sliding_window"))
                    .filter(|&w| w > 0)
                {
                    cfg.sliding_window = Some(w as usize);
                    // Every sixth layer is global unless the file says otherwise (as llama.cpp).
                    let pattern = g
                        .get_u64(&format!("{a}.attention.sliding_window_pattern"))
                        .unwrap_or(6) as usize;
                    cfg.swa_layers = (0..n_layer)
                        .map(|il| pattern == 0 || il % pattern < pattern - 1)
                        .collect();
                    if let Some(b) = opt_f32(g, a, "rope.freq_base_swa") {
                        cfg.rope_freq_base_swa = b;
                    }
                }
                // Gemma 3 27B scales by the model width per head; the others by the head size.
                if n_layer == 62 {
                    cfg.attn_scale = 1.0 / ((n_embd / n_head) as f32).sqrt();
                }
            }
        }
        Ok(cfg)
    }

    /// Width of the K (or V) projection: kv heads × head size.
    pub fn kv_dim(&self) -> usize {
        self.n_head_kv * self.head_dim
    }
}
