//! Hearth against llama.cpp (built through llama-cpp-sys-2): prompt tokens,
//! greedy continuations and first-position logits on the real test models, and
//! logits of synthetic tiny models covering every architecture and quant type.
//!
//! Logit tolerance: quantized models pass 8-bit activations between layers, so
//! a rounding difference anywhere upstream flips some activations by a whole
//! quantization step and grows through the layers. llama.cpp itself shows this:
//! its two attention paths (flash attention on, its CPU default, and off) give
//! logits that differ by up to ~0.6 on SmolLM2. The tolerance is therefore
//! measured, per model: 1.5 × the largest difference between llama.cpp's own
//! two paths over the reference top-10 of all prompts, plus 1% of the top-10
//! spread (for the synthetic models: per model and step, 2× that difference).
//!
//! Greedy continuations: the same noise can flip a near-tie (llama.cpp's own two
//! paths disagree within 24 tokens on about a third of these prompts). So every
//! prompt must match llama.cpp token for token until either 24 tokens are done
//! or llama.cpp's two best candidates at the diverging step are closer than the
//! measured noise there (a true near-tie); and on at least half of the prompts
//! per model the full 24 tokens must be identical.

mod common;

use common::{GEMMA3, SMOLLM2, model};
use hearth_core::gguf::{Gguf, GgufWriter, MetaArray, MetaValue};
use hearth_core::model::{Decoder, ForwardScratch, Logits};
use hearth_core::{GenerateOptions, GgmlType, KvType, Model, ModelBytes, SamplingOptions, Session};
use hearth_llama_cpp as llama;

const PROMPTS: &[&str] = &[
    "The capital of France is",
    "def fibonacci(n):\n    ",
    "Once upon a time, in a small village,",
    "1, 2, 3, 4, 5,",
    "The chemical formula of water is",
    "Translate to French: Good morning, my friend. ->",
    "The largest planet in the solar system is",
    "import numpy as np\nimport",
    "Question: What is the boiling point of water?\nAnswer:",
    "My favourite colour is",
];

const GREEDY_TOKENS: usize = 24;

fn top10(logits: &[f32]) -> Vec<(usize, f32)> {
    let mut idx: Vec<usize> = (0..logits.len()).collect();
    idx.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    idx.truncate(10);
    idx.into_iter().map(|i| (i, logits[i])).collect()
}

/// Largest difference between llama.cpp's two attention paths over the top-10 of `on`.
fn own_noise(on: &[f32], off: &[f32]) -> f32 {
    top10(on)
        .iter()
        .map(|&(id, l)| (l - off[id]).abs())
        .fold(0f32, f32::max)
}

/// Checks our top-10 logits against llama.cpp's default path (`on`) within
/// `noise` (see above) plus 1% of the top-10 spread; returns the largest
/// difference and the tolerance.
fn assert_logits_close(what: &str, ours: &[f32], on: &[f32], noise: f32) -> (f32, f32) {
    assert_eq!(ours.len(), on.len(), "{what}: vocabulary size");
    let reference = top10(on);
    let spread = reference[0].1 - reference[9].1;
    let tol = noise + 0.01 * spread.abs() + 1e-3;
    let mut worst = 0f32;
    for &(id, l) in &reference {
        let d = (ours[id] - l).abs();
        worst = worst.max(d);
        assert!(
            d <= tol,
            "{what}: logit of token {id} is {} here, {l} in llama.cpp (tolerance {tol})",
            ours[id]
        );
    }
    (worst, tol)
}

fn llama_ctx(m: &llama::Model, n_ctx: u32, flash_attn: bool) -> llama::Context<'_> {
    let opts = llama::ContextOptions {
        n_ctx,
        n_threads: 2,
        n_batch: n_ctx,
        flash_attn: Some(flash_attn),
    };
    llama::Context::new(m, opts).unwrap()
}

fn check_real_model(file: &str, kv_type: KvType) {
    check_model_file(&model(file), kv_type, true);
}

/// `count_full_matches`: also require half of the prompts to match for all 24 tokens.
fn check_model_file(path: &std::path::Path, kv_type: KvType, count_full_matches: bool) {
    let file = &path.file_name().unwrap().to_string_lossy().into_owned();
    let ours = Model::load_file(path).unwrap();
    let theirs = llama::Model::load(path).unwrap();
    let mut ctx = llama_ctx(&theirs, 512, true);
    let mut ctx_off = llama_ctx(&theirs, 512, false);
    let mut session = Session::with_kv_type(ours.clone(), 512, kv_type).unwrap();
    // First pass: llama.cpp's own noise on this model, pooled over all prompts.
    let mut noise = 0f32;
    for prompt in PROMPTS {
        let ids = theirs.tokenize(prompt, true, false).unwrap();
        ctx.clear();
        ctx_off.clear();
        noise = noise.max(own_noise(
            &ctx.eval(&ids).unwrap(),
            &ctx_off.eval(&ids).unwrap(),
        ));
    }
    let mut full_matches = 0;
    for prompt in PROMPTS {
        let tokens = ours.tokenize(prompt, true, false).unwrap();
        let ref_tokens: Vec<u32> = theirs
            .tokenize(prompt, true, false)
            .unwrap()
            .into_iter()
            .map(|t| t as u32)
            .collect();
        assert_eq!(tokens, ref_tokens, "{file}: tokens of {prompt:?}");

        let ids: Vec<i32> = ref_tokens.iter().map(|&t| t as i32).collect();
        ctx.clear();
        ctx_off.clear();
        let mut on = ctx.eval(&ids).unwrap();
        let mut off = ctx_off.eval(&ids).unwrap();
        session.reset();
        let (logits, _) = session.prefill(&tokens).unwrap();
        let (worst, tol) =
            assert_logits_close(&format!("{file} {prompt:?}"), &logits, &on, 1.5 * noise);

        let opts = GenerateOptions {
            sampling: SamplingOptions::greedy(),
            max_tokens: GREEDY_TOKENS,
            ignore_eos: true,
            ..Default::default()
        };
        session.reset();
        let ours_gen = session
            .generate(&tokens, opts)
            .unwrap()
            .run()
            .unwrap()
            .tokens;
        // Walk llama.cpp's greedy path, feeding both of its contexts the same tokens.
        let mut matched = 0;
        for &mine in &ours_gen {
            let best = llama::argmax(&on);
            if best as u32 != mine {
                let margin = on[best] - on[mine as usize];
                let noise = (on[best] - off[best])
                    .abs()
                    .max((on[mine as usize] - off[mine as usize]).abs());
                let allowed = 2.0 * noise + 0.01 * (on[best].abs());
                assert!(
                    margin <= allowed,
                    "{file} {prompt:?}: greedy token {matched} is {mine} here but {best} in llama.cpp, \
                     a margin of {margin:.4} where llama.cpp's own noise is {noise:.4}:\n ours:  {:?}",
                    ours.detokenize(&ours_gen, false).unwrap()
                );
                break;
            }
            matched += 1;
            on = ctx.eval(&[best as i32]).unwrap();
            off = ctx_off.eval(&[best as i32]).unwrap();
        }
        if matched == ours_gen.len() {
            full_matches += 1;
        }
        eprintln!(
            "{file} {prompt:?}: top-10 logit difference {worst:.4} (tolerance {tol:.4}); greedy identical for {matched}/{} tokens",
            ours_gen.len()
        );
    }
    assert!(
        !count_full_matches || full_matches * 2 >= PROMPTS.len(),
        "{file}: only {full_matches} of {} prompts match llama.cpp for {GREEDY_TOKENS} greedy tokens",
        PROMPTS.len()
    );
}

#[test]
fn smollm2_matches_llama_cpp() {
    check_real_model(SMOLLM2, KvType::F16);
}

#[test]
fn gemma3_matches_llama_cpp() {
    check_real_model(GEMMA3, KvType::F16);
}

/// An f32 KV cache (attention in f32) against llama.cpp's default f16 cache: the same
/// greedy tokens up to llama.cpp's own noise. (Gemma 3 is left out: its f16-vs-f32 cache
/// difference exceeds that noise — logits stay within tolerance, but "import numpy as
/// np\nimport" flips its first greedy token by a margin of 0.53 — so it would need
/// llama.cpp run with an f32 cache as the reference.)
#[test]
fn smollm2_f32_kv_matches_llama_cpp() {
    check_real_model(SMOLLM2, KvType::F32);
}

/// SmolLM2 requantized by llama.cpp's `llama_model_quantize` (as the bench does) to `ty`:
/// Q8_0 and Q4_0 weights run through their own kernels (VNNI/AVX2 tiles, Q8_0 activations),
/// so these check those paths on a real model: every prompt's top-10 logits within the
/// tolerance, and every greedy divergence at a near-tie within llama.cpp's own noise. The
/// count of prompts identical for all 24 tokens is not required here: on 2026-11-25 it was
/// 3/10 (Q8_0) and 4/10 (Q4_0), every divergence a checked near-tie. llama.cpp runs these
/// types through other paths than its per-row dots (Q4_0: a repacked 8×8 GEMM on AVX2,
/// whose logits differ from its plain path by up to ~0.25 here; Q8_0: llamafile's
/// tinyBLAS), a difference the flash-on/off noise estimate does not include.
fn check_requantized(ty: llama::sys::llama_ftype, name: &str) {
    let dir = std::env::temp_dir().join(format!("hearth-requant-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(format!("SmolLM2-135M-Instruct.{name}.gguf"));
    llama::quantize_model(&model(SMOLLM2), &out, ty, 2).unwrap();
    let result = std::panic::catch_unwind(|| check_model_file(&out, KvType::F16, false));
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn smollm2_requantized_q8_0_matches_llama_cpp() {
    check_requantized(llama::sys::LLAMA_FTYPE_MOSTLY_Q8_0, "Q8_0");
}

#[test]
fn smollm2_requantized_q4_0_matches_llama_cpp() {
    check_requantized(llama::sys::LLAMA_FTYPE_MOSTLY_Q4_0, "Q4_0");
}

#[test]
fn smollm2_reference_sentence() {
    let ours = Model::load_file(model(SMOLLM2)).unwrap();
    let tokens = ours
        .tokenize("The capital of France is", true, false)
        .unwrap();
    assert_eq!(tokens, [504, 3575, 282, 4649, 314]);
    let mut session = Session::new(ours.clone(), 256).unwrap();
    let opts = GenerateOptions {
        sampling: SamplingOptions::greedy(),
        max_tokens: 30,
        ..Default::default()
    };
    let r = session.generate(&tokens, opts).unwrap().run().unwrap();
    assert!(
        r.text
            .starts_with(" Paris.\n\nThe United States has a population of approximately"),
        "{:?}",
        r.text
    );
}

// --- synthetic tiny models -------------------------------------------------

struct Rng(u64);
impl Rng {
    fn f32(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
    fn vec(&mut self, n: usize, scale: f32, offset: f32) -> Vec<f32> {
        (0..n).map(|_| offset + scale * self.f32()).collect()
    }
}

/// GPT-2 byte-to-unicode table: the 256 single-byte tokens of a byte-level vocabulary.
fn byte_tokens() -> Vec<String> {
    let mut bs: Vec<u32> = (b'!' as u32..=b'~' as u32)
        .chain(0xA1..=0xAC)
        .chain(0xAE..=0xFF)
        .collect();
    let mut cs = bs.clone();
    let mut n = 0;
    for b in 0..256u32 {
        if !bs.contains(&b) {
            bs.push(b);
            cs.push(256 + n);
            n += 1;
        }
    }
    let mut pairs: Vec<(u32, u32)> = bs.into_iter().zip(cs).collect();
    pairs.sort();
    pairs
        .into_iter()
        .map(|(_, c)| char::from_u32(c).unwrap().to_string())
        .collect()
}

const ARCHS: &[&str] = &["llama", "qwen2", "gemma3"];

/// A tiny random model of `arch` with every matrix stored as `ty`.
fn synthetic(arch: &str, ty: GgmlType, seed: u64) -> Vec<u8> {
    let (n_embd, n_ff, n_layer, n_head, n_head_kv, head_dim) =
        (256usize, 512usize, 2usize, 4usize, 2usize, 64usize);
    let mut tokens = byte_tokens();
    let merges: Vec<String> = ["a b", "c d", "e f", "ab cd"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    tokens.extend(["ab", "cd", "ef", "abcd"].iter().map(|s| s.to_string()));
    while tokens.len() < 320 {
        tokens.push(format!("<extra_{}>", tokens.len()));
    }
    let n_vocab = tokens.len();
    let mut w = GgufWriter::new();
    let a = |k: &str| format!("{arch}.{k}");
    w.meta_str("general.architecture", arch)
        .meta_str("general.name", format!("synthetic {arch} {ty}"))
        .meta_u32(a("context_length"), 256)
        .meta_u32(a("embedding_length"), n_embd as u32)
        .meta_u32(a("block_count"), n_layer as u32)
        .meta_u32(a("feed_forward_length"), n_ff as u32)
        .meta_u32(a("attention.head_count"), n_head as u32)
        .meta_u32(a("attention.head_count_kv"), n_head_kv as u32)
        .meta_u32(a("attention.key_length"), head_dim as u32)
        .meta_u32(a("attention.value_length"), head_dim as u32)
        .meta_f32(a("attention.layer_norm_rms_epsilon"), 1e-6)
        .meta_f32(a("rope.freq_base"), 10_000.0)
        .meta_str("tokenizer.ggml.model", "gpt2")
        .meta_str("tokenizer.ggml.pre", "default")
        .meta(
            "tokenizer.ggml.tokens",
            MetaValue::Array(MetaArray::String(tokens)),
        )
        .meta(
            "tokenizer.ggml.merges",
            MetaValue::Array(MetaArray::String(merges)),
        )
        .meta_u32("tokenizer.ggml.bos_token_id", 300)
        .meta_u32("tokenizer.ggml.eos_token_id", 301);
    if arch == "gemma3" {
        w.meta_u32(a("attention.sliding_window"), 4);
    }
    let mut rng = Rng(seed);
    let mut matrix = |w: &mut GgufWriter, name: &str, cols: usize, rows: usize, scale: f32| {
        let values = rng.vec(cols * rows, scale, 0.0);
        let data = if ty == GgmlType::F32 {
            values.iter().flat_map(|v| v.to_le_bytes()).collect()
        } else {
            llama::ggml::quantize(ty.id(), &values, cols)
        };
        w.tensor(name, &[cols as u64, rows as u64], ty, data);
    };
    let mut rng2 = Rng(seed ^ 0xdead_beef);
    let mut norm = |w: &mut GgufWriter, name: &str, n: usize| {
        w.tensor_f32(name, &[n as u64], &rng2.vec(n, 0.2, 1.0));
    };
    matrix(&mut w, "token_embd.weight", n_embd, n_vocab, 1.0);
    norm(&mut w, "output_norm.weight", n_embd);
    if arch != "gemma3" {
        matrix(&mut w, "output.weight", n_embd, n_vocab, 0.2);
    }
    for il in 0..n_layer {
        let n = |s: &str| format!("blk.{il}.{s}");
        norm(&mut w, &n("attn_norm.weight"), n_embd);
        matrix(&mut w, &n("attn_q.weight"), n_embd, n_head * head_dim, 0.1);
        matrix(
            &mut w,
            &n("attn_k.weight"),
            n_embd,
            n_head_kv * head_dim,
            0.1,
        );
        matrix(
            &mut w,
            &n("attn_v.weight"),
            n_embd,
            n_head_kv * head_dim,
            0.1,
        );
        matrix(
            &mut w,
            &n("attn_output.weight"),
            n_head * head_dim,
            n_embd,
            0.1,
        );
        norm(&mut w, &n("ffn_norm.weight"), n_embd);
        matrix(&mut w, &n("ffn_gate.weight"), n_embd, n_ff, 0.1);
        matrix(&mut w, &n("ffn_up.weight"), n_embd, n_ff, 0.1);
        matrix(&mut w, &n("ffn_down.weight"), n_ff, n_embd, 0.1);
        if arch == "qwen2" {
            norm(&mut w, &n("attn_q.bias"), n_head * head_dim);
            norm(&mut w, &n("attn_k.bias"), n_head_kv * head_dim);
            norm(&mut w, &n("attn_v.bias"), n_head_kv * head_dim);
        }
        if arch == "gemma3" {
            norm(&mut w, &n("attn_q_norm.weight"), head_dim);
            norm(&mut w, &n("attn_k_norm.weight"), head_dim);
            norm(&mut w, &n("post_attention_norm.weight"), n_embd);
            norm(&mut w, &n("post_ffw_norm.weight"), n_embd);
        }
    }
    w.to_bytes()
}

const TYPES: &[GgmlType] = &[
    GgmlType::F32,
    GgmlType::F16,
    GgmlType::BF16,
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q5_1,
    GgmlType::Q8_0,
    GgmlType::Q2_K,
    GgmlType::Q3_K,
    GgmlType::Q4_K,
    GgmlType::Q5_K,
    GgmlType::Q6_K,
];

#[test]
fn synthetic_models_match_llama_cpp_for_every_arch_and_type() {
    let dir = std::env::temp_dir().join(format!("hearth-synth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A sequence long enough to cross Gemma's sliding window of 4 several times.
    let prompt: Vec<u32> = vec![300, 17, 42, 99, 3, 255, 256, 257, 12, 64, 128, 200];
    for (i, arch) in ARCHS.iter().enumerate() {
        for (j, &ty) in TYPES.iter().enumerate() {
            let bytes = synthetic(arch, ty, 1 + (i * 100 + j) as u64);
            let path = dir.join(format!("{arch}-{ty}.gguf"));
            std::fs::write(&path, &bytes).unwrap();

            let theirs = llama::Model::load(path).unwrap();
            let mut ctx = llama_ctx(&theirs, 64, true);
            let mut ctx_off = llama_ctx(&theirs, 64, false);
            let ours_bytes = ModelBytes::from_vec(bytes);
            let g = Gguf::parse(&ours_bytes).unwrap();
            let dec = Decoder::load(&g, &ours_bytes).unwrap();
            let mut cache = dec.new_cache(64);
            let mut scratch = ForwardScratch::default();

            // Prompt as one batch, then two single-token steps (the decode path).
            let mut worst = (0f32, 0f32);
            let ids: Vec<i32> = prompt.iter().map(|&t| t as i32).collect();
            let (on, off) = (ctx.eval(&ids).unwrap(), ctx_off.eval(&ids).unwrap());
            let logits = dec
                .forward(&mut cache, &prompt, Logits::Last, &mut scratch)
                .unwrap();
            let w = assert_logits_close(
                &format!("{arch} {ty} prompt"),
                &logits,
                &on,
                2.0 * own_noise(&on, &off),
            );
            worst = (worst.0.max(w.0), worst.1.max(w.1));
            for t in [5u32, 77] {
                let (on, off) = (
                    ctx.eval(&[t as i32]).unwrap(),
                    ctx_off.eval(&[t as i32]).unwrap(),
                );
                let logits = dec
                    .forward(&mut cache, &[t], Logits::Last, &mut scratch)
                    .unwrap();
                let w = assert_logits_close(
                    &format!("{arch} {ty} step {t}"),
                    &logits,
                    &on,
                    2.0 * own_noise(&on, &off),
                );
                worst = (worst.0.max(w.0), worst.1.max(w.1));
            }
            eprintln!(
                "synthetic {arch} {ty}: max top-10 logit difference {:.5} (tolerance {:.5})",
                worst.0, worst.1
            );
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}
