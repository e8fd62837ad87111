//! The GGUF reader on the real test models.

mod common;

use common::{GEMMA3, SMOLLM2, model};
use hearth_core::gguf::{Gguf, GgufError};
use hearth_core::{GgmlType, ModelBytes};

#[test]
fn smollm2_parses_completely() {
    let bytes = ModelBytes::map_file(model(SMOLLM2)).unwrap();
    assert!(bytes.is_mapped());
    let g = Gguf::parse(&bytes).unwrap();
    assert_eq!(g.architecture(), Some("llama"));
    assert_eq!(g.tensors().len(), 272);
    assert_eq!(g.data_offset % g.alignment, 0);
    let emb = g.tensor("token_embd.weight").unwrap();
    assert_eq!(emb.ty, GgmlType::Q8_0);
    assert_eq!(emb.dims, vec![576, 49152]);
    assert_eq!(g.get_array("tokenizer.ggml.tokens").unwrap().len(), 49152);
    assert_eq!(g.get_str("tokenizer.ggml.model"), Some("gpt2"));
    assert_eq!(g.get_bool("tokenizer.ggml.add_bos_token"), Some(false));
    // Every tensor lies inside the file and the last one ends near its end.
    let end = g.tensors().iter().map(|t| t.offset + t.size).max().unwrap();
    assert!(end <= g.file_len && g.file_len - end < g.alignment);
}

#[test]
fn gemma3_parses_completely() {
    let bytes = ModelBytes::map_file(model(GEMMA3)).unwrap();
    let g = Gguf::parse(&bytes).unwrap();
    assert_eq!(g.architecture(), Some("gemma3"));
    assert_eq!(g.tensors().len(), 236);
    assert_eq!(g.get_array("tokenizer.ggml.tokens").unwrap().len(), 262_144);
    assert_eq!(
        g.get_array("tokenizer.ggml.scores")
            .unwrap()
            .as_f32s()
            .unwrap()
            .len(),
        262_144
    );
    assert_eq!(
        g.arch_get("attention.sliding_window")
            .and_then(|v| v.as_u64()),
        Some(512)
    );
    for t in g.tensors() {
        assert!(
            matches!(
                t.ty,
                GgmlType::F32 | GgmlType::Q4_K | GgmlType::Q5_0 | GgmlType::Q6_K | GgmlType::Q8_0
            ),
            "{} {}",
            t.name,
            t.ty
        );
    }
}

#[test]
fn truncated_real_files_are_typed_errors() {
    let bytes = std::fs::read(model(SMOLLM2)).unwrap();
    let g = Gguf::parse(&bytes).unwrap();
    // Inside the header: Truncated (or a count the rest cannot hold); inside the data: TensorOutOfBounds.
    for cut in [3, 20, 1000, 100_000, g.data_offset as usize - 1] {
        let e = Gguf::parse(&bytes[..cut]).unwrap_err();
        assert!(
            matches!(
                e,
                GgufError::Truncated { .. } | GgufError::CountTooLarge { .. }
            ),
            "cut {cut}: {e}"
        );
        assert!(e.to_string().contains("truncated"), "{e}");
    }
    for cut in [g.data_offset as usize + 10, bytes.len() - 1] {
        assert!(
            matches!(
                Gguf::parse(&bytes[..cut]),
                Err(GgufError::TensorOutOfBounds { .. })
            ),
            "cut {cut}"
        );
    }
}
