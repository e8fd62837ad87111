//! The GPU engines of `hearth-bench`: Hearth's wgpu backend (`hearth_core::gpu`, the same
//! session `hearth run --backend gpu` opens) and, in a build with the `llama-vulkan`
//! feature, llama.cpp with every layer on its Vulkan backend. Both run the protocol of
//! [`crate::run_rep`] unchanged; what differs is how a repetition loads the model and
//! which adapter the measurement records.

use std::sync::Arc;
use std::time::Instant;

use hearth_core::gpu::{AdapterSummary, GpuContext, GpuModel, GpuOptions, block_on};
use hearth_core::{KvType, Model, Session};
#[cfg(feature = "llama-vulkan")]
use {crate::LlamaCpp, hearth_llama_cpp as llama};

use crate::{Hearth, MeasureArgs, Measurement, N_CTX, ms, run_rep};

/// The adapter Hearth's GPU backend would use: software adapters (lavapipe, llvmpipe) only
/// when `allow_software`, as `hearth run --backend auto` would refuse them.
pub fn probe(allow_software: bool) -> Result<AdapterSummary, String> {
    block_on(GpuContext::new(GpuOptions {
        allow_software,
        ..Default::default()
    }))
    .map(|c| c.adapter().clone())
    .map_err(|e| e.to_string())
}

/// `args.reps` repetitions of Hearth on the GPU. A repetition's load time covers what an app
/// pays before its first token: the device, the model file, the weight upload and the KV cache
/// on the GPU. The KV cache is f16 like the CPU rows' (Hearth's default on both backends).
pub fn measure_hearth_gpu(args: &MeasureArgs, m: &mut Measurement) -> Result<(), String> {
    for _ in 0..args.reps {
        let t = Instant::now();
        let ctx = block_on(GpuContext::new(GpuOptions {
            allow_software: args.allow_software_gpu,
            ..Default::default()
        }))
        .map_err(|e| e.to_string())?;
        let model: Arc<Model> = Model::load_file(&args.model).map_err(|e| e.to_string())?;
        let gpu =
            Arc::new(block_on(GpuModel::upload(&ctx, model.decoder())).map_err(|e| e.to_string())?);
        let session =
            Session::with_gpu(model, N_CTX, KvType::F16, &gpu).map_err(|e| e.to_string())?;
        m.load_ms.push(ms(t));
        m.adapter = Some(ctx.adapter().clone());
        run_rep(&mut Hearth { session }, args, m)?;
    }
    Ok(())
}

/// `args.reps` repetitions of llama.cpp with all layers offloaded (`n_gpu_layers = -1`) to
/// the first GPU device of its Vulkan backend. llama.cpp skips CPU-type Vulkan devices
/// (lavapipe) unless `GGML_VK_VISIBLE_DEVICES` names them, which `allow_software_gpu` does.
#[cfg(feature = "llama-vulkan")]
pub fn measure_llama_gpu(args: &MeasureArgs, m: &mut Measurement) -> Result<(), String> {
    if args.allow_software_gpu && std::env::var_os("GGML_VK_VISIBLE_DEVICES").is_none() {
        // SAFETY: set before llama.cpp initialises its backends; this process has started no
        // other thread yet (the llama.cpp engines build no rayon pool).
        unsafe { std::env::set_var("GGML_VK_VISIBLE_DEVICES", "0") };
    }
    let devices = llama::gpu_devices();
    let Some(device) = devices.first() else {
        return Err("llama.cpp's Vulkan backend found no GPU device".into());
    };
    m.adapter = Some(AdapterSummary {
        name: device.clone(),
        backend: "vulkan".into(),
        device_type: if device.contains("llvmpipe") {
            "cpu"
        } else {
            "gpu"
        }
        .into(),
        software: device.contains("llvmpipe"),
        // llama.cpp's own choice of shader variants is not reported through its API.
        features: Vec::new(),
    });
    if m.adapter.as_ref().is_some_and(|a| a.software) && !args.allow_software_gpu {
        return Err(format!(
            "only the software device {device:?} (pass --allow-software-gpu)"
        ));
    }
    for _ in 0..args.reps {
        let t = Instant::now();
        let model =
            llama::Model::load_with_gpu_layers(&args.model, -1).map_err(|e| e.to_string())?;
        let ctx = llama::Context::new(
            &model,
            llama::ContextOptions {
                n_ctx: N_CTX as u32,
                n_threads: args.threads as i32,
                n_batch: 512,
                flash_attn: None,
            },
        )
        .map_err(|e| e.to_string())?;
        m.load_ms.push(ms(t));
        run_rep(&mut LlamaCpp { ctx }, args, m)?;
    }
    Ok(())
}

/// Without the `llama-vulkan` feature there is no llama.cpp GPU backend to measure.
#[cfg(not(feature = "llama-vulkan"))]
pub fn measure_llama_gpu(_: &MeasureArgs, _: &mut Measurement) -> Result<(), String> {
    Err(
        "llama.cpp-gpu needs hearth-bench built with --features llama-vulkan \
         (llama.cpp's Vulkan backend; see bench/README.md)"
            .into(),
    )
}
