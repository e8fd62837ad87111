//! The CLI contract of `tokenize`, `run`, `chat` and `template` on the real models.

mod common;

use common::{GEMMA3, SMOLLM2, hearth, hearth_ok, model};
use serde_json::Value;

fn m(file: &str) -> String {
    model(file).to_str().unwrap().to_string()
}

#[test]
fn tokenize_follows_add_bos_and_special_flags() {
    let s = m(SMOLLM2);
    assert_eq!(
        hearth_ok(&["tokenize", "--model", &s, "The capital of France is"]).trim(),
        "[504,3575,282,4649,314]"
    );
    // `<|im_start|>` is one special token only with --special.
    let plain: Vec<u32> =
        serde_json::from_str(&hearth_ok(&["tokenize", "--model", &s, "<|im_start|>user"])).unwrap();
    let special: Vec<u32> = serde_json::from_str(&hearth_ok(&[
        "tokenize",
        "--model",
        &s,
        "--special",
        "<|im_start|>user",
    ]))
    .unwrap();
    assert_eq!(special[0], 1);
    assert!(plain.len() > special.len());
    // Gemma adds BOS (2) unless --no-bos.
    let g = m(GEMMA3);
    let with: Vec<u32> =
        serde_json::from_str(&hearth_ok(&["tokenize", "--model", &g, "Hello"])).unwrap();
    let without: Vec<u32> = serde_json::from_str(&hearth_ok(&[
        "tokenize", "--model", &g, "--no-bos", "Hello",
    ]))
    .unwrap();
    assert_eq!(with[0], 2);
    assert_eq!(&with[1..], &without[..]);
}

#[test]
fn run_greedy_reference_sentence() {
    let s = m(SMOLLM2);
    let out = hearth_ok(&[
        "run",
        "--model",
        &s,
        "--prompt",
        "The capital of France is",
        "--max-tokens",
        "30",
        "--temperature",
        "0",
    ]);
    assert!(
        out.starts_with(" Paris.\n\nThe United States has a population of approximately"),
        "{out:?}"
    );
}

#[test]
fn run_json_has_tokens_logits_and_timings() {
    let s = m(SMOLLM2);
    let out = hearth_ok(&[
        "run",
        "--model",
        &s,
        "--prompt",
        "The capital of France is",
        "--max-tokens",
        "8",
        "--temperature",
        "0",
        "--json",
    ]);
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        v["prompt_tokens"],
        serde_json::json!([504, 3575, 282, 4649, 314])
    );
    assert_eq!(v["tokens"].as_array().unwrap().len(), 8);
    assert!(v["text"].as_str().unwrap().starts_with(" Paris."));
    let top = v["top_logits"].as_array().unwrap();
    assert_eq!(top.len(), 10);
    assert_eq!(top[0][0], v["tokens"][0], "greedy picks the top logit");
    assert!(top[0][1].as_f64().unwrap() >= top[9][1].as_f64().unwrap());
    for key in [
        "prompt_tokens",
        "prefill_tok_s",
        "decode_tok_s",
        "ttft_ms",
        "load_ms",
        "peak_rss_bytes",
    ] {
        assert!(
            v["timings"][key].is_number(),
            "timings.{key} missing: {}",
            v["timings"]
        );
    }
    assert_eq!(v["finish_reason"], "length");
}

#[test]
fn run_threads_sets_the_pool_and_keeps_greedy_tokens() {
    let s = m(SMOLLM2);
    let run = |threads: Option<&str>| {
        let mut args = vec![
            "run",
            "--model",
            &s,
            "--prompt",
            "The capital of France is",
            "--max-tokens",
            "12",
            "--temperature",
            "0",
            "--json",
        ];
        if let Some(t) = threads {
            args.extend(["--threads", t]);
        }
        let v: Value = serde_json::from_str(hearth_ok(&args).trim()).unwrap();
        v
    };
    let one = run(Some("1"));
    let two = run(Some("2"));
    let all = run(None);
    assert_eq!(one["timings"]["threads"], 1);
    assert_eq!(two["timings"]["threads"], 2);
    let cores = std::thread::available_parallelism().unwrap().get();
    assert_eq!(all["timings"]["threads"], cores, "default: all cores");
    assert_eq!(
        one["tokens"], two["tokens"],
        "threads change speed, not tokens"
    );
    assert_eq!(one["tokens"], all["tokens"]);
    let t = &one["timings"];
    for key in ["prefill_tok_s", "decode_tok_s", "ttft_ms", "load_ms"] {
        assert!(t[key].as_f64().unwrap() > 0.0, "timings.{key}: {t}");
    }
    assert_eq!(t["prompt_tokens"], 5);
    // The weights are mapped and read: peak RSS is at least the model file.
    let file = std::fs::metadata(&s).unwrap().len();
    assert!(t["peak_rss_bytes"].as_u64().unwrap() >= file, "{t}");
}

#[test]
fn seeded_sampling_repeats_and_stop_strings_cut() {
    let s = m(SMOLLM2);
    let args = [
        "run",
        "--model",
        &s,
        "--prompt",
        "Once upon a time",
        "--max-tokens",
        "16",
        "--temperature",
        "0.9",
        "--seed",
        "7",
    ];
    assert_eq!(hearth_ok(&args), hearth_ok(&args));
    let out = hearth_ok(&[
        "run",
        "--model",
        &s,
        "--prompt",
        "The capital of France is",
        "--temperature",
        "0",
        "--stop",
        "\n",
    ]);
    assert_eq!(out, " Paris.");
}

#[test]
fn template_and_chat_with_messages_file() {
    let dir = std::env::temp_dir().join(format!("hearth-cli-chat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let msgs = dir.join("messages.json");
    std::fs::write(
        &msgs,
        r#"[{"role":"user","content":"What is the capital of France?"}]"#,
    )
    .unwrap();
    let s = m(SMOLLM2);
    let rendered = hearth_ok(&[
        "template",
        "--model",
        &s,
        "--messages",
        msgs.to_str().unwrap(),
        "--add-generation-prompt",
    ]);
    assert!(
        rendered.contains("<|im_start|>user\nWhat is the capital of France?<|im_end|>\n"),
        "{rendered}"
    );
    assert!(rendered.ends_with("<|im_start|>assistant\n"), "{rendered}");
    let out = hearth_ok(&[
        "chat",
        "--model",
        &s,
        "--messages",
        msgs.to_str().unwrap(),
        "--temperature",
        "0",
        "--max-tokens",
        "24",
        "--json",
    ]);
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    // The template's own system prompt comes first; the turn starts with <|im_start|> (1).
    assert_eq!(v["prompt_tokens"][0], 1, "{v}");
    assert_eq!(v["tokens"].as_array().unwrap().len(), 24);
    // The same answer as completing the rendered prompt with special tokens parsed.
    let rendered = hearth_ok(&[
        "template",
        "--model",
        &s,
        "--messages",
        msgs.to_str().unwrap(),
        "--add-generation-prompt",
    ]);
    let raw = hearth_ok(&[
        "run",
        "--model",
        &s,
        "--prompt",
        &rendered,
        "--special",
        "--temperature",
        "0",
        "--max-tokens",
        "24",
        "--json",
    ]);
    let raw: Value = serde_json::from_str(raw.trim()).unwrap();
    assert_eq!(raw["prompt_tokens"], v["prompt_tokens"]);
    assert_eq!(raw["tokens"], v["tokens"]);
    // Gemma has no template in its file: the built-in Gemma turn format is used.
    let g = m(GEMMA3);
    let rendered = hearth_ok(&[
        "template",
        "--model",
        &g,
        "--messages",
        msgs.to_str().unwrap(),
        "--add-generation-prompt",
    ]);
    assert_eq!(
        rendered,
        "<start_of_turn>user\nWhat is the capital of France?<end_of_turn>\n<start_of_turn>model\n"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_options_are_clear_errors() {
    let s = m(SMOLLM2);
    for (flag, value, needle) in [
        ("--temperature", "-1", "temperature"),
        ("--top-p", "1.5", "top_p"),
        ("--max-tokens", "0", "max_tokens"),
        ("--threads", "0", "threads"),
    ] {
        let out = hearth(&["run", "--model", &s, "--prompt", "Hi", flag, value]);
        assert!(!out.status.success(), "{flag} {value} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{flag} {value}: {err}");
    }
    let long = "word ".repeat(400);
    let out = hearth(&["run", "--model", &s, "--prompt", &long, "--ctx-size", "64"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("context holds 64"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = hearth(&[
        "chat",
        "--model",
        &s,
        "--messages",
        "/nonexistent/messages.json",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
}
