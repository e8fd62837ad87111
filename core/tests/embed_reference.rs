//! all-MiniLM-L6-v2 embeddings against an independent numpy implementation of BERT
//! (core/tests/bert_reference.py, float64 over the same SafeTensors file and our token ids),
//! for the F32 path and the Q8_0 load-time quantization; plus error codes for bad input.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use hearth_core::embed::similarity::{cosine, top_k};
use hearth_core::{EmbedLoadOptions, EmbedOptions, EmbeddingModel};

const MINILM: &str = "all-MiniLM-L6-v2";

fn model_dir() -> PathBuf {
    let d = common::model(MINILM);
    assert!(
        d.join("model.safetensors").exists(),
        "{} is incomplete: run scripts/fetch-models",
        d.display()
    );
    d
}

fn model() -> &'static EmbeddingModel {
    static M: OnceLock<EmbeddingModel> = OnceLock::new();
    M.get_or_init(|| EmbeddingModel::load_dir(model_dir()).expect("load all-MiniLM-L6-v2"))
}

fn long_text() -> String {
    // About 400 WordPiece tokens: past max_seq_length 256.
    "The quick brown fox jumps over the lazy dog while the river keeps flowing. ".repeat(25)
}

fn sentences() -> Vec<String> {
    [
        "A man is playing a guitar.",
        "Someone plays the guitar.",
        "The stock market fell sharply on Monday.",
        "How do I bake sourdough bread at home?",
        "Hearth runs AI models locally, in the browser or natively.",
        "Café prices rose 5% — naïve résumé writers beware!",
        "",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([long_text()])
    .collect()
}

/// Runs the numpy reference on token ids; fails (never skips) when python/numpy are missing.
fn reference(dir: &Path, ids: &[Vec<u32>]) -> Vec<Vec<f32>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bert_reference.py");
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let mut child = Command::new(&python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}: run scripts/setup"));
    let req = serde_json::json!({ "model": dir, "ids": ids });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(req.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the numpy reference failed (needs numpy and safetensors: run scripts/setup):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect()
        })
        .collect()
}

fn ids_of(m: &EmbeddingModel, texts: &[&str]) -> Vec<Vec<u32>> {
    texts.iter().map(|t| m.encode(t).unwrap().ids).collect()
}

#[test]
fn f32_matches_numpy_reference() {
    let m = model();
    let info = m.info();
    assert_eq!(info.dims, 384);
    assert_eq!(info.max_tokens, 256);
    assert!(info.normalize);
    assert!(!info.quantized);
    let owned = sentences();
    let texts: Vec<&str> = owned.iter().map(String::as_str).collect();
    // Batch of 3 so batches mix lengths and the last one is partial.
    let e = m
        .embed(
            &texts,
            EmbedOptions {
                normalize: None,
                batch_size: 3,
            },
        )
        .unwrap();
    assert_eq!(e.dims, 384);
    assert_eq!(e.vectors.len(), texts.len());
    let mut want_trunc = vec![false; texts.len()];
    *want_trunc.last_mut().unwrap() = true;
    assert_eq!(e.truncated, want_trunc);
    let ids = ids_of(m, &texts);
    assert_eq!(ids.last().unwrap().len(), 256);
    assert_eq!(*ids.last().unwrap().last().unwrap(), 102, "[SEP] kept");
    let want = reference(&model_dir(), &ids);
    for (i, (a, b)) in e.vectors.iter().zip(&want).enumerate() {
        let c = cosine(a, b);
        let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        eprintln!("f32 #{i}: cosine {c:.9}, |v| {norm:.6}");
        assert!(c >= 0.9999, "sentence {i}: cosine {c}");
        assert!((norm - 1.0).abs() < 1e-4);
    }
    // Batching does not change the vectors.
    let one = m
        .embed(
            &texts[..2],
            EmbedOptions {
                normalize: None,
                batch_size: 1,
            },
        )
        .unwrap();
    for (a, b) in one.vectors.iter().zip(&e.vectors) {
        assert!(cosine(a, b) > 0.999_999);
    }
}

#[test]
fn q8_0_matches_numpy_reference() {
    let m =
        EmbeddingModel::load_dir_with(model_dir(), EmbedLoadOptions { quantize: true }).unwrap();
    let info = m.info();
    assert!(info.quantized);
    assert_eq!(info.matrix_type, hearth_core::GgmlType::Q8_0);
    let owned = sentences();
    let texts: Vec<&str> = owned.iter().map(String::as_str).collect();
    let e = m.embed(&texts, EmbedOptions::default()).unwrap();
    let want = reference(&model_dir(), &ids_of(&m, &texts));
    for (i, (a, b)) in e.vectors.iter().zip(&want).enumerate() {
        let c = cosine(a, b);
        eprintln!("q8_0 #{i}: cosine {c:.6}");
        assert!(c >= 0.99, "sentence {i}: cosine {c}");
    }
}

/// The wasm entry point (`from_parts`, owned buffer) on an F16 copy of the weights made by
/// the Python `safetensors` package; vectors stay within 0.999 cosine of F32.
#[test]
fn f16_weights_from_parts() {
    let dir = model_dir();
    let tmp = std::env::temp_dir().join(format!(
        "hearth-embed-f16-{}.safetensors",
        std::process::id()
    ));
    let script = "import sys, numpy as np\n\
from safetensors.numpy import load_file, save_file\n\
t = load_file(sys.argv[1])\n\
save_file({k: v.astype(np.float16) if v.dtype.kind == 'f' else v for k, v in t.items()}, sys.argv[2])\n";
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(dir.join("model.safetensors"))
        .arg(&tmp)
        .output()
        .expect("python3: run scripts/setup");
    assert!(
        out.status.success(),
        "writing an F16 copy failed (run scripts/setup): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    let bytes = hearth_core::ModelBytes::from_vec(std::fs::read(&tmp).unwrap());
    std::fs::remove_file(&tmp).unwrap();
    let m = EmbeddingModel::from_parts(
        &read("config.json"),
        &read("tokenizer.json"),
        bytes,
        Some(&read("1_Pooling/config.json")),
        Some(&read("sentence_bert_config.json")),
        Some(&read("modules.json")),
        EmbedLoadOptions::default(),
    )
    .unwrap();
    assert_eq!(m.info().matrix_type, hearth_core::GgmlType::F16);
    let owned = sentences();
    let texts: Vec<&str> = owned.iter().map(String::as_str).collect();
    let a = m.embed(&texts, EmbedOptions::default()).unwrap();
    let b = model().embed(&texts, EmbedOptions::default()).unwrap();
    assert_eq!(a.truncated, b.truncated);
    for (i, (x, y)) in a.vectors.iter().zip(&b.vectors).enumerate() {
        let c = cosine(x, y);
        eprintln!("f16 #{i}: cosine to f32 {c:.6}");
        assert!(c >= 0.999, "sentence {i}: {c}");
    }
}

#[test]
fn paraphrases_score_higher_than_unrelated() {
    let m = model();
    let texts = [
        "A man is playing a guitar.",
        "Someone plays the guitar.",
        "The stock market fell sharply on Monday.",
        "A chef is cooking pasta in the kitchen.",
    ];
    let e = m.embed(&texts, EmbedOptions::default()).unwrap();
    let v = &e.vectors;
    let para = cosine(&v[0], &v[1]);
    eprintln!(
        "paraphrase {para:.4}, unrelated {:.4} {:.4}",
        cosine(&v[0], &v[2]),
        cosine(&v[0], &v[3])
    );
    assert!(para > 0.6);
    assert!(para > cosine(&v[0], &v[2]) + 0.3);
    assert!(para > cosine(&v[0], &v[3]) + 0.3);
    let best = top_k(&v[0], &v[1..], 2);
    assert_eq!(best[0].0, 0);
    // Without normalisation the vectors keep their pooled length.
    let raw = m
        .embed(
            &texts[..1],
            EmbedOptions {
                normalize: Some(false),
                batch_size: 0,
            },
        )
        .unwrap();
    let n: f32 = raw.vectors[0].iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((n - 1.0).abs() > 1e-3);
    assert!(cosine(&raw.vectors[0], &v[0]) > 0.999_999);
}

#[test]
fn bad_input_gives_typed_errors() {
    let m = model();
    assert_eq!(
        m.embed(&[], EmbedOptions::default()).unwrap_err().code(),
        "EMPTY_INPUT"
    );

    let src = model_dir();
    let tmp = std::env::temp_dir().join(format!("hearth-embed-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let copy = |f: &str| std::fs::copy(src.join(f), tmp.join(f)).unwrap();
    let err = |d: &Path| EmbeddingModel::load_dir(d).unwrap_err();
    assert_eq!(err(&tmp).code(), "MISSING_MODEL_FILE");
    copy("config.json");
    let e = err(&tmp);
    assert_eq!(e.code(), "MISSING_MODEL_FILE");
    assert!(e.to_string().contains("tokenizer.json"), "{e}");
    copy("tokenizer.json");
    assert_eq!(err(&tmp).code(), "MISSING_MODEL_FILE");
    // A GPT-2 config is not an embedding model.
    std::fs::write(
        tmp.join("config.json"),
        r#"{"architectures":["GPT2LMHeadModel"],"model_type":"gpt2"}"#,
    )
    .unwrap();
    std::fs::write(tmp.join("model.safetensors"), b"").unwrap();
    assert_eq!(err(&tmp).code(), "UNSUPPORTED_ARCHITECTURE");
    // A truncated SafeTensors file.
    copy("config.json");
    let bytes = std::fs::read(src.join("model.safetensors")).unwrap();
    std::fs::write(tmp.join("model.safetensors"), &bytes[..bytes.len() / 2]).unwrap();
    assert_eq!(err(&tmp).code(), "SAFETENSORS_INVALID");
    // A config that disagrees with the weights.
    let cfg = std::fs::read_to_string(src.join("config.json"))
        .unwrap()
        .replace("\"intermediate_size\": 1536", "\"intermediate_size\": 1024");
    std::fs::write(tmp.join("config.json"), cfg).unwrap();
    std::fs::copy(src.join("model.safetensors"), tmp.join("model.safetensors")).unwrap();
    assert_eq!(err(&tmp).code(), "WRONG_TENSOR_SHAPE");
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// Rough native throughput: `cargo test --release -p hearth-core --test embed_reference -- --ignored --nocapture`.
#[test]
#[ignore]
fn throughput() {
    let texts: Vec<String> = (0..256)
        .map(|i| format!("Sentence number {i} talks about local AI models running on laptops."))
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    for quantize in [false, true] {
        let m = EmbeddingModel::load_dir_with(model_dir(), EmbedLoadOptions { quantize }).unwrap();
        for batch in [1, 32] {
            let n = if batch == 1 { 64 } else { 256 };
            let t = std::time::Instant::now();
            m.embed(
                &refs[..n],
                EmbedOptions {
                    normalize: None,
                    batch_size: batch,
                },
            )
            .unwrap();
            let s = t.elapsed().as_secs_f64();
            eprintln!(
                "{}: batch {batch}: {:.1} sentences/s",
                m.info().matrix_type,
                n as f64 / s
            );
        }
    }
}
