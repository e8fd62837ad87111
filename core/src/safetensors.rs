//! SafeTensors files (Hugging Face's weight format) read in place over [`ModelBytes`].
//!
//! The header is parsed and validated by the `safetensors` crate (offsets contiguous and in
//! bounds, byte sizes matching dtype × shape, nothing trailing); every failure becomes a
//! [`SafeTensorsError`] with a stable code. Tensor data is never copied at load: natively the
//! file is memory-mapped, in wasm it is one owned buffer.

use std::collections::HashMap;

use crate::{GgmlType, ModelBytes, quant};

/// Why a SafeTensors file cannot be read or a tensor cannot be used.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum SafeTensorsError {
    /// The header is malformed or lies about the data (bad JSON, offsets out of bounds,
    /// sizes that do not match the dtype and shape, trailing bytes …).
    #[error("invalid SafeTensors file: {0}")]
    Invalid(String),
    /// A tensor the model needs is absent.
    #[error("missing tensor {0:?}")]
    MissingTensor(String),
    /// A tensor has a shape other than the configuration implies.
    #[error("tensor {name:?} has shape {found:?}, expected {expected:?}")]
    WrongShape {
        /// Tensor name.
        name: String,
        /// Shape the model needs.
        expected: Vec<usize>,
        /// Shape in the file.
        found: Vec<usize>,
    },
    /// A tensor has a dtype the engine cannot compute with (only F32, F16 and BF16 are read).
    #[error("tensor {name:?} has dtype {dtype}; supported: F32, F16, BF16")]
    UnsupportedDtype {
        /// Tensor name.
        name: String,
        /// The file's dtype.
        dtype: String,
    },
}

impl SafeTensorsError {
    /// A stable machine-readable code for bindings.
    pub fn code(&self) -> &'static str {
        match self {
            SafeTensorsError::Invalid(_) => "SAFETENSORS_INVALID",
            SafeTensorsError::MissingTensor(_) => "MISSING_TENSOR",
            SafeTensorsError::WrongShape { .. } => "WRONG_TENSOR_SHAPE",
            SafeTensorsError::UnsupportedDtype { .. } => "UNSUPPORTED_TENSOR_TYPE",
        }
    }
}

/// One tensor's header entry: dtype, shape and absolute byte range in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorEntry {
    /// The dtype as the file names it (`"F32"`, `"I64"` …).
    pub dtype: String,
    /// The equivalent [`GgmlType`] for the float dtypes the engine reads, else `None`.
    pub ty: Option<GgmlType>,
    /// Dimensions, outermost first (a `Linear` weight is `[out, in]`).
    pub shape: Vec<usize>,
    /// Absolute start offset of the data in the file.
    pub start: usize,
    /// Absolute end offset (exclusive).
    pub end: usize,
}

/// A parsed SafeTensors file whose tensors are views into its bytes.
#[derive(Clone, Debug)]
pub struct SafeTensors {
    bytes: ModelBytes,
    tensors: HashMap<String, TensorEntry>,
    metadata: HashMap<String, String>,
}

fn ggml_type(dtype: safetensors::Dtype) -> Option<GgmlType> {
    match dtype {
        safetensors::Dtype::F32 => Some(GgmlType::F32),
        safetensors::Dtype::F16 => Some(GgmlType::F16),
        safetensors::Dtype::BF16 => Some(GgmlType::BF16),
        _ => None,
    }
}

impl SafeTensors {
    /// Parses and validates the header of `bytes`.
    pub fn from_bytes(bytes: ModelBytes) -> Result<SafeTensors, SafeTensorsError> {
        let (header_len, meta) = safetensors::SafeTensors::read_metadata(&bytes)
            .map_err(|e| SafeTensorsError::Invalid(format!("{e:?}")))?;
        let data_start = 8 + header_len;
        let mut tensors = HashMap::new();
        for (name, info) in meta.tensors() {
            let (a, b) = info.data_offsets;
            // The crate has checked these against the buffer; checked again so a future
            // crate change can never turn into an out-of-bounds slice here.
            let (start, end) = (data_start + a, data_start + b);
            if a > b || end > bytes.len() {
                return Err(SafeTensorsError::Invalid(format!(
                    "tensor {name:?}: data offsets {a}..{b} out of bounds"
                )));
            }
            let ty = ggml_type(info.dtype);
            if let Some(ty) = ty {
                let n: usize = info.shape.iter().product();
                if ty.row_bytes(n as u64).map(|s| s as usize) != Some(b - a) {
                    return Err(SafeTensorsError::Invalid(format!(
                        "tensor {name:?}: {} bytes for {ty} shape {:?}",
                        b - a,
                        info.shape
                    )));
                }
            }
            tensors.insert(
                name,
                TensorEntry {
                    dtype: format!("{:?}", info.dtype),
                    ty,
                    shape: info.shape.clone(),
                    start,
                    end,
                },
            );
        }
        let metadata = meta
            .metadata()
            .as_ref()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        Ok(SafeTensors {
            bytes,
            tensors,
            metadata,
        })
    }

    /// A view over tensors laid out in another container (a GGUF file's data section), with
    /// entries already validated against `bytes` by the caller.
    pub(crate) fn from_entries(
        bytes: ModelBytes,
        tensors: HashMap<String, TensorEntry>,
    ) -> SafeTensors {
        SafeTensors {
            bytes,
            tensors,
            metadata: HashMap::new(),
        }
    }

    /// The underlying bytes.
    pub fn bytes(&self) -> &ModelBytes {
        &self.bytes
    }

    /// All tensors by name.
    pub fn tensors(&self) -> &HashMap<String, TensorEntry> {
        &self.tensors
    }

    /// The header's `__metadata__` strings.
    pub fn metadata(&self) -> &HashMap<String, String> {
        &self.metadata
    }

    /// One tensor's entry.
    pub fn get(&self, name: &str) -> Result<&TensorEntry, SafeTensorsError> {
        self.tensors
            .get(name)
            .ok_or_else(|| SafeTensorsError::MissingTensor(name.to_string()))
    }

    /// A float tensor of exactly `shape`, checked; returns its entry and type.
    pub fn expect(
        &self,
        name: &str,
        shape: &[usize],
    ) -> Result<(&TensorEntry, GgmlType), SafeTensorsError> {
        let t = self.get(name)?;
        if t.shape != shape {
            return Err(SafeTensorsError::WrongShape {
                name: name.to_string(),
                expected: shape.to_vec(),
                found: t.shape.clone(),
            });
        }
        let ty = t.ty.ok_or_else(|| SafeTensorsError::UnsupportedDtype {
            name: name.to_string(),
            dtype: t.dtype.clone(),
        })?;
        Ok((t, ty))
    }

    /// The raw bytes of a tensor.
    pub fn data(&self, t: &TensorEntry) -> &[u8] {
        &self.bytes[t.start..t.end]
    }

    /// A float tensor of exactly `shape` converted to f32 (row-major).
    pub fn to_f32(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, SafeTensorsError> {
        let (t, ty) = self.expect(name, shape)?;
        let mut out = vec![0f32; shape.iter().product()];
        quant::dequantize_row(ty, self.data(t), &mut out)
            .map_err(|e| SafeTensorsError::Invalid(format!("tensor {name:?}: {e}")))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(header: &str, data: &[u8]) -> ModelBytes {
        let mut v = (header.len() as u64).to_le_bytes().to_vec();
        v.extend_from_slice(header.as_bytes());
        v.extend_from_slice(data);
        ModelBytes::from_vec(v)
    }

    #[test]
    fn reads_f32_f16_bf16() {
        let mut data = Vec::new();
        data.extend_from_slice(&1.5f32.to_le_bytes());
        data.extend_from_slice(&(-2.0f32).to_le_bytes());
        data.extend_from_slice(&[0x00, 0x3c]); // f16 1.0
        data.extend_from_slice(&[0x80, 0x3f]); // bf16 1.0
        let h = r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[1],"data_offsets":[8,10]},"c":{"dtype":"BF16","shape":[1],"data_offsets":[10,12]},"__metadata__":{"format":"pt"}}"#;
        let st = SafeTensors::from_bytes(file(h, &data)).unwrap();
        assert_eq!(st.to_f32("a", &[2]).unwrap(), vec![1.5, -2.0]);
        assert_eq!(st.to_f32("b", &[1]).unwrap(), vec![1.0]);
        assert_eq!(st.to_f32("c", &[1]).unwrap(), vec![1.0]);
        assert_eq!(st.metadata()["format"], "pt");
        let e = st.to_f32("a", &[1, 2]).unwrap_err();
        assert_eq!(e.code(), "WRONG_TENSOR_SHAPE");
        assert_eq!(st.to_f32("zz", &[1]).unwrap_err().code(), "MISSING_TENSOR");
    }

    #[test]
    fn lying_headers_are_typed_errors() {
        let data = [0u8; 8];
        for h in [
            // Offsets past the end of the data.
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}}"#,
            // Byte size does not match dtype × shape.
            r#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#,
            r#"{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,8]}}"#,
            // Trailing bytes no tensor covers.
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
            // Not JSON / unknown dtype.
            r#"{"a":"#,
            r#"{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}"#,
        ] {
            let e = SafeTensors::from_bytes(file(h, &data)).unwrap_err();
            assert_eq!(e.code(), "SAFETENSORS_INVALID", "{h}: {e}");
        }
        // Header length beyond the file.
        let mut v = 1000u64.to_le_bytes().to_vec();
        v.extend_from_slice(b"{}");
        let e = SafeTensors::from_bytes(ModelBytes::from_vec(v)).unwrap_err();
        assert_eq!(e.code(), "SAFETENSORS_INVALID");
        let e = SafeTensors::from_bytes(ModelBytes::from_vec(vec![1, 2])).unwrap_err();
        assert_eq!(e.code(), "SAFETENSORS_INVALID");
    }

    #[test]
    fn non_float_tensors_load_but_are_not_read() {
        let h = r#"{"ids":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#;
        let st = SafeTensors::from_bytes(file(h, &[0u8; 8])).unwrap();
        assert_eq!(
            st.to_f32("ids", &[1]).unwrap_err().code(),
            "UNSUPPORTED_TENSOR_TYPE"
        );
    }
}
