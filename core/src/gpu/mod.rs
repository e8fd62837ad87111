//! The GPU backend: the decoder forward pass on wgpu (Vulkan/Metal/DX12 natively, WebGPU in
//! browsers) with weights kept in their GGUF block formats and dequantized in the shaders.
//!
//! [`GpuContext`] picks an adapter and opens a device, [`GpuModel`] uploads a
//! [`Decoder`](crate::model::Decoder)'s weights, and a [`GpuSession`] holds a KV cache on the
//! GPU and runs prefill and decode steps, reading back either the last token's logits or just
//! its argmax. Every readback is a future (native callers drive it with `pollster`), so the
//! same code runs on wasm32, where nothing may block. One file per kernel (`matmul.rs`,
//! `rms_norm.rs`, …) next to its WGSL in `shaders/`.

mod argmax;
mod attention;
mod context;
mod elementwise;
mod kernel;
mod matmul;
mod model;
mod placement;
mod prepare_qkv;
mod profile;
mod rms_norm;
// Blocking (native) callers: the browser chooses its device in the runner's chain.
#[cfg(not(target_arch = "wasm32"))]
mod select;
mod session;
#[cfg(test)]
mod tests;
mod top_k;

pub use context::{AdapterSummary, FEATURE_F16, FEATURE_SUBGROUPS, GpuContext, GpuOptions};
pub use model::GpuModel;
pub use placement::{GpuMemory, place_session};
#[cfg(not(target_arch = "wasm32"))]
pub use select::{Device, DeviceReport, GpuChoice, decide, open_session};
pub use session::{GpuOutput, GpuResult, GpuSession};
pub use top_k::MAX_TOP_K;

/// Why the GPU backend cannot start or run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GpuError {
    /// No adapter (or only a software one when software adapters were not allowed).
    #[error("no GPU adapter available{0}")]
    NoAdapter(String),
    /// The adapter refused a device, or a GPU operation failed validation.
    #[error("GPU device error: {0}")]
    Device(String),
    /// The model (or its KV cache) does not fit the device's limits.
    #[error("the model does not fit on the GPU: {0}")]
    DoesNotFit(String),
    /// The device ran out of memory (its out-of-memory error scope caught an allocation).
    /// Nothing predicts this without a budget: wgpu and WebGPU cannot report free memory.
    #[error("the model does not fit on the GPU: the device ran out of memory: {0}")]
    OutOfMemory(String),
    /// The model, its KV cache and scratch need more than the memory budget allows
    /// ([`GpuContext::with_memory_budget`]); the numbers are bytes.
    #[error(
        "the model does not fit on the GPU: it needs {} ({detail}), the budget allows {}",
        placement::mib(*needed),
        placement::mib(*allowed)
    )]
    OverBudget {
        needed: u64,
        allowed: u64,
        detail: String,
    },
    /// The device was lost (driver reset, GPU removed, browser reclaimed it).
    #[error("the GPU device was lost: {0}")]
    DeviceLost(String),
    /// The model uses something the GPU backend does not implement.
    #[error("not supported on the GPU backend: {0}")]
    Unsupported(String),
    /// Bad input: empty, out of range, or past the context.
    #[error("{0}")]
    Input(String),
    /// Reading results back from the GPU failed.
    #[error("GPU readback failed: {0}")]
    Map(String),
}

impl GpuError {
    /// A stable machine-readable code for bindings.
    pub fn code(&self) -> &'static str {
        match self {
            GpuError::NoAdapter(_) => "GPU_NO_ADAPTER",
            GpuError::Device(_) => "GPU_DEVICE",
            GpuError::DoesNotFit(_) | GpuError::OutOfMemory(_) | GpuError::OverBudget { .. } => {
                "GPU_DOES_NOT_FIT"
            }
            GpuError::DeviceLost(_) => "GPU_DEVICE_LOST",
            GpuError::Unsupported(_) => "GPU_UNSUPPORTED",
            GpuError::Input(_) => "GPU_INPUT",
            GpuError::Map(_) => "GPU_MAP",
        }
    }
}

/// Blocks on a GPU future (native only; wasm callers `.await` instead).
#[cfg(not(target_arch = "wasm32"))]
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    pollster::block_on(f)
}
