//! GGUF (v2/v3) container: a validating reader over a byte slice, and a writer.
//!
//! The reader never allocates from an unchecked header field: every count is
//! checked against the bytes that remain before anything is reserved, so a
//! corrupt or hostile file yields a [`GgufError`], never a panic or an
//! out-of-memory abort.

mod error;
mod summary;
mod value;
mod writer;

use std::collections::HashMap;

pub use error::GgufError;
pub use summary::{ModelSummary, TokenizerSummary, TypeStats};
pub use value::{MetaArray, MetaValue};
pub use writer::GgufWriter;

use crate::GgmlType;
use value::type_id;

/// `"GGUF"` as read little-endian.
pub const GGUF_MAGIC: [u8; 4] = *b"GGUF";
/// Alignment of the data section when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// ggml tensors have at most four dimensions.
pub const MAX_DIMS: usize = 4;
/// Arrays of arrays deeper than this are refused (no real file nests at all).
const MAX_NESTING: usize = 8;

/// Where one tensor's data lives and how it is laid out.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorInfo {
    /// Tensor name, e.g. `blk.0.attn_q.weight`.
    pub name: String,
    /// Dimensions in ggml order: `dims[0]` is the contiguous row length.
    pub dims: Vec<u64>,
    /// Element type.
    pub ty: GgmlType,
    /// Absolute byte offset of the data in the file.
    pub offset: u64,
    /// Size of the data in bytes.
    pub size: u64,
}

impl TensorInfo {
    /// Total number of elements.
    pub fn n_elements(&self) -> u64 {
        self.dims.iter().product()
    }

    /// Number of rows (product of all dims but the first).
    pub fn n_rows(&self) -> u64 {
        self.dims.iter().skip(1).product()
    }

    /// The byte range of the data in the file.
    pub fn range(&self) -> std::ops::Range<usize> {
        // Validated at parse time to lie inside the file, hence inside usize.
        self.offset as usize..(self.offset + self.size) as usize
    }
}

/// Parsed GGUF header: metadata and tensor infos; data stays in the caller's bytes.
#[derive(Clone, Debug)]
pub struct Gguf {
    /// Format version (2 or 3).
    pub version: u32,
    /// Data-section alignment.
    pub alignment: u64,
    /// Absolute offset where the data section starts.
    pub data_offset: u64,
    /// Total file length in bytes.
    pub file_len: u64,
    metadata: Vec<(String, MetaValue)>,
    meta_index: HashMap<String, usize>,
    tensors: Vec<TensorInfo>,
    tensor_index: HashMap<String, usize>,
}

impl Gguf {
    /// Parses and validates a whole GGUF file held in `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Gguf, GgufError> {
        let mut r = Reader { bytes, pos: 0 };
        let magic: [u8; 4] = r.take(4, "magic")?.try_into().expect("4 bytes");
        if magic != GGUF_MAGIC {
            return Err(GgufError::BadMagic { found: magic });
        }
        let version = r.u32("version")?;
        if version != 2 && version != 3 {
            if version.swap_bytes() == 2 || version.swap_bytes() == 3 {
                return Err(GgufError::BigEndian);
            }
            return Err(GgufError::UnsupportedVersion(version));
        }
        let n_tensors = r.u64("tensor count")?;
        let n_kv = r.u64("metadata count")?;
        // The smallest key/value is an empty key (8) + type (4) + a u8 (1); the smallest
        // tensor info is an empty name (8) + n_dims (4) + type (4) + offset (8).
        r.check_count(n_kv, 13, "metadata")?;
        r.check_count(n_tensors, 24, "tensor")?;

        let mut metadata = Vec::with_capacity(n_kv as usize);
        let mut meta_index = HashMap::with_capacity(n_kv as usize);
        for _ in 0..n_kv {
            let key = r.string("metadata key")?;
            let ty = r.u32("metadata value type")?;
            let value = r.value(ty, &key, 0)?;
            if meta_index.insert(key.clone(), metadata.len()).is_some() {
                return Err(GgufError::DuplicateKey(key));
            }
            metadata.push((key, value));
        }

        let alignment = match meta_index.get("general.alignment").map(|&i| &metadata[i].1) {
            None => DEFAULT_ALIGNMENT,
            Some(MetaValue::U32(a)) => u64::from(*a),
            Some(other) => {
                return Err(GgufError::WrongValueType {
                    key: "general.alignment".into(),
                    expected: "u32",
                    found: other.type_name(),
                });
            }
        };
        if alignment == 0 || !alignment.is_power_of_two() {
            return Err(GgufError::BadAlignment(alignment));
        }

        let mut raw = Vec::with_capacity(n_tensors as usize);
        let mut tensor_index = HashMap::with_capacity(n_tensors as usize);
        for _ in 0..n_tensors {
            let name = r.string("tensor name")?;
            let n_dims = r.u32("tensor dimension count")?;
            if n_dims as usize > MAX_DIMS {
                return Err(GgufError::TooManyDims {
                    name,
                    n_dims,
                    max: MAX_DIMS,
                });
            }
            let mut dims = Vec::with_capacity(n_dims as usize);
            for _ in 0..n_dims {
                dims.push(r.u64("tensor dimension")?);
            }
            let type_id = r.u32("tensor type")?;
            let rel_offset = r.u64("tensor offset")?;
            let ty = GgmlType::from_id(type_id).ok_or_else(|| GgufError::UnknownTensorType {
                name: name.clone(),
                type_id,
            })?;
            if tensor_index.insert(name.clone(), raw.len()).is_some() {
                return Err(GgufError::DuplicateTensor(name));
            }
            raw.push((name, dims, ty, rel_offset));
        }

        let data_offset = align_up(r.pos as u64, alignment);
        let file_len = bytes.len() as u64;
        if !raw.is_empty() && data_offset > file_len {
            return Err(GgufError::Truncated {
                what: "data section".into(),
                offset: r.pos as u64,
                needed: data_offset - r.pos as u64,
                len: file_len,
            });
        }

        let mut tensors = Vec::with_capacity(raw.len());
        for (name, dims, ty, rel_offset) in raw {
            let n = dims
                .iter()
                .try_fold(1u64, |acc, &d| acc.checked_mul(d))
                .filter(|&n| n <= i64::MAX as u64);
            let Some(_) = n else {
                return Err(GgufError::DimensionOverflow { name, dims });
            };
            let row = dims.first().copied().unwrap_or(1);
            if row % ty.block_elems() as u64 != 0 {
                return Err(GgufError::PartialBlock {
                    name,
                    ty: ty.name(),
                    row,
                    block: ty.block_elems(),
                });
            }
            let size = ty
                .row_bytes(row)
                .and_then(|rb| rb.checked_mul(dims.iter().skip(1).product()))
                .ok_or_else(|| GgufError::DimensionOverflow {
                    name: name.clone(),
                    dims: dims.clone(),
                })?;
            if rel_offset % alignment != 0 {
                return Err(GgufError::MisalignedTensor {
                    name,
                    offset: rel_offset,
                    alignment,
                });
            }
            let start = data_offset.checked_add(rel_offset);
            let end = start.and_then(|s| s.checked_add(size));
            match (start, end) {
                (Some(start), Some(end)) if end <= file_len => tensors.push(TensorInfo {
                    name,
                    dims,
                    ty,
                    offset: start,
                    size,
                }),
                _ => {
                    return Err(GgufError::TensorOutOfBounds {
                        name,
                        start: start.unwrap_or(u64::MAX),
                        end: end.unwrap_or(u64::MAX),
                        data_start: data_offset,
                        file_len,
                    });
                }
            }
        }

        let mut by_offset: Vec<&TensorInfo> = tensors.iter().filter(|t| t.size > 0).collect();
        by_offset.sort_by_key(|t| t.offset);
        for w in by_offset.windows(2) {
            if w[0].offset + w[0].size > w[1].offset {
                return Err(GgufError::TensorOverlap {
                    a: w[0].name.clone(),
                    b: w[1].name.clone(),
                });
            }
        }

        Ok(Gguf {
            version,
            alignment,
            data_offset,
            file_len,
            metadata,
            meta_index,
            tensors,
            tensor_index,
        })
    }

    /// All metadata, in file order.
    pub fn metadata(&self) -> &[(String, MetaValue)] {
        &self.metadata
    }

    /// One metadata value by key.
    pub fn get(&self, key: &str) -> Option<&MetaValue> {
        self.meta_index.get(key).map(|&i| &self.metadata[i].1)
    }

    /// A string value; `None` when absent or not a string.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(MetaValue::as_str)
    }

    /// An unsigned integer value of any width; `None` when absent or not a non-negative integer.
    pub fn get_u64(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(MetaValue::as_u64)
    }

    /// A float value (integers convert); `None` when absent.
    pub fn get_f64(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(MetaValue::as_f64)
    }

    /// A bool value; `None` when absent or not a bool.
    pub fn get_bool(&self, key: &str) -> Option<bool> {
        self.get(key).and_then(MetaValue::as_bool)
    }

    /// An array value; `None` when absent or not an array.
    pub fn get_array(&self, key: &str) -> Option<&MetaArray> {
        self.get(key).and_then(MetaValue::as_array)
    }

    /// `general.architecture`.
    pub fn architecture(&self) -> Option<&str> {
        self.get_str("general.architecture")
    }

    /// An architecture-scoped value, e.g. `arch_key("context_length")` reads
    /// `llama.context_length` for a llama model.
    pub fn arch_get(&self, suffix: &str) -> Option<&MetaValue> {
        let arch = self.architecture()?;
        self.get(&format!("{arch}.{suffix}"))
    }

    /// All tensor infos, in file order.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// One tensor info by name.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensor_index.get(name).map(|&i| &self.tensors[i])
    }

    /// Total number of weights (elements over all tensors).
    pub fn parameter_count(&self) -> u64 {
        self.tensors.iter().map(TensorInfo::n_elements).sum()
    }
}

fn align_up(x: u64, a: u64) -> u64 {
    x.div_ceil(a) * a
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> u64 {
        (self.bytes.len() - self.pos) as u64
    }

    fn take(&mut self, n: u64, what: &str) -> Result<&'a [u8], GgufError> {
        if n > self.remaining() {
            return Err(GgufError::Truncated {
                what: what.to_string(),
                offset: self.pos as u64,
                needed: n,
                len: self.bytes.len() as u64,
            });
        }
        let s = &self.bytes[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }

    /// Refuses a count of items that could not fit in the bytes left, each at least `min_size`.
    fn check_count(&self, count: u64, min_size: u64, what: &'static str) -> Result<(), GgufError> {
        if count.saturating_mul(min_size) > self.remaining() {
            return Err(GgufError::CountTooLarge { what, count });
        }
        Ok(())
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], GgufError> {
        Ok(self.take(N as u64, what)?.try_into().expect("N bytes"))
    }

    fn u32(&mut self, what: &str) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn string(&mut self, what: &str) -> Result<String, GgufError> {
        let len = self.u64(what)?;
        let start = self.pos as u64;
        let raw = self.take(len, what)?;
        String::from_utf8(raw.to_vec()).map_err(|_| GgufError::InvalidUtf8 { offset: start })
    }

    fn value(&mut self, ty: u32, key: &str, depth: usize) -> Result<MetaValue, GgufError> {
        Ok(match ty {
            type_id::U8 => MetaValue::U8(self.array::<1>(key)?[0]),
            type_id::I8 => MetaValue::I8(i8::from_le_bytes(self.array(key)?)),
            type_id::U16 => MetaValue::U16(u16::from_le_bytes(self.array(key)?)),
            type_id::I16 => MetaValue::I16(i16::from_le_bytes(self.array(key)?)),
            type_id::U32 => MetaValue::U32(self.u32(key)?),
            type_id::I32 => MetaValue::I32(i32::from_le_bytes(self.array(key)?)),
            type_id::U64 => MetaValue::U64(self.u64(key)?),
            type_id::I64 => MetaValue::I64(i64::from_le_bytes(self.array(key)?)),
            type_id::F32 => MetaValue::F32(f32::from_le_bytes(self.array(key)?)),
            type_id::F64 => MetaValue::F64(f64::from_le_bytes(self.array(key)?)),
            type_id::BOOL => MetaValue::Bool(self.array::<1>(key)?[0] != 0),
            type_id::STRING => MetaValue::String(self.string(key)?),
            type_id::ARRAY => MetaValue::Array(self.array_value(key, depth)?),
            other => {
                return Err(GgufError::UnknownValueType {
                    key: key.to_string(),
                    type_id: other,
                });
            }
        })
    }

    fn array_value(&mut self, key: &str, depth: usize) -> Result<MetaArray, GgufError> {
        if depth >= MAX_NESTING {
            return Err(GgufError::NestingTooDeep {
                key: key.to_string(),
                max: MAX_NESTING,
            });
        }
        let ty = self.u32(key)?;
        let n = self.u64(key)?;
        let min_size = match ty {
            type_id::U8 | type_id::I8 | type_id::BOOL => 1,
            type_id::U16 | type_id::I16 => 2,
            type_id::U32 | type_id::I32 | type_id::F32 => 4,
            type_id::U64 | type_id::I64 | type_id::F64 | type_id::STRING => 8,
            type_id::ARRAY => 12,
            other => {
                return Err(GgufError::UnknownValueType {
                    key: key.to_string(),
                    type_id: other,
                });
            }
        };
        self.check_count(n, min_size, "metadata array element")?;
        let n = n as usize;
        macro_rules! fixed {
            ($variant:ident, $t:ty) => {{
                let raw = self.take((n * std::mem::size_of::<$t>()) as u64, key)?;
                MetaArray::$variant(
                    raw.chunks_exact(std::mem::size_of::<$t>())
                        .map(|c| <$t>::from_le_bytes(c.try_into().expect("sized chunk")))
                        .collect(),
                )
            }};
        }
        Ok(match ty {
            type_id::U8 => MetaArray::U8(self.take(n as u64, key)?.to_vec()),
            type_id::I8 => fixed!(I8, i8),
            type_id::U16 => fixed!(U16, u16),
            type_id::I16 => fixed!(I16, i16),
            type_id::U32 => fixed!(U32, u32),
            type_id::I32 => fixed!(I32, i32),
            type_id::U64 => fixed!(U64, u64),
            type_id::I64 => fixed!(I64, i64),
            type_id::F32 => fixed!(F32, f32),
            type_id::F64 => fixed!(F64, f64),
            type_id::BOOL => {
                MetaArray::Bool(self.take(n as u64, key)?.iter().map(|&b| b != 0).collect())
            }
            type_id::STRING => {
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(self.string(key)?);
                }
                MetaArray::String(v)
            }
            _ => {
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(self.array_value(key, depth + 1)?);
                }
                MetaArray::Array(v)
            }
        })
    }
}

#[cfg(test)]
mod tests;
