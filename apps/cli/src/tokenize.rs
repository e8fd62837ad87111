//! `hearth tokenize --model PATH [--special] [--no-bos] TEXT` → a JSON array of token ids.

use std::path::PathBuf;

use hearth_core::tokenizer::Tokenizer;
use hearth_core::{ModelBytes, gguf::Gguf};

use crate::CliResult;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Path to a GGUF model file.
    #[arg(long)]
    model: PathBuf,
    /// Parse special-token text (e.g. `<|im_start|>`) into special tokens.
    #[arg(long)]
    special: bool,
    /// Do not add BOS/EOS even where the model asks for them.
    #[arg(long)]
    no_bos: bool,
    /// The text to tokenize.
    text: String,
}

pub fn run(args: Args) -> CliResult {
    // Only the tokenizer is needed: skip mapping the weights.
    let bytes = ModelBytes::map_file(&args.model)
        .map_err(|e| format!("cannot open {}: {e}", args.model.display()))?;
    let gguf = Gguf::parse(&bytes).map_err(|e| format!("{}: {e}", args.model.display()))?;
    let tok = Tokenizer::from_gguf(&gguf)?;
    let ids = tok.encode(&args.text, !args.no_bos, args.special)?;
    println!("{}", serde_json::to_string(&ids)?);
    Ok(())
}
