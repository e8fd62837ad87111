mod common;

use common::{hearth, hearth_ok, model};
use serde_json::Value;

const MINILM: &str = "all-MiniLM-L6-v2";

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let n = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    dot / (n(a) * n(b))
}

fn vecs(v: &Value) -> Vec<Vec<f64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect()
}

#[test]
fn embed_prints_vectors() {
    let dir = model(MINILM);
    let d = dir.to_str().unwrap();
    let texts = [
        "A man is playing a guitar.",
        "Someone plays the guitar.",
        "The stock market fell sharply on Monday.",
    ];
    let mut args = vec!["embed", "--model", d];
    args.extend(texts);
    let plain: Value = serde_json::from_str(&hearth_ok(&args)).unwrap();
    let v = vecs(&plain);
    assert_eq!(v.len(), 3);
    assert!(v.iter().all(|r| r.len() == 384));
    assert!(cosine(&v[0], &v[1]) > cosine(&v[0], &v[2]) + 0.3);

    let long = "word ".repeat(400);
    let obj: Value =
        serde_json::from_str(&hearth_ok(&["embed", "--model", d, "--json", "hi", &long])).unwrap();
    assert_eq!(obj["dims"], 384);
    assert_eq!(obj["truncated"], serde_json::json!([false, true]));
    assert_eq!(vecs(&obj["vectors"]).len(), 2);

    // One worker thread: the same vectors (each output is summed in the same order).
    let mut one = vec!["embed", "--model", d, "--threads", "1"];
    one.extend(texts);
    assert_eq!(hearth_ok(&one), hearth_ok(&args));
    let out = hearth(&["embed", "--model", d, "--threads", "0", "x"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--threads must be at least 1"));
}

#[test]
fn embed_errors_have_codes() {
    let out = hearth(&["embed", "--model", "/nonexistent-hearth-dir", "x"]);
    assert!(!out.status.success());
    let dir = std::env::temp_dir().join(format!("hearth-cli-embed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = hearth(&["embed", "--model", dir.to_str().unwrap(), "x"]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("MISSING_MODEL_FILE"));
}

#[test]
fn convert_embedding_then_embed_the_gguf() {
    let dir = model(MINILM);
    let d = dir.to_str().unwrap();
    let out = std::env::temp_dir().join(format!("hearth-cli-minilm-{}.gguf", std::process::id()));
    let o = out.to_str().unwrap();
    hearth_ok(&["convert-embedding", "--out", o, "--type", "f16", d]);
    let texts = [
        "A man is playing a guitar.",
        "The stock market fell sharply.",
    ];
    let from_dir: Value =
        serde_json::from_str(&hearth_ok(&["embed", "--model", d, texts[0], texts[1]])).unwrap();
    let from_gguf: Value =
        serde_json::from_str(&hearth_ok(&["embed", "--model", o, texts[0], texts[1]])).unwrap();
    std::fs::remove_file(&out).unwrap();
    for (a, b) in vecs(&from_dir).iter().zip(&vecs(&from_gguf)) {
        assert_eq!(b.len(), 384);
        assert!(cosine(a, b) >= 0.999, "cosine {}", cosine(a, b));
    }
    // A decoder LLM GGUF is not a bert embedding model; a bad --type is refused.
    let smol = model("SmolLM2-135M-Instruct.Q4_1.gguf");
    let r = hearth(&["embed", "--model", smol.to_str().unwrap(), "x"]);
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("UNSUPPORTED_ARCHITECTURE"));
    let r = hearth(&["convert-embedding", "--out", o, "--type", "q4_0", d]);
    assert!(!r.status.success());
}
