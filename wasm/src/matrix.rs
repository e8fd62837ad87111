//! One quantized weight matrix of a GGUF file and the engine's own matrix product
//! over it (`hearth_core::model::matmul`, the wasm SIMD kernels a forward pass runs).
//!
//! Exists for kernel-level checks and benchmarks from JavaScript: the WebGL
//! prototype (`bench/webgl`) is compared against it for correctness and speed.

use hearth_core::model::QMatrix;
use hearth_core::model::matmul::{MatmulScratch, matmul};
use hearth_core::{ModelBytes, gguf::Gguf, quant};
use wasm_bindgen::prelude::*;

use crate::{gguf_error, js_error};

/// Error code for a tensor that is absent, not 2-D, or of a type the engine cannot multiply.
const MATRIX_CODE: &str = "BAD_MATRIX";

/// A `rows × cols` weight matrix copied out of a GGUF file, still quantized.
#[wasm_bindgen]
#[derive(Debug)]
pub struct WasmMatrix {
    w: QMatrix,
    offset: f64,
    scratch: MatmulScratch,
}

#[wasm_bindgen]
impl WasmMatrix {
    /// Copies tensor `name` out of the GGUF file `bytes`. Throws an `Error` with
    /// `code` `GGUF_*` for a bad file, `BAD_MATRIX` for a missing, non-2-D or
    /// unsupported tensor.
    #[wasm_bindgen(js_name = fromGguf)]
    pub fn from_gguf(bytes: &[u8], name: &str) -> Result<WasmMatrix, JsValue> {
        let g = Gguf::parse(bytes).map_err(gguf_error)?;
        let t = g
            .tensor(name)
            .ok_or_else(|| js_error(MATRIX_CODE, &format!("no tensor {name:?}")))?;
        let [cols, rows] = t.dims[..] else {
            return Err(js_error(
                MATRIX_CODE,
                &format!("tensor {name:?} has dims {:?}, not 2", t.dims),
            ));
        };
        let (cols, rows) = (cols as usize, rows as usize);
        // The kernel must exist for this type and width, so `matmul` never reports NaN.
        quant::VecDot::new(t.ty, cols)
            .map_err(|e| js_error(MATRIX_CODE, &format!("tensor {name:?} ({}): {e}", t.ty)))?;
        let start = t.offset as usize;
        let data = bytes[start..start + t.size as usize].to_vec();
        // Parse validated offset and size; `from_raw` re-checks that the rows fit.
        let w = QMatrix::from_raw(ModelBytes::from_vec(data), 0, t.ty, rows, cols);
        Ok(WasmMatrix {
            w,
            offset: t.offset as f64,
            scratch: MatmulScratch::default(),
        })
    }

    /// Output rows.
    #[wasm_bindgen(getter)]
    pub fn rows(&self) -> usize {
        self.w.rows
    }

    /// Input columns (elements per row).
    #[wasm_bindgen(getter)]
    pub fn cols(&self) -> usize {
        self.w.cols
    }

    /// The GGUF type name, e.g. `Q4_1`.
    #[wasm_bindgen(getter, js_name = type)]
    pub fn ty(&self) -> String {
        self.w.ty.name().to_string()
    }

    /// Byte offset of the matrix in the GGUF file (where its blocks start).
    #[wasm_bindgen(getter)]
    pub fn offset(&self) -> f64 {
        self.offset
    }

    /// `out` (`nTok × rows`, token-major) = `x` (`nTok × cols`) · Wᵀ, as the forward
    /// pass computes it (activations quantized per token, SIMD dot products).
    pub fn matmul(&mut self, x: &[f32], n_tok: usize) -> Result<Vec<f32>, JsValue> {
        if n_tok == 0 || x.len() != n_tok * self.w.cols {
            return Err(js_error(
                MATRIX_CODE,
                &format!(
                    "x has {} values, expected nTok ({n_tok}) × cols ({})",
                    x.len(),
                    self.w.cols
                ),
            ));
        }
        let mut out = vec![0f32; n_tok * self.w.rows];
        matmul(&self.w, x, n_tok, &mut out, &mut self.scratch);
        Ok(out)
    }
}
