//! `hearth chat`: an interactive chat in the terminal with the model's template,
//! or one non-interactive answer for `--messages FILE.json`.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use hearth_core::Model;
use hearth_core::chat_template::ChatMessage;

use crate::CliResult;
use crate::run::GenArgs;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Path to a GGUF model file.
    #[arg(long)]
    model: PathBuf,
    /// A JSON file with the conversation (`[{"role": "user", "content": "…"}]`): answer once and exit.
    #[arg(long)]
    messages: Option<PathBuf>,
    /// A system prompt for the interactive chat.
    #[arg(long)]
    system: Option<String>,
    /// With --messages: print one JSON object instead of the text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    gen_args: GenArgs,
}

/// Reads `[{role, content}, …]` or `{"messages": [...]}` from a file.
pub fn read_messages(path: &PathBuf) -> Result<Vec<ChatMessage>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{}: invalid JSON: {e}", path.display()))?;
    let list = v.get("messages").cloned().unwrap_or(v);
    serde_json::from_value(list).map_err(|e| {
        format!(
            "{}: expected an array of {{\"role\", \"content\"}} messages: {e}",
            path.display()
        )
        .into()
    })
}

pub fn run(args: Args) -> CliResult {
    args.gen_args.init_threads()?;
    let model = Model::load_file(&args.model)?;
    let g = &args.gen_args;
    let (mut session, report) =
        crate::backend::open_session(&model, g.backend, g.gpu_choice(), g.ctx_size, g.kv_type)?;
    if let Some(path) = &args.messages {
        let messages = read_messages(path)?;
        let prompt = model.tokenize_chat(&messages)?;
        let result = session
            .generate(&prompt, args.gen_args.options(false))?
            .run()?;
        let mut out = std::io::stdout().lock();
        if args.json {
            writeln!(
                out,
                "{}",
                crate::run::result_json(&result, &report, &model)?
            )?;
        } else {
            write!(out, "{}", result.text)?;
            if std::io::IsTerminal::is_terminal(&out) {
                writeln!(out)?;
            }
        }
        crate::print_timings(&result.timings);
        return Ok(());
    }

    let mut messages: Vec<ChatMessage> = Vec::new();
    if let Some(s) = &args.system {
        messages.push(ChatMessage::new("system", s));
    }
    eprintln!(
        "Chatting with {} — empty line or Ctrl-D to quit.",
        args.model.display()
    );
    let stdin = std::io::stdin();
    let mut line = String::new();
    loop {
        eprint!("\n> ");
        line.clear();
        if stdin.lock().read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        messages.push(ChatMessage::new("user", line.trim_end()));
        // The session keeps the KV cache: only the new turn is evaluated.
        let prompt = model.tokenize_chat(&messages)?;
        let mut generation = session.generate(&prompt, args.gen_args.options(false))?;
        let mut out = std::io::stdout().lock();
        for ev in generation.by_ref() {
            out.write_all(ev?.text.as_bytes())?;
            out.flush()?;
        }
        writeln!(out)?;
        let result = generation.result();
        crate::print_timings(&result.timings);
        messages.push(ChatMessage::new("assistant", result.text.trim()));
    }
    Ok(())
}
