//! `hearth`: inspect, tokenize and run local models with hearth-core.
//!
//! The command-line contract (flags, stdout shapes) is relied on by tests and
//! outside checks; keep it stable.

mod info;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info(args) => info::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A CLI error: a message for stderr (the typed core errors render themselves).
pub type CliResult = Result<(), Box<dyn std::error::Error>>;
