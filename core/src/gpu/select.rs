//! Choosing where a session runs — the GPU when a hardware adapter exists and at least one
//! block fits, else the CPU with the reason — shared by the CLI (`--backend`) and the Node
//! addon (`loadModel(…, { device })`), so both decide and place the same way.

use std::sync::Arc;

use serde::Serialize;

use super::{AdapterSummary, GpuContext, GpuError, GpuOptions, block_on};
use crate::{Error, KvType, Model, Session};

/// Where a session may run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Device {
    /// The GPU when a hardware adapter exists (software ones only with
    /// [`GpuChoice::allow_software`]) and at least one block fits, else the CPU.
    #[default]
    Auto,
    /// The CPU backend.
    Cpu,
    /// The GPU backend on any adapter, software ones (lavapipe, llvmpipe) included; an error
    /// when there is none or not one block fits.
    Gpu,
}

impl Device {
    /// `"auto"`, `"cpu"` or `"gpu"`.
    pub fn parse(name: &str) -> Result<Device, Error> {
        match name {
            "auto" => Ok(Device::Auto),
            "cpu" => Ok(Device::Cpu),
            "gpu" => Ok(Device::Gpu),
            other => Err(Error::InvalidOption {
                option: "device",
                message: format!("{other:?}: use \"auto\", \"cpu\" or \"gpu\""),
            }),
        }
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

/// Where a session runs (the CLI's `--json` and the Node addon's `session.device` report it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeviceReport {
    /// "cpu" or "gpu".
    pub backend: &'static str,
    /// The adapter used; `None` on the CPU.
    pub adapter: Option<AdapterSummary>,
    /// Why `auto` chose the CPU (no adapter, only a software one, not one block fits);
    /// `None` otherwise.
    pub reason: Option<String>,
    /// How many of the model's blocks run on the GPU: all of them, fewer in a partial
    /// offload (the CPU runs the rest and the LM head), 0 on the CPU.
    pub gpu_layers: usize,
}

impl DeviceReport {
    /// A session on the CPU, and why when it was not asked for.
    pub fn cpu(reason: Option<String>) -> DeviceReport {
        DeviceReport {
            backend: "cpu",
            adapter: None,
            reason,
            gpu_layers: 0,
        }
    }
}

/// Whether `device` runs on the GPU given the adapter probe's outcome: `Ok(true)` on the GPU,
/// `Ok(false)` on the CPU, the probe's error for [`Device::Gpu`] without an adapter.
pub fn decide(
    device: Device,
    choice: &GpuChoice,
    probe: &Result<AdapterSummary, GpuError>,
) -> Result<bool, GpuError> {
    match (device, probe) {
        (Device::Cpu, _) => Ok(false),
        (Device::Gpu, Ok(_)) => Ok(true),
        (Device::Gpu, Err(e)) => Err(e.clone()),
        (Device::Auto, Ok(a)) => Ok(choice.allow_software || !a.software),
        (Device::Auto, Err(_)) => Ok(false),
    }
}

/// Opens a session for `model` on `device`. On the GPU it places as many of the model's
/// blocks as the budget holds (or `choice.gpu_layers`), the CPU running the rest. With
/// `auto`, a model of which not one block fits (over the budget, over a binding limit, or the
/// device out of memory) runs on the CPU and the report says why; with `gpu` that is the
/// error (`GPU_DOES_NOT_FIT`). `options` opens the device (its optional features).
pub fn open_session(
    model: &Arc<Model>,
    device: Device,
    choice: GpuChoice,
    options: GpuOptions,
    n_ctx: usize,
    kv_type: KvType,
) -> Result<(Session, DeviceReport), Error> {
    let cpu = |reason: Option<String>| -> Result<_, Error> {
        Ok((
            Session::with_kv_type(model.clone(), n_ctx, kv_type)?,
            DeviceReport::cpu(reason),
        ))
    };
    if device == Device::Cpu {
        return cpu(None);
    }
    if choice.gpu_layers == Some(0) {
        if device == Device::Gpu {
            return Err(Error::InvalidOption {
                option: "gpu_layers",
                message: "the GPU backend needs at least one block on the GPU".into(),
            });
        }
        return cpu(Some("0 GPU layers asked for".into()));
    }
    // Software adapters are accepted here and weighed by `decide`, so `auto` can say why.
    let ctx = block_on(GpuContext::new(GpuOptions {
        allow_software: true,
        ..options
    }));
    let probe = ctx
        .as_ref()
        .map(|c| c.adapter().clone())
        .map_err(Clone::clone);
    if !decide(device, &choice, &probe)? {
        let reason = match &probe {
            Ok(a) => format!("only the software adapter {:?}", a.name),
            Err(e) => e.to_string(),
        };
        return cpu(Some(reason));
    }
    let ctx = ctx?.with_memory_budget(choice.max_memory_bytes);
    let session = match block_on(super::place_session(
        &ctx,
        model,
        choice.gpu_layers,
        n_ctx,
        kv_type,
    )) {
        Ok(s) => s,
        Err(e) if device == Device::Auto && e.code() == "GPU_DOES_NOT_FIT" => {
            return cpu(Some(format!("{} [{}]", e, e.code())));
        }
        Err(e) => return Err(e),
    };
    let gpu_layers = session.gpu_layers();
    Ok((
        session,
        DeviceReport {
            backend: "gpu",
            adapter: Some(ctx.adapter().clone()),
            reason: None,
            gpu_layers,
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
    fn auto_takes_hardware_gpus_only_unless_software_is_allowed() {
        let none = Err(GpuError::NoAdapter(String::new()));
        let plain = GpuChoice::default();
        let soft = GpuChoice {
            allow_software: true,
            ..Default::default()
        };
        assert_eq!(decide(Device::Auto, &plain, &Ok(adapter(false))), Ok(true));
        assert_eq!(decide(Device::Auto, &plain, &Ok(adapter(true))), Ok(false));
        assert_eq!(decide(Device::Auto, &soft, &Ok(adapter(true))), Ok(true));
        assert_eq!(decide(Device::Auto, &plain, &none), Ok(false));
        assert_eq!(decide(Device::Gpu, &plain, &Ok(adapter(true))), Ok(true));
        assert!(decide(Device::Gpu, &plain, &none).is_err());
        assert_eq!(decide(Device::Cpu, &soft, &Ok(adapter(false))), Ok(false));
        assert_eq!(Device::parse("gpu").unwrap(), Device::Gpu);
        assert_eq!(Device::parse("cuda").unwrap_err().code(), "INVALID_OPTION");
    }
}
