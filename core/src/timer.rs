//! Wall-clock timing that works natively and in wasm.
//!
//! `std::time::Instant` panics on wasm32-unknown-unknown and core must not
//! depend on JavaScript, so in wasm the binding installs a clock
//! (`performance.now()`) with [`set_clock`]; without one, timings read zero.
//! [`peak_rss_bytes`] is the memory figure the CLI and the benchmark both report.

use std::sync::atomic::{AtomicUsize, Ordering};

static CLOCK: AtomicUsize = AtomicUsize::new(0);

/// Installs a millisecond clock (used in wasm, where `Instant` is unavailable).
pub fn set_clock(now_ms: fn() -> f64) {
    CLOCK.store(now_ms as usize, Ordering::Relaxed);
}

/// Milliseconds from an arbitrary origin.
pub fn now_ms() -> f64 {
    let f = CLOCK.load(Ordering::Relaxed);
    if f != 0 {
        // SAFETY: only `set_clock` stores here, and it stores a `fn() -> f64`.
        let f: fn() -> f64 = unsafe { std::mem::transmute::<usize, fn() -> f64>(f) };
        return f();
    }
    native_now_ms()
}

#[cfg(not(target_arch = "wasm32"))]
fn native_now_ms() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_secs_f64() * 1e3
}

#[cfg(target_arch = "wasm32")]
fn native_now_ms() -> f64 {
    0.0
}

/// A started stopwatch.
#[derive(Clone, Copy, Debug)]
pub struct Timer(f64);

impl Timer {
    /// Starts now.
    pub fn start() -> Self {
        Timer(now_ms())
    }

    /// Milliseconds since start.
    pub fn ms(&self) -> f64 {
        now_ms() - self.0
    }
}

/// Peak resident memory of this process (Linux `VmHWM`), 0 where unknown
/// (other systems, wasm).
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}
