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
}

/// Tokens per activation-quantization task of a parallel batch.
const QUANTIZE_TOKENS_PER_TASK: usize = 8;

/// `out`'s base pointer, shared by the tasks of the batched path: each task writes only
/// its own weight rows' columns of every token, so no two tasks touch the same element.
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);
// SAFETY: tasks write disjoint elements (see above) and `matmul` outlives them all.
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

impl SharedOut {
    /// `len` outputs from element `at` on.
    ///
    /// # Safety
    /// `at + len` is within `out`, and no other task writes those elements meanwhile.
    #[allow(clippy::mut_from_ref)]
    unsafe fn run(&self, at: usize, len: usize) -> &mut [f32] {
        unsafe { std::slice::from_raw_parts_mut(self.0.add(at), len) }
    }
}

/// `out` (`n_tok × w.rows`, token-major) = `x` (`n_tok × w.cols`) times `Wᵀ`.
pub fn matmul(w: &QMatrix, x: &[f32], n_tok: usize, out: &mut [f32], s: &mut MatmulScratch) {
    debug_assert_eq!(x.len(), n_tok * w.cols);
    // The batched path's tasks write through a raw pointer: this bound is what keeps them
    // inside `out`.
    assert_eq!(out.len(), n_tok * w.rows, "matmul output size");
    let act_ty = quant::vec_dot_type(w.ty);
    // Shapes and types were validated when the weights were mapped, so an error here is a
    // bug, reported as NaN (which poisons the logits visibly) rather than a panic.
    let Ok(kern) = quant::VecDot::new(w.ty, w.cols) else {
        out.fill(f32::NAN);
        return;
    };
    // One thread: no task splitting at all.
    let serial = rayon::current_num_threads() == 1;
    let act_row = kern.x_bytes();
    s.act.resize(act_row * n_tok, 0);
    let quantize = |(t, dst): (usize, &mut [u8])| {
        quant::quantize_activation_row(act_ty, &x[t * w.cols..(t + 1) * w.cols], dst)
            .expect("activation row sized by row_bytes");
    };
    if serial || n_tok < 2 * QUANTIZE_TOKENS_PER_TASK {
        s.act
            .chunks_exact_mut(act_row)
            .enumerate()
            .for_each(quantize);
    } else {
        s.act
            .par_chunks_exact_mut(act_row)
            .enumerate()
            .with_min_len(QUANTIZE_TOKENS_PER_TASK)
            .for_each(quantize);
    }
    let act = &s.act[..];
    let data = w.data();
    let wb = w.row_bytes;
    if n_tok == 1 {
        // One token: each task's rows against it (several rows per kernel call where the
        // type has a rows kernel, sharing the activation loads).
        let rows = |(c, chunk): (usize, &mut [f32])| {
            let r0 = c * ROWS_PER_TASK;
            let rows = &data[r0 * wb..(r0 + chunk.len()) * wb];
            if kern.dot_tile(rows, act, chunk).is_err() {
                chunk.fill(f32::NAN);
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
    // in L1 while every pair is computed. The tile comes back [row][token]; the task
    // writes it into `out`'s token-major rows itself (its rows are one contiguous run of
    // each token's outputs), so there is no serial transposition afterwards.
    let n_rows = w.rows;
    let chunk = (ACT_CHUNK_BYTES / act_row).clamp(4, MAX_CHUNK_TOKENS) / 4 * 4;
    let shared = SharedOut(out.as_mut_ptr());
    let block = |c: usize| {
        let r0 = c * ROWS_PER_TASK;
        let nr = ROWS_PER_TASK.min(n_rows - r0);
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
            for tt in 0..nt {
                let base = (t0 + tt) * n_rows + r0;
                // SAFETY: `base + i < n_tok · n_rows = out.len()`, and only this task
                // writes columns `r0..r0 + nr` (see `SharedOut`).
                let dst = unsafe { shared.run(base, nr) };
                for (i, d) in dst.iter_mut().enumerate() {
                    *d = part[i * nt + tt];
                }
            }
        }
    };
    let n_blocks = n_rows.div_ceil(ROWS_PER_TASK);
    if serial {
        (0..n_blocks).for_each(block);
    } else {
        (0..n_blocks).into_par_iter().for_each(block);
    }
}
