//! Adapter choice and the device: limits, lost-device and uncaptured-error tracking.

use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::GpuError;

/// How to choose the adapter and which optional features to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GpuOptions {
    /// Accept a software adapter (lavapipe, llvmpipe, SwiftShader, WARP): slower than the CPU
    /// backend, so refused unless asked for (tests, `--backend gpu`).
    pub allow_software: bool,
    /// Leave `shader-f16` off even where the adapter offers it (driver bugs, tests of the
    /// fallback). With it, kernels load f16 weights and block scales as native `f16`.
    pub disable_f16: bool,
    /// Leave `subgroups` off even where the adapter offers it. With it, the reductions in
    /// matmul, RMS norm, attention and argmax finish with subgroup shuffles instead of
    /// workgroup memory and barriers.
    pub disable_subgroups: bool,
}

impl GpuOptions {
    /// Keeps only the optional features in `list` (`none`, `all`, or a comma list of
    /// `shader-f16`, `subgroups`); an unknown name is a [`GpuError::Input`].
    pub fn with_features(mut self, list: &str) -> Result<GpuOptions, GpuError> {
        let (mut f16, mut sg) = (false, false);
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "none" => {}
                "all" => (f16, sg) = (true, true),
                FEATURE_F16 => f16 = true,
                FEATURE_SUBGROUPS => sg = true,
                other => {
                    return Err(GpuError::Input(format!(
                        "unknown GPU feature {other:?} (expected none, all, {FEATURE_F16}, {FEATURE_SUBGROUPS})"
                    )));
                }
            }
        }
        self.disable_f16 = !f16;
        self.disable_subgroups = !sg;
        Ok(self)
    }
}

/// The name reports use for `shader-f16` (WebGPU's name).
pub const FEATURE_F16: &str = "shader-f16";
/// The name reports use for subgroup operations (WebGPU's name).
pub const FEATURE_SUBGROUPS: &str = "subgroups";

/// The optional features a device was opened with, as the kernels see them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Features {
    /// `shader-f16`: `f16` loads in WGSL.
    pub f16: bool,
    /// Subgroup operations, with the smallest subgroup size the adapter may use (a shuffle
    /// across lanes `i ^ w` with `w` below it stays inside one subgroup).
    pub subgroups: bool,
    pub subgroup_min: u32,
}

/// What the chosen adapter is, for reports (`hearth run --json`, capabilities).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AdapterSummary {
    /// The driver's adapter name (e.g. "llvmpipe (LLVM 15.0.6, 256 bits)").
    pub name: String,
    /// The graphics API: "vulkan", "metal", "dx12", "gl" or "webgpu".
    pub backend: String,
    /// "discrete", "integrated", "virtual", "cpu" or "other".
    pub device_type: String,
    /// Whether it is a software rasterizer running on the CPU.
    pub software: bool,
    /// The optional features the kernels use on it: "shader-f16", "subgroups" (those the
    /// adapter offers and the options did not disable).
    pub features: Vec<String>,
}

impl AdapterSummary {
    fn of(info: &wgpu::AdapterInfo) -> Self {
        let device_type = match info.device_type {
            wgpu::DeviceType::DiscreteGpu => "discrete",
            wgpu::DeviceType::IntegratedGpu => "integrated",
            wgpu::DeviceType::VirtualGpu => "virtual",
            wgpu::DeviceType::Cpu => "cpu",
            wgpu::DeviceType::Other => "other",
        };
        AdapterSummary {
            name: info.name.clone(),
            backend: info.backend.to_str().to_string(),
            device_type: device_type.to_string(),
            software: info.device_type == wgpu::DeviceType::Cpu,
            features: Vec::new(),
        }
    }
}

/// An open GPU device and its queue.
#[derive(Debug, Clone)]
pub struct GpuContext {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    pub(crate) limits: wgpu::Limits,
    adapter: AdapterSummary,
    features: Features,
    /// Set by the device-lost callback.
    lost: Arc<Mutex<Option<String>>>,
    /// The first error no error scope caught (wgpu would otherwise panic on it).
    uncaptured: Arc<Mutex<Option<String>>>,
    /// A smaller binding limit than the device's (tests exercise tensor splitting with it).
    binding_cap: Option<u64>,
    /// Bytes the backend may allocate (`None`: no budget; see `placement.rs`).
    memory_budget: Option<u64>,
    /// Bytes of storage buffers allocated and not yet given back (a placement that failed
    /// gives its bytes back at once, a model or session when it is dropped: [`Held`]).
    pub(crate) allocated: Arc<std::sync::atomic::AtomicU64>,
    /// For tests: allocations past this many bytes fail as the device's out-of-memory error
    /// would (no adapter here runs out of memory).
    simulated_memory: Option<u64>,
    /// `HEARTH_GPU_PROFILE` (native, with timestamp queries inside passes): each session
    /// times every launch and prints the totals per kernel when dropped.
    profiling: bool,
    /// Kernel labels by pipeline, kept only when profiling.
    pub(crate) pipeline_names: Arc<Mutex<std::collections::HashMap<wgpu::ComputePipeline, String>>>,
}

impl GpuContext {
    /// Finds the best adapter (high performance first) and opens a device with the adapter's
    /// own limits, so large tensors can use its full buffer sizes, and with `shader-f16` and
    /// subgroups where the adapter offers them (unless `opts` disables them).
    pub async fn new(opts: GpuOptions) -> Result<GpuContext, GpuError> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends: wgpu::Backends::PRIMARY | wgpu::Backends::BROWSER_WEBGPU,
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                force_fallback_adapter: false,
                compatible_surface: None,
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::NoAdapter(format!(": {e}")))?;
        let info = adapter.get_info();
        let mut summary = AdapterSummary::of(&info);
        if summary.software && !opts.allow_software {
            return Err(GpuError::NoAdapter(format!(
                " (only the software adapter {:?}, which is slower than the CPU backend)",
                summary.name
            )));
        }
        let limits = adapter.limits();
        let offered = adapter.features();
        let mut required = wgpu::Features::empty();
        let features = Features {
            f16: !opts.disable_f16 && offered.contains(wgpu::Features::SHADER_F16),
            // wgpu offers subgroups natively only (not yet through the browser's WebGPU).
            subgroups: !opts.disable_subgroups && offered.contains(wgpu::Features::SUBGROUP),
            subgroup_min: info.subgroup_min_size.max(1),
        };
        if features.f16 {
            required |= wgpu::Features::SHADER_F16;
            summary.features.push(FEATURE_F16.to_string());
        }
        if features.subgroups {
            required |= wgpu::Features::SUBGROUP;
            summary.features.push(FEATURE_SUBGROUPS.to_string());
        }
        // A developer's switch (not an option): per-kernel GPU times need timestamp queries
        // between launches, which browsers do not offer.
        let timestamps =
            wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES;
        let profiling = cfg!(not(target_arch = "wasm32"))
            && std::env::var_os("HEARTH_GPU_PROFILE").is_some()
            && offered.contains(timestamps);
        if profiling {
            required |= timestamps;
        }
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("hearth"),
                required_features: required,
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::Device(e.to_string()))?;
        let lost = Arc::new(Mutex::new(None));
        let l = lost.clone();
        device.set_device_lost_callback(move |reason, msg| {
            *l.lock().unwrap_or_else(|e| e.into_inner()) = Some(format!("{reason:?}: {msg}"));
        });
        let uncaptured = Arc::new(Mutex::new(None));
        let u = uncaptured.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let mut slot = u.lock().unwrap_or_else(|e| e.into_inner());
            if slot.is_none() {
                *slot = Some(e.to_string());
            }
        }));
        Ok(GpuContext {
            device,
            queue,
            limits,
            adapter: summary,
            features,
            lost,
            uncaptured,
            binding_cap: None,
            memory_budget: None,
            allocated: Arc::default(),
            simulated_memory: None,
            profiling,
            pipeline_names: Arc::default(),
        })
    }

    /// Whether sessions time their launches (`HEARTH_GPU_PROFILE`).
    pub(crate) fn profiling(&self) -> bool {
        self.profiling
    }

    /// The adapter in use.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.adapter
    }

    /// The optional features the kernels use.
    pub(crate) fn features(&self) -> Features {
        self.features
    }

    /// The largest buffer one kernel can bind (bytes).
    pub fn max_binding(&self) -> u64 {
        let max = self
            .limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size);
        self.binding_cap.map_or(max, |c| c.min(max))
    }

    /// This context with tensors split as if the binding limit were `cap` bytes.
    pub fn with_binding_cap(mut self, cap: u64) -> GpuContext {
        self.binding_cap = Some(cap);
        self
    }

    /// This context with at most `bytes` of GPU memory for models and sessions: a model that
    /// needs more fails with `GPU_DOES_NOT_FIT` before anything is uploaded (`None`: no budget,
    /// only the device's limits and its out-of-memory errors).
    pub fn with_memory_budget(mut self, bytes: Option<u64>) -> GpuContext {
        self.memory_budget = bytes;
        self
    }

    /// The memory budget, if any.
    pub fn memory_budget(&self) -> Option<u64> {
        self.memory_budget
    }

    /// For tests: this context with a device of `bytes` of memory — storage buffers past it
    /// fail as an out-of-memory error scope reports them ([`GpuError::OutOfMemory`]), which
    /// the software adapters of CI never do.
    #[doc(hidden)]
    pub fn with_simulated_device_memory(mut self, bytes: u64) -> GpuContext {
        self.simulated_memory = Some(bytes);
        self
    }

    /// Bytes of storage buffers that live models and sessions on this device hold.
    pub fn allocated_bytes(&self) -> u64 {
        self.allocated.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether the device-lost callback has run.
    pub fn is_lost(&self) -> bool {
        self.lost
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// Destroys the device, as a driver reset or a reclaimed GPU would lose it (tests of
    /// the device-lost path; on WebGPU this is `GPUDevice.destroy()`).
    pub fn destroy(&self) {
        self.device.destroy();
    }

    /// An error if the device was lost or an operation failed outside an error scope.
    pub(crate) fn check(&self) -> Result<(), GpuError> {
        if let Some(m) = self.lost.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Err(GpuError::DeviceLost(m));
        }
        if let Some(m) = self
            .uncaptured
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            return Err(classify(m));
        }
        Ok(())
    }

    /// Runs `f` inside validation and out-of-memory error scopes and turns what they caught
    /// into a [`GpuError`]. On an error, what `f` allocated is dropped with its result, so its
    /// bytes are given back to the allocation count.
    pub(crate) async fn scoped<T>(&self, f: impl FnOnce() -> T) -> Result<T, GpuError> {
        use std::sync::atomic::Ordering::Relaxed;
        let before = self.allocated.load(Relaxed);
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let val = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = f();
        let v = val.pop().await;
        let o = oom.pop().await;
        let after = self.allocated.load(Relaxed);
        let failed = if let Some(e) = o {
            Some(GpuError::OutOfMemory(e.to_string()))
        } else if let Some(e) = v {
            Some(classify(e.to_string()))
        } else {
            self.simulated_memory.filter(|&m| after > m).map(|m| {
                GpuError::OutOfMemory(format!(
                    "{} allocated on a device of {} (simulated)",
                    super::placement::mib(after),
                    super::placement::mib(m)
                ))
            })
        };
        if let Some(e) = failed {
            drop(out);
            self.allocated
                .fetch_sub(after.saturating_sub(before), Relaxed);
            return Err(e);
        }
        self.check()?;
        Ok(out)
    }

    /// [`scoped`](Self::scoped), plus what `f` allocated as a guard that gives the bytes back
    /// when dropped: kept in the model or session `f` built, or dropped at once with a result
    /// that is an error.
    pub(crate) async fn scoped_held<T>(
        &self,
        f: impl FnOnce() -> T,
    ) -> Result<(T, Held), GpuError> {
        let before = self.allocated_bytes();
        let out = self.scoped(f).await?;
        let held = Held {
            count: self.allocated.clone(),
            bytes: self.allocated_bytes().saturating_sub(before),
        };
        Ok((out, held))
    }

    /// Reads `size` bytes of a MAP_READ buffer after the submitted work finishes.
    pub(crate) async fn read(&self, buf: &wgpu::Buffer, size: u64) -> Result<Vec<u8>, GpuError> {
        let slot: Arc<Mutex<MapState>> = Arc::new(Mutex::new(MapState::default()));
        let s = slot.clone();
        buf.map_async(wgpu::MapMode::Read, 0..size, move |r| {
            let mut st = s.lock().unwrap_or_else(|e| e.into_inner());
            st.done = Some(r.map_err(|e| e.to_string()));
            if let Some(w) = st.waker.take() {
                w.wake();
            }
        });
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| GpuError::DeviceLost(e.to_string()))?;
        MapFuture(slot).await.map_err(GpuError::Map)?;
        let bytes = buf
            .get_mapped_range(0..size)
            .map_err(|e| GpuError::Map(e.to_string()))?
            .to_vec();
        buf.unmap();
        self.check()?;
        Ok(bytes)
    }
}

fn classify(msg: String) -> GpuError {
    if msg.contains("memory") || msg.contains("Memory") {
        GpuError::OutOfMemory(msg)
    } else {
        GpuError::Device(msg)
    }
}

#[derive(Default)]
struct MapState {
    done: Option<Result<(), String>>,
    waker: Option<std::task::Waker>,
}

/// Resolves when a `map_async` callback has run.
struct MapFuture(Arc<Mutex<MapState>>);

impl std::future::Future for MapFuture {
    type Output = Result<(), String>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let mut st = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match st.done.take() {
            Some(r) => std::task::Poll::Ready(r),
            None => {
                st.waker = Some(cx.waker().clone());
                std::task::Poll::Pending
            }
        }
    }
}

/// Storage bytes a model or a session holds: given back to the context's allocation count
/// ([`GpuContext::allocated_bytes`]) when it is dropped with its buffers.
#[derive(Debug, Default)]
pub(crate) struct Held {
    count: Arc<std::sync::atomic::AtomicU64>,
    bytes: u64,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.count
            .fetch_sub(self.bytes, std::sync::atomic::Ordering::Relaxed);
    }
}
