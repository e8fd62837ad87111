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
