use super::*;

fn tiny() -> GgufWriter {
    let mut w = GgufWriter::new();
    w.meta_str("general.architecture", "llama")
        .meta_u32("llama.context_length", 128)
        .meta(
            "tokenizer.ggml.tokens",
            MetaValue::Array(MetaArray::String(vec!["a".into(), "b".into()])),
        )
        .meta(
            "nested",
            MetaValue::Array(MetaArray::Array(vec![
                MetaArray::I32(vec![1, -2]),
                MetaArray::F32(vec![0.5]),
            ])),
        )
        .tensor_f32("a", &[4, 2], &[1.0; 8])
        .tensor("b", &[32], GgmlType::Q8_0, vec![0; 34]);
    w
}

#[test]
fn round_trips_every_value_type() {
    let mut w = tiny();
    let values = [
        MetaValue::U8(1),
        MetaValue::I8(-1),
        MetaValue::U16(2),
        MetaValue::I16(-2),
        MetaValue::U32(3),
        MetaValue::I32(-3),
        MetaValue::U64(4),
        MetaValue::I64(-4),
        MetaValue::F32(1.5),
        MetaValue::F64(-2.25),
        MetaValue::Bool(true),
        MetaValue::String("héllo".into()),
        MetaValue::Array(MetaArray::Bool(vec![true, false])),
        MetaValue::Array(MetaArray::U64(vec![])),
    ];
    for (i, v) in values.iter().enumerate() {
        w.meta(format!("k{i}"), v.clone());
    }
    let bytes = w.to_bytes();
    let g = Gguf::parse(&bytes).unwrap();
    assert_eq!(g.version, 3);
    for (i, v) in values.iter().enumerate() {
        assert_eq!(g.get(&format!("k{i}")), Some(v));
    }
    assert_eq!(g.architecture(), Some("llama"));
    assert_eq!(
        g.arch_get("context_length").and_then(MetaValue::as_u64),
        Some(128)
    );
    let nested = g.get_array("nested").unwrap();
    assert_eq!(nested.to_json(true), serde_json::json!([[1, -2], [0.5]]));
    let a = g.tensor("a").unwrap();
    assert_eq!((a.n_elements(), a.n_rows(), a.size), (8, 2, 32));
    assert_eq!(a.offset % 32, 0);
    assert_eq!(&bytes[a.range()], &[0, 0, 128, 63].repeat(8)[..]);
    assert_eq!(g.tensor("b").unwrap().offset, a.offset + 32);
    assert_eq!(g.parameter_count(), 40);
}

#[test]
fn honours_general_alignment() {
    let mut w = GgufWriter::new();
    w.meta_u32("general.alignment", 64)
        .tensor_f32("x", &[3], &[1.0, 2.0, 3.0])
        .tensor_f32("y", &[1], &[4.0]);
    let g = Gguf::parse(&w.to_bytes()).unwrap();
    assert_eq!(g.alignment, 64);
    assert_eq!(g.data_offset % 64, 0);
    assert_eq!(
        g.tensor("y").unwrap().offset - g.tensor("x").unwrap().offset,
        64
    );
}

fn err(bytes: &[u8]) -> GgufError {
    Gguf::parse(bytes).expect_err("corrupt file must not parse")
}

/// A header by hand: magic, version, counts, then `rest`.
fn header(version: u32, n_tensors: u64, n_kv: u64, rest: &[u8]) -> Vec<u8> {
    let mut v = b"GGUF".to_vec();
    v.extend_from_slice(&version.to_le_bytes());
    v.extend_from_slice(&n_tensors.to_le_bytes());
    v.extend_from_slice(&n_kv.to_le_bytes());
    v.extend_from_slice(rest);
    v
}

#[test]
fn wrong_magic_version_and_endianness() {
    assert!(matches!(err(b"GGML\x03\0\0\0"), GgufError::BadMagic { found } if &found == b"GGML"));
    assert!(matches!(err(b"\x89PNG\r\n"), GgufError::BadMagic { .. }));
    assert_eq!(err(&header(1, 0, 0, &[])), GgufError::UnsupportedVersion(1));
    assert_eq!(err(&header(4, 0, 0, &[])), GgufError::UnsupportedVersion(4));
    assert_eq!(
        err(&header(3u32.swap_bytes(), 0, 0, &[])),
        GgufError::BigEndian
    );
    assert_eq!(err(b"GG").code(), "GGUF_TRUNCATED");
}

#[test]
fn every_truncation_is_an_error_never_a_panic() {
    let bytes = tiny().to_bytes();
    let g = Gguf::parse(&bytes).unwrap();
    let data_end = g.tensors().iter().map(|t| t.offset + t.size).max().unwrap() as usize;
    for cut in 0..data_end {
        let e = err(&bytes[..cut]);
        assert!(
            matches!(
                e,
                GgufError::Truncated { .. }
                    | GgufError::TensorOutOfBounds { .. }
                    | GgufError::CountTooLarge { .. }
            ),
            "cut at {cut}: {e}"
        );
    }
}

#[test]
fn huge_counts_are_refused_before_allocating() {
    assert!(matches!(
        err(&header(3, u64::MAX, 0, &[])),
        GgufError::CountTooLarge { what: "tensor", .. }
    ));
    assert!(matches!(
        err(&header(3, 0, 1 << 60, &[])),
        GgufError::CountTooLarge {
            what: "metadata",
            ..
        }
    ));
    // One key whose string array claims 2^62 elements.
    let mut kv = Vec::new();
    kv.extend_from_slice(&1u64.to_le_bytes());
    kv.push(b'k');
    kv.extend_from_slice(&9u32.to_le_bytes());
    kv.extend_from_slice(&8u32.to_le_bytes());
    kv.extend_from_slice(&(1u64 << 62).to_le_bytes());
    assert!(matches!(
        err(&header(3, 0, 1, &kv)),
        GgufError::CountTooLarge { .. }
    ));
    // A string claiming u64::MAX bytes.
    let mut kv = Vec::new();
    kv.extend_from_slice(&u64::MAX.to_le_bytes());
    kv.extend_from_slice(&[0; 16]);
    assert!(matches!(
        err(&header(3, 0, 1, &kv)),
        GgufError::Truncated { .. }
    ));
}

#[test]
fn bad_values_are_typed_errors() {
    let mut kv = Vec::new();
    kv.extend_from_slice(&1u64.to_le_bytes());
    kv.push(b'k');
    kv.extend_from_slice(&99u32.to_le_bytes());
    kv.extend_from_slice(&[0; 16]);
    assert!(matches!(
        err(&header(3, 0, 1, &kv)),
        GgufError::UnknownValueType { type_id: 99, .. }
    ));

    let mut kv = Vec::new();
    kv.extend_from_slice(&2u64.to_le_bytes());
    kv.extend_from_slice(&[0xff, 0xfe]);
    kv.extend_from_slice(&8u32.to_le_bytes());
    kv.extend_from_slice(&[0; 8]);
    assert!(matches!(
        err(&header(3, 0, 1, &kv)),
        GgufError::InvalidUtf8 { .. }
    ));

    let mut w = GgufWriter::new();
    w.meta_u32("x", 1).meta_u32("x", 2);
    assert_eq!(err(&w.to_bytes()), GgufError::DuplicateKey("x".into()));

    let mut w = GgufWriter::new();
    w.meta("general.alignment", MetaValue::U32(24));
    assert_eq!(err(&w.to_bytes()), GgufError::BadAlignment(24));
    let mut w = GgufWriter::new();
    w.meta_str("general.alignment", "32");
    assert!(matches!(
        err(&w.to_bytes()),
        GgufError::WrongValueType { .. }
    ));

    // Arrays of arrays nested past the limit.
    let mut a = MetaArray::U8(vec![1]);
    for _ in 0..20 {
        a = MetaArray::Array(vec![a]);
    }
    let mut w = GgufWriter::new();
    w.meta("deep", MetaValue::Array(a));
    assert!(matches!(
        err(&w.to_bytes()),
        GgufError::NestingTooDeep { .. }
    ));
}

/// Rewrites the tensor info of the first tensor in `tiny()` through `edit`.
fn with_first_tensor(edit: impl Fn(&mut Vec<u8>, usize)) -> Vec<u8> {
    let mut bytes = tiny().to_bytes();
    let name_at = bytes
        .windows(9)
        .rposition(|w| w == b"\x01\0\0\0\0\0\0\0a")
        .unwrap()
        + 9;
    edit(&mut bytes, name_at);
    bytes
}

#[test]
fn bad_tensor_infos_are_typed_errors() {
    // Layout after the name: n_dims u32, dims 2×u64, type u32, offset u64.
    let dup = with_first_tensor(|b, at| b[at - 1] = b'b');
    assert_eq!(err(&dup), GgufError::DuplicateTensor("b".into()));

    let dims5 = with_first_tensor(|b, at| b[at..at + 4].copy_from_slice(&5u32.to_le_bytes()));
    assert!(matches!(
        err(&dims5),
        GgufError::TooManyDims { n_dims: 5, .. }
    ));

    let overflow = with_first_tensor(|b, at| {
        b[at + 4..at + 12].copy_from_slice(&u64::MAX.to_le_bytes());
        b[at + 12..at + 20].copy_from_slice(&u64::MAX.to_le_bytes());
    });
    assert!(matches!(
        err(&overflow),
        GgufError::DimensionOverflow { .. }
    ));

    let big =
        with_first_tensor(|b, at| b[at + 12..at + 20].copy_from_slice(&(1u64 << 40).to_le_bytes()));
    assert!(matches!(err(&big), GgufError::TensorOutOfBounds { .. }));

    let bad_type =
        with_first_tensor(|b, at| b[at + 20..at + 24].copy_from_slice(&5u32.to_le_bytes()));
    assert!(matches!(
        err(&bad_type),
        GgufError::UnknownTensorType { type_id: 5, .. }
    ));

    let q8 = with_first_tensor(|b, at| b[at + 20..at + 24].copy_from_slice(&8u32.to_le_bytes()));
    assert!(matches!(
        err(&q8),
        GgufError::PartialBlock {
            row: 4,
            block: 32,
            ..
        }
    ));

    let misaligned =
        with_first_tensor(|b, at| b[at + 24..at + 32].copy_from_slice(&4u64.to_le_bytes()));
    assert!(matches!(
        err(&misaligned),
        GgufError::MisalignedTensor { offset: 4, .. }
    ));

    let past_end =
        with_first_tensor(|b, at| b[at + 24..at + 32].copy_from_slice(&(1u64 << 20).to_le_bytes()));
    assert!(matches!(
        err(&past_end),
        GgufError::TensorOutOfBounds { .. }
    ));

    let wrap = with_first_tensor(|b, at| {
        b[at + 24..at + 32].copy_from_slice(&(u64::MAX - 31).to_le_bytes())
    });
    assert!(matches!(err(&wrap), GgufError::TensorOutOfBounds { .. }));

    // Point tensor "a" (32 bytes) at tensor "b"'s data: they overlap.
    let overlap =
        with_first_tensor(|b, at| b[at + 24..at + 32].copy_from_slice(&32u64.to_le_bytes()));
    assert!(matches!(err(&overlap), GgufError::TensorOverlap { .. }));
}

#[test]
fn random_corruption_never_panics() {
    // A tiny xorshift keeps this deterministic without a dev-dependency.
    let base = tiny().to_bytes();
    let mut s = 0x9e3779b97f4a7c15u64;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    for _ in 0..20_000 {
        let mut b = base.clone();
        for _ in 0..1 + next() % 4 {
            let i = (next() as usize) % b.len();
            b[i] = next() as u8;
        }
        let _ = Gguf::parse(&b);
    }
}
