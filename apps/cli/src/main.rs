//! `hearth`: inspect, tokenize and run local models with hearth-core.
//!
//! The command-line contract (flags, stdout shapes) is relied on by tests and
//! outside checks; keep it stable. Generated text and JSON go to stdout;
//! progress and timings go to stderr.

mod backend;
mod chat;
mod convert_embedding;
mod embed;
mod info;
mod run;
mod template;
mod tokenize;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "hearth",
    version,
    about = "Run language and embedding models locally."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show what a model file holds: architecture, sizes, tensor types, tokenizer, license.
    Info(info::Args),
    /// Print the token ids of a text as a JSON array.
    Tokenize(tokenize::Args),
    /// Complete a raw prompt; the text streams to stdout.
    Run(run::Args),
    /// Chat in the terminal with the model's chat template (or answer --messages once).
    Chat(chat::Args),
    /// Print the chat prompt the model's template renders for a conversation.
    Template(template::Args),
    /// Embed texts with a sentence-embedding model directory; prints JSON vectors.
    Embed(embed::Args),
    /// Convert a Hugging Face BERT embedding directory into a `bert` GGUF file (llama.cpp layout).
    ConvertEmbedding(convert_embedding::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info(args) => info::run(args),
        Command::Tokenize(args) => tokenize::run(args),
        Command::Run(args) => run::run(args),
        Command::Chat(args) => chat::run(args),
        Command::Template(args) => template::run(args),
        Command::Embed(args) => embed::run(args),
        Command::ConvertEmbedding(args) => convert_embedding::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match error_code(e.as_ref()) {
                Some(code) => eprintln!("error: {e} [{code}]"),
                None => eprintln!("error: {e}"),
            }
            ExitCode::FAILURE
        }
    }
}

/// The stable code of a typed core or GPU error.
fn error_code(e: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    if let Some(e) = e.downcast_ref::<hearth_core::Error>() {
        return Some(e.code());
    }
    e.downcast_ref::<hearth_core::gpu::GpuError>()
        .map(|e| e.code())
}

/// `{"error": {"code", "message"}}` for `--json` output (with `needed_bytes` and
/// `allowed_bytes` when the model is over the GPU memory budget).
pub fn error_json(e: &(dyn std::error::Error + 'static)) -> serde_json::Value {
    let mut v = serde_json::json!({
        "error": { "code": error_code(e).unwrap_or("HEARTH_ERROR"), "message": e.to_string() }
    });
    let gpu = e
        .downcast_ref::<hearth_core::Error>()
        .and_then(|e| match e {
            hearth_core::Error::Gpu(g) => Some(g),
            _ => None,
        })
        .or_else(|| e.downcast_ref::<hearth_core::gpu::GpuError>());
    if let Some(hearth_core::gpu::GpuError::OverBudget {
        needed, allowed, ..
    }) = gpu
    {
        v["error"]["needed_bytes"] = (*needed).into();
        v["error"]["allowed_bytes"] = (*allowed).into();
    }
    v
}

/// A CLI error: a message for stderr (the typed core errors render themselves).
pub type CliResult = Result<(), Box<dyn std::error::Error>>;

/// One line of timings on stderr.
pub fn print_timings(t: &hearth_core::engine::Timings) {
    eprintln!(
        "\n[hearth] prompt {} tok ({} reused) {:.1} ms ({:.1} tok/s) · ttft {:.1} ms · {} tok at {:.1} tok/s · load {:.1} ms · peak rss {:.1} MiB",
        t.prompt_tokens,
        t.reused_tokens,
        t.prompt_ms,
        t.prefill_tok_s,
        t.ttft_ms,
        t.generated_tokens,
        t.decode_tok_s,
        t.load_ms,
        hearth_core::timer::peak_rss_bytes() as f64 / (1 << 20) as f64
    );
}
