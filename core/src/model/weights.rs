//! Model weights as views into the file bytes: matrices stay quantized in place,
//! only small vectors (norms, biases) are converted to f32 at load time.

use super::{Architecture, ModelConfig, ModelError};
use crate::gguf::{Gguf, TensorInfo};
use crate::{GgmlType, ModelBytes, quant};

/// A 2-D weight matrix of `rows` rows × `cols` columns, stored in its GGUF type.
#[derive(Clone, Debug)]
pub struct QMatrix {
    bytes: ModelBytes,
    offset: usize,
    pub ty: GgmlType,
    pub rows: usize,
    pub cols: usize,
    pub row_bytes: usize,
}

impl QMatrix {
    /// A matrix of `rows × cols` elements of `ty` stored row-major at `offset` in `bytes`
    /// (SafeTensors weights in place, or a buffer quantized at load).
    ///
    /// Panics if the rows do not fit in `bytes` or `cols` is not whole blocks of `ty`.
    pub fn from_raw(
        bytes: ModelBytes,
        offset: usize,
        ty: GgmlType,
        rows: usize,
        cols: usize,
    ) -> QMatrix {
        let row_bytes = ty.row_bytes(cols as u64).expect("whole blocks") as usize;
        assert!(
            offset + rows * row_bytes <= bytes.len(),
            "matrix out of bounds"
        );
        QMatrix {
            bytes,
            offset,
            ty,
            rows,
            cols,
            row_bytes,
        }
    }

    /// The stored bytes of row `i`.
    #[inline]
    pub fn row(&self, i: usize) -> &[u8] {
        let start = self.offset + i * self.row_bytes;
        &self.bytes[start..start + self.row_bytes]
    }

    /// All rows' bytes.
    pub fn data(&self) -> &[u8] {
        &self.bytes[self.offset..self.offset + self.rows * self.row_bytes]
    }

    /// Row `i` converted to f32 (used for embedding lookups).
    pub fn dequantize_row(&self, i: usize, out: &mut [f32]) -> Result<(), ModelError> {
        quant::dequantize_row(self.ty, self.row(i), out).map_err(ModelError::from)
    }
}

/// One transformer block's weights.
#[derive(Clone, Debug)]
pub struct LayerWeights {
    pub attn_norm: Vec<f32>,
    pub wq: QMatrix,
    pub wk: QMatrix,
    pub wv: QMatrix,
    pub bq: Option<Vec<f32>>,
    pub bk: Option<Vec<f32>>,
    pub bv: Option<Vec<f32>>,
    pub wo: QMatrix,
    pub q_norm: Option<Vec<f32>>,
    pub k_norm: Option<Vec<f32>>,
    pub attn_post_norm: Option<Vec<f32>>,
    pub ffn_norm: Vec<f32>,
    pub ffn_gate: QMatrix,
    pub ffn_up: QMatrix,
    pub ffn_down: QMatrix,
    pub ffn_post_norm: Option<Vec<f32>>,
}

impl LayerWeights {
    /// The block's seven weight matrices (attention Q, K, V, output; FFN gate, up, down).
    pub fn matrices(&self) -> [&QMatrix; 7] {
        [
            &self.wq,
            &self.wk,
            &self.wv,
            &self.wo,
            &self.ffn_gate,
            &self.ffn_up,
            &self.ffn_down,
        ]
    }
}

/// All weights of a decoder model.
#[derive(Clone, Debug)]
pub struct Weights {
    pub token_embd: QMatrix,
    pub output_norm: Vec<f32>,
    /// The LM head; the token embedding when the model ties them.
    pub output: QMatrix,
    /// Llama 3 RoPE frequency factors (`rope_freqs.weight`), if present.
    pub rope_freqs: Option<Vec<f32>>,
    pub layers: Vec<LayerWeights>,
}

/// Types that [`quant::vec_dot`] multiplies (and [`quant::dequantize_row`] reads).
fn supports_matmul(ty: GgmlType) -> bool {
    use GgmlType::*;
    matches!(
        ty,
        F32 | F16 | BF16 | Q4_0 | Q4_1 | Q5_0 | Q5_1 | Q8_0 | Q2_K | Q3_K | Q4_K | Q5_K | Q6_K
    )
}

struct Loader<'a> {
    g: &'a Gguf,
    bytes: &'a ModelBytes,
}

impl Loader<'_> {
    fn info(&self, name: &str) -> Result<&TensorInfo, ModelError> {
        self.g
            .tensor(name)
            .ok_or_else(|| ModelError::MissingTensor(name.to_string()))
    }

    fn matrix(&self, name: &str, cols: usize, rows: usize) -> Result<QMatrix, ModelError> {
        let t = self.info(name)?;
        if t.dims.len() != 2 || t.dims[0] != cols as u64 || t.dims[1] != rows as u64 {
            return Err(ModelError::WrongShape {
                name: name.into(),
                expected: vec![cols as u64, rows as u64],
                found: t.dims.clone(),
            });
        }
        if !supports_matmul(t.ty) {
            return Err(ModelError::UnsupportedTensorType {
                name: name.into(),
                ty: t.ty.name(),
            });
        }
        let row_bytes =
            t.ty.row_bytes(cols as u64)
                .expect("validated by the GGUF reader") as usize;
        Ok(QMatrix {
            bytes: self.bytes.clone(),
            offset: t.offset as usize,
            ty: t.ty,
            rows,
            cols,
            row_bytes,
        })
    }

    fn opt_matrix(
        &self,
        name: &str,
        cols: usize,
        rows: usize,
    ) -> Result<Option<QMatrix>, ModelError> {
        if self.g.tensor(name).is_none() {
            Ok(None)
        } else {
            self.matrix(name, cols, rows).map(Some)
        }
    }

    fn vector(&self, name: &str, len: usize) -> Result<Vec<f32>, ModelError> {
        let t = self.info(name)?;
        if t.n_elements() != len as u64 || t.dims.iter().skip(1).any(|&d| d != 1) {
            return Err(ModelError::WrongShape {
                name: name.into(),
                expected: vec![len as u64],
                found: t.dims.clone(),
            });
        }
        let mut out = vec![0f32; len];
        quant::dequantize_row(t.ty, &self.bytes[t.range()], &mut out).map_err(|_| {
            ModelError::UnsupportedTensorType {
                name: name.into(),
                ty: t.ty.name(),
            }
        })?;
        Ok(out)
    }

    fn opt_vector(&self, name: &str, len: usize) -> Result<Option<Vec<f32>>, ModelError> {
        if self.g.tensor(name).is_none() {
            Ok(None)
        } else {
            self.vector(name, len).map(Some)
        }
    }
}

impl Weights {
    /// Maps every tensor the architecture needs, checking names, shapes and types.
    pub fn load(g: &Gguf, bytes: &ModelBytes, c: &ModelConfig) -> Result<Weights, ModelError> {
        let l = Loader { g, bytes };
        let token_embd = l.matrix("token_embd.weight", c.n_embd, c.n_vocab)?;
        let output = l
            .opt_matrix("output.weight", c.n_embd, c.n_vocab)?
            .unwrap_or_else(|| token_embd.clone());
        let q_dim = c.n_head * c.head_dim;
        let kv_dim = c.n_head_kv * c.head_dim;
        let v_dim = c.n_head_kv * c.head_dim_v;
        let gemma = c.arch == Architecture::Gemma3;
        let mut layers = Vec::with_capacity(c.n_layer);
        for i in 0..c.n_layer {
            let n = |s: &str| format!("blk.{i}.{s}");
            let (q_norm, k_norm, attn_post_norm, ffn_post_norm) = if gemma {
                (
                    Some(l.vector(&n("attn_q_norm.weight"), c.head_dim)?),
                    Some(l.vector(&n("attn_k_norm.weight"), c.head_dim)?),
                    Some(l.vector(&n("post_attention_norm.weight"), c.n_embd)?),
                    Some(l.vector(&n("post_ffw_norm.weight"), c.n_embd)?),
                )
            } else {
                (None, None, None, None)
            };
            layers.push(LayerWeights {
                attn_norm: l.vector(&n("attn_norm.weight"), c.n_embd)?,
                wq: l.matrix(&n("attn_q.weight"), c.n_embd, q_dim)?,
                wk: l.matrix(&n("attn_k.weight"), c.n_embd, kv_dim)?,
                wv: l.matrix(&n("attn_v.weight"), c.n_embd, v_dim)?,
                bq: l.opt_vector(&n("attn_q.bias"), q_dim)?,
                bk: l.opt_vector(&n("attn_k.bias"), kv_dim)?,
                bv: l.opt_vector(&n("attn_v.bias"), v_dim)?,
                wo: l.matrix(&n("attn_output.weight"), c.n_head * c.head_dim_v, c.n_embd)?,
                q_norm,
                k_norm,
                attn_post_norm,
                ffn_norm: l.vector(&n("ffn_norm.weight"), c.n_embd)?,
                ffn_gate: l.matrix(&n("ffn_gate.weight"), c.n_embd, c.n_ff)?,
                ffn_up: l.matrix(&n("ffn_up.weight"), c.n_embd, c.n_ff)?,
                ffn_down: l.matrix(&n("ffn_down.weight"), c.n_ff, c.n_embd)?,
                ffn_post_norm,
            });
        }
        Ok(Weights {
            token_embd,
            output_norm: l.vector("output_norm.weight", c.n_embd)?,
            output,
            rope_freqs: l.opt_vector("rope_freqs.weight", c.n_rot / 2)?,
            layers,
        })
    }
}
