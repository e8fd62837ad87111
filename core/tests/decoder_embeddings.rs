//! Pooled embeddings from a decoder LLM (SmolLM2-135M, Q4_1) against llama.cpp's own
//! (`llama_get_embeddings_seq` with mean and last-token pooling) on the same token ids.
//!
//! Tolerance: both engines pass 8-bit activations between layers, so rounding differences
//! grow through the layers (see llama_cpp_reference.rs); the pooled 576-dim vectors must
//! still point the same way: cosine ≥ 0.999 per text (measured ≥ 0.9997), and the texts'
//! similarity ranking agrees.

mod common;

use common::{SMOLLM2, model};
use hearth_core::embed::similarity::cosine;
use hearth_core::{DecoderPooling, Model};
use hearth_llama_cpp as llama;

const TEXTS: [&str; 4] = [
    "A man is playing a guitar on the stage.",
    "Someone plays the guitar in front of an audience.",
    "The stock market fell sharply on Monday morning.",
    "Paris is the capital and largest city of France, on the river Seine.",
];

#[test]
fn mean_and_last_token_pooling_match_llama_cpp() {
    let path = model(SMOLLM2);
    let ours = Model::load_file(&path).unwrap();
    llama::init();
    let theirs = llama::Model::load(&path).unwrap();
    assert_eq!(
        ours.declared_pooling(),
        None,
        "SmolLM2 declares no pooling_type"
    );
    for (pooling, theirs_pooling) in [
        (DecoderPooling::Mean, llama::Pooling::Mean),
        (DecoderPooling::Last, llama::Pooling::Last),
    ] {
        let mut emb = llama::Embedder::new(&theirs, 256, 2, theirs_pooling).unwrap();
        let mut a = Vec::new();
        let mut b = Vec::new();
        for text in TEXTS {
            let ids = ours.tokenize(text, true, false).unwrap();
            let mine = ours.embed_tokens(&ids, Some(pooling), false).unwrap();
            let ref_ids: Vec<llama::Token> = ids.iter().map(|&t| t as llama::Token).collect();
            let reference = emb.embed(&ref_ids).unwrap();
            assert_eq!(mine.len(), reference.len());
            let c = cosine(&mine, &reference);
            eprintln!("{pooling:?} {text:?}: cosine {c:.6}");
            assert!(c >= 0.999, "{pooling:?} {text:?}: cosine {c}");
            a.push(mine);
            b.push(reference);
        }
        // The guitar paraphrases are each other's nearest text in both engines.
        for v in [&a, &b] {
            let s01 = cosine(&v[0], &v[1]);
            assert!(s01 > cosine(&v[0], &v[2]) && s01 > cosine(&v[0], &v[3]));
        }
    }
    // Normalised on request; an empty input is a typed error.
    let v = ours.embed_text(TEXTS[0], None, true).unwrap();
    let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4);
    assert_eq!(
        ours.embed_tokens(&[], None, true).unwrap_err().code(),
        "EMPTY_INPUT"
    );
}
