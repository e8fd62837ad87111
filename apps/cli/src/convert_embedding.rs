//! `hearth convert-embedding --out FILE.gguf [--type f32|f16|q8_0] DIR` → a `bert` GGUF file
//! with llama.cpp's tensor names and metadata (see `hearth_core::embed::gguf`), loadable by
//! `hearth embed`, `EmbeddingRunner` and llama.cpp.

use std::path::PathBuf;

use hearth_core::GgmlType;
use hearth_core::embed::gguf::convert_dir;

use crate::CliResult;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Hugging Face BERT embedding directory (as `hearth embed --model` takes).
    dir: PathBuf,
    /// The GGUF file to write.
    #[arg(long)]
    out: PathBuf,
    /// Type of the layer matrices: f32, f16 or q8_0 (tables and norms stay F32).
    #[arg(long = "type", default_value = "f32")]
    ty: String,
}

pub fn run(args: Args) -> CliResult {
    let ty = match args.ty.to_ascii_lowercase().as_str() {
        "f32" => GgmlType::F32,
        "f16" => GgmlType::F16,
        "q8_0" => GgmlType::Q8_0,
        other => return Err(format!("--type {other}: use f32, f16 or q8_0").into()),
    };
    let bytes = convert_dir(&args.dir, ty)
        .map_err(|e| format!("{}: {e} [{}]", args.dir.display(), e.code()))?;
    std::fs::write(&args.out, &bytes)
        .map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    eprintln!(
        "[hearth] wrote {} ({} bytes, {ty} matrices)",
        args.out.display(),
        bytes.len()
    );
    Ok(())
}
