//! `hearth run --backend`: what `auto`, `cpu` and `gpu` pick on this machine's real adapter
//! (lavapipe in CI: a software adapter, so `auto` stays on the CPU and `gpu` must be asked for).

mod common;

use common::{SMOLLM2, hearth_ok, model};
use serde_json::Value;

fn run_json(backend: &str) -> Value {
    let m = model(SMOLLM2);
    serde_json::from_str(&hearth_ok(&[
        "run",
        "--model",
        m.to_str().unwrap(),
        "--prompt",
        "The capital of France is",
        "--max-tokens",
        "2",
        "--temperature",
        "0",
        "--ctx-size",
        "64",
        "--backend",
        backend,
        "--json",
    ]))
    .unwrap()
}

#[test]
fn cpu_backend_reports_no_adapter() {
    let v = run_json("cpu");
    assert_eq!(v["backend"], "cpu");
    assert!(v["adapter"].is_null());
    assert_eq!(v["text"], " Paris.");
}

#[test]
fn auto_and_gpu_follow_the_adapter() {
    let auto = run_json("auto");
    let gpu_ok = std::process::Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["run", "--model", model(SMOLLM2).to_str().unwrap()])
        .args(["--prompt", "Hi", "--max-tokens", "2", "--ctx-size", "16"])
        .args(["--temperature", "0", "--backend", "gpu", "--json"])
        .output()
        .unwrap();
    if !gpu_ok.status.success() {
        // No adapter at all: `gpu` fails with a clear message, `auto` falls back to the CPU.
        let err = String::from_utf8_lossy(&gpu_ok.stderr);
        assert!(err.contains("no GPU adapter"), "{err}");
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have lavapipe: {err}"
        );
        assert_eq!(auto["backend"], "cpu");
        return;
    }
    let gpu: Value = serde_json::from_slice(&gpu_ok.stdout).unwrap();
    assert_eq!(gpu["backend"], "gpu");
    let adapter = &gpu["adapter"];
    assert!(adapter["name"].as_str().is_some_and(|n| !n.is_empty()));
    assert!(adapter["backend"].as_str().is_some());
    // The optional features in use (those the adapter offers), and none when turned off.
    for f in adapter["features"].as_array().expect("features listed") {
        assert!(f == "shader-f16" || f == "subgroups", "{f}");
    }
    let plain = std::process::Command::new(env!("CARGO_BIN_EXE_hearth"))
        .env("HEARTH_GPU_FEATURES", "none")
        .args(["run", "--model", model(SMOLLM2).to_str().unwrap()])
        .args(["--prompt", "Hi", "--max-tokens", "2", "--ctx-size", "16"])
        .args(["--temperature", "0", "--backend", "gpu", "--json"])
        .output()
        .unwrap();
    assert!(plain.status.success());
    let plain: Value = serde_json::from_slice(&plain.stdout).unwrap();
    assert_eq!(plain["adapter"]["features"], serde_json::json!([]));
    assert_eq!(
        plain["text"], gpu["text"],
        "greedy text with and without the features"
    );
    if adapter["software"] == true {
        assert_eq!(adapter["device_type"], "cpu");
        assert_eq!(auto["backend"], "cpu", "auto skips software adapters");
        assert!(
            auto["backend_reason"]
                .as_str()
                .unwrap()
                .contains("software")
        );
    } else {
        assert_eq!(auto["backend"], "gpu");
        assert_eq!(auto["adapter"], *adapter);
    }
}
