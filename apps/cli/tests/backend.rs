//! `hearth run --backend`: what `auto`, `cpu` and `gpu` pick on this machine's real adapter
//! (lavapipe in CI: a software adapter, so `auto` stays on the CPU and `gpu` must be asked for).

mod common;

use common::{SMOLLM2, hearth, hearth_ok, model};
use serde_json::Value;

fn run_json(backend: &str) -> Value {
    run_json_with(backend, &[])
}

fn run_args<'a>(m: &'a str, backend: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "run",
        "--model",
        m,
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
    ];
    a.extend(extra);
    a
}

fn run_json_with(backend: &str, extra: &[&str]) -> Value {
    let m = model(SMOLLM2);
    serde_json::from_str(&hearth_ok(&run_args(m.to_str().unwrap(), backend, extra))).unwrap()
}

/// Whether this machine has any GPU adapter (software ones included); CI must have lavapipe.
fn has_adapter() -> bool {
    let ok = hearth_core::gpu::block_on(hearth_core::gpu::GpuContext::new(
        hearth_core::gpu::GpuOptions {
            allow_software: true,
            ..Default::default()
        },
    ))
    .is_ok();
    assert!(
        ok || std::env::var_os("CI").is_none(),
        "CI must have lavapipe"
    );
    ok
}

#[test]
fn gpu_with_not_one_block_in_the_budget_fails_with_does_not_fit() {
    if !has_adapter() {
        return;
    }
    let m = model(SMOLLM2);
    let out = hearth(&run_args(
        m.to_str().unwrap(),
        "gpu",
        &["--gpu-memory", "1"],
    ));
    assert!(!out.status.success());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("[GPU_DOES_NOT_FIT]"), "{err}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "GPU_DOES_NOT_FIT");
    assert_eq!(v["error"]["allowed_bytes"], 1 << 20);
    // What one SmolLM2-135M Q4_1 block takes with its cache and scratch: ~2.2 MiB of
    // weights (576 wide, 1536 in the FFN) and a few MiB of scratch.
    let needed = v["error"]["needed_bytes"].as_u64().unwrap();
    assert!(needed > 2 << 20 && needed < 16 << 20, "{needed}");
    // Asking for every block under a budget for a few is the same error, with the whole
    // model's needs: ~85 MiB of weights, plus the cache and scratch.
    let out = hearth(&run_args(
        m.to_str().unwrap(),
        "gpu",
        &["--gpu-memory", "16", "--gpu-layers", "30"],
    ));
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "GPU_DOES_NOT_FIT");
    let needed = v["error"]["needed_bytes"].as_u64().unwrap();
    assert!(needed > 80 << 20 && needed < 200 << 20, "{needed}");
}

#[test]
fn auto_runs_on_the_cpu_when_not_one_block_fits() {
    if !has_adapter() {
        return;
    }
    // A software adapter allowed, so only the budget keeps `auto` off the GPU.
    let v = run_json_with("auto", &["--allow-software-gpu", "--gpu-memory", "1"]);
    assert_eq!(v["backend"], "cpu");
    assert!(v["adapter"].is_null());
    assert_eq!(v["gpu_layers"], 0);
    let reason = v["backend_reason"].as_str().unwrap();
    assert!(
        reason.contains("does not fit") && reason.contains("GPU_DOES_NOT_FIT"),
        "{reason}"
    );
    assert_eq!(v["text"], " Paris.");
    // With room enough the whole model runs on the GPU, and greedy gives the same text.
    let v = run_json_with("auto", &["--allow-software-gpu", "--gpu-memory", "1024"]);
    assert_eq!(v["backend"], "gpu");
    assert!(v["backend_reason"].is_null());
    assert_eq!(v["gpu_layers"], 30);
    assert_eq!(v["model_layers"], 30);
    assert_eq!(v["text"], " Paris.");
}

// A budget for some blocks: the GPU runs as many as it holds, the CPU the rest and the LM
// head, and greedy decoding gives the CPU's text.
#[test]
fn a_budget_for_some_blocks_offloads_those() {
    if !has_adapter() {
        return;
    }
    let v = run_json_with("gpu", &["--gpu-memory", "16"]);
    assert_eq!(v["backend"], "gpu");
    let placed = v["gpu_layers"].as_u64().unwrap();
    assert!((1..30).contains(&placed), "{placed} of 30 blocks in 16 MiB");
    assert_eq!(v["model_layers"], 30);
    assert_eq!(v["text"], " Paris.");
    // `auto` (a software adapter allowed) places the same blocks.
    let auto = run_json_with("auto", &["--allow-software-gpu", "--gpu-memory", "16"]);
    assert_eq!(auto["backend"], "gpu");
    assert_eq!(auto["gpu_layers"], placed);
    // --gpu-layers picks the count; 0 is the CPU for `auto` and an error for `gpu`.
    let v = run_json_with("gpu", &["--gpu-layers", "7"]);
    assert_eq!(
        (v["backend"].as_str(), v["gpu_layers"].as_u64()),
        (Some("gpu"), Some(7))
    );
    assert_eq!(v["text"], " Paris.");
    let v = run_json_with("auto", &["--gpu-layers", "0"]);
    assert_eq!(
        (v["backend"].as_str(), v["gpu_layers"].as_u64()),
        (Some("cpu"), Some(0))
    );
    let m = model(SMOLLM2);
    let out = hearth(&run_args(
        m.to_str().unwrap(),
        "gpu",
        &["--gpu-layers", "0"],
    ));
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "INVALID_OPTION", "{v}");
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
