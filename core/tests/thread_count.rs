//! The CPU forward pass gives the same bits at any thread count: work is split over
//! tokens or weight rows, never inside one output's sum. Covered on the real models: a
//! prompt of 64+ tokens (tiled attention), a short one (per-token attention in parallel)
//! and single-token decode steps.

mod common;

use common::{GEMMA3, SMOLLM2, model};
use hearth_core::{Model, Session};

/// Every logit of a long prompt, a short continuation and four decode steps.
fn logits_with_threads(model: &std::sync::Arc<Model>, threads: usize) -> Vec<Vec<f32>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let mut s = Session::new(model.clone(), 256).unwrap();
        let long: Vec<u32> = (0..100u32).map(|i| 100 + (i * 37) % 900).collect();
        let mut out = vec![s.prefill(&long).unwrap().0];
        let short: Vec<u32> = (0..20u32).map(|i| 300 + i * 11).collect();
        out.push(s.eval(&short).unwrap());
        for t in [42u32, 7, 1000, 5] {
            out.push(s.eval(&[t]).unwrap());
        }
        out
    })
}

fn check(file: &str) {
    let m = Model::load_file(model(file)).unwrap();
    let one = logits_with_threads(&m, 1);
    for threads in [2, 3] {
        let many = logits_with_threads(&m, threads);
        for (step, (a, b)) in one.iter().zip(&many).enumerate() {
            let same = a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(same, "{file}: step {step} differs at {threads} threads");
        }
    }
}

#[test]
fn smollm2_logits_are_the_same_bits_at_any_thread_count() {
    check(SMOLLM2);
}

#[test]
fn gemma3_logits_are_the_same_bits_at_any_thread_count() {
    check(GEMMA3);
}
