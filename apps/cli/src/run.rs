//! `hearth run`: complete a raw prompt, streaming the text to stdout.

use std::io::Write;
use std::path::PathBuf;

use hearth_core::{GenerateOptions, KvType, Model, SamplingOptions};

use crate::CliResult;
use crate::backend::{Backend, BackendReport, GpuChoice, open_session};

/// Sampling and stopping flags shared by `run` and `chat`.
#[derive(clap::Args, Debug, Clone)]
#[command(allow_negative_numbers = true)]
pub struct GenArgs {
    /// Maximum number of tokens to generate.
    #[arg(long, default_value_t = 256)]
    pub max_tokens: usize,
    /// Sampling temperature; 0 is greedy.
    #[arg(long, default_value_t = 0.8)]
    pub temperature: f32,
    /// Keep only the K most likely tokens (0: off).
    #[arg(long, default_value_t = 40)]
    pub top_k: usize,
    /// Nucleus sampling threshold (1: off).
    #[arg(long, default_value_t = 0.95)]
    pub top_p: f32,
    /// Drop tokens below this fraction of the best token's probability (0: off).
    #[arg(long, default_value_t = 0.05)]
    pub min_p: f32,
    /// Penalty for repeating recent tokens (1: off).
    #[arg(long, default_value_t = 1.0)]
    pub repeat_penalty: f32,
    /// Random seed (default: a new one each run).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Stop when the text contains this string (repeatable).
    #[arg(long)]
    pub stop: Vec<String>,
    /// Keep generating past end-of-generation tokens.
    #[arg(long)]
    pub ignore_eos: bool,
    /// Context length in tokens (0: the model's training context).
    #[arg(long, default_value_t = 4096)]
    pub ctx_size: usize,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// KV cache element type: f16 (llama.cpp's default) or f32.
    #[arg(long, default_value = "f16")]
    pub kv_type: KvType,
    /// Where the model runs: auto (a hardware GPU if there is one, else the CPU), cpu or gpu.
    /// The GPU uses shader-f16 and subgroups where offered; HEARTH_GPU_FEATURES=none (or a
    /// comma list of those to keep) turns them off.
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    pub backend: Backend,
    /// GPU memory the model, its KV cache and scratch may take, in MiB: a model needing more
    /// runs its first blocks on the GPU, as many as fit, and the rest on the CPU; when not
    /// even one fits, `auto` runs on the CPU and `gpu` fails with GPU_DOES_NOT_FIT (default:
    /// no budget, only the device's limits).
    #[arg(long, value_name = "MIB")]
    pub gpu_memory: Option<u64>,
    /// How many of the model's blocks run on the GPU, its first ones (the CPU runs the rest
    /// and the LM head; 0: the CPU only). Default: all, or as many as --gpu-memory holds.
    #[arg(long, value_name = "N")]
    pub gpu_layers: Option<usize>,
    /// Let `auto` use a software GPU adapter (lavapipe, llvmpipe), usually slower than the CPU.
    #[arg(long)]
    pub allow_software_gpu: bool,
}

impl GenArgs {
    pub fn options(&self, render_special: bool) -> GenerateOptions {
        let seed = self.seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
        });
        GenerateOptions {
            sampling: SamplingOptions {
                temperature: self.temperature,
                top_k: self.top_k,
                top_p: self.top_p,
                min_p: self.min_p,
                repeat_penalty: self.repeat_penalty,
                seed,
                ..SamplingOptions::default()
            },
            max_tokens: self.max_tokens,
            stop: self.stop.clone(),
            ignore_eos: self.ignore_eos,
            render_special,
        }
    }

    /// The GPU flags.
    pub fn gpu_choice(&self) -> GpuChoice {
        GpuChoice {
            allow_software: self.allow_software_gpu,
            max_memory_bytes: self.gpu_memory.map(|m| m.saturating_mul(1 << 20)),
            gpu_layers: self.gpu_layers,
        }
    }

    /// Sets the rayon pool size once, before any model work.
    pub fn init_threads(&self) -> CliResult {
        init_threads(self.threads)
    }
}

/// Sets the rayon pool to `threads` workers (`None`: one per core), once, before any model
/// work (`run`, `chat` and `embed` share `--threads`).
pub fn init_threads(threads: Option<usize>) -> CliResult {
    if let Some(n) = threads {
        if n == 0 {
            return Err("--threads must be at least 1".into());
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()?;
    }
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Path to a GGUF model file.
    #[arg(long)]
    model: PathBuf,
    /// The raw prompt (no chat template is applied).
    #[arg(long)]
    prompt: String,
    /// Parse special-token text in the prompt and render special tokens in the output.
    #[arg(long)]
    special: bool,
    /// Print one JSON object with tokens, text, top logits and timings.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    gen_args: GenArgs,
}

pub fn run(args: Args) -> CliResult {
    let json = args.json;
    let out = generate(args);
    if let Err(e) = &out
        && json
    {
        // `--json` callers read the failure's code from stdout too.
        println!("{}", crate::error_json(e.as_ref()));
    }
    out
}

/// The `--json` object of a generation (`run`, `chat --messages`): the result, timings with
/// memory and threads, and where it ran.
pub fn result_json(
    result: &hearth_core::engine::GenerationResult,
    report: &BackendReport,
    model: &Model,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let mut v = serde_json::to_value(result)?;
    v["timings"]["peak_rss_bytes"] = hearth_core::timer::peak_rss_bytes().into();
    v["timings"]["threads"] = rayon::current_num_threads().into();
    v["backend"] = report.backend.into();
    v["adapter"] = serde_json::to_value(&report.adapter)?;
    v["backend_reason"] = serde_json::to_value(&report.reason)?;
    v["gpu_layers"] = report.gpu_layers.into();
    v["model_layers"] = model.config().n_layer.into();
    Ok(v)
}

fn generate(args: Args) -> CliResult {
    args.gen_args.init_threads()?;
    let model = Model::load_file(&args.model)?;
    let prompt = model.tokenize(&args.prompt, true, args.special)?;
    let g = &args.gen_args;
    let (mut session, report) =
        open_session(&model, g.backend, g.gpu_choice(), g.ctx_size, g.kv_type)?;
    let mut generation = session.generate(&prompt, args.gen_args.options(args.special))?;
    let mut out = std::io::stdout().lock();
    for ev in generation.by_ref() {
        let ev = ev?;
        if !args.json {
            out.write_all(ev.text.as_bytes())?;
            out.flush()?;
        }
    }
    let result = generation.result();
    if args.json {
        writeln!(out, "{}", result_json(&result, &report, &model)?)?;
    } else if std::io::IsTerminal::is_terminal(&out) {
        // stdout carries the text alone; a newline only for a person's terminal.
        writeln!(out)?;
    }
    crate::print_timings(&result.timings);
    Ok(())
}
