//! Sessions on the real SmolLM2: KV-cache reuse, streaming, stop strings,
//! cancellation, context limits and typed errors.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{SMOLLM2, model};
use hearth_core::chat_template::ChatMessage;
use hearth_core::{Error, FinishReason, GenerateOptions, Model, SamplingOptions, Session};

fn greedy(max_tokens: usize) -> GenerateOptions {
    GenerateOptions {
        sampling: SamplingOptions::greedy(),
        max_tokens,
        ..Default::default()
    }
}

fn smollm2() -> Arc<Model> {
    Model::load_file(model(SMOLLM2)).unwrap()
}

#[test]
fn streaming_events_add_up_to_the_result_and_prefix_is_reused() {
    let m = smollm2();
    let mut s = Session::new(m.clone(), 512).unwrap();
    let prompt = m.tokenize("The capital of France is", true, false).unwrap();
    let mut generation = s.generate(&prompt, greedy(12)).unwrap();
    let mut streamed = String::new();
    let mut events = 0;
    for ev in generation.by_ref() {
        streamed.push_str(&ev.unwrap().text);
        events += 1;
    }
    let r = generation.result();
    assert_eq!(streamed, r.text);
    assert!(events >= 12);
    assert_eq!(r.finish_reason, FinishReason::Length);
    assert_eq!(r.timings.reused_tokens, 0);

    // A longer prompt that extends the history: only the new tokens are evaluated.
    let mut longer = prompt.clone();
    longer.extend(&r.tokens);
    longer.extend(m.tokenize(" And Germany's is", false, false).unwrap());
    let r2 = s.generate(&longer, greedy(4)).unwrap().run().unwrap();
    // The last generated token was never evaluated, so it is not in the cache.
    assert_eq!(r2.timings.reused_tokens, prompt.len() + r.tokens.len() - 1);

    // The same answer as a fresh session: reuse does not change the output.
    let mut fresh = Session::new(m.clone(), 512).unwrap();
    assert_eq!(
        fresh
            .generate(&longer, greedy(4))
            .unwrap()
            .run()
            .unwrap()
            .tokens,
        r2.tokens
    );
}

#[test]
fn chat_turns_reuse_history() {
    let m = smollm2();
    let mut s = Session::new(m.clone(), 1024).unwrap();
    let mut msgs = vec![ChatMessage::new("user", "Name a fruit.")];
    let first = s
        .generate(&m.tokenize_chat(&msgs).unwrap(), greedy(16))
        .unwrap()
        .run()
        .unwrap();
    assert_eq!(first.finish_reason, FinishReason::Stop, "{:?}", first.text);
    msgs.push(ChatMessage::new("assistant", first.text.trim()));
    msgs.push(ChatMessage::new("user", "Another one?"));
    let prompt = m.tokenize_chat(&msgs).unwrap();
    let second = s.generate(&prompt, greedy(16)).unwrap().run().unwrap();
    assert!(second.timings.reused_tokens > 10, "{:?}", second.timings);
}

#[test]
fn stop_strings_and_cancellation() {
    let m = smollm2();
    let mut s = Session::new(m.clone(), 256).unwrap();
    let prompt = m.tokenize("The capital of France is", true, false).unwrap();
    let opts = GenerateOptions {
        stop: vec!["\n\n".into()],
        ..greedy(30)
    };
    let r = s.generate(&prompt, opts).unwrap().run().unwrap();
    assert_eq!(r.text, " Paris.");
    assert_eq!(r.finish_reason, FinishReason::Stop);

    let cancel = Arc::new(AtomicBool::new(false));
    let mut generation = s
        .generate(&prompt, greedy(30))
        .unwrap()
        .with_cancel(cancel.clone());
    let mut n = 0;
    for ev in generation.by_ref() {
        ev.unwrap();
        n += 1;
        if n == 3 {
            cancel.store(true, Ordering::Relaxed);
        }
    }
    let r = generation.result();
    assert_eq!(r.finish_reason, FinishReason::Cancelled);
    assert_eq!(r.tokens.len(), 3);
}

#[test]
fn limits_and_bad_input_are_typed_errors() {
    let m = smollm2();
    let mut s = Session::new(m.clone(), 16).unwrap();
    let long = m.tokenize(&"hello ".repeat(40), true, false).unwrap();
    let e = s.generate(&long, greedy(4)).unwrap_err();
    assert_eq!(e.code(), "PROMPT_TOO_LONG");
    assert!(matches!(e, Error::PromptTooLong { n_ctx: 16, .. }));

    // Generation stops cleanly when the context fills up.
    let prompt = m.tokenize("One two three", true, false).unwrap();
    let r = s
        .generate(
            &prompt,
            GenerateOptions {
                ignore_eos: true,
                ..greedy(100)
            },
        )
        .unwrap()
        .run()
        .unwrap();
    assert_eq!(r.finish_reason, FinishReason::ContextFull);
    assert_eq!(
        prompt.len() + r.tokens.len(),
        17,
        "fills the context (the last token needs no KV slot)"
    );

    s.reset();
    let e = s.eval(&[49152]).unwrap_err();
    assert_eq!(e.code(), "TOKEN_OUT_OF_RANGE");
    let bad = GenerateOptions {
        sampling: SamplingOptions {
            temperature: -1.0,
            ..Default::default()
        },
        ..greedy(4)
    };
    assert_eq!(
        s.generate(&prompt, bad).unwrap_err().code(),
        "INVALID_SAMPLING_OPTION"
    );
    assert_eq!(
        s.generate(&[], greedy(4)).unwrap_err().code(),
        "INVALID_OPTION"
    );
    // After errors the session still works.
    s.reset();
    assert!(
        !s.generate(&prompt, greedy(2))
            .unwrap()
            .run()
            .unwrap()
            .tokens
            .is_empty()
    );
}

#[test]
fn unsupported_architecture_and_missing_tensors_are_typed() {
    use hearth_core::ModelBytes;
    use hearth_core::gguf::{GgufWriter, MetaArray, MetaValue};
    let mut w = GgufWriter::new();
    w.meta_str("general.architecture", "mamba");
    let e = Model::load(ModelBytes::from_vec(w.to_bytes())).unwrap_err();
    assert_eq!(e.code(), "UNSUPPORTED_ARCHITECTURE");
    assert!(e.to_string().contains("llama, qwen2, gemma3"), "{e}");

    // A llama header whose tensors are missing or mis-shaped.
    let llama = |embd_dims: Option<[u64; 2]>| {
        let mut w = GgufWriter::new();
        w.meta_str("general.architecture", "llama")
            .meta_u32("llama.context_length", 64)
            .meta_u32("llama.embedding_length", 32)
            .meta_u32("llama.block_count", 1)
            .meta_u32("llama.feed_forward_length", 64)
            .meta_u32("llama.attention.head_count", 2)
            .meta(
                "tokenizer.ggml.tokens",
                MetaValue::Array(MetaArray::String(vec!["a".into(), "b".into()])),
            );
        if let Some(d) = embd_dims {
            w.tensor_f32("token_embd.weight", &d, &vec![0.0; (d[0] * d[1]) as usize]);
        }
        Model::load(ModelBytes::from_vec(w.to_bytes())).unwrap_err()
    };
    let e = llama(None);
    assert_eq!(e.code(), "MISSING_TENSOR");
    assert!(e.to_string().contains("token_embd.weight"), "{e}");
    let e = llama(Some([16, 2]));
    assert_eq!(e.code(), "WRONG_TENSOR_SHAPE");
    assert!(
        e.to_string().contains("[16, 2]") && e.to_string().contains("[32, 2]"),
        "{e}"
    );

    // A real header with its weights' data cut off is a GGUF error, not a panic.
    let bytes = std::fs::read(model(SMOLLM2)).unwrap();
    let e = Model::load(ModelBytes::from_vec(bytes[..bytes.len() / 3].to_vec())).unwrap_err();
    assert_eq!(e.code(), "GGUF_TENSOR_OUT_OF_BOUNDS");
}

/// Drives a future that never waits (the CPU path of the async API) to its end.
fn run_ready<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(out) => out,
        std::task::Poll::Pending => panic!("the CPU path of the async API waited"),
    }
}

#[test]
fn the_async_generation_gives_the_sync_iterators_events() {
    use hearth_core::Generation;
    let m = smollm2();
    let prompt = m.tokenize("The capital of France is", true, false).unwrap();
    let opts = GenerateOptions {
        stop: vec![" United".into()],
        ..greedy(24)
    };
    let mut s = Session::new(m.clone(), 512).unwrap();
    let mut sync = s.generate(&prompt, opts.clone()).unwrap();
    let events: Vec<_> = sync.by_ref().map(|e| e.unwrap()).collect();
    let expected = sync.result();

    let s2 = Session::new(m.clone(), 512).unwrap();
    let mut generation = run_ready(Generation::start_async(s2, &prompt, opts)).unwrap();
    let mut async_events = Vec::new();
    while let Some(ev) = run_ready(generation.next_async()) {
        async_events.push(ev.unwrap());
    }
    let r = generation.result();
    assert_eq!(async_events, events);
    assert_eq!(
        (r.tokens, r.text, r.finish_reason),
        (expected.tokens, expected.text, expected.finish_reason)
    );
    assert_eq!(
        r.finish_reason,
        FinishReason::Stop,
        "the stop string ends both"
    );
}
