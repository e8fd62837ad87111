//! `--backend cpu|gpu|auto`: where `run` and `chat` evaluate the model, and what `--json`
//! reports about it.

use std::sync::Arc;

use hearth_core::gpu::{AdapterSummary, GpuContext, GpuError, GpuModel, GpuOptions, block_on};
use hearth_core::{KvType, Model, Session};
use serde::Serialize;

/// The backend asked for on the command line.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Backend {
    /// The GPU when a hardware adapter exists, else the CPU.
    #[default]
    Auto,
    /// The CPU backend.
    Cpu,
    /// The GPU backend on any adapter, software ones (lavapipe, llvmpipe) included.
    Gpu,
}

/// Where a session runs, as `--json` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BackendReport {
    /// "cpu" or "gpu".
    pub backend: &'static str,
    /// The adapter used; `null` on the CPU.
    pub adapter: Option<AdapterSummary>,
    /// Why `auto` chose the CPU (no adapter, or only a software one); `null` otherwise.
    pub reason: Option<String>,
}

/// What `--backend` resolves to given the adapter probe's outcome (`probe` is only consulted
/// for `auto` and `gpu`): `Ok(true)` runs on the GPU, `Ok(false)` on the CPU with the reason.
pub fn decide(backend: Backend, probe: &Result<AdapterSummary, GpuError>) -> Result<bool, String> {
    match (backend, probe) {
        (Backend::Cpu, _) => Ok(false),
        (Backend::Gpu, Ok(_)) => Ok(true),
        (Backend::Gpu, Err(e)) => Err(format!("--backend gpu: {e}")),
        (Backend::Auto, Ok(a)) => Ok(!a.software),
        (Backend::Auto, Err(_)) => Ok(false),
    }
}

/// Opens a session on the chosen backend.
pub fn open_session(
    model: &Arc<Model>,
    backend: Backend,
    n_ctx: usize,
    kv_type: KvType,
) -> Result<(Session, BackendReport), Box<dyn std::error::Error>> {
    let cpu = |reason: Option<String>| -> Result<_, Box<dyn std::error::Error>> {
        Ok((
            Session::with_kv_type(model.clone(), n_ctx, kv_type)?,
            BackendReport {
                backend: "cpu",
                adapter: None,
                reason,
            },
        ))
    };
    if backend == Backend::Cpu {
        return cpu(None);
    }
    // Software adapters are accepted here and weighed by `decide`, so `auto` can say why.
    // HEARTH_GPU_FEATURES=none (or a list: shader-f16,subgroups) turns optional features off.
    let mut opts = GpuOptions {
        allow_software: true,
        ..Default::default()
    };
    if let Ok(list) = std::env::var("HEARTH_GPU_FEATURES") {
        opts = opts.with_features(&list)?;
    }
    let ctx = block_on(GpuContext::new(opts));
    let probe = ctx
        .as_ref()
        .map(|c| c.adapter().clone())
        .map_err(Clone::clone);
    if !decide(backend, &probe)? {
        let reason = match &probe {
            Ok(a) => format!("only the software adapter {:?}", a.name),
            Err(e) => e.to_string(),
        };
        return cpu(Some(reason));
    }
    let ctx = ctx?;
    let gpu = Arc::new(block_on(GpuModel::upload(&ctx, model.decoder()))?);
    let session = Session::with_gpu(model.clone(), n_ctx, kv_type, &gpu)?;
    Ok((
        session,
        BackendReport {
            backend: "gpu",
            adapter: Some(ctx.adapter().clone()),
            reason: None,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter(software: bool) -> AdapterSummary {
        AdapterSummary {
            name: "x".into(),
            backend: "vulkan".into(),
            device_type: if software { "cpu" } else { "discrete" }.into(),
            software,
            features: Vec::new(),
        }
    }

    #[test]
    fn auto_takes_hardware_gpus_only() {
        let none = Err(GpuError::NoAdapter(String::new()));
        assert_eq!(decide(Backend::Auto, &Ok(adapter(false))), Ok(true));
        assert_eq!(decide(Backend::Auto, &Ok(adapter(true))), Ok(false));
        assert_eq!(decide(Backend::Auto, &none), Ok(false));
        assert_eq!(decide(Backend::Gpu, &Ok(adapter(true))), Ok(true));
        assert!(decide(Backend::Gpu, &none).is_err());
        assert_eq!(decide(Backend::Cpu, &Ok(adapter(false))), Ok(false));
    }
}
