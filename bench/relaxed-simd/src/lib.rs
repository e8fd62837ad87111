//! Q4_1 weights × Q8_1 activations, the block kernel of Hearth's wasm engine
//! (`core/src/quant/simd/wasm.rs`, `q4_1`), two ways:
//! - `plain`: simd128 only — bytes widened to i16, `i32x4.dot_i16x8_s`;
//! - `relaxed`: relaxed-simd `i32x4.relaxed_dot_i8x16_i7x16_add_s`, usable because the weight
//!   nibbles (0..15) fit its 7-bit operand while the activations stay full i8.
//!
//! Exports: `init()` fills random rows, `plain(reps)` / `relaxed(reps)` run `reps` passes of
//! `ROWS` row dots (returning a checksum), `isum(relaxed)` the integer sums of every block,
//! which must agree.
#![no_std]

use core::arch::wasm32::*;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// Blocks of 32 per row: SmolLM2-135M's 576 columns.
const NB: usize = 18;
/// Rows per pass: one of SmolLM2's 1536-row FFN matrices.
const ROWS: usize = 1536;

struct Data {
    /// Nibbles of `ROWS × NB` blocks, 16 bytes each.
    w: [u8; 16 * NB * ROWS],
    /// One activation row of i8 quants.
    x: [i8; 32 * NB],
    /// `d_w · d_x` per block.
    d: [f32; NB * ROWS],
}

static mut DATA: Data = Data {
    w: [0; 16 * NB * ROWS],
    x: [0; 32 * NB],
    d: [0.0; NB * ROWS],
};

fn data() -> &'static Data {
    // SAFETY: single-threaded module; only `init` writes, before any reader runs.
    unsafe { &*core::ptr::addr_of!(DATA) }
}

/// Fills the data with a fixed pseudo-random sequence.
#[unsafe(no_mangle)]
pub extern "C" fn init() {
    // SAFETY: single-threaded module; no reference into `DATA` is alive here.
    let d = unsafe { &mut *core::ptr::addr_of_mut!(DATA) };
    let mut s = 12345u32;
    let mut next = || {
        s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        s
    };
    d.w.iter_mut().for_each(|w| *w = (next() >> 24) as u8);
    d.x.iter_mut().for_each(|x| *x = (next() >> 24) as i8);
    d.d.iter_mut().for_each(|v| *v = (next() >> 16) as f32 * 1e-6);
}

#[inline(always)]
fn ld(p: &[u8]) -> v128 {
    assert!(p.len() >= 16);
    // SAFETY: 16 readable bytes (checked); wasm loads have no alignment requirement.
    unsafe { v128_load(p.as_ptr().cast()) }
}

#[inline(always)]
fn ldi(p: &[i8]) -> v128 {
    assert!(p.len() >= 16);
    // SAFETY: 16 readable bytes (checked); wasm loads have no alignment requirement.
    unsafe { v128_load(p.as_ptr().cast()) }
}

#[inline(always)]
fn dot16(a: v128, b: v128) -> v128 {
    i32x4_add(
        i32x4_dot_i16x8(i16x8_extend_low_i8x16(a), i16x8_extend_low_i8x16(b)),
        i32x4_dot_i16x8(i16x8_extend_high_i8x16(a), i16x8_extend_high_i8x16(b)),
    )
}

/// The integer block sum, simd128 only (as Hearth's kernel).
#[inline(always)]
fn block_plain(w: v128, x0: v128, x1: v128) -> v128 {
    let m = u8x16_splat(0x0F);
    i32x4_add(dot16(v128_and(w, m), x0), dot16(u8x16_shr(w, 4), x1))
}

/// The integer block sum with relaxed-simd (same total; lanes group other elements).
#[inline]
#[target_feature(enable = "relaxed-simd")]
fn block_relaxed(w: v128, x0: v128, x1: v128, acc: v128) -> v128 {
    let m = u8x16_splat(0x0F);
    let s = i32x4_relaxed_dot_i8x16_i7x16_add(x0, v128_and(w, m), acc);
    i32x4_relaxed_dot_i8x16_i7x16_add(x1, u8x16_shr(w, 4), s)
}

#[inline(always)]
fn hsum(v: v128) -> f32 {
    (f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<1>(v))
        + (f32x4_extract_lane::<2>(v) + f32x4_extract_lane::<3>(v))
}

#[inline(always)]
fn pass(block: impl Fn(v128, v128, v128) -> v128) -> f32 {
    let d = data();
    let mut tot = 0f32;
    for r in 0..ROWS {
        let mut acc = f32x4_splat(0.0);
        for b in 0..NB {
            let w = ld(&d.w[(r * NB + b) * 16..]);
            let (x0, x1) = (ldi(&d.x[b * 32..]), ldi(&d.x[b * 32 + 16..]));
            let s = f32x4_convert_i32x4(block(w, x0, x1));
            acc = f32x4_add(acc, f32x4_mul(s, f32x4_splat(d.d[r * NB + b])));
        }
        tot += hsum(acc);
    }
    tot
}

/// `reps` passes with the simd128 kernel.
#[unsafe(no_mangle)]
pub extern "C" fn plain(reps: u32) -> f32 {
    (0..reps).map(|_| pass(block_plain)).sum()
}

/// `reps` passes with the relaxed-simd kernel.
#[unsafe(no_mangle)]
#[target_feature(enable = "relaxed-simd")]
pub extern "C" fn relaxed(reps: u32) -> f32 {
    let zero = i32x4_splat(0);
    (0..reps)
        .map(|_| pass(|w, x0, x1| block_relaxed(w, x0, x1, zero)))
        .sum()
}

/// The sum of every block's integer dot, with one kernel or the other.
#[unsafe(no_mangle)]
#[target_feature(enable = "relaxed-simd")]
pub extern "C" fn isum(relax: u32) -> i32 {
    let d = data();
    let mut acc = i32x4_splat(0);
    for b in 0..NB * ROWS {
        let w = ld(&d.w[b * 16..]);
        let i = (b % NB) * 32;
        let (x0, x1) = (ldi(&d.x[i..]), ldi(&d.x[i + 16..]));
        acc = if relax != 0 {
            block_relaxed(w, x0, x1, acc)
        } else {
            i32x4_add(acc, block_plain(w, x0, x1))
        };
    }
    i32x4_extract_lane::<0>(acc)
        + i32x4_extract_lane::<1>(acc)
        + i32x4_extract_lane::<2>(acc)
        + i32x4_extract_lane::<3>(acc)
}
