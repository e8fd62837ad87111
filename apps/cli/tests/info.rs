mod common;

use common::{GEMMA3, SMOLLM2, hearth, hearth_ok, model};
use serde_json::Value;

fn info_json(file: &str) -> Value {
    let p = model(file);
    serde_json::from_str(&hearth_ok(&[
        "info",
        "--model",
        p.to_str().unwrap(),
        "--json",
    ]))
    .unwrap()
}

#[test]
fn smollm2_info() {
    let v = info_json(SMOLLM2);
    assert_eq!(v["architecture"], "llama");
    assert_eq!(v["tensor_count"], 272);
    assert_eq!(v["tensor_types"]["Q4_1"]["count"], 210);
    assert_eq!(v["tensor_types"]["F32"]["count"], 61);
    assert_eq!(v["tensor_types"]["Q8_0"]["count"], 1);
    assert_eq!(v["vocab_size"], 49152);
    assert_eq!(v["tokenizer"]["model"], "gpt2");
    assert_eq!(v["tokenizer"]["pre"], "smollm");
    assert_eq!(v["chat_template"], true);
    assert_eq!(v["context_length"], 8192);
    assert_eq!(v["license"], "apache-2.0");
    assert_eq!(v["parameter_count"], 134_515_008);
}

#[test]
fn gemma3_info() {
    let v = info_json(GEMMA3);
    assert_eq!(v["architecture"], "gemma3");
    assert_eq!(v["tensor_count"], 236);
    assert_eq!(v["vocab_size"], 262_144);
    assert_eq!(v["tokenizer"]["model"], "llama");
    assert_eq!(v["tokenizer"]["add_bos_token"], true);
    let by_type = v["tensor_types"].as_object().unwrap();
    let total: u64 = by_type.values().map(|t| t["count"].as_u64().unwrap()).sum();
    assert_eq!(total, 236);
    assert!(by_type.contains_key("Q4_K") && by_type.contains_key("Q6_K"));
}

#[test]
fn human_readable_info() {
    let p = model(SMOLLM2);
    let out = hearth_ok(&["info", "--model", p.to_str().unwrap()]);
    assert!(out.contains("architecture   llama"), "{out}");
    assert!(out.contains("Q4_1"), "{out}");
}

#[test]
fn corrupt_and_missing_files_are_clear_errors() {
    let dir = std::env::temp_dir().join(format!("hearth-cli-info-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.gguf");
    std::fs::write(&bad, b"<html>404 Not Found</html>").unwrap();
    let out = hearth(&["info", "--model", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a GGUF file"), "{err}");

    // A real model cut in half: the tensor data section is truncated.
    let real = std::fs::read(model(SMOLLM2)).unwrap();
    let cut = dir.join("cut.gguf");
    std::fs::write(&cut, &real[..real.len() / 2]).unwrap();
    let out = hearth(&["info", "--model", cut.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("outside the file"), "{err}");

    let out = hearth(&[
        "info",
        "--model",
        dir.join("missing.gguf").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open"));
    std::fs::remove_dir_all(&dir).ok();
}
