//! `hearth embed --model DIR|FILE.gguf [--json] [--quantize] [--batch-size N] [--threads N]
//! TEXT…` → sentence embeddings on stdout: a JSON array of vectors, one per text (with
//! `--json`, an object `{"vectors":[…],"truncated":[…],"dims":N}`). A timing line goes to
//! stderr.

use std::path::PathBuf;
use std::time::Instant;

use hearth_core::{EmbedLoadOptions, EmbedOptions, EmbeddingModel};

use crate::CliResult;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Hugging Face model directory (config.json, tokenizer.json, model.safetensors and the
    /// sentence-transformers files), e.g. all-MiniLM-L6-v2, or a `bert` GGUF file.
    #[arg(long)]
    model: PathBuf,
    /// Print an object with the vectors, per-text truncation flags and dims.
    #[arg(long)]
    json: bool,
    /// Quantize the encoder matrices to Q8_0 at load.
    #[arg(long)]
    quantize: bool,
    /// Texts per encoder batch.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Do not L2-normalise (by default the model's Normalize module decides).
    #[arg(long)]
    no_normalize: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// The texts to embed.
    #[arg(required = true)]
    texts: Vec<String>,
}

pub fn run(args: Args) -> CliResult {
    crate::run::init_threads(args.threads)?;
    let t0 = Instant::now();
    let model = EmbeddingModel::load_path_with(
        &args.model,
        EmbedLoadOptions {
            quantize: args.quantize,
        },
    )
    .map_err(|e| format!("{}: {e} [{}]", args.model.display(), e.code()))?;
    let load_ms = t0.elapsed().as_secs_f64() * 1e3;
    let texts: Vec<&str> = args.texts.iter().map(String::as_str).collect();
    let t1 = Instant::now();
    let e = model
        .embed(
            &texts,
            EmbedOptions {
                normalize: args.no_normalize.then_some(false),
                batch_size: args.batch_size,
            },
        )
        .map_err(|e| format!("{e} [{}]", e.code()))?;
    let secs = t1.elapsed().as_secs_f64();
    for (i, t) in e.truncated.iter().enumerate() {
        if *t {
            eprintln!(
                "[hearth] text {i} was truncated to {} tokens",
                model.info().max_tokens
            );
        }
    }
    let out = if args.json {
        serde_json::json!({ "vectors": e.vectors, "truncated": e.truncated, "dims": e.dims })
    } else {
        serde_json::json!(e.vectors)
    };
    println!("{out}");
    let info = model.info();
    eprintln!(
        "[hearth] {} texts · {} dims · {} · load {:.1} ms · embed {:.1} ms ({:.1} texts/s)",
        texts.len(),
        e.dims,
        info.matrix_type,
        load_ms,
        secs * 1e3,
        texts.len() as f64 / secs
    );
    Ok(())
}
