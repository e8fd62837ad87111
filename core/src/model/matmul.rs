//! Quantized matrix products: `out[t][r] = W[r] · x[t]` with `W` in its GGUF
//! type and `x` quantized once per row to the type `W`'s dot product takes
//! (ggml's `vec_dot_type` scheme), so the inner loop is an integer dot product.

use rayon::prelude::*;

use super::weights::QMatrix;
use crate::quant;

/// Weight rows handed to one task: big enough to amortise scheduling, small
/// enough to balance two to sixteen threads on 500–50 000-row matrices.
const ROWS_PER_TASK: usize = 16;

/// Activation bytes per token chunk of the batched path: about half of a 32 KiB L1.
const ACT_CHUNK_BYTES: usize = 16 * 1024;

/// Most tokens in one chunk (bounds the per-task stack buffer).
const MAX_CHUNK_TOKENS: usize = 64;

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
    // Shapes and types were validated when the weights were mapped, so an error here is a
    // bug, reported as NaN (which poisons the logits visibly) rather than a panic.
    let Ok(kern) = quant::VecDot::new(w.ty, w.cols) else {
        out.fill(f32::NAN);
        return;
    };
    let act_row = kern.x_bytes();
    s.act.resize(act_row * n_tok, 0);
    for (t, dst) in s.act.chunks_exact_mut(act_row).enumerate() {
        quant::quantize_activation_row(act_ty, &x[t * w.cols..(t + 1) * w.cols], dst)
            .expect("activation row sized by row_bytes");
    }
    let act = &s.act[..];
    let dot = |wrow: &[u8], a: &[u8]| kern.dot(wrow, a).unwrap_or(f32::NAN);
    // One thread: no task splitting at all.
    let serial = rayon::current_num_threads() == 1;
    if n_tok == 1 {
        let rows = |(c, chunk): (usize, &mut [f32])| {
            let r0 = c * ROWS_PER_TASK;
            for (i, o) in chunk.iter_mut().enumerate() {
                *o = dot(w.row(r0 + i), act);
            }
        };
        if serial {
            out.chunks_mut(ROWS_PER_TASK).enumerate().for_each(rows);
        } else {
            out.par_chunks_mut(ROWS_PER_TASK).enumerate().for_each(rows);
        }
        return;
    }
    // Batched: each task takes a block of weight rows and multiplies it with every token
    // in tiles (several rows × several tokens per kernel call, see `VecDot::dot_tile`),
    // a chunk of tokens at a time so that both the rows and the chunk's activations stay
    // in L1 while every pair is computed; it writes a row-major [row][token] block.
    s.tmp.resize(w.rows * n_tok, 0.0);
    let data = w.data();
    let wb = w.row_bytes;
    let chunk = (ACT_CHUNK_BYTES / act_row).clamp(4, MAX_CHUNK_TOKENS) / 4 * 4;
    let block = |(c, block): (usize, &mut [f32])| {
        let r0 = c * ROWS_PER_TASK;
        let nr = block.len() / n_tok;
        let rows = &data[r0 * wb..(r0 + nr) * wb];
        let mut local = [0f32; ROWS_PER_TASK * MAX_CHUNK_TOKENS];
        for t0 in (0..n_tok).step_by(chunk) {
            let nt = chunk.min(n_tok - t0);
            let part = &mut local[..nr * nt];
            if kern
                .dot_tile(rows, &act[t0 * act_row..(t0 + nt) * act_row], part)
                .is_err()
            {
                part.fill(f32::NAN);
            }
            for (dst, src) in block.chunks_exact_mut(n_tok).zip(part.chunks_exact(nt)) {
                dst[t0..t0 + nt].copy_from_slice(src);
            }
        }
    };
    if serial {
        s.tmp
            .chunks_mut(ROWS_PER_TASK * n_tok)
            .enumerate()
            .for_each(block);
    } else {
        s.tmp
            .par_chunks_mut(ROWS_PER_TASK * n_tok)
            .enumerate()
            .for_each(block);
    }
    // Back to token-major, in 16×16 blocks so both sides stay in cache.
    const B: usize = 16;
    for r0 in (0..w.rows).step_by(B) {
        for t0 in (0..n_tok).step_by(B) {
            for r in r0..(r0 + B).min(w.rows) {
                for t in t0..(t0 + B).min(n_tok) {
                    out[t * w.rows + r] = s.tmp[r * n_tok + t];
                }
            }
        }
    }
}
