//! GGUF metadata values.

use std::fmt;

/// GGUF metadata value type ids (`enum gguf_type`).
pub(crate) mod type_id {
    pub const U8: u32 = 0;
    pub const I8: u32 = 1;
    pub const U16: u32 = 2;
    pub const I16: u32 = 3;
    pub const U32: u32 = 4;
    pub const I32: u32 = 5;
    pub const F32: u32 = 6;
    pub const BOOL: u32 = 7;
    pub const STRING: u32 = 8;
    pub const ARRAY: u32 = 9;
    pub const U64: u32 = 10;
    pub const I64: u32 = 11;
    pub const F64: u32 = 12;
}

/// One metadata value.
#[derive(Clone, Debug, PartialEq)]
pub enum MetaValue {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    String(String),
    Array(MetaArray),
}

/// A homogeneous metadata array; arrays may nest.
#[derive(Clone, Debug, PartialEq)]
pub enum MetaArray {
    U8(Vec<u8>),
    I8(Vec<i8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
    U32(Vec<u32>),
    I32(Vec<i32>),
    U64(Vec<u64>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    Bool(Vec<bool>),
    String(Vec<String>),
    Array(Vec<MetaArray>),
}

impl MetaValue {
    /// The GGUF type name of this value (`"u32"`, `"string"`, `"array"` …).
    pub fn type_name(&self) -> &'static str {
        match self {
            MetaValue::U8(_) => "u8",
            MetaValue::I8(_) => "i8",
            MetaValue::U16(_) => "u16",
            MetaValue::I16(_) => "i16",
            MetaValue::U32(_) => "u32",
            MetaValue::I32(_) => "i32",
            MetaValue::U64(_) => "u64",
            MetaValue::I64(_) => "i64",
            MetaValue::F32(_) => "f32",
            MetaValue::F64(_) => "f64",
            MetaValue::Bool(_) => "bool",
            MetaValue::String(_) => "string",
            MetaValue::Array(_) => "array",
        }
    }

    /// The value as an unsigned integer, if it is a non-negative integer of any width.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            MetaValue::U8(v) => Some(v.into()),
            MetaValue::U16(v) => Some(v.into()),
            MetaValue::U32(v) => Some(v.into()),
            MetaValue::U64(v) => Some(v),
            MetaValue::I8(v) => u64::try_from(v).ok(),
            MetaValue::I16(v) => u64::try_from(v).ok(),
            MetaValue::I32(v) => u64::try_from(v).ok(),
            MetaValue::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a signed integer, if it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            MetaValue::I8(v) => Some(v.into()),
            MetaValue::I16(v) => Some(v.into()),
            MetaValue::I32(v) => Some(v.into()),
            MetaValue::I64(v) => Some(v),
            _ => self.as_u64().and_then(|v| i64::try_from(v).ok()),
        }
    }

    /// The value as a float (floats and integers both convert).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            MetaValue::F32(v) => Some(v.into()),
            MetaValue::F64(v) => Some(v),
            _ => self.as_i64().map(|v| v as f64),
        }
    }

    /// The value as a bool.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            MetaValue::Bool(v) => Some(v),
            _ => None,
        }
    }

    /// The value as a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            MetaValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as an array.
    pub fn as_array(&self) -> Option<&MetaArray> {
        match self {
            MetaValue::Array(a) => Some(a),
            _ => None,
        }
    }

    /// A JSON rendering; long arrays are summarised unless `full`.
    pub fn to_json(&self, full: bool) -> serde_json::Value {
        use serde_json::Value;
        match self {
            MetaValue::U8(v) => (*v).into(),
            MetaValue::I8(v) => (*v).into(),
            MetaValue::U16(v) => (*v).into(),
            MetaValue::I16(v) => (*v).into(),
            MetaValue::U32(v) => (*v).into(),
            MetaValue::I32(v) => (*v).into(),
            MetaValue::U64(v) => (*v).into(),
            MetaValue::I64(v) => (*v).into(),
            MetaValue::F32(v) => {
                serde_json::Number::from_f64(f64::from(*v)).map_or(Value::Null, Value::Number)
            }
            MetaValue::F64(v) => {
                serde_json::Number::from_f64(*v).map_or(Value::Null, Value::Number)
            }
            MetaValue::Bool(v) => (*v).into(),
            MetaValue::String(s) => s.clone().into(),
            MetaValue::Array(a) => a.to_json(full),
        }
    }
}

macro_rules! each_array {
    ($a:expr, $v:ident => $e:expr) => {
        match $a {
            MetaArray::U8($v) => $e,
            MetaArray::I8($v) => $e,
            MetaArray::U16($v) => $e,
            MetaArray::I16($v) => $e,
            MetaArray::U32($v) => $e,
            MetaArray::I32($v) => $e,
            MetaArray::U64($v) => $e,
            MetaArray::I64($v) => $e,
            MetaArray::F32($v) => $e,
            MetaArray::F64($v) => $e,
            MetaArray::Bool($v) => $e,
            MetaArray::String($v) => $e,
            MetaArray::Array($v) => $e,
        }
    };
}

impl MetaArray {
    /// Number of elements.
    pub fn len(&self) -> usize {
        each_array!(self, v => v.len())
    }

    /// Whether the array is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The GGUF element type name.
    pub fn elem_type_name(&self) -> &'static str {
        match self {
            MetaArray::U8(_) => "u8",
            MetaArray::I8(_) => "i8",
            MetaArray::U16(_) => "u16",
            MetaArray::I16(_) => "i16",
            MetaArray::U32(_) => "u32",
            MetaArray::I32(_) => "i32",
            MetaArray::U64(_) => "u64",
            MetaArray::I64(_) => "i64",
            MetaArray::F32(_) => "f32",
            MetaArray::F64(_) => "f64",
            MetaArray::Bool(_) => "bool",
            MetaArray::String(_) => "string",
            MetaArray::Array(_) => "array",
        }
    }

    /// The elements as strings, if this is a string array.
    pub fn as_strings(&self) -> Option<&[String]> {
        match self {
            MetaArray::String(v) => Some(v),
            _ => None,
        }
    }

    /// The elements as `f32`, if this is a float32 array.
    pub fn as_f32s(&self) -> Option<&[f32]> {
        match self {
            MetaArray::F32(v) => Some(v),
            _ => None,
        }
    }

    /// The elements as `i64`, if this is an integer array of any width.
    pub fn to_i64s(&self) -> Option<Vec<i64>> {
        Some(match self {
            MetaArray::U8(v) => v.iter().map(|&x| x.into()).collect(),
            MetaArray::I8(v) => v.iter().map(|&x| x.into()).collect(),
            MetaArray::U16(v) => v.iter().map(|&x| x.into()).collect(),
            MetaArray::I16(v) => v.iter().map(|&x| x.into()).collect(),
            MetaArray::U32(v) => v.iter().map(|&x| x.into()).collect(),
            MetaArray::I32(v) => v.iter().map(|&x| x.into()).collect(),
            MetaArray::I64(v) => v.clone(),
            MetaArray::U64(v) => v
                .iter()
                .map(|&x| i64::try_from(x).ok())
                .collect::<Option<_>>()?,
            _ => return None,
        })
    }

    /// A JSON rendering; arrays longer than 16 are summarised unless `full`.
    pub fn to_json(&self, full: bool) -> serde_json::Value {
        if !full && self.len() > 16 {
            return serde_json::json!({ "type": self.elem_type_name(), "len": self.len() });
        }
        let items: Vec<serde_json::Value> = match self {
            MetaArray::U8(v) => v.iter().map(|&x| x.into()).collect(),
            MetaArray::I8(v) => v.iter().map(|&x| x.into()).collect(),
            MetaArray::U16(v) => v.iter().map(|&x| x.into()).collect(),
            MetaArray::I16(v) => v.iter().map(|&x| x.into()).collect(),
            MetaArray::U32(v) => v.iter().map(|&x| x.into()).collect(),
            MetaArray::I32(v) => v.iter().map(|&x| x.into()).collect(),
            MetaArray::U64(v) => v.iter().map(|&x| x.into()).collect(),
            MetaArray::I64(v) => v.iter().map(|&x| x.into()).collect(),
            MetaArray::F32(v) => v.iter().map(|&x| MetaValue::F32(x).to_json(full)).collect(),
            MetaArray::F64(v) => v.iter().map(|&x| MetaValue::F64(x).to_json(full)).collect(),
            MetaArray::Bool(v) => v.iter().map(|&x| x.into()).collect(),
            MetaArray::String(v) => v.iter().map(|x| x.clone().into()).collect(),
            MetaArray::Array(v) => v.iter().map(|x| x.to_json(full)).collect(),
        };
        serde_json::Value::Array(items)
    }
}

impl fmt::Display for MetaValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json(false))
    }
}
