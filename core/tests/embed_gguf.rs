//! `bert` GGUF embedding models: all-MiniLM-L6-v2 converted from its SafeTensors directory by
//! our converter (`embed::gguf::convert_dir`, llama.cpp's names and keys) must
//! (a) embed like the SafeTensors directory (cosine ≥ 0.9999 for F32, ≥ 0.99 for F16/Q8_0) and
//! (b) load in llama.cpp, tokenize identically there and embed alike (cosine ≥ 0.999).

mod common;

use hearth_core::embed::gguf::{convert_dir, is_gguf};
use hearth_core::embed::similarity::cosine;
use hearth_core::gguf::{GgufWriter, MetaValue};
use hearth_core::{EmbedLoadOptions, EmbedOptions, EmbeddingModel, GgmlType, ModelBytes};
use hearth_llama_cpp as llama;

const MINILM: &str = "all-MiniLM-L6-v2";

const TEXTS: [&str; 5] = [
    "A man is playing a guitar on the stage.",
    "Someone plays the guitar in front of an audience.",
    "The stock market fell sharply on Monday morning!",
    "Café naïve façade — déjà vu, isn't it? (3.14159) unbelievably_long_wordpiece",
    "東京は日本の首都です。Emojis 🎸 and [brackets] too.",
];

fn embed(m: &EmbeddingModel) -> Vec<Vec<f32>> {
    m.embed(
        &TEXTS,
        EmbedOptions {
            normalize: Some(true),
            batch_size: 0,
        },
    )
    .unwrap()
    .vectors
}

#[test]
fn converted_gguf_matches_safetensors_and_llama_cpp() {
    let dir = common::model(MINILM);
    let reference = EmbeddingModel::load_dir(&dir).unwrap();
    let ref_vecs = embed(&reference);
    for (ty, min_cos) in [
        (GgmlType::F32, 0.9999),
        (GgmlType::F16, 0.999),
        (GgmlType::Q8_0, 0.99),
    ] {
        let bytes = convert_dir(&dir, ty).unwrap();
        assert!(is_gguf(&bytes));
        let ours =
            EmbeddingModel::from_gguf(ModelBytes::from_vec(bytes.clone()), Default::default())
                .unwrap();
        let info = ours.info();
        assert_eq!(
            (info.dims, info.layers, info.pooling.as_str()),
            (384, 6, "mean")
        );
        assert_eq!(info.matrix_type, ty);
        assert!(info.normalize, "GGUF vectors are normalised by default");
        // Same tokens as the SafeTensors tokenizer.
        for t in TEXTS {
            assert_eq!(
                ours.encode(t).unwrap(),
                reference.encode(t).unwrap(),
                "{ty} {t:?}"
            );
        }
        let vecs = embed(&ours);
        for (i, (a, b)) in vecs.iter().zip(&ref_vecs).enumerate() {
            let c = cosine(a, b);
            eprintln!("{ty} vs SafeTensors, text {i}: cosine {c:.6}");
            assert!(c >= min_cos, "{ty} text {i}: cosine {c}");
        }

        // llama.cpp on the same file.
        let path = std::env::temp_dir().join(format!(
            "hearth-minilm-{}-{}.gguf",
            ty.name(),
            std::process::id()
        ));
        std::fs::write(&path, &bytes).unwrap();
        llama::init();
        let theirs = llama::Model::load(&path).unwrap();
        let mut emb = llama::Embedder::new(&theirs, 512, 2, llama::Pooling::Mean).unwrap();
        for (i, t) in TEXTS.iter().enumerate() {
            let ids = ours.encode(t).unwrap().ids;
            let their_ids: Vec<u32> = theirs
                .tokenize(t, true, false)
                .unwrap()
                .into_iter()
                .map(|id| id as u32)
                .collect();
            assert_eq!(ids, their_ids, "{ty}: tokens of {t:?}");
            let mut v = emb
                .embed(&ids.iter().map(|&id| id as llama::Token).collect::<Vec<_>>())
                .unwrap();
            hearth_core::embed::similarity::normalize(&mut v);
            let c = cosine(&vecs[i], &v);
            eprintln!("{ty} vs llama.cpp, text {i}: cosine {c:.6}");
            assert!(c >= 0.999, "{ty} text {i}: cosine {c} against llama.cpp");
        }
        drop(emb);
        drop(theirs);
        std::fs::remove_file(&path).unwrap();
    }

    // The loader from a path picks the format; quantize-at-load works on a GGUF too.
    let path = std::env::temp_dir().join(format!("hearth-minilm-path-{}.gguf", std::process::id()));
    std::fs::write(&path, convert_dir(&dir, GgmlType::F16).unwrap()).unwrap();
    let q = EmbeddingModel::load_path_with(&path, EmbedLoadOptions { quantize: true }).unwrap();
    assert_eq!(q.info().matrix_type, GgmlType::Q8_0);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn bad_gguf_inputs_are_typed_errors() {
    // A decoder LLM GGUF is not a bert embedding model.
    let smol = common::model(common::SMOLLM2);
    let e = EmbeddingModel::load_path_with(&smol, Default::default()).unwrap_err();
    assert_eq!(e.code(), "UNSUPPORTED_ARCHITECTURE", "{e}");
    // Truncated and non-GGUF bytes.
    let dir = common::model(MINILM);
    let bytes = convert_dir(&dir, GgmlType::Q8_0).unwrap();
    let cut = ModelBytes::from_vec(bytes[..bytes.len() / 2].to_vec());
    assert!(EmbeddingModel::from_gguf(cut, Default::default()).is_err());
    let e = EmbeddingModel::from_gguf(ModelBytes::from_vec(b"GGUF".to_vec()), Default::default())
        .unwrap_err();
    assert!(e.code().starts_with("GGUF"), "{}", e.code());
    // Metadata a bert encoder cannot run with, and missing tensors.
    let bert = |extra: &dyn Fn(&mut GgufWriter)| {
        let mut w = GgufWriter::new();
        w.meta_str("general.architecture", "bert")
            .meta_u32("bert.embedding_length", 8)
            .meta_u32("bert.block_count", 1)
            .meta_u32("bert.attention.head_count", 2)
            .meta_u32("bert.feed_forward_length", 16)
            .meta_u32("bert.context_length", 4);
        extra(&mut w);
        EmbeddingModel::from_gguf(ModelBytes::from_vec(w.to_bytes()), Default::default())
            .unwrap_err()
            .code()
    };
    assert_eq!(bert(&|_| {}), "MISSING_TENSOR");
    assert_eq!(
        bert(&|w| {
            w.meta_u32("bert.pooling_type", 3);
        }),
        "INVALID_MODEL_CONFIG"
    );
    assert_eq!(
        bert(&|w| {
            w.meta("bert.attention.causal", MetaValue::Bool(true));
        }),
        "INVALID_MODEL_CONFIG"
    );
    // Converter options.
    let e = convert_dir(&dir, GgmlType::Q4_0).unwrap_err();
    assert_eq!(e.code(), "INVALID_OPTION");
}
