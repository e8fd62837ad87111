//! `hearth info --model PATH [--json]`.

use std::path::PathBuf;

use hearth_core::ModelBytes;
use hearth_core::gguf::{Gguf, ModelSummary};

use crate::CliResult;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Path to a GGUF model file.
    #[arg(long)]
    model: PathBuf,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> CliResult {
    let bytes = ModelBytes::map_file(&args.model)
        .map_err(|e| format!("cannot open {}: {e}", args.model.display()))?;
    let gguf = Gguf::parse(&bytes).map_err(|e| format!("{}: {e}", args.model.display()))?;
    let s = ModelSummary::from_gguf(&gguf);
    if args.json {
        let mut v = serde_json::to_value(&s)?;
        v["path"] = args.model.display().to_string().into();
        println!("{v}");
        return Ok(());
    }
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    let num = |o: Option<u64>| o.map_or_else(|| "-".into(), |n| n.to_string());
    println!("model          {}", args.model.display());
    println!("architecture   {}", opt(&s.architecture));
    println!("name           {}", opt(&s.name));
    println!(
        "parameters     {} ({:.1} M)",
        s.parameter_count,
        s.parameter_count as f64 / 1e6
    );
    println!("file type      {}", opt(&s.file_type));
    println!("context length {}", num(s.context_length));
    println!("embedding      {}", num(s.embedding_length));
    println!("layers         {}", num(s.block_count));
    println!(
        "heads          {} (kv {})",
        num(s.head_count),
        num(s.head_count_kv)
    );
    println!(
        "tokenizer      {} (pre {}), vocab {}",
        opt(&s.tokenizer.model),
        opt(&s.tokenizer.pre),
        s.vocab_size
    );
    println!(
        "chat template  {}",
        if s.chat_template { "yes" } else { "no" }
    );
    println!("license        {}", opt(&s.license));
    for (k, v) in &s.source {
        println!("{:<14} {v}", k);
    }
    println!(
        "tensors        {} ({:.1} MiB)",
        s.tensor_count,
        s.tensor_bytes as f64 / (1 << 20) as f64
    );
    for (ty, st) in &s.tensor_types {
        println!(
            "  {ty:<8} {:>5} tensors {:>10.1} MiB",
            st.count,
            st.bytes as f64 / (1 << 20) as f64
        );
    }
    Ok(())
}
