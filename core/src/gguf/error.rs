//! Typed errors for GGUF parsing.

use thiserror::Error;

/// Why a byte buffer is not a usable GGUF file.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GgufError {
    #[error("not a GGUF file: magic is {found:02x?}, expected \"GGUF\"")]
    BadMagic { found: [u8; 4] },
    #[error("big-endian GGUF files are not supported")]
    BigEndian,
    #[error("unsupported GGUF version {0} (supported: 2, 3)")]
    UnsupportedVersion(u32),
    #[error(
        "truncated GGUF file: {what} needs {needed} bytes at offset {offset}, but the file has {len} bytes"
    )]
    Truncated {
        what: String,
        offset: u64,
        needed: u64,
        len: u64,
    },
    #[error(
        "{what} count {count} is larger than the rest of the file could hold (truncated or corrupt file)"
    )]
    CountTooLarge { what: &'static str, count: u64 },
    #[error("string at offset {offset} is not valid UTF-8")]
    InvalidUtf8 { offset: u64 },
    #[error("unknown metadata value type {type_id} for key {key:?}")]
    UnknownValueType { key: String, type_id: u32 },
    #[error("metadata arrays nested deeper than {max} levels (key {key:?})")]
    NestingTooDeep { key: String, max: usize },
    #[error("duplicate metadata key {0:?}")]
    DuplicateKey(String),
    #[error("metadata key {key:?} has type {found}, expected {expected}")]
    WrongValueType {
        key: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("invalid general.alignment {0}: must be a non-zero power of two")]
    BadAlignment(u64),
    #[error("duplicate tensor name {0:?}")]
    DuplicateTensor(String),
    #[error("tensor {name:?} has {n_dims} dimensions (at most {max})")]
    TooManyDims {
        name: String,
        n_dims: u32,
        max: usize,
    },
    #[error("tensor {name:?} has dimensions {dims:?} whose element count overflows")]
    DimensionOverflow { name: String, dims: Vec<u64> },
    #[error("tensor {name:?} has unknown ggml type id {type_id}")]
    UnknownTensorType { name: String, type_id: u32 },
    #[error("tensor {name:?}: row length {row} is not a multiple of the {ty} block size {block}")]
    PartialBlock {
        name: String,
        ty: &'static str,
        row: u64,
        block: usize,
    },
    #[error("tensor {name:?} data offset {offset} is not aligned to {alignment}")]
    MisalignedTensor {
        name: String,
        offset: u64,
        alignment: u64,
    },
    #[error(
        "tensor {name:?} data [{start}, {end}) lies outside the file's data section [{data_start}, {file_len})"
    )]
    TensorOutOfBounds {
        name: String,
        start: u64,
        end: u64,
        data_start: u64,
        file_len: u64,
    },
    #[error("tensors {a:?} and {b:?} overlap in the data section")]
    TensorOverlap { a: String, b: String },
}

impl GgufError {
    /// A stable machine-readable code for bindings (`"GGUF_TRUNCATED"` …).
    pub fn code(&self) -> &'static str {
        match self {
            GgufError::BadMagic { .. } => "GGUF_BAD_MAGIC",
            GgufError::BigEndian => "GGUF_BIG_ENDIAN",
            GgufError::UnsupportedVersion(_) => "GGUF_UNSUPPORTED_VERSION",
            GgufError::Truncated { .. } => "GGUF_TRUNCATED",
            GgufError::CountTooLarge { .. } => "GGUF_COUNT_TOO_LARGE",
            GgufError::InvalidUtf8 { .. } => "GGUF_INVALID_UTF8",
            GgufError::UnknownValueType { .. } => "GGUF_UNKNOWN_VALUE_TYPE",
            GgufError::NestingTooDeep { .. } => "GGUF_NESTING_TOO_DEEP",
            GgufError::DuplicateKey(_) => "GGUF_DUPLICATE_KEY",
            GgufError::WrongValueType { .. } => "GGUF_WRONG_VALUE_TYPE",
            GgufError::BadAlignment(_) => "GGUF_BAD_ALIGNMENT",
            GgufError::DuplicateTensor(_) => "GGUF_DUPLICATE_TENSOR",
            GgufError::TooManyDims { .. } => "GGUF_TOO_MANY_DIMS",
            GgufError::DimensionOverflow { .. } => "GGUF_DIMENSION_OVERFLOW",
            GgufError::UnknownTensorType { .. } => "GGUF_UNKNOWN_TENSOR_TYPE",
            GgufError::PartialBlock { .. } => "GGUF_PARTIAL_BLOCK",
            GgufError::MisalignedTensor { .. } => "GGUF_MISALIGNED_TENSOR",
            GgufError::TensorOutOfBounds { .. } => "GGUF_TENSOR_OUT_OF_BOUNDS",
            GgufError::TensorOverlap { .. } => "GGUF_TENSOR_OVERLAP",
        }
    }
}
