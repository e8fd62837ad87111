//! The BERT encoder: weights from SafeTensors and the forward pass over a packed batch.
//!
//! A batch is packed: the token rows of all sequences are stacked (no padding rows), every
//! matmul runs over all of them at once, and attention only looks inside each sequence's own
//! span. That is exactly BERT with right-padding and an attention mask that hides the
//! padding (padding keys get weight 0), without computing the padding rows at all.

use rayon::prelude::*;

use super::config::{BertConfig, Pooling};
use super::sgemm::{View, gemm_nt, gemm_nt_par};
use crate::model::QMatrix;
use crate::model::matmul::{MatmulScratch, matmul};
use crate::safetensors::{SafeTensors, SafeTensorsError};
use crate::{GgmlType, ModelBytes, quant};

/// A linear layer `y = W x + b` (`W` is `[out, in]`).
#[derive(Clone, Debug)]
pub(crate) struct Linear {
    w: QMatrix,
    b: Vec<f32>,
}

#[derive(Clone, Debug)]
pub(crate) struct LayerNorm {
    w: Vec<f32>,
    b: Vec<f32>,
}

#[derive(Clone, Debug)]
pub(crate) struct Layer {
    q: Linear,
    k: Linear,
    v: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    ffn_up: Linear,
    ffn_down: Linear,
    ffn_norm: LayerNorm,
}

/// All encoder weights.
#[derive(Clone, Debug)]
pub(crate) struct BertWeights {
    word: Vec<f32>,
    position: Vec<f32>,
    token_type: Vec<f32>,
    emb_norm: LayerNorm,
    layers: Vec<Layer>,
    /// The type the matrices are multiplied in (the file's, or Q8_0).
    pub(crate) matrix_type: GgmlType,
    /// Bytes of the matrices as multiplied.
    pub(crate) matrix_bytes: usize,
}

struct Loader<'a> {
    st: &'a SafeTensors,
    prefix: &'static str,
    quantize: bool,
    matrix_type: Option<GgmlType>,
    matrix_bytes: usize,
}

impl Loader<'_> {
    fn vec(&self, name: &str, n: usize) -> Result<Vec<f32>, SafeTensorsError> {
        self.st.to_f32(&format!("{}{name}", self.prefix), &[n])
    }

    fn norm(&self, name: &str, n: usize) -> Result<LayerNorm, SafeTensorsError> {
        Ok(LayerNorm {
            w: self.vec(&format!("{name}.weight"), n)?,
            b: self.vec(&format!("{name}.bias"), n)?,
        })
    }

    fn linear(&mut self, name: &str, out: usize, inp: usize) -> Result<Linear, SafeTensorsError> {
        let full = format!("{}{name}.weight", self.prefix);
        let (t, ty) = self.st.expect(&full, &[out, inp])?;
        let w = if self.quantize && inp.is_multiple_of(32) {
            let row_bytes = GgmlType::Q8_0.row_bytes(inp as u64).expect("whole blocks") as usize;
            let mut q = vec![0u8; out * row_bytes];
            let mut row = vec![0f32; inp];
            let src = self.st.data(t);
            let src_row = src.len() / out;
            for (r, dst) in q.chunks_exact_mut(row_bytes).enumerate() {
                quant::dequantize_row(ty, &src[r * src_row..(r + 1) * src_row], &mut row)
                    .and_then(|_| quant::quantize_row(GgmlType::Q8_0, &row, dst))
                    .map_err(|e| SafeTensorsError::Invalid(format!("{full}: {e}")))?;
            }
            QMatrix::from_raw(ModelBytes::from_vec(q), 0, GgmlType::Q8_0, out, inp)
        } else {
            QMatrix::from_raw(self.st.bytes().clone(), t.start, ty, out, inp)
        };
        self.matrix_bytes += w.rows * w.row_bytes;
        // Mixed types would run fine; info reports the first one.
        self.matrix_type.get_or_insert(w.ty);
        Ok(Linear {
            w,
            b: self.vec(&format!("{name}.bias"), out)?,
        })
    }
}

impl BertWeights {
    /// Maps (or, with `quantize`, converts to Q8_0) the weights of `c` from `st`.
    /// Tensor names may carry a `bert.` prefix (checkpoints saved from `BertFor*` heads).
    pub(crate) fn load(
        st: &SafeTensors,
        c: &BertConfig,
        quantize: bool,
    ) -> Result<BertWeights, SafeTensorsError> {
        let prefix = if st
            .tensors()
            .contains_key("embeddings.word_embeddings.weight")
        {
            ""
        } else if st
            .tensors()
            .contains_key("bert.embeddings.word_embeddings.weight")
        {
            "bert."
        } else {
            return Err(SafeTensorsError::MissingTensor(
                "embeddings.word_embeddings.weight".into(),
            ));
        };
        let h = c.hidden_size;
        let mut ld = Loader {
            st,
            prefix,
            quantize,
            matrix_type: None,
            matrix_bytes: 0,
        };
        let table = |name: &str, rows: usize| {
            st.to_f32(&format!("{prefix}embeddings.{name}.weight"), &[rows, h])
        };
        let word = table("word_embeddings", c.vocab_size)?;
        let position = table("position_embeddings", c.max_position_embeddings)?;
        let token_type = table("token_type_embeddings", c.type_vocab_size)?;
        let emb_norm = ld.norm("embeddings.LayerNorm", h)?;
        let mut layers = Vec::with_capacity(c.num_hidden_layers);
        for i in 0..c.num_hidden_layers {
            let p = format!("encoder.layer.{i}");
            layers.push(Layer {
                q: ld.linear(&format!("{p}.attention.self.query"), h, h)?,
                k: ld.linear(&format!("{p}.attention.self.key"), h, h)?,
                v: ld.linear(&format!("{p}.attention.self.value"), h, h)?,
                attn_out: ld.linear(&format!("{p}.attention.output.dense"), h, h)?,
                attn_norm: ld.norm(&format!("{p}.attention.output.LayerNorm"), h)?,
                ffn_up: ld.linear(&format!("{p}.intermediate.dense"), c.intermediate_size, h)?,
                ffn_down: ld.linear(&format!("{p}.output.dense"), h, c.intermediate_size)?,
                ffn_norm: ld.norm(&format!("{p}.output.LayerNorm"), h)?,
            });
        }
        Ok(BertWeights {
            word,
            position,
            token_type,
            emb_norm,
            layers,
            matrix_type: ld.matrix_type.unwrap_or(GgmlType::F32),
            matrix_bytes: ld.matrix_bytes,
        })
    }
}

/// Exact GELU, as BERT's `hidden_act: "gelu"`: `0.5 x (1 + erf(x / √2))`.
#[inline]
pub(crate) fn gelu_erf(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// `erf(x)` within 1e-6 absolute (about 1e-7): Eigen's rational approximation
/// `x · P(x²) / Q(x²)` on `[-4, 4]` (within 1e-7 of ±1 beyond). Branch- and call-free, so a loop of
/// it vectorizes, unlike `libm::erff`.
#[inline]
fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10_f32;
    for c in [
        2.770_681_4e-8,
        -2.101_024e-6,
        -5.692_506_4e-5,
        -7.349_906_3e-4,
        -2.954_600_2e-3,
        -1.609_603_3e-2,
    ] {
        p = p * x2 + c;
    }
    let mut q = -1.456_607_2e-5_f32;
    for c in [-2.133_740_6e-4, -1.682_827e-3, -7.373_329e-3, -1.426_474e-2] {
        q = q * x2 + c;
    }
    x * p / q
}

fn layer_norm(x: &mut [f32], n: &LayerNorm, eps: f32) {
    let h = n.w.len();
    x.par_chunks_mut(h).for_each(|row| {
        let mean = row.iter().sum::<f32>() / h as f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / h as f32;
        let inv = 1.0 / libm::sqrtf(var + eps);
        for ((v, w), b) in row.iter_mut().zip(&n.w).zip(&n.b) {
            *v = (*v - mean) * inv * w + b;
        }
    });
}

/// `w`'s values when it is F32 and 4-byte aligned in memory (always, on little-endian
/// targets, for matrices the loader placed; a file's own bytes when its offsets are).
fn f32_rows(w: &QMatrix) -> Option<&[f32]> {
    if w.ty != GgmlType::F32 || cfg!(target_endian = "big") {
        return None;
    }
    // SAFETY: every bit pattern is a valid f32.
    let (pre, vals, post) = unsafe { w.data().align_to::<f32>() };
    (pre.is_empty() && post.is_empty()).then_some(vals)
}

fn linear(l: &Linear, x: &[f32], n_tok: usize, out: &mut Vec<f32>, s: &mut MatmulScratch) {
    let (rows, cols) = (l.w.rows, l.w.cols);
    out.resize(n_tok * rows, 0.0);
    if let Some(w) = f32_rows(&l.w) {
        let x = View {
            data: x,
            stride: cols,
        };
        let w = View {
            data: w,
            stride: cols,
        };
        gemm_nt_par(n_tok, rows, cols, x, w, out, rows);
    } else {
        matmul(&l.w, x, n_tok, out, s);
    }
    out.par_chunks_mut(rows).for_each(|row| {
        for (v, b) in row.iter_mut().zip(&l.b) {
            *v += b;
        }
    });
}

/// Scratch of one attention task: scores (`len × len`) and `Vᵀ` of one head (`hd × len`).
#[derive(Default)]
struct AttnScratch {
    scores: Vec<f32>,
    vt: Vec<f32>,
}

/// Self-attention of one head over every sequence: `ctx` (`n_tok × hd`, this head's
/// context rows) = softmax(`Q Kᵀ · scale`) `V` inside each sequence's span.
fn attend_head(
    (q, k, v): (&[f32], &[f32], &[f32]),
    h: usize,
    head: usize,
    hd: usize,
    scale: f32,
    spans: &[(usize, usize)],
    ctx: &mut [f32],
    sc: &mut AttnScratch,
) {
    for &(s0, len) in spans {
        fn at(m: &[f32], off: usize, h: usize) -> View<'_> {
            View {
                data: &m[off..],
                stride: h,
            }
        }
        let off = s0 * h + head * hd;
        sc.scores.resize(len * len, 0.0);
        gemm_nt(
            len,
            len,
            hd,
            at(q, off, h),
            at(k, off, h),
            &mut sc.scores,
            len,
        );
        for row in sc.scores.chunks_exact_mut(len) {
            let mut max = f32::NEG_INFINITY;
            for d in row.iter_mut() {
                *d *= scale;
                max = max.max(*d);
            }
            row.iter_mut().for_each(|d| *d -= max);
            // libm's expf, bit for bit, in vectors (AVX2, simd128).
            crate::quant::expf_batch(row);
            let sum = row.iter().fold(0f32, |s, d| s + d);
            let inv = 1.0 / sum;
            row.iter_mut().for_each(|d| *d *= inv);
        }
        sc.vt.resize(hd * len, 0.0);
        for j in 0..len {
            let vr = &v[(s0 + j) * h + head * hd..][..hd];
            for (d, &val) in vr.iter().enumerate() {
                sc.vt[d * len + j] = val;
            }
        }
        let p = View {
            data: &sc.scores,
            stride: len,
        };
        let vt = View {
            data: &sc.vt,
            stride: len,
        };
        gemm_nt(len, hd, len, p, vt, &mut ctx[s0 * hd..(s0 + len) * hd], hd);
    }
}

/// Runs the encoder over `seqs` (token ids, each within the position table) and pools
/// each sequence's final hidden states into one vector.
pub(crate) fn encode(
    c: &BertConfig,
    w: &BertWeights,
    seqs: &[Vec<u32>],
    pooling: Pooling,
) -> Vec<Vec<f32>> {
    let h = c.hidden_size;
    let n_head = c.num_attention_heads;
    let hd = c.head_dim();
    let scale = 1.0 / libm::sqrtf(hd as f32);
    // Span (start, len) of each sequence in the packed rows.
    let mut spans = Vec::with_capacity(seqs.len());
    let mut start = 0;
    for s in seqs {
        spans.push((start, s.len()));
        start += s.len();
    }
    let n_tok = start;

    // Embeddings: word + position + token type 0, then LayerNorm.
    let mut x = vec![0f32; n_tok * h];
    let mut r = 0;
    for s in seqs {
        for (pos, &id) in s.iter().enumerate() {
            let id = id as usize;
            let dst = &mut x[r * h..(r + 1) * h];
            let word = &w.word[id * h..(id + 1) * h];
            let p = &w.position[pos * h..(pos + 1) * h];
            for i in 0..h {
                dst[i] = word[i] + p[i] + w.token_type[i];
            }
            r += 1;
        }
    }
    layer_norm(&mut x, &w.emb_norm, c.layer_norm_eps);

    let mut s = MatmulScratch::default();
    let (mut q, mut k, mut v) = (Vec::new(), Vec::new(), Vec::new());
    let mut attn = vec![0f32; n_tok * h];
    let mut ctx = vec![0f32; n_head * n_tok * hd];
    let (mut proj, mut up, mut down) = (Vec::new(), Vec::new(), Vec::new());
    for layer in &w.layers {
        linear(&layer.q, &x, n_tok, &mut q, &mut s);
        linear(&layer.k, &x, n_tok, &mut k, &mut s);
        linear(&layer.v, &x, n_tok, &mut v, &mut s);
        // Self-attention, one task per head, into head-major `ctx`, then token-major `attn`.
        ctx.par_chunks_mut(n_tok * hd).enumerate().for_each_init(
            AttnScratch::default,
            |sc, (head, c)| {
                attend_head((&q, &k, &v), h, head, hd, scale, &spans, c, sc);
            },
        );
        attn.par_chunks_mut(h).enumerate().for_each(|(t, row)| {
            for (head, dst) in row.chunks_exact_mut(hd).enumerate() {
                dst.copy_from_slice(&ctx[(head * n_tok + t) * hd..][..hd]);
            }
        });
        linear(&layer.attn_out, &attn, n_tok, &mut proj, &mut s);
        for (xi, pi) in x.iter_mut().zip(&proj) {
            *xi += pi;
        }
        layer_norm(&mut x, &layer.attn_norm, c.layer_norm_eps);
        linear(&layer.ffn_up, &x, n_tok, &mut up, &mut s);
        up.par_iter_mut().for_each(|u| *u = gelu_erf(*u));
        linear(&layer.ffn_down, &up, n_tok, &mut down, &mut s);
        for (xi, di) in x.iter_mut().zip(&down) {
            *xi += di;
        }
        layer_norm(&mut x, &layer.ffn_norm, c.layer_norm_eps);
    }

    spans
        .iter()
        .map(|&(s0, len)| {
            let rows = x[s0 * h..(s0 + len) * h].chunks_exact(h);
            match pooling {
                Pooling::Cls => x[s0 * h..(s0 + 1) * h].to_vec(),
                Pooling::Mean => {
                    let mut acc = vec![0f32; h];
                    for row in rows {
                        for (a, v) in acc.iter_mut().zip(row) {
                            *a += v;
                        }
                    }
                    acc.iter_mut().for_each(|a| *a /= len as f32);
                    acc
                }
                Pooling::Max => {
                    let mut acc = vec![f32::NEG_INFINITY; h];
                    for row in rows {
                        for (a, v) in acc.iter_mut().zip(row) {
                            *a = a.max(*v);
                        }
                    }
                    acc
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn erf_matches_libm() {
        let mut worst = 0f32;
        for i in -70_000..=70_000 {
            let x = i as f32 * 1e-4;
            worst = worst.max((super::erf(x) - libm::erff(x)).abs());
        }
        assert!(worst < 1e-6, "max |erf - erff| = {worst}");
        assert!((super::erf(50.0) - 1.0).abs() < 1e-6);
        assert!((super::erf(-50.0) + 1.0).abs() < 1e-6);
    }

    #[test]
    fn gelu_erf_values() {
        assert_eq!(super::gelu_erf(0.0), 0.0);
        // 0.5 · (1 + erf(1/√2)) = 0.841344746…
        assert!((super::gelu_erf(1.0) - 0.841_344_7).abs() < 1e-6);
        assert!((super::gelu_erf(-1.0) + 0.158_655_25).abs() < 1e-6);
    }
}
