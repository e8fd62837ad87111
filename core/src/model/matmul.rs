//! Quantized matrix products: `out[t][r] = W[r] · x[t]` with `W` in its GGUF
//! type and `x` quantized once per row to the type `W`'s dot product takes
//! (ggml's `vec_dot_type` scheme), so the inner loop is an integer dot product.

use rayon::prelude::*;

use super::weights::QMatrix;
use crate::quant;

/// Weight rows handed to one task: big enough to amortise scheduling, small
/// enough to balance two to sixteen threads on 500–50 000-row matrices.
const ROWS_PER_TASK: usize = 16;

/// Activation rows walked per pass over a task's weight rows in the batched path.
const TOKENS_PER_TILE: usize = 32;

/// Reusable buffers so a forward pass allocates nothing per matmul.
#[derive(Debug, Default)]
pub struct MatmulScratch {
    act: Vec<u8>,
    tmp: Vec<f32>,
}

/// `out` (`n_tok × w.rows`, token-major) = `x` (`n_tok × w.cols`) times `Wᵀ`.
pub fn matmul(w: &QMatrix, x: &[f32], n_tok: usize, out: &mut [f32], s: &mut MatmulScratch) {
    debug_assert_eq!(x.len(), n_tok * w.cols);
    debug_assert_eq!(out.len(), n_tok * w.rows);
    let act_ty = quant::vec_dot_type(w.ty);
    let act_row = act_ty.row_bytes(w.cols as u64).expect("whole blocks") as usize;
    s.act.resize(act_row * n_tok, 0);
    for (t, dst) in s.act.chunks_exact_mut(act_row).enumerate() {
        quant::quantize_activation_row(act_ty, &x[t * w.cols..(t + 1) * w.cols], dst)
            .expect("activation row sized by row_bytes");
    }
    let act = &s.act[..];
    let cols = w.cols;
    if n_tok == 1 {
        out.par_chunks_mut(ROWS_PER_TASK)
            .enumerate()
            .for_each(|(c, chunk)| {
                let r0 = c * ROWS_PER_TASK;
                for (i, o) in chunk.iter_mut().enumerate() {
                    *o = dot(w, cols, w.row(r0 + i), act);
                }
            });
        return;
    }
    // Batched: each task keeps a block of weight rows hot in cache while it
    // walks every token, writing a row-major [row][token] block.
    s.tmp.resize(w.rows * n_tok, 0.0);
    s.tmp
        .par_chunks_mut(ROWS_PER_TASK * n_tok)
        .enumerate()
        .for_each(|(c, block)| {
            let r0 = c * ROWS_PER_TASK;
            let rows = block.len() / n_tok;
            // Tokens in tiles, so the activations walked per weight row stay in cache
            // when there are hundreds of tokens (an encoder batch, a long prefill).
            for t0 in (0..n_tok).step_by(TOKENS_PER_TILE) {
                let t1 = (t0 + TOKENS_PER_TILE).min(n_tok);
                for i in 0..rows {
                    let wrow = w.row(r0 + i);
                    let row_out = &mut block[i * n_tok..(i + 1) * n_tok];
                    for t in t0..t1 {
                        row_out[t] = dot(w, cols, wrow, &act[t * act_row..(t + 1) * act_row]);
                    }
                }
            }
        });
    for r in 0..w.rows {
        for t in 0..n_tok {
            out[t * w.rows + r] = s.tmp[r * n_tok + t];
        }
    }
}

/// One weight row times one activation row. Shapes and types were validated
/// when the weights were mapped, so an error here is a bug, reported as NaN
/// (which poisons the logits visibly) rather than a panic across a binding.
#[inline]
fn dot(w: &QMatrix, cols: usize, wrow: &[u8], act: &[u8]) -> f32 {
    quant::vec_dot(w.ty, cols, wrow, act).unwrap_or(f32::NAN)
}
