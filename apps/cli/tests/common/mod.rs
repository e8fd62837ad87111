//! Shared helpers for the CLI's integration tests: run the built `hearth` binary
//! and find the real test models.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Output;

/// The real test models' folder: `$HEARTH_MODELS_DIR`, else `~/.cache/hearth/models`.
pub fn model(file: &str) -> PathBuf {
    let dir = std::env::var_os("HEARTH_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/hearth/models")
        });
    let p = dir.join(file);
    assert!(
        p.exists(),
        "{} is missing: run scripts/fetch-models",
        p.display()
    );
    p
}

pub const SMOLLM2: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
pub const GEMMA3: &str = "gemma-3-270m-q4_k_m.gguf";

/// Runs `hearth` with `args`.
pub fn hearth(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(args)
        .output()
        .expect("run hearth")
}

/// Runs `hearth`, asserts success and returns stdout.
pub fn hearth_ok(args: &[&str]) -> String {
    let out = hearth(args);
    assert!(
        out.status.success(),
        "hearth {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}
