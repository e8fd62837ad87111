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
    /// How many of the model's blocks run on the GPU: all of them, fewer in a partial
    /// offload (the CPU runs the rest and the LM head), 0 on the CPU.
    pub gpu_layers: usize,
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

/// How the GPU may be used: whether `auto` may take a software adapter, the memory budget and
/// how many blocks to place.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GpuChoice {
    /// `auto` accepts a software adapter (lavapipe, llvmpipe) like a hardware one.
    pub allow_software: bool,
    /// Bytes of GPU memory the model, its KV cache and scratch may take (`None`: no budget).
    pub max_memory_bytes: Option<u64>,
    /// Blocks to run on the GPU (the model's first ones; more than it has: all). `None`: as
    /// many as the budget holds, all without one. `Some(0)`: the CPU.
    pub gpu_layers: Option<usize>,
}

/// Opens a session on the chosen backend. On the GPU it places as many of the model's blocks
/// as the budget holds (or `--gpu-layers`), the CPU running the rest. With `auto`, a model of
/// which not one block fits (over the budget, over a binding limit, or the device out of
/// memory) runs on the CPU and the report says why; with `gpu` that is the error
/// (`GPU_DOES_NOT_FIT`).
pub fn open_session(
    model: &Arc<Model>,
    backend: Backend,
    gpu_choice: GpuChoice,
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
                gpu_layers: 0,
            },
        ))
    };
    if backend == Backend::Cpu {
        return cpu(None);
    }
    if gpu_choice.gpu_layers == Some(0) {
        if backend == Backend::Gpu {
            return Err(hearth_core::Error::InvalidOption {
                option: "gpu_layers",
                message: "--backend gpu needs at least one block on the GPU".into(),
            }
            .into());
        }
        return cpu(Some("--gpu-layers 0".into()));
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
    let on_gpu = match (backend, &probe) {
        // `--allow-software-gpu`: any adapter will do for `auto`.
        (Backend::Auto, Ok(_)) if gpu_choice.allow_software => true,
        _ => decide(backend, &probe)?,
    };
    if !on_gpu {
        let reason = match &probe {
            Ok(a) => format!("only the software adapter {:?}", a.name),
            Err(e) => e.to_string(),
        };
        return cpu(Some(reason));
    }
    let ctx = ctx?.with_memory_budget(gpu_choice.max_memory_bytes);
    let session = match place_on_gpu(&ctx, model, n_ctx, kv_type, gpu_choice.gpu_layers) {
        Ok(s) => s,
        Err(e) if backend == Backend::Auto && e.code() == "GPU_DOES_NOT_FIT" => {
            return cpu(Some(format!("{} [{}]", e, e.code())));
        }
        Err(e) => return Err(e.into()),
    };
    let gpu_layers = session.gpu_layers();
    Ok((
        session,
        BackendReport {
            backend: "gpu",
            adapter: Some(ctx.adapter().clone()),
            reason: None,
            gpu_layers,
        },
    ))
}

/// A GPU session for `model`'s first `layers` blocks (`None`: as many as the context's budget
/// holds), the fit checked before the weights are uploaded: those blocks, their KV cache and
/// scratch (and the LM head, with every block) against the budget.
fn place_on_gpu(
    ctx: &GpuContext,
    model: &Arc<Model>,
    n_ctx: usize,
    kv_type: KvType,
    layers: Option<usize>,
) -> Result<Session, hearth_core::Error> {
    let n = if n_ctx == 0 {
        model.config().n_ctx_train
    } else {
        n_ctx
    };
    let gpu = Arc::new(block_on(GpuModel::place(
        ctx,
        model.decoder(),
        layers,
        n,
        kv_type,
    ))?);
    Session::with_gpu(model.clone(), n_ctx, kv_type, &gpu)
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
