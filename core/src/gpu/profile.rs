//! `HEARTH_GPU_PROFILE=1` (native only): a session writes a GPU timestamp after every launch,
//! reads them back after each submission and, when dropped, prints to stderr the GPU time
//! per kernel and per submission next to the wall time. For finding where a step's time goes
//! on a real GPU; timestamps add a readback per submission, so never on in a benchmark.

use super::GpuContext;
use std::collections::HashMap;

/// Timestamps of one session's launches and what they add up to.
#[derive(Debug)]
pub(crate) struct Profile {
    queries: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    read: wgpu::Buffer,
    capacity: u32,
    period_ns: f64,
    /// Kernel label → (GPU ns, launches).
    kernels: HashMap<String, (f64, u64)>,
    submissions: u64,
    gpu_ns: f64,
    wall_ns: f64,
}

impl Profile {
    /// Room for `launches` timestamps per submission (plus the start).
    pub(crate) fn new(ctx: &GpuContext, launches: usize) -> Option<Profile> {
        if !ctx.profiling() {
            return None;
        }
        let capacity = (launches as u32 + 1).min(wgpu::QUERY_SET_MAX_QUERIES);
        let queries = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("profile"),
            ty: wgpu::QueryType::Timestamp,
            count: capacity,
        });
        let bytes = u64::from(capacity) * 8;
        let resolve = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("profile resolve"),
            size: bytes,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let read = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("profile read"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Some(Profile {
            queries,
            resolve,
            read,
            capacity,
            period_ns: f64::from(ctx.queue.get_timestamp_period()),
            kernels: HashMap::new(),
            submissions: 0,
            gpu_ns: 0.0,
            wall_ns: 0.0,
        })
    }

    /// Timestamp `i` (0: before the first launch, `i`: after launch `i`), if there is room.
    pub(crate) fn stamp(&self, pass: &mut wgpu::ComputePass<'_>, i: u32) {
        if i < self.capacity {
            pass.write_timestamp(&self.queries, i);
        }
    }

    /// Copies the `n` launches' timestamps out after the pass.
    pub(crate) fn resolve(&self, enc: &mut wgpu::CommandEncoder, n: u32) {
        let n = (n + 1).min(self.capacity);
        enc.resolve_query_set(&self.queries, 0..n, &self.resolve, 0);
        enc.copy_buffer_to_buffer(&self.resolve, 0, &self.read, 0, u64::from(n) * 8);
    }

    /// Reads the timestamps of the submission just made (waits for it) and adds each
    /// launch's time to its kernel; `wall_ns` is the submission's time seen by the CPU.
    pub(crate) async fn collect(
        &mut self,
        ctx: &GpuContext,
        names: &[&str],
        started: crate::timer::Timer,
    ) -> Result<(), super::GpuError> {
        let n = (names.len() as u32 + 1).min(self.capacity);
        let bytes = ctx.read(&self.read, u64::from(n) * 8).await?;
        self.wall_ns += started.ms() * 1e6;
        let ts: Vec<u64> = bytes
            .chunks_exact(8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
            .collect();
        for (i, w) in ts.windows(2).enumerate() {
            let ns = w[1].saturating_sub(w[0]) as f64 * self.period_ns;
            let e = self.kernels.entry(names[i].to_string()).or_default();
            e.0 += ns;
            e.1 += 1;
            self.gpu_ns += ns;
        }
        self.submissions += 1;
        Ok(())
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        if self.submissions == 0 {
            return;
        }
        let mut rows: Vec<_> = self.kernels.iter().collect();
        rows.sort_by(|a, b| b.1.0.total_cmp(&a.1.0));
        let per = self.submissions as f64 * 1000.0;
        eprintln!(
            "[hearth gpu profile] {} submissions: GPU {:.1} µs, wall {:.1} µs per submission",
            self.submissions,
            self.gpu_ns / per,
            self.wall_ns / per
        );
        for (name, (ns, count)) in rows {
            eprintln!(
                "  {name:<28} {:>9.1} µs/submission {:>5.1}%  {:>6} launches, {:.2} µs each",
                ns / per,
                100.0 * ns / self.gpu_ns.max(1.0),
                count,
                ns / *count as f64 / 1000.0
            );
        }
    }
}
