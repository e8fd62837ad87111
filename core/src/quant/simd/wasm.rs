//! wasm32 `simd128` kernels (compiled only with `target_feature = "simd128"`, which the wasm
//! build turns on, so no run-time detection is needed). 128-bit vectors and no byte-pair
//! multiply-add, so byte products widen to i16 and use `i32x4.dot_i16x8_s`. Per block the
//! integer math is ggml's; the K-quant kernels even keep the scalar kernels' float order.

use core::arch::wasm32::*;

use super::super::q4_0::BlockQ4_0;
use super::super::q4_1::BlockQ4_1;
use super::super::q4_k::{BlockQ4K, mins_dot_bsums, scales_mins_k4};
use super::super::q5_0::BlockQ5_0;
use super::super::q5_1::BlockQ5_1;
use super::super::q5_k::BlockQ5K;
use super::super::q6_k::BlockQ6K;
use super::super::q8_0::BlockQ8_0;
use super::super::q8_1::BlockQ8_1;
use super::super::q8_k::BlockQ8K;
use super::super::{as_blocks, as_blocks_mut, f16_to_f32, f32_to_f16};
use super::{ActFn, DotFn};
use crate::GgmlType;

mod expf;
mod f16;
mod tile;
pub(crate) use expf::expf_batch;
pub(crate) use f16::{f16_to_f32_row, f16r_mad, f16r_scale, f32_dots};
pub(crate) use tile::dot_tile;

/// The simd128 dot product for `ty`, if there is one.
pub(crate) fn vec_dot(ty: GgmlType) -> Option<DotFn> {
    use GgmlType::*;
    Some(match ty {
        F32 => f32_dot,
        F16 => f16_dot,
        Q4_0 => |w, x| q4_0(as_blocks(w), as_blocks(x)),
        Q4_1 => |w, x| q4_1(as_blocks(w), as_blocks(x)),
        Q5_0 => |w, x| q5_0(as_blocks(w), as_blocks(x)),
        Q5_1 => |w, x| q5_1(as_blocks(w), as_blocks(x)),
        Q8_0 => |w, x| q8_0(as_blocks(w), as_blocks(x)),
        Q4_K => |w, x| q4_k(as_blocks(w), as_blocks(x)),
        Q5_K => |w, x| q5_k(as_blocks(w), as_blocks(x)),
        Q6_K => |w, x| q6_k(as_blocks(w), as_blocks(x)),
        _ => return None,
    })
}

/// The simd128 activation quantizer for `ty`, if there is one.
pub(crate) fn quantize_activation(ty: GgmlType) -> Option<ActFn> {
    Some(match ty {
        GgmlType::Q8_0 => |s, d| quantize_q8_0(s, as_blocks_mut(d)),
        GgmlType::Q8_1 => |s, d| quantize_q8_1(s, as_blocks_mut(d)),
        _ => return None,
    })
}

#[inline(always)]
fn ld(p: &[u8; 16]) -> v128 {
    // SAFETY: `p` is 16 readable bytes; wasm loads have no alignment requirement.
    unsafe { v128_load(p.as_ptr().cast()) }
}

#[inline(always)]
fn ldi(p: &[i8; 16]) -> v128 {
    // SAFETY: `p` is 16 readable bytes; wasm loads have no alignment requirement.
    unsafe { v128_load(p.as_ptr().cast()) }
}

#[inline(always)]
fn ldf(p: &[f32; 4]) -> v128 {
    // SAFETY: `p` is 16 readable bytes; wasm loads have no alignment requirement.
    unsafe { v128_load(p.as_ptr().cast()) }
}

#[inline(always)]
fn st(p: &mut [i8; 16], v: v128) {
    // SAFETY: `p` is 16 writable bytes; wasm stores have no alignment requirement.
    unsafe { v128_store(p.as_mut_ptr().cast(), v) }
}

/// The two 16-byte halves of 32 quants.
#[inline(always)]
fn halves(q: &[i8; 32]) -> (v128, v128) {
    let c = q.as_chunks::<16>().0;
    (ldi(&c[0]), ldi(&c[1]))
}

/// Signed byte products summed in fours (i32x4).
#[inline(always)]
fn dot16(a: v128, b: v128) -> v128 {
    i32x4_add(
        i32x4_dot_i16x8(i16x8_extend_low_i8x16(a), i16x8_extend_low_i8x16(b)),
        i32x4_dot_i16x8(i16x8_extend_high_i8x16(a), i16x8_extend_high_i8x16(b)),
    )
}

#[inline(always)]
fn hsum_f(v: v128) -> f32 {
    (f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<1>(v))
        + (f32x4_extract_lane::<2>(v) + f32x4_extract_lane::<3>(v))
}

#[inline(always)]
fn hsum_i(v: v128) -> i32 {
    i32x4_extract_lane::<0>(v)
        + i32x4_extract_lane::<1>(v)
        + i32x4_extract_lane::<2>(v)
        + i32x4_extract_lane::<3>(v)
}

/// Low and high nibbles of 16 bytes.
#[inline(always)]
fn nibbles(qs: &[u8; 16]) -> (v128, v128) {
    let v = ld(qs);
    (v128_and(v, u8x16_splat(0x0F)), u8x16_shr(v, 4))
}

/// The fifth bits of a Q5 block as two byte masks (all ones where set) for elements
/// 0..16 and 16..32.
#[inline(always)]
fn fifth_bits(qh: [u8; 4]) -> (v128, v128) {
    let all = u32x4_splat(u32::from_le_bytes(qh));
    let bit = u8x16(1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128);
    let lo = i8x16_swizzle(all, u8x16(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
    let hi = i8x16_swizzle(all, u8x16(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    (
        i8x16_eq(v128_and(lo, bit), bit),
        i8x16_eq(v128_and(hi, bit), bit),
    )
}

fn q4_0(w: &[BlockQ4_0], x: &[BlockQ8_0]) -> f32 {
    let mut acc = f32x4_splat(0.0);
    let eight = i8x16_splat(8);
    for (bw, bx) in w.iter().zip(x) {
        let (lo, hi) = nibbles(&bw.qs);
        let (y0, y1) = halves(&bx.qs);
        let s = i32x4_add(
            dot16(i8x16_sub(lo, eight), y0),
            dot16(i8x16_sub(hi, eight), y1),
        );
        let d = f16_to_f32(bw.d) * f16_to_f32(bx.d);
        acc = f32x4_add(acc, f32x4_mul(f32x4_convert_i32x4(s), f32x4_splat(d)));
    }
    hsum_f(acc)
}

fn q4_1(w: &[BlockQ4_1], x: &[BlockQ8_1]) -> f32 {
    let mut acc = f32x4_splat(0.0);
    let mut summs = 0f32;
    for (bw, bx) in w.iter().zip(x) {
        let (lo, hi) = nibbles(&bw.qs);
        let (y0, y1) = halves(&bx.qs);
        let s = i32x4_add(dot16(lo, y0), dot16(hi, y1));
        let d = f16_to_f32(bw.d) * f16_to_f32(bx.d);
        acc = f32x4_add(acc, f32x4_mul(f32x4_convert_i32x4(s), f32x4_splat(d)));
        summs += f16_to_f32(bw.m) * f16_to_f32(bx.s);
    }
    hsum_f(acc) + summs
}

fn q5_0(w: &[BlockQ5_0], x: &[BlockQ8_0]) -> f32 {
    let mut acc = f32x4_splat(0.0);
    let f0 = u8x16_splat(0xF0);
    for (bw, bx) in w.iter().zip(x) {
        let (lo, hi) = nibbles(&bw.qs);
        let (b0, b1) = fifth_bits(bw.qh);
        // Without the fifth bit the quant is `nibble - 16`: or in 0xF0.
        let lo = v128_or(lo, v128_andnot(f0, b0));
        let hi = v128_or(hi, v128_andnot(f0, b1));
        let (y0, y1) = halves(&bx.qs);
        let s = i32x4_add(dot16(lo, y0), dot16(hi, y1));
        let d = f16_to_f32(bw.d) * f16_to_f32(bx.d);
        acc = f32x4_add(acc, f32x4_mul(f32x4_convert_i32x4(s), f32x4_splat(d)));
    }
    hsum_f(acc)
}

fn q5_1(w: &[BlockQ5_1], x: &[BlockQ8_1]) -> f32 {
    let mut acc = f32x4_splat(0.0);
    let mut summs = 0f32;
    let h = u8x16_splat(0x10);
    for (bw, bx) in w.iter().zip(x) {
        let (lo, hi) = nibbles(&bw.qs);
        let (b0, b1) = fifth_bits(bw.qh);
        let lo = v128_or(lo, v128_and(h, b0));
        let hi = v128_or(hi, v128_and(h, b1));
        let (y0, y1) = halves(&bx.qs);
        let s = i32x4_add(dot16(lo, y0), dot16(hi, y1));
        let d = f16_to_f32(bw.d) * f16_to_f32(bx.d);
        acc = f32x4_add(acc, f32x4_mul(f32x4_convert_i32x4(s), f32x4_splat(d)));
        summs += f16_to_f32(bw.m) * f16_to_f32(bx.s);
    }
    hsum_f(acc) + summs
}

fn q8_0(w: &[BlockQ8_0], x: &[BlockQ8_0]) -> f32 {
    let mut acc = f32x4_splat(0.0);
    for (bw, bx) in w.iter().zip(x) {
        let (a0, a1) = halves(&bw.qs);
        let (y0, y1) = halves(&bx.qs);
        let s = i32x4_add(dot16(a0, y0), dot16(a1, y1));
        let d = f16_to_f32(bw.d) * f16_to_f32(bx.d);
        acc = f32x4_add(acc, f32x4_mul(f32x4_convert_i32x4(s), f32x4_splat(d)));
    }
    hsum_f(acc)
}

/// Same float steps as the scalar `q4_k::vec_dot`; only the integer sums are vectorised.
fn q4_k(w: &[BlockQ4K], x: &[BlockQ8K]) -> f32 {
    let mut sumf = 0f32;
    for (bw, bx) in w.iter().zip(x) {
        let (sc, m) = scales_mins_k4(&bw.scales);
        let mut isum = i32x4_splat(0);
        let q8 = bx.qs.as_chunks::<16>().0;
        for (c, q4) in bw.qs.as_chunks::<16>().0.chunks_exact(2).enumerate() {
            let (l0, h0) = nibbles(&q4[0]);
            let (l1, h1) = nibbles(&q4[1]);
            let s0 = i32x4_add(dot16(l0, ldi(&q8[4 * c])), dot16(l1, ldi(&q8[4 * c + 1])));
            let s1 = i32x4_add(
                dot16(h0, ldi(&q8[4 * c + 2])),
                dot16(h1, ldi(&q8[4 * c + 3])),
            );
            isum = i32x4_add(isum, i32x4_mul(s0, i32x4_splat(sc[2 * c] as i32)));
            isum = i32x4_add(isum, i32x4_mul(s1, i32x4_splat(sc[2 * c + 1] as i32)));
        }
        let d = f16_to_f32(bw.d) * bx.d();
        let dmin = f16_to_f32(bw.dmin) * bx.d();
        sumf += d * hsum_i(isum) as f32 - dmin * mins_dot_bsums(&m, bx) as f32;
    }
    sumf
}

/// Same float steps as the scalar `q5_k::vec_dot`; only the integer sums are vectorised.
fn q5_k(w: &[BlockQ5K], x: &[BlockQ8K]) -> f32 {
    let one = u8x16_splat(1);
    let two = u8x16_splat(2);
    let mut sumf = 0f32;
    for (bw, bx) in w.iter().zip(x) {
        let (sc, m) = scales_mins_k4(&bw.scales);
        let mut isum = i32x4_splat(0);
        let q8 = bx.qs.as_chunks::<16>().0;
        let qh = bw.qh.as_chunks::<16>().0;
        // Bit 2c of qh[l] is element l's fifth bit in chunk c's low nibbles, bit 2c+1 in its
        // high ones.
        let (mut h0, mut h1) = (ld(&qh[0]), ld(&qh[1]));
        for (c, q5) in bw.qs.as_chunks::<16>().0.chunks_exact(2).enumerate() {
            let (l0, u0) = nibbles(&q5[0]);
            let (l1, u1) = nibbles(&q5[1]);
            let l0 = v128_or(l0, u8x16_shl(v128_and(h0, one), 4));
            let l1 = v128_or(l1, u8x16_shl(v128_and(h1, one), 4));
            let u0 = v128_or(u0, u8x16_shl(v128_and(h0, two), 3));
            let u1 = v128_or(u1, u8x16_shl(v128_and(h1, two), 3));
            h0 = u8x16_shr(h0, 2);
            h1 = u8x16_shr(h1, 2);
            let s0 = i32x4_add(dot16(l0, ldi(&q8[4 * c])), dot16(l1, ldi(&q8[4 * c + 1])));
            let s1 = i32x4_add(
                dot16(u0, ldi(&q8[4 * c + 2])),
                dot16(u1, ldi(&q8[4 * c + 3])),
            );
            isum = i32x4_add(isum, i32x4_mul(s0, i32x4_splat(sc[2 * c] as i32)));
            isum = i32x4_add(isum, i32x4_mul(s1, i32x4_splat(sc[2 * c + 1] as i32)));
        }
        let d = f16_to_f32(bw.d) * bx.d();
        let dmin = f16_to_f32(bw.dmin) * bx.d();
        sumf += d * hsum_i(isum) as f32 - dmin * mins_dot_bsums(&m, bx) as f32;
    }
    sumf
}

/// Same float steps as the scalar `q6_k::vec_dot`; only the integer sums are vectorised.
fn q6_k(w: &[BlockQ6K], x: &[BlockQ8K]) -> f32 {
    let m4 = u8x16_splat(0x0F);
    let m3 = u8x16_splat(3);
    let off = i8x16_splat(32);
    let mut sumf = 0f32;
    for (bw, bx) in w.iter().zip(x) {
        let mut isum = i32x4_splat(0);
        let q8 = bx.qs.as_chunks::<16>().0;
        let ql = bw.ql.as_chunks::<16>().0;
        let qh = bw.qh.as_chunks::<16>().0;
        for h in 0..2 {
            for p in 0..2 {
                let a = ld(&ql[4 * h + p]);
                let b = ld(&ql[4 * h + 2 + p]);
                let hb = ld(&qh[2 * h + p]);
                let hi = |s: u32| i8x16_shl(v128_and(u8x16_shr(hb, s), m3), 4);
                let q = [
                    v128_or(v128_and(a, m4), hi(0)),
                    v128_or(v128_and(b, m4), hi(2)),
                    v128_or(u8x16_shr(a, 4), hi(4)),
                    v128_or(u8x16_shr(b, 4), hi(6)),
                ];
                for (k, q) in q.into_iter().enumerate() {
                    let g = 2 * k + p; // 16-element group within the 128-element half
                    let s = dot16(i8x16_sub(q, off), ldi(&q8[8 * h + g]));
                    let sc = i32x4_splat(bw.scales[8 * h + g] as i32);
                    isum = i32x4_add(isum, i32x4_mul(s, sc));
                }
            }
        }
        sumf += f16_to_f32(bw.d) * bx.d() * hsum_i(isum) as f32;
    }
    sumf
}

/// IEEE half to f32 in four lanes (the branch-free `f16_to_f32`, exact); `h` holds the
/// halves zero-extended to 32 bits.
#[inline(always)]
fn h2f4(h: v128) -> v128 {
    let w = u32x4_shl(h, 16);
    let sign = v128_and(w, u32x4_splat(0x8000_0000));
    let two_w = i32x4_add(w, w);
    let norm = f32x4_mul(
        i32x4_add(u32x4_shr(two_w, 4), u32x4_splat(0xE0 << 23)),
        f32x4_splat(f32::from_bits(0x0780_0000)),
    );
    let denorm = f32x4_sub(
        v128_or(u32x4_shr(two_w, 17), u32x4_splat(126 << 23)),
        f32x4_splat(0.5),
    );
    let small = u32x4_lt(two_w, u32x4_splat(1 << 27));
    v128_or(sign, v128_bitselect(denorm, norm, small))
}

fn f32_dot(w: &[u8], x: &[u8]) -> f32 {
    let (wc, wr) = w.as_chunks::<16>();
    let (xc, xr) = x.as_chunks::<16>();
    let mut acc = [f32x4_splat(0.0); 4];
    for (k, (a, b)) in wc.iter().zip(xc).enumerate() {
        acc[k % 4] = f32x4_add(acc[k % 4], f32x4_mul(ld(a), ld(b)));
    }
    let mut sum = hsum_f(f32x4_add(
        f32x4_add(acc[0], acc[2]),
        f32x4_add(acc[1], acc[3]),
    ));
    for (a, b) in wr.as_chunks::<4>().0.iter().zip(xr.as_chunks::<4>().0) {
        sum += f32::from_le_bytes(*a) * f32::from_le_bytes(*b);
    }
    sum
}

fn f16_dot(w: &[u8], x: &[u8]) -> f32 {
    let (wc, wr) = w.as_chunks::<16>();
    let (xc, xr) = x.as_chunks::<16>();
    let mut acc = [f32x4_splat(0.0); 2];
    for (a, b) in wc.iter().zip(xc) {
        let (a, b) = (ld(a), ld(b));
        let lo = f32x4_mul(
            h2f4(u32x4_extend_low_u16x8(a)),
            h2f4(u32x4_extend_low_u16x8(b)),
        );
        let hi = f32x4_mul(
            h2f4(u32x4_extend_high_u16x8(a)),
            h2f4(u32x4_extend_high_u16x8(b)),
        );
        acc[0] = f32x4_add(acc[0], lo);
        acc[1] = f32x4_add(acc[1], hi);
    }
    let mut sum = hsum_f(f32x4_add(acc[0], acc[1]));
    for (a, b) in wr.as_chunks::<2>().0.iter().zip(xr.as_chunks::<2>().0) {
        sum += f16_to_f32(*a) * f16_to_f32(*b);
    }
    sum
}

/// 32 floats times `id`, rounded half to even, packed to i8 (saturating, as `as i8`); also
/// returns the sum of the quants.
#[inline(always)]
fn round_pack(v: &[v128; 8], id: f32, out: &mut [i8; 32]) -> i32 {
    let m = f32x4_splat(id);
    let q = v.map(|v| i32x4_trunc_sat_f32x4(f32x4_nearest(f32x4_mul(v, m))));
    let sum = hsum_i(i32x4_add(
        i32x4_add(i32x4_add(q[0], q[1]), i32x4_add(q[2], q[3])),
        i32x4_add(i32x4_add(q[4], q[5]), i32x4_add(q[6], q[7])),
    ));
    let o = out.as_chunks_mut::<16>().0;
    for h in 0..2 {
        let a = i16x8_narrow_i32x4(q[4 * h], q[4 * h + 1]);
        let b = i16x8_narrow_i32x4(q[4 * h + 2], q[4 * h + 3]);
        st(&mut o[h], i8x16_narrow_i16x8(a, b));
    }
    sum
}

#[inline(always)]
fn load_amax(x: &[f32; 32]) -> ([v128; 8], f32) {
    let c = x.as_chunks::<4>().0;
    let v: [v128; 8] = std::array::from_fn(|i| ldf(&c[i]));
    let m = v
        .iter()
        .fold(f32x4_splat(0.0), |m, &v| f32x4_max(m, f32x4_abs(v)));
    let amax = f32x4_extract_lane::<0>(m)
        .max(f32x4_extract_lane::<1>(m))
        .max(f32x4_extract_lane::<2>(m).max(f32x4_extract_lane::<3>(m)));
    (v, amax)
}

fn quantize_q8_0(src: &[f32], dst: &mut [BlockQ8_0]) {
    for (x, y) in src.as_chunks::<32>().0.iter().zip(dst) {
        let (v, amax) = load_amax(x);
        y.d = f32_to_f16(amax / 127.0);
        let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
        round_pack(&v, id, &mut y.qs);
    }
}

fn quantize_q8_1(src: &[f32], dst: &mut [BlockQ8_1]) {
    for (x, y) in src.as_chunks::<32>().0.iter().zip(dst) {
        let (v, amax) = load_amax(x);
        let d = amax / 127.0;
        y.d = f32_to_f16(d);
        let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
        let sum = round_pack(&v, id, &mut y.qs);
        y.s = f32_to_f16(d * sum as f32);
    }
}
