//! Our tokenizers against llama.cpp's, on the real models (see `scripts/fetch-models`).
//!
//! For every string of `data/tokenizer_corpus.json`, with `add_special` and `parse_special`
//! both ways, `Tokenizer::encode` must produce exactly llama.cpp's `llama_tokenize` ids;
//! decoding must give back the text and llama.cpp's `token_to_piece` bytes.
#![cfg(not(target_arch = "wasm32"))]

use std::path::PathBuf;
use std::time::Instant;

use hearth_core::ModelBytes;
use hearth_core::gguf::Gguf;
use hearth_core::tokenizer::{StreamDecoder, Tokenizer, TokenizerKind};
use hearth_llama_cpp::Model;

fn models_dir() -> PathBuf {
    std::env::var_os("HEARTH_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").expect("HOME is not set");
            PathBuf::from(home).join(".cache/hearth/models")
        })
}

fn model_path(file: &str) -> PathBuf {
    let path = models_dir().join(file);
    assert!(
        path.is_file(),
        "model {} is missing: run scripts/fetch-models",
        path.display()
    );
    path
}

fn corpus() -> Vec<String> {
    let text = include_str!("data/tokenizer_corpus.json");
    serde_json::from_str(text).expect("tokenizer_corpus.json is a JSON array of strings")
}

fn load(file: &str) -> (Tokenizer, Model) {
    let path = model_path(file);
    let bytes = ModelBytes::map_file(&path).expect("map model");
    let gguf = Gguf::parse(&bytes).expect("parse GGUF");
    let t0 = Instant::now();
    let tok = Tokenizer::from_gguf(&gguf).expect("build tokenizer");
    eprintln!(
        "{file}: tokenizer of {} tokens built in {:?}",
        tok.vocab_size(),
        t0.elapsed()
    );
    let model = Model::load(&path).expect("llama.cpp loads the model");
    (tok, model)
}

fn to_u32(ids: Vec<i32>) -> Vec<u32> {
    ids.into_iter()
        .map(|i| u32::try_from(i).expect("non-negative id"))
        .collect()
}

/// Compares encode on the whole corpus; returns how many (string, flags) cases matched.
fn check_encode(name: &str, tok: &Tokenizer, model: &Model) -> usize {
    let corpus = corpus();
    let mut failures = Vec::new();
    let mut matched = 0;
    for s in &corpus {
        for add_special in [false, true] {
            for parse_special in [false, true] {
                let ours = tok.encode(s, add_special, parse_special).expect("encode");
                let theirs = to_u32(
                    model
                        .tokenize(s, add_special, parse_special)
                        .expect("llama.cpp tokenize"),
                );
                if ours == theirs {
                    matched += 1;
                } else {
                    failures.push(format!(
                        "{s:?} add_special={add_special} parse_special={parse_special}\n  ours:  {ours:?}\n  llama: {theirs:?}"
                    ));
                }
            }
        }
    }
    // The whole corpus as one text: fragments interact across special tokens and lines.
    let joined = corpus.join("\n");
    for parse_special in [false, true] {
        let ours = tok.encode(&joined, true, parse_special).expect("encode");
        let theirs = to_u32(
            model
                .tokenize(&joined, true, parse_special)
                .expect("llama.cpp tokenize"),
        );
        assert_eq!(
            ours, theirs,
            "{name}: joined corpus, parse_special={parse_special}"
        );
    }
    let total = corpus.len() * 4;
    eprintln!(
        "{name}: {matched}/{total} encode cases identical to llama.cpp ({} strings)",
        corpus.len()
    );
    assert!(
        failures.is_empty(),
        "{name}: {} of {total} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    matched
}

/// decode(encode(s)) == s, equal to llama.cpp's piece concatenation, and streaming agrees.
fn check_round_trip(name: &str, tok: &Tokenizer, model: &Model) {
    for s in corpus() {
        for parse_special in [false, true] {
            let ids = tok.encode(&s, false, parse_special).unwrap();
            let ours = tok.decode(&ids, false).unwrap();
            let prefix = if tok.add_space_prefix() && !s.is_empty() {
                " "
            } else {
                ""
            };
            assert_eq!(ours, format!("{prefix}{s}"), "{name}: round trip of {s:?}");
            let theirs: Vec<u8> = ids
                .iter()
                .flat_map(|&id| model.token_to_piece(id as i32, true))
                .collect();
            assert_eq!(ours.as_bytes(), theirs, "{name}: pieces of {s:?}");

            let mut stream = StreamDecoder::new(false);
            let mut streamed = String::new();
            for &id in &ids {
                let chunk = stream.push(tok, id).unwrap();
                assert!(
                    !chunk.contains('\u{FFFD}') || s.contains('\u{FFFD}'),
                    "{name}: half a character in {s:?}"
                );
                streamed += &chunk;
            }
            streamed += &stream.finish();
            assert_eq!(streamed, ours, "{name}: streaming decode of {s:?}");
        }
    }
}

/// Every token's piece and EOG flag agree with llama.cpp.
fn check_vocab(name: &str, tok: &Tokenizer, model: &Model) {
    assert_eq!(tok.vocab_size(), model.n_vocab(), "{name}: vocab size");
    assert_eq!(tok.add_bos(), model.add_bos(), "{name}: add_bos");
    let mut bad = Vec::new();
    for id in 0..tok.vocab_size() as u32 {
        for special in [true, false] {
            let theirs = model.token_to_piece(id as i32, special);
            let ours = tok.decode(&[id], !special).unwrap();
            if String::from_utf8_lossy(&theirs) != ours {
                bad.push(format!(
                    "piece {id} special={special}: ours {ours:?} llama {:?}",
                    String::from_utf8_lossy(&theirs)
                ));
            }
        }
        if tok.token_piece(id).unwrap() != model.token_to_piece(id as i32, true) {
            bad.push(format!("raw piece {id}"));
        }
        if tok.is_eog(id) != model.is_eog(id as i32) {
            bad.push(format!("is_eog({id}): ours {}", tok.is_eog(id)));
        }
    }
    assert!(
        bad.is_empty(),
        "{name}: {} vocabulary differences, first: {:?}",
        bad.len(),
        &bad[..bad.len().min(20)]
    );
}

#[test]
fn smollm2_matches_llama_cpp() {
    let (tok, model) = load("SmolLM2-135M-Instruct.Q4_1.gguf");
    assert_eq!(tok.kind(), TokenizerKind::Bpe);
    assert_eq!(tok.pre_tokenizer(), Some("smollm"));
    assert!(!tok.add_bos());
    let im_end = tok.token_to_id("<|im_end|>").unwrap();
    assert!(tok.is_eog(im_end) && tok.is_special(im_end));
    check_encode("SmolLM2", &tok, &model);
    check_round_trip("SmolLM2", &tok, &model);
    check_vocab("SmolLM2", &tok, &model);
}

#[test]
fn gemma3_matches_llama_cpp() {
    let (tok, model) = load("gemma-3-270m-q4_k_m.gguf");
    assert_eq!(tok.kind(), TokenizerKind::Spm);
    assert_eq!(
        (tok.bos(), tok.eos(), tok.add_bos()),
        (Some(2), Some(1), true)
    );
    let eot = tok.token_to_id("<end_of_turn>").unwrap();
    assert!(tok.is_eog(eot));
    check_encode("Gemma3", &tok, &model);
    check_round_trip("Gemma3", &tok, &model);
    check_vocab("Gemma3", &tok, &model);
}

#[test]
fn gemma3_tokenizer_builds_fast() {
    let bytes = ModelBytes::map_file(model_path("gemma-3-270m-q4_k_m.gguf")).unwrap();
    let gguf = Gguf::parse(&bytes).unwrap();
    let t0 = Instant::now();
    let tok = Tokenizer::from_gguf(&gguf).unwrap();
    let took = t0.elapsed();
    assert_eq!(tok.vocab_size(), 262_144);
    // Tests build with opt-level 2; a release build is faster still.
    assert!(
        took.as_secs_f64() < 1.0,
        "building Gemma's tokenizer took {took:?}"
    );
}

#[test]
fn minilm_tokenizer_json_loads() {
    let path = models_dir().join("all-MiniLM-L6-v2/tokenizer.json");
    assert!(
        path.is_file(),
        "{} is missing: run scripts/fetch-models",
        path.display()
    );
    let tok = Tokenizer::from_hf_json(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(tok.kind(), TokenizerKind::HfJson);
    let cls = tok.token_to_id("[CLS]").unwrap();
    let sep = tok.token_to_id("[SEP]").unwrap();
    let ids = tok.encode("Hello, World!", true, false).unwrap();
    assert_eq!((ids[0], *ids.last().unwrap()), (cls, sep));
    assert_eq!(tok.decode(&ids, true).unwrap(), "hello, world!");
    assert!(tok.is_special(cls));
}
