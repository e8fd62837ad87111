//! `--backend cpu|gpu|auto`: where `run` and `chat` evaluate the model. The choice and the
//! placement are hearth-core's (`gpu::open_session`, shared with the Node addon); this maps
//! the flags onto it.

use std::sync::Arc;

use hearth_core::gpu::{self, Device, GpuOptions};
use hearth_core::{KvType, Model, Session};

pub use hearth_core::gpu::{DeviceReport as BackendReport, GpuChoice};

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

impl Backend {
    fn device(self) -> Device {
        match self {
            Backend::Auto => Device::Auto,
            Backend::Cpu => Device::Cpu,
            Backend::Gpu => Device::Gpu,
        }
    }
}

/// Opens a session on the chosen backend (see `hearth_core::gpu::open_session`).
/// HEARTH_GPU_FEATURES=none (or a list: shader-f16,subgroups) turns optional features off.
pub fn open_session(
    model: &Arc<Model>,
    backend: Backend,
    gpu_choice: GpuChoice,
    n_ctx: usize,
    kv_type: KvType,
) -> Result<(Session, BackendReport), Box<dyn std::error::Error>> {
    let mut options = GpuOptions::default();
    if backend != Backend::Cpu
        && let Ok(list) = std::env::var("HEARTH_GPU_FEATURES")
    {
        options = options.with_features(&list)?;
    }
    Ok(gpu::open_session(
        model,
        backend.device(),
        gpu_choice,
        options,
        n_ctx,
        kv_type,
    )?)
}
