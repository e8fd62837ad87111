//! A GGUF v3 writer, used by tests to build synthetic models and by tools that
//! rewrite files.

use super::value::{MetaArray, MetaValue, type_id};
use crate::GgmlType;

/// Builds a GGUF v3 file in memory.
#[derive(Debug, Default)]
pub struct GgufWriter {
    alignment: u64,
    metadata: Vec<(String, MetaValue)>,
    tensors: Vec<(String, Vec<u64>, GgmlType, Vec<u8>)>,
}

impl GgufWriter {
    /// An empty file with the default alignment (32).
    pub fn new() -> Self {
        GgufWriter {
            alignment: super::DEFAULT_ALIGNMENT,
            ..Default::default()
        }
    }

    /// Adds a metadata entry; `general.alignment` (u32) also sets the data alignment.
    pub fn meta(&mut self, key: impl Into<String>, value: MetaValue) -> &mut Self {
        let key = key.into();
        if key == "general.alignment"
            && let MetaValue::U32(a) = value
        {
            self.alignment = u64::from(a.max(1));
        }
        self.metadata.push((key, value));
        self
    }

    /// Adds a string entry.
    pub fn meta_str(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.meta(key, MetaValue::String(value.into()))
    }

    /// Adds a u32 entry.
    pub fn meta_u32(&mut self, key: impl Into<String>, value: u32) -> &mut Self {
        self.meta(key, MetaValue::U32(value))
    }

    /// Adds an f32 entry.
    pub fn meta_f32(&mut self, key: impl Into<String>, value: f32) -> &mut Self {
        self.meta(key, MetaValue::F32(value))
    }

    /// Adds a tensor with raw data already in `ty`'s block layout; `dims` in ggml order.
    ///
    /// # Panics
    /// When `data` does not have the size that `dims` and `ty` imply (a bug in the caller).
    pub fn tensor(
        &mut self,
        name: impl Into<String>,
        dims: &[u64],
        ty: GgmlType,
        data: Vec<u8>,
    ) -> &mut Self {
        let name = name.into();
        let row = dims.first().copied().unwrap_or(1);
        let expected =
            ty.row_bytes(row).expect("whole blocks") * dims.iter().skip(1).product::<u64>();
        assert_eq!(
            data.len() as u64,
            expected,
            "tensor {name}: data size does not match {dims:?} {ty}"
        );
        self.tensors.push((name, dims.to_vec(), ty, data));
        self
    }

    /// Adds an F32 tensor.
    pub fn tensor_f32(
        &mut self,
        name: impl Into<String>,
        dims: &[u64],
        values: &[f32],
    ) -> &mut Self {
        let data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.tensor(name, dims, GgmlType::F32, data)
    }

    /// Serialises the file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&super::GGUF_MAGIC);
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&(self.tensors.len() as u64).to_le_bytes());
        out.extend_from_slice(&(self.metadata.len() as u64).to_le_bytes());
        for (key, value) in &self.metadata {
            put_str(&mut out, key);
            out.extend_from_slice(&value_type(value).to_le_bytes());
            put_value(&mut out, value);
        }
        let a = self.alignment;
        let mut offset = 0u64;
        for (name, dims, ty, data) in &self.tensors {
            put_str(&mut out, name);
            out.extend_from_slice(&(dims.len() as u32).to_le_bytes());
            for d in dims {
                out.extend_from_slice(&d.to_le_bytes());
            }
            out.extend_from_slice(&ty.id().to_le_bytes());
            out.extend_from_slice(&offset.to_le_bytes());
            offset = (offset + data.len() as u64).div_ceil(a) * a;
        }
        pad(&mut out, a);
        for (_, _, _, data) in &self.tensors {
            out.extend_from_slice(data);
            pad(&mut out, a);
        }
        out
    }
}

fn pad(out: &mut Vec<u8>, a: u64) {
    let len = (out.len() as u64).div_ceil(a) * a;
    out.resize(len as usize, 0);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn value_type(v: &MetaValue) -> u32 {
    match v {
        MetaValue::U8(_) => type_id::U8,
        MetaValue::I8(_) => type_id::I8,
        MetaValue::U16(_) => type_id::U16,
        MetaValue::I16(_) => type_id::I16,
        MetaValue::U32(_) => type_id::U32,
        MetaValue::I32(_) => type_id::I32,
        MetaValue::U64(_) => type_id::U64,
        MetaValue::I64(_) => type_id::I64,
        MetaValue::F32(_) => type_id::F32,
        MetaValue::F64(_) => type_id::F64,
        MetaValue::Bool(_) => type_id::BOOL,
        MetaValue::String(_) => type_id::STRING,
        MetaValue::Array(_) => type_id::ARRAY,
    }
}

fn array_type(a: &MetaArray) -> u32 {
    match a {
        MetaArray::U8(_) => type_id::U8,
        MetaArray::I8(_) => type_id::I8,
        MetaArray::U16(_) => type_id::U16,
        MetaArray::I16(_) => type_id::I16,
        MetaArray::U32(_) => type_id::U32,
        MetaArray::I32(_) => type_id::I32,
        MetaArray::U64(_) => type_id::U64,
        MetaArray::I64(_) => type_id::I64,
        MetaArray::F32(_) => type_id::F32,
        MetaArray::F64(_) => type_id::F64,
        MetaArray::Bool(_) => type_id::BOOL,
        MetaArray::String(_) => type_id::STRING,
        MetaArray::Array(_) => type_id::ARRAY,
    }
}

fn put_value(out: &mut Vec<u8>, v: &MetaValue) {
    match v {
        MetaValue::U8(x) => out.push(*x),
        MetaValue::I8(x) => out.extend_from_slice(&x.to_le_bytes()),
        MetaValue::U16(x) => out.extend_from_slice(&x.to_le_bytes()),
        MetaValue::I16(x) => out.extend_from_slice(&x.to_le_bytes()),
        MetaValue::U32(x) => out.extend_from_slice(&x.to_le_bytes()),
        MetaValue::I32(x) => out.extend_from_slice(&x.to_le_bytes()),
        MetaValue::U64(x) => out.extend_from_slice(&x.to_le_bytes()),
        MetaValue::I64(x) => out.extend_from_slice(&x.to_le_bytes()),
        MetaValue::F32(x) => out.extend_from_slice(&x.to_le_bytes()),
        MetaValue::F64(x) => out.extend_from_slice(&x.to_le_bytes()),
        MetaValue::Bool(x) => out.push(u8::from(*x)),
        MetaValue::String(s) => put_str(out, s),
        MetaValue::Array(a) => put_array(out, a),
    }
}

fn put_array(out: &mut Vec<u8>, a: &MetaArray) {
    out.extend_from_slice(&array_type(a).to_le_bytes());
    out.extend_from_slice(&(a.len() as u64).to_le_bytes());
    macro_rules! le {
        ($v:expr) => {
            for x in $v {
                out.extend_from_slice(&x.to_le_bytes());
            }
        };
    }
    match a {
        MetaArray::U8(v) => out.extend_from_slice(v),
        MetaArray::I8(v) => le!(v),
        MetaArray::U16(v) => le!(v),
        MetaArray::I16(v) => le!(v),
        MetaArray::U32(v) => le!(v),
        MetaArray::I32(v) => le!(v),
        MetaArray::U64(v) => le!(v),
        MetaArray::I64(v) => le!(v),
        MetaArray::F32(v) => le!(v),
        MetaArray::F64(v) => le!(v),
        MetaArray::Bool(v) => out.extend(v.iter().map(|&b| u8::from(b))),
        MetaArray::String(v) => v.iter().for_each(|s| put_str(out, s)),
        MetaArray::Array(v) => v.iter().for_each(|x| put_array(out, x)),
    }
}
