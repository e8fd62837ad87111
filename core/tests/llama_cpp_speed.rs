//! Rough speed comparison with llama.cpp on the same machine (not a check):
//! `cargo test -p hearth-core --release --test llama_cpp_speed -- --ignored --nocapture`.
//! Prefill of a 64-token prompt and 128 greedy decode steps, 1 and 2 threads, flash
//! attention on (llama.cpp's default on CPU). Hearth's own numbers come from `hearth run`.

mod common;

use std::time::Instant;

use common::{GEMMA3, SMOLLM2, model};
use hearth_llama_cpp as llama;

const PROMPT: &str = "The history of the city of Paris stretches back more than two thousand years. It began as a small settlement of a Celtic tribe on an island in the Seine, grew into a Roman town, and later became the capital of the kingdom of France. Over the centuries it grew into a centre of art, science, and";

#[test]
#[ignore = "timing, not a check"]
fn llama_cpp_tokens_per_second() {
    for file in [SMOLLM2, GEMMA3] {
        let m = llama::Model::load(model(file)).unwrap();
        let toks: Vec<i32> = m.tokenize(PROMPT, true, false).unwrap();
        for threads in [1, 2] {
            let (mut pf, mut dc) = (Vec::new(), Vec::new());
            for _ in 0..3 {
                let mut ctx = llama::Context::new(
                    &m,
                    llama::ContextOptions {
                        n_ctx: 512,
                        n_threads: threads,
                        n_batch: 512,
                        flash_attn: Some(true),
                    },
                )
                .unwrap();
                let t = Instant::now();
                let mut logits = ctx.eval(&toks).unwrap();
                pf.push(toks.len() as f64 / t.elapsed().as_secs_f64());
                let t = Instant::now();
                for _ in 0..128 {
                    let next = llama::argmax(&logits) as i32;
                    logits = ctx.eval(&[next]).unwrap();
                }
                dc.push(128.0 / t.elapsed().as_secs_f64());
            }
            pf.sort_by(f64::total_cmp);
            dc.sort_by(f64::total_cmp);
            eprintln!(
                "llama.cpp {file} threads={threads}: prefill {:.1} tok/s ({} tokens), decode {:.1} tok/s (median of 3)",
                pf[1],
                toks.len(),
                dc[1]
            );
        }
    }
}
