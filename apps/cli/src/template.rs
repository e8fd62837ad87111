//! `hearth template --model PATH --messages FILE.json [--add-generation-prompt]`.

use std::path::PathBuf;

use hearth_core::chat_template::ChatTemplate;
use hearth_core::tokenizer::Tokenizer;
use hearth_core::{ModelBytes, gguf::Gguf};

use crate::CliResult;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Path to a GGUF model file.
    #[arg(long)]
    model: PathBuf,
    /// A JSON file with the conversation.
    #[arg(long)]
    messages: PathBuf,
    /// End with the assistant's turn header so the model answers next.
    #[arg(long)]
    add_generation_prompt: bool,
}

pub fn run(args: Args) -> CliResult {
    let bytes = ModelBytes::map_file(&args.model)
        .map_err(|e| format!("cannot open {}: {e}", args.model.display()))?;
    let gguf = Gguf::parse(&bytes).map_err(|e| format!("{}: {e}", args.model.display()))?;
    let tok = Tokenizer::from_gguf(&gguf)?;
    let template = ChatTemplate::from_gguf(&gguf, &tok)?;
    let messages = crate::chat::read_messages(&args.messages)?;
    print!(
        "{}",
        template.render(&messages, args.add_generation_prompt, None)?
    );
    Ok(())
}
