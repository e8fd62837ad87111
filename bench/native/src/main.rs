//! `hearth-bench`: the native half of `npm run bench`.
//!
//! `measure` loads one model with one engine (hearth-core or llama.cpp) at one
//! thread count and prints one JSON object of raw samples on stdout. The
//! orchestrator (`bench/run.mjs`) starts one process per engine × model ×
//! threads, so the peak resident memory it reports (`VmHWM`) belongs to that
//! engine and model alone. Both engines run exactly the same protocol through
//! the [`Engine`] trait below; so do their GPU variants (`hearth-gpu`, `llama.cpp-gpu`,
//! in [`gpu`]). `quantize` makes the requantized models with llama.cpp's
//! `llama_model_quantize`; `adapter` prints the GPU adapter Hearth would use.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};
use hearth_llama_cpp as llama;
use serde::Serialize;

mod gpu;

#[derive(Parser, Debug)]
#[command(
    name = "hearth-bench",
    about = "Measure Hearth and llama.cpp natively, one engine and model per process."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Measure one engine on one model; prints one JSON object of samples.
    Measure(MeasureArgs),
    /// Requantize a GGUF model with llama.cpp's `llama_model_quantize`.
    Quantize(QuantizeArgs),
    /// Print the benchmark's prompts for each length, as JSON `{ "64": { "ids": [...], "text": "..." } }`,
    /// so the browser suites feed both engines the same prompts.
    Tokens(TokensArgs),
    /// Print the GPU adapter Hearth's wgpu backend would use, as JSON (name, backend,
    /// device_type, software); fails when there is none.
    Adapter(AdapterArgs),
}

#[derive(clap::Args, Debug)]
struct AdapterArgs {
    /// Also accept a software adapter (lavapipe, llvmpipe).
    #[arg(long)]
    allow_software_gpu: bool,
}

#[derive(clap::Args, Debug)]
struct TokensArgs {
    #[arg(long)]
    model: PathBuf,
    #[arg(long, value_delimiter = ',', default_value = "16,64,512")]
    prompt: Vec<usize>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum EngineName {
    Hearth,
    #[value(name = "llama.cpp")]
    LlamaCpp,
    /// Hearth on its wgpu backend.
    #[value(name = "hearth-gpu")]
    HearthGpu,
    /// llama.cpp with every layer on its Vulkan backend (feature `llama-vulkan`).
    #[value(name = "llama.cpp-gpu")]
    LlamaCppGpu,
}

#[derive(clap::Args, Debug)]
struct MeasureArgs {
    #[arg(long, value_enum)]
    engine: EngineName,
    /// GGUF model file.
    #[arg(long)]
    model: PathBuf,
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Timed repetitions (each reloads the model).
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Prompt lengths whose prefill speed is measured; the first one also gives TTFT
    /// and is the context the decode run continues from.
    #[arg(long, value_delimiter = ',', default_value = "64,512")]
    prompt: Vec<usize>,
    /// Tokens decoded one at a time after the first prompt.
    #[arg(long, default_value_t = 128)]
    decode: usize,
    /// GPU engines: also run on a software adapter (lavapipe, llvmpipe), which is refused
    /// otherwise (it measures the CPU emulating a GPU, not a GPU).
    #[arg(long)]
    allow_software_gpu: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum QuantType {
    #[value(name = "q8_0")]
    Q8_0,
    #[value(name = "q4_0")]
    Q4_0,
}

#[derive(clap::Args, Debug)]
struct QuantizeArgs {
    #[arg(long)]
    input: PathBuf,
    #[arg(long)]
    output: PathBuf,
    #[arg(long = "type", value_enum)]
    ty: QuantType,
    #[arg(long, default_value_t = 2)]
    threads: i32,
}

/// What the protocol needs from an engine: token ids as u32, logits of the last token.
trait Engine {
    fn tokenize(&self, text: &str) -> Result<Vec<u32>, String>;
    /// Empties the KV cache.
    fn reset(&mut self);
    /// Evaluates a prompt after the cached tokens in the engine's own batching.
    fn prefill(&mut self, tokens: &[u32]) -> Result<Vec<f32>, String>;
    /// Evaluates one token.
    fn decode(&mut self, token: u32) -> Result<Vec<f32>, String>;
}

/// KV room for the longest prompt plus the decode run.
const N_CTX: usize = 1024;

struct Hearth {
    session: hearth_core::Session,
}

impl Engine for Hearth {
    fn tokenize(&self, text: &str) -> Result<Vec<u32>, String> {
        self.session
            .model()
            .tokenize(text, true, false)
            .map_err(|e| e.to_string())
    }
    fn reset(&mut self) {
        self.session.reset();
    }
    fn prefill(&mut self, tokens: &[u32]) -> Result<Vec<f32>, String> {
        // Session::prefill batches the prompt as generation does.
        self.session
            .prefill(tokens)
            .map(|(l, _)| l)
            .map_err(|e| e.to_string())
    }
    fn decode(&mut self, token: u32) -> Result<Vec<f32>, String> {
        self.session.eval(&[token]).map_err(|e| e.to_string())
    }
}

struct LlamaCpp<'m> {
    ctx: llama::Context<'m>,
}

impl Engine for LlamaCpp<'_> {
    fn tokenize(&self, text: &str) -> Result<Vec<u32>, String> {
        let t = self
            .ctx
            .model()
            .tokenize(text, true, false)
            .map_err(|e| e.to_string())?;
        Ok(t.into_iter().map(|t| t as u32).collect())
    }
    fn reset(&mut self) {
        self.ctx.clear();
    }
    fn prefill(&mut self, tokens: &[u32]) -> Result<Vec<f32>, String> {
        let t: Vec<i32> = tokens.iter().map(|&t| t as i32).collect();
        self.ctx.eval(&t).map_err(|e| e.to_string())
    }
    fn decode(&mut self, token: u32) -> Result<Vec<f32>, String> {
        self.ctx.eval(&[token as i32]).map_err(|e| e.to_string())
    }
}

/// Raw samples of one engine × model × thread count (one entry per repetition).
#[derive(Serialize, Debug, Default)]
struct Measurement {
    engine: String,
    model: String,
    threads: usize,
    reps: usize,
    /// Model load plus context (KV cache) creation.
    load_ms: Vec<f64>,
    /// First prompt evaluated and its first token picked (greedy), from an empty cache.
    ttft_ms: Vec<f64>,
    /// Prefill speed per prompt length, `pp<N>_tok_s`.
    prefill_tok_s: std::collections::BTreeMap<String, Vec<f64>>,
    /// One-token decode steps after the first prompt.
    decode_tok_s: Vec<f64>,
    decode_tokens: usize,
    /// The greedy tokens of the decode run (both engines should agree).
    tokens: Vec<u32>,
    /// Peak resident memory of this process (`VmHWM`; GPU memory is not in it).
    peak_rss_bytes: u64,
    /// The GPU adapter of a GPU engine.
    #[serde(skip_serializing_if = "Option::is_none")]
    adapter: Option<hearth_core::gpu::AdapterSummary>,
}

/// A few paragraphs of plain prose, repeated to make prompts of any length.
const TEXT: &str = "The old lighthouse keeper climbed the spiral stairs every evening, counting \
the one hundred and twelve steps as his father had taught him. From the lamp room he could see \
the whole bay: the fishing boats returning with their nets, the gulls circling above the harbour, \
and the long line of cliffs that turned gold in the last light of the day. He trimmed the wick, \
polished the great lens until it shone, and wrote the weather in his log in a careful hand. \
Storms came often in the autumn, and on those nights he did not sleep at all. ";

fn prompt_tokens(e: &dyn Engine, n: usize) -> Result<Vec<u32>, String> {
    let mut text = String::from(TEXT);
    loop {
        let toks = e.tokenize(&text)?;
        if toks.len() >= n {
            return Ok(toks[..n].to_vec());
        }
        text.push_str(TEXT);
    }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// One repetition of the protocol on a freshly loaded engine.
fn run_rep(e: &mut dyn Engine, args: &MeasureArgs, m: &mut Measurement) -> Result<(), String> {
    // Warm-up (untimed): touches the weights once so prefill numbers are not page faults.
    let warm = prompt_tokens(e, 16)?;
    let l = e.prefill(&warm)?;
    e.decode(llama::argmax(&l) as u32)?;
    e.reset();

    let first = args.prompt[0];
    let p = prompt_tokens(e, first)?;
    let t = Instant::now();
    let logits = e.prefill(&p)?;
    let mut tok = llama::argmax(&logits) as u32;
    let ttft = ms(t);
    m.ttft_ms.push(ttft);
    m.prefill_tok_s
        .entry(format!("pp{first}_tok_s"))
        .or_default()
        .push(first as f64 / (ttft / 1e3));

    let mut toks = vec![tok];
    let t = Instant::now();
    for _ in 0..args.decode {
        let l = e.decode(tok)?;
        tok = llama::argmax(&l) as u32;
        toks.push(tok);
    }
    m.decode_tok_s
        .push(args.decode as f64 / t.elapsed().as_secs_f64());
    m.tokens = toks;

    for &n in &args.prompt[1..] {
        e.reset();
        let p = prompt_tokens(e, n)?;
        let t = Instant::now();
        e.prefill(&p)?;
        m.prefill_tok_s
            .entry(format!("pp{n}_tok_s"))
            .or_default()
            .push(n as f64 / t.elapsed().as_secs_f64());
    }
    Ok(())
}

fn measure(args: &MeasureArgs) -> Result<Measurement, String> {
    if args.threads == 0 || args.reps == 0 || args.prompt.is_empty() {
        return Err("--threads, --reps and --prompt must be positive".into());
    }
    if args
        .prompt
        .iter()
        .any(|&n| n == 0 || n + args.decode + 1 > N_CTX)
    {
        return Err(format!("prompt + decode must fit in {N_CTX} tokens"));
    }
    let mut m = Measurement {
        engine: match args.engine {
            EngineName::Hearth => "hearth".into(),
            EngineName::LlamaCpp => "llama.cpp".into(),
            EngineName::HearthGpu => "hearth-gpu".into(),
            EngineName::LlamaCppGpu => "llama.cpp-gpu".into(),
        },
        model: args.model.display().to_string(),
        threads: args.threads,
        reps: args.reps,
        decode_tokens: args.decode,
        ..Measurement::default()
    };
    match args.engine {
        EngineName::Hearth => {
            use_threads(args.threads)?;
            for _ in 0..args.reps {
                let t = Instant::now();
                let model =
                    hearth_core::Model::load_file(&args.model).map_err(|e| e.to_string())?;
                let session = hearth_core::Session::new(model, N_CTX).map_err(|e| e.to_string())?;
                m.load_ms.push(ms(t));
                run_rep(&mut Hearth { session }, args, &mut m)?;
            }
        }
        EngineName::LlamaCpp => {
            llama::init();
            for _ in 0..args.reps {
                let t = Instant::now();
                let model = llama::Model::load(&args.model).map_err(|e| e.to_string())?;
                let ctx = llama::Context::new(
                    &model,
                    llama::ContextOptions {
                        n_ctx: N_CTX as u32,
                        n_threads: args.threads as i32,
                        n_batch: 512,
                        flash_attn: None,
                    },
                )
                .map_err(|e| e.to_string())?;
                m.load_ms.push(ms(t));
                run_rep(&mut LlamaCpp { ctx }, args, &mut m)?;
            }
        }
        EngineName::HearthGpu => {
            use_threads(args.threads)?;
            gpu::measure_hearth_gpu(args, &mut m)?;
        }
        EngineName::LlamaCppGpu => gpu::measure_llama_gpu(args, &mut m)?,
    }
    m.peak_rss_bytes = hearth_core::timer::peak_rss_bytes();
    Ok(m)
}

/// Sizes rayon's global pool (the one `hearth run --threads` sets) for Hearth's CPU work.
fn use_threads(threads: usize) -> Result<(), String> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global();
    // A pool set up earlier in this process is fine if it has the size asked for.
    if pool.is_err() && rayon::current_num_threads() != threads {
        return Err(format!(
            "the thread pool already has {} threads",
            rayon::current_num_threads()
        ));
    }
    Ok(())
}

fn tokens(a: &TokensArgs) -> Result<(), String> {
    let model = hearth_core::Model::load_file(&a.model).map_err(|e| e.to_string())?;
    let e = Hearth {
        session: hearth_core::Session::new(model, N_CTX).map_err(|e| e.to_string())?,
    };
    let mut out = serde_json::Map::new();
    for &n in &a.prompt {
        let ids = prompt_tokens(&e, n)?;
        // The text too, for engines that take no token ids (wllama's completion API).
        let text = e
            .session
            .model()
            .detokenize(&ids, true)
            .map_err(|e| e.to_string())?;
        out.insert(
            n.to_string(),
            serde_json::json!({ "ids": ids, "text": text }),
        );
    }
    println!("{}", serde_json::Value::Object(out));
    Ok(())
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Measure(args) => measure(&args).and_then(|m| {
            println!("{}", serde_json::to_string(&m).map_err(|e| e.to_string())?);
            Ok(())
        }),
        Command::Tokens(a) => tokens(&a),
        Command::Adapter(a) => gpu::probe(a.allow_software_gpu).and_then(|a| {
            println!("{}", serde_json::to_string(&a).map_err(|e| e.to_string())?);
            Ok(())
        }),
        Command::Quantize(q) => {
            let ftype = match q.ty {
                QuantType::Q8_0 => llama::sys::LLAMA_FTYPE_MOSTLY_Q8_0,
                QuantType::Q4_0 => llama::sys::LLAMA_FTYPE_MOSTLY_Q4_0,
            };
            llama::quantize_model(&q.input, &q.output, ftype, q.threads).map_err(|e| e.to_string())
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smollm2() -> PathBuf {
        let dir = std::env::var_os("HEARTH_MODELS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/hearth/models")
            });
        dir.join("SmolLM2-135M-Instruct.Q4_1.gguf")
    }

    fn args(engine: EngineName) -> MeasureArgs {
        MeasureArgs {
            engine,
            model: smollm2(),
            threads: 1,
            reps: 2,
            prompt: vec![16, 32],
            decode: 4,
            allow_software_gpu: false,
        }
    }

    /// Both engines run the whole protocol on the real model, every sample is a
    /// positive number, and they start decoding the same greedy tokens (the same work).
    #[test]
    fn both_engines_measure_the_same_work() {
        let h = measure(&args(EngineName::Hearth)).unwrap();
        let l = measure(&args(EngineName::LlamaCpp)).unwrap();
        for m in [&h, &l] {
            assert_eq!(m.load_ms.len(), 2);
            assert_eq!(m.ttft_ms.len(), 2);
            assert_eq!(m.decode_tok_s.len(), 2);
            assert_eq!(
                m.prefill_tok_s.keys().collect::<Vec<_>>(),
                ["pp16_tok_s", "pp32_tok_s"]
            );
            let all = m
                .load_ms
                .iter()
                .chain(&m.ttft_ms)
                .chain(&m.decode_tok_s)
                .chain(m.prefill_tok_s.values().flatten());
            for &x in all {
                assert!(x.is_finite() && x > 0.0, "{m:?}");
            }
            assert!(m.peak_rss_bytes > 50 << 20, "{m:?}");
            assert_eq!(m.tokens.len(), 5);
        }
        // Greedy paths may part later at near-ties (core's llama.cpp reference tests
        // check those); the first steps of this prompt are clear-cut.
        assert_eq!(h.tokens[..3], l.tokens[..3]);
    }

    /// Hearth's GPU backend runs the same protocol (on lavapipe here and in CI: tiny counts,
    /// a software GPU is slow), records its adapter and starts with the CPU's greedy tokens.
    #[test]
    fn the_gpu_engine_measures_the_same_work_and_records_its_adapter() {
        if let Err(e) = gpu::probe(true) {
            assert!(
                std::env::var_os("CI").is_none(),
                "no GPU adapter in CI: {e}"
            );
            eprintln!("skipped: no GPU adapter ({e})");
            return;
        }
        let mut a = args(EngineName::HearthGpu);
        a.allow_software_gpu = true;
        a.reps = 1;
        a.prompt = vec![8, 16];
        a.decode = 2;
        let g = measure(&a).unwrap();
        let adapter = g.adapter.as_ref().expect("the adapter is recorded");
        assert!(!adapter.name.is_empty());
        assert_eq!(g.engine, "hearth-gpu");
        assert_eq!(
            g.prefill_tok_s.keys().collect::<Vec<_>>(),
            ["pp16_tok_s", "pp8_tok_s"]
        );
        for &x in g.load_ms.iter().chain(&g.decode_tok_s).chain(&g.ttft_ms) {
            assert!(x.is_finite() && x > 0.0, "{g:?}");
        }
        a.engine = EngineName::Hearth;
        let c = measure(&a).unwrap();
        assert!(c.adapter.is_none());
        assert_eq!(g.tokens[..2], c.tokens[..2]);
        // A software adapter is refused unless asked for.
        if adapter.software {
            a.engine = EngineName::HearthGpu;
            a.allow_software_gpu = false;
            assert!(measure(&a).is_err());
        }
    }

    #[test]
    fn prompts_have_the_asked_length_and_bad_arguments_are_errors() {
        let mut a = args(EngineName::Hearth);
        a.prompt = vec![2000];
        assert!(measure(&a).unwrap_err().contains("must fit"));
        a.prompt = vec![16];
        a.reps = 0;
        assert!(measure(&a).is_err());
        let model = hearth_core::Model::load_file(smollm2()).unwrap();
        let e = Hearth {
            session: hearth_core::Session::new(model, N_CTX).unwrap(),
        };
        for n in [1, 64, 512] {
            assert_eq!(prompt_tokens(&e, n).unwrap().len(), n);
        }
    }
}
