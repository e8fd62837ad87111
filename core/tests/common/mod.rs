//! Shared helpers for hearth-core's integration tests: locate the real test models.

#![allow(dead_code)]

use std::path::PathBuf;

pub const SMOLLM2: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
pub const GEMMA3: &str = "gemma-3-270m-q4_k_m.gguf";

/// The real test models' folder: `$HEARTH_MODELS_DIR`, else `~/.cache/hearth/models`.
pub fn models_dir() -> PathBuf {
    std::env::var_os("HEARTH_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/hearth/models")
        })
}

/// Path of one real test model; fails the test with a hint when it is missing.
pub fn model(file: &str) -> PathBuf {
    let p = models_dir().join(file);
    assert!(
        p.exists(),
        "{} is missing: run scripts/fetch-models",
        p.display()
    );
    p
}
