//! What every kernel shares: compiling WGSL (with `common.wgsl` prepended), the per-step
//! uniform, small uniform parameter blocks, and [`Dispatch`], one recorded kernel launch
//! whose bind group is built once and whose workgroup count follows the step's token count.

use super::GpuContext;

/// The shared WGSL prelude (the step uniform, f16 rounding).
pub(crate) const COMMON: &str = include_str!("shaders/common.wgsl");

/// 64-thread workgroup sum and max (for kernels with one workgroup per row), prepended by
/// the kernels that use them.
pub(crate) const REDUCE64: &str = include_str!("shaders/reduce64.wgsl");

/// Quantizing a kernel's own output for the next product (`quantize_serial`), prepended by
/// the kernels that do (add_norm, attention).
pub(crate) const QUANTIZE_SERIAL: &str = include_str!("shaders/quantize_serial.wgsl");

/// GELU as the CPU backend computes it (its f16 table, bound at 4), prepended by the kernels
/// that gate with it.
pub(crate) const GELU: &str = include_str!("shaders/gelu.wgsl");

/// `expf`, libm's exponential step for step (SiLU and the attention's softmax), prepended
/// by the kernels that use it.
pub(crate) const EXPF: &str = include_str!("shaders/expf.wgsl");

/// The per-forward `Step` uniform of `common.wgsl`: `n_tok` tokens from position `pos0`,
/// and the run-time 1.0 that divisions use as their numerator.
pub(crate) fn step_bytes(n_tok: u32, pos0: u32) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..4].copy_from_slice(&n_tok.to_le_bytes());
    b[4..8].copy_from_slice(&pos0.to_le_bytes());
    b[8..12].copy_from_slice(&1f32.to_le_bytes());
    b
}

/// What every kernel is compiled after: `enable f16;` when the device has shader-f16,
/// [`COMMON`], and the subgroup helpers (`SG`, `sg_sum`, …): shuffles with subgroups,
/// no-ops with `SG = 1` without. Chosen once per device, so a pipeline is built for the
/// features the device was opened with.
pub(crate) fn prelude(ctx: &GpuContext) -> String {
    let f = ctx.features();
    let mut s = String::new();
    if f.f16 {
        s.push_str("enable f16;\n");
    }
    s.push_str(COMMON);
    if f.subgroups {
        s.push_str(&format!("const SG: u32 = {}u;\n", f.subgroup_min.min(64)));
        s.push_str(include_str!("shaders/subgroup_on.wgsl"));
    } else {
        s.push_str(include_str!("shaders/subgroup_off.wgsl"));
    }
    s
}

/// Compiles `src` (after the [`prelude`]) and returns the pipeline for `entry`.
pub(crate) fn pipeline(
    ctx: &GpuContext,
    label: &str,
    src: &str,
    entry: &str,
) -> wgpu::ComputePipeline {
    pipeline_with(ctx, label, src, entry, &[])
}

/// [`pipeline`] with values for the shader's `override` constants.
pub(crate) fn pipeline_with(
    ctx: &GpuContext,
    label: &str,
    src: &str,
    entry: &str,
    constants: &[(&str, f64)],
) -> wgpu::ComputePipeline {
    let module = ctx
        .device
        .create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(label),
            source: wgpu::ShaderSource::Wgsl(format!("{}\n{src}", prelude(ctx)).into()),
        });
    let pipeline = ctx
        .device
        .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(label),
            layout: None,
            module: &module,
            entry_point: Some(entry),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants,
                ..Default::default()
            },
            cache: None,
        });
    if ctx.profiling() {
        ctx.pipeline_names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(pipeline.clone(), label.to_string());
    }
    pipeline
}

/// A uniform buffer holding `words` (u32s and f32 bit patterns), padded to 16 bytes.
pub(crate) fn params(ctx: &GpuContext, words: &[u32]) -> wgpu::Buffer {
    let mut bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    bytes.resize(bytes.len().div_ceil(16) * 16, 0);
    let buf = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("params"),
        size: bytes.len() as u64,
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    ctx.queue.write_buffer(&buf, 0, &bytes);
    buf
}

/// A storage buffer of `bytes` bytes (rounded up to 4) usable as copy source and target.
pub(crate) fn storage(ctx: &GpuContext, label: &str, bytes: u64) -> wgpu::Buffer {
    let size = bytes.div_ceil(4).max(1) * 4;
    ctx.allocated
        .fetch_add(size, std::sync::atomic::Ordering::Relaxed);
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size,
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_DST
            | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    })
}

/// A storage buffer holding `data`.
pub(crate) fn storage_f32(ctx: &GpuContext, label: &str, data: &[f32]) -> wgpu::Buffer {
    let buf = storage(ctx, label, data.len() as u64 * 4);
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    if !bytes.is_empty() {
        ctx.queue.write_buffer(&buf, 0, &bytes);
    }
    buf
}

/// A storage buffer holding `data`.
pub(crate) fn storage_u32(ctx: &GpuContext, label: &str, data: &[u32]) -> wgpu::Buffer {
    let buf = storage(ctx, label, data.len() as u64 * 4);
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    if !bytes.is_empty() {
        ctx.queue.write_buffer(&buf, 0, &bytes);
    }
    buf
}

/// How many workgroups a dispatch launches for a step of `n_tok` tokens.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Groups {
    /// `per_tok` workgroups per token along x.
    PerTok(u32),
    /// One workgroup per `rows_per_group` rows (split over x and z, at most 32768 along x)
    /// times one per tile of 8 tokens along y (`fixed_tok` tokens instead of the step's when
    /// non-zero).
    Matmul {
        rows: u32,
        rows_per_group: u32,
        fixed_tok: u32,
    },
    /// One 64-thread workgroup per 64 of `per_tok * n_tok` elements (`fixed` instead when
    /// non-zero), at most 32768 along x.
    Elems { per_tok: u32, fixed: u32 },
    /// [`Groups::Elems`] for 256-thread workgroups.
    Elems256 { per_tok: u32, fixed: u32 },
    /// Exactly one workgroup.
    One,
}

/// Workgroups of `size` threads covering `per_tok * n_tok` elements (`fixed` instead when
/// non-zero), at most 32768 along x.
fn elems(per_tok: u32, fixed: u32, n_tok: u32, size: u32) -> (u32, u32, u32) {
    let n = if fixed != 0 { fixed } else { per_tok * n_tok };
    let g = n.div_ceil(size);
    (g.min(32768), g.div_ceil(32768), 1)
}

impl Groups {
    fn count(self, n_tok: u32) -> (u32, u32, u32) {
        match self {
            Groups::PerTok(k) => (k * n_tok, 1, 1),
            Groups::Matmul {
                rows,
                rows_per_group,
                fixed_tok,
            } => {
                let t = if fixed_tok != 0 { fixed_tok } else { n_tok };
                let g = rows.div_ceil(rows_per_group);
                (g.min(32768), t.div_ceil(8), g.div_ceil(32768))
            }
            Groups::Elems { per_tok, fixed } => elems(per_tok, fixed, n_tok, 64),
            Groups::Elems256 { per_tok, fixed } => elems(per_tok, fixed, n_tok, 256),
            Groups::One => (1, 1, 1),
        }
    }
}

/// One kernel launch: pipeline, bind group (built once), workgroup rule.
#[derive(Debug)]
pub(crate) struct Dispatch {
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    groups: Groups,
    /// Keeps the parameter uniform alive with the bind group.
    _params: wgpu::Buffer,
    /// The kernel's label, for `HEARTH_GPU_PROFILE` (empty when not profiling).
    pub(crate) name: String,
}

impl Dispatch {
    /// Binds `buffers` in order from binding 0 (callers pass the step uniform, the params
    /// uniform, then the storage buffers, each whole).
    pub(crate) fn new(
        ctx: &GpuContext,
        pipeline: &wgpu::ComputePipeline,
        params: wgpu::Buffer,
        buffers: &[&wgpu::Buffer],
        groups: Groups,
    ) -> Dispatch {
        Self::with_first(ctx, pipeline, params, buffers, groups, true)
    }

    /// As [`Dispatch::new`]; `with_step: false` leaves the step uniform out (kernels that
    /// do not read it) and numbers the params uniform 0.
    pub(crate) fn with_first(
        ctx: &GpuContext,
        pipeline: &wgpu::ComputePipeline,
        params: wgpu::Buffer,
        buffers: &[&wgpu::Buffer],
        groups: Groups,
        with_step: bool,
    ) -> Dispatch {
        let slots: Vec<Option<&wgpu::Buffer>> = buffers.iter().map(|&b| Some(b)).collect();
        Self::with_slots(ctx, pipeline, params, &slots, groups, with_step)
    }

    /// As [`Dispatch::with_first`], where a `None` slot is a binding number the shader
    /// variant does not use (its layout, derived from the shader, lacks it).
    pub(crate) fn with_slots(
        ctx: &GpuContext,
        pipeline: &wgpu::ComputePipeline,
        params: wgpu::Buffer,
        buffers: &[Option<&wgpu::Buffer>],
        groups: Groups,
        with_step: bool,
    ) -> Dispatch {
        let mut all: Vec<Option<&wgpu::Buffer>> = Vec::with_capacity(buffers.len() + 1);
        let mut it = buffers.iter();
        if with_step && let Some(step) = it.next() {
            all.push(*step);
        }
        all.push(Some(&params));
        all.extend(it);
        let entries: Vec<wgpu::BindGroupEntry> = all
            .iter()
            .enumerate()
            .filter_map(|(i, b)| {
                b.map(|b| wgpu::BindGroupEntry {
                    binding: i as u32,
                    resource: b.as_entire_binding(),
                })
            })
            .collect();
        let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        let name = if ctx.profiling() {
            ctx.pipeline_names
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(pipeline)
                .cloned()
                .unwrap_or_default()
        } else {
            String::new()
        };
        Dispatch {
            pipeline: pipeline.clone(),
            bind_group,
            groups,
            _params: params,
            name,
        }
    }

    /// Records the launch for a step of `n_tok` tokens.
    pub(crate) fn record(&self, pass: &mut wgpu::ComputePass<'_>, n_tok: u32) {
        let (x, y, z) = self.groups.count(n_tok);
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.dispatch_workgroups(x, y, z);
    }
}
