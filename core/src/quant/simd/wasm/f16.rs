//! simd128 versions of the f16-cache attention helpers (`super::super::f16_to_f32_row`,
//! `f32_dots`, `f16r_scale`, `f16r_mad`). wasm has no half-float instructions: halves are
//! widened with the exact bit arithmetic of [`super::h2f4`], and f32s are rounded to f16
//! precision by [`round4`] (ggml's `ggml_compute_fp32_to_fp16` in four lanes, [`f2h4`], where
//! the quick mantissa rounding does not apply). Each lane does exactly what the scalar
//! definition does for one element, so results are bit-identical.

use core::arch::wasm32::*;

use super::h2f4;

#[inline(always)]
fn ldh(p: &[u16; 8]) -> v128 {
    // SAFETY: `p` is 16 readable bytes; wasm loads have no alignment requirement.
    unsafe { v128_load(p.as_ptr().cast()) }
}

/// Four f32 lanes rounded to IEEE halves (ties to even, NaN → `0x7E00` with its sign), in
/// the low 16 bits of each u32 lane: the scalar `f32_to_f16` step by step.
#[inline(always)]
fn f2h4(f: v128) -> v128 {
    let scale_to_inf = f32x4_splat(f32::from_bits(0x7780_0000)); // 0x1p+112
    let scale_to_zero = f32x4_splat(f32::from_bits(0x0880_0000)); // 0x1p-110
    let base = f32x4_mul(f32x4_mul(f32x4_abs(f), scale_to_inf), scale_to_zero);
    let shl1_w = i32x4_add(f, f);
    let sign = v128_and(f, u32x4_splat(0x8000_0000));
    let bias = u32x4_max(
        v128_and(shl1_w, u32x4_splat(0xFF00_0000)),
        u32x4_splat(0x7100_0000),
    );
    let base = f32x4_add(
        base,
        i32x4_add(u32x4_shr(bias, 1), u32x4_splat(0x0780_0000)),
    );
    let exp_bits = v128_and(u32x4_shr(base, 13), u32x4_splat(0x7C00));
    let mantissa_bits = v128_and(base, u32x4_splat(0x0FFF));
    let nan = u32x4_gt(shl1_w, u32x4_splat(0xFF00_0000));
    let h = v128_bitselect(u32x4_splat(0x7E00), i32x4_add(exp_bits, mantissa_bits), nan);
    v128_or(u32x4_shr(sign, 16), h)
}

/// Eight halves to two f32x4 (elements 0..4, 4..8).
#[inline(always)]
fn widen8(h: v128) -> (v128, v128) {
    (
        h2f4(u32x4_extend_low_u16x8(h)),
        h2f4(u32x4_extend_high_u16x8(h)),
    )
}

/// Four f32 lanes rounded to the nearest half and widened back (`f16(x)` as an f32).
/// Where every lane is zero or a normal half's magnitude after rounding, the mantissa is
/// rounded in place (ties to even; a carry moves into the exponent as it should); otherwise
/// (subnormal halves, overflow to infinity, NaN) through [`f2h4`] and [`h2f4`].
#[inline(always)]
fn round4(f: v128) -> v128 {
    let a = v128_and(f, u32x4_splat(0x7FFF_FFFF));
    // 2^-14 <= |f| < 65520 (the first magnitude that rounds to infinity), or zero.
    let ok = v128_or(
        v128_and(
            i32x4_gt(a, i32x4_splat(0x387F_FFFF)),
            i32x4_lt(a, i32x4_splat(0x477F_F000)),
        ),
        i32x4_eq(a, i32x4_splat(0)),
    );
    if i32x4_all_true(ok) {
        let odd = v128_and(u32x4_shr(f, 13), u32x4_splat(1));
        let r = i32x4_add(i32x4_add(f, u32x4_splat(0x0FFF)), odd);
        v128_and(r, u32x4_splat(0xFFFF_E000))
    } else {
        h2f4(f2h4(f))
    }
}

#[inline(always)]
fn ld4(p: &[f32; 4]) -> v128 {
    // SAFETY: `p` is 16 readable bytes; wasm loads have no alignment requirement.
    unsafe { v128_load(p.as_ptr().cast()) }
}

#[inline(always)]
fn st4(p: &mut [f32; 4], v: v128) {
    // SAFETY: `p` is 16 writable bytes; wasm stores have no alignment requirement.
    unsafe { v128_store(p.as_mut_ptr().cast(), v) }
}

/// Halves to floats, eight at a time.
pub(crate) fn f16_to_f32_row(src: &[u16], dst: &mut [f32]) {
    let n = src.len().min(dst.len());
    let (dc, dr) = dst[..n].as_chunks_mut::<8>();
    let (sc, sr) = src[..n].as_chunks::<8>();
    for (d, s) in dc.iter_mut().zip(sc) {
        let (lo, hi) = widen8(ldh(s));
        let d = d.as_chunks_mut::<4>().0;
        st4(&mut d[0], lo);
        st4(&mut d[1], hi);
    }
    super::super::f16_to_f32_row_scalar(sr, dr);
}

/// Four rows at a time, one row per lane: 4 × 4 floats are transposed so that each vector
/// holds one element of the four rows, and every lane adds its products in the scalar order
/// (multiply, then add, from `-0.0`), so each result is bit-identical to the scalar sum.
pub(crate) fn f32_dots(q: &[f32], k: &[f32], stride: usize, out: &mut [f32]) {
    if !q.len().is_multiple_of(4) {
        return super::super::f32_dots_scalar(q, k, stride, out);
    }
    let (blocks, rest) = out.as_chunks_mut::<4>();
    for (b, o) in blocks.iter_mut().enumerate() {
        let j0 = 4 * b;
        let row = |r: usize, c: usize| -> v128 {
            let s = (j0 + r) * stride + 4 * c;
            ld4(k[s..s + 4].try_into().unwrap())
        };
        let mut acc = f32x4_splat(-0.0);
        for (c, qc) in q.as_chunks::<4>().0.iter().enumerate() {
            let (r0, r1, r2, r3) = (row(0, c), row(1, c), row(2, c), row(3, c));
            let t0 = i32x4_shuffle::<0, 4, 1, 5>(r0, r1);
            let t1 = i32x4_shuffle::<2, 6, 3, 7>(r0, r1);
            let t2 = i32x4_shuffle::<0, 4, 1, 5>(r2, r3);
            let t3 = i32x4_shuffle::<2, 6, 3, 7>(r2, r3);
            let cols = [
                i32x4_shuffle::<0, 1, 4, 5>(t0, t2),
                i32x4_shuffle::<2, 3, 6, 7>(t0, t2),
                i32x4_shuffle::<0, 1, 4, 5>(t1, t3),
                i32x4_shuffle::<2, 3, 6, 7>(t1, t3),
            ];
            for (i, col) in cols.into_iter().enumerate() {
                acc = f32x4_add(acc, f32x4_mul(col, f32x4_splat(qc[i])));
            }
        }
        st4(o, acc);
    }
    let done = blocks.len() * 4;
    super::super::f32_dots_scalar(q, &k[(done * stride).min(k.len())..], stride, rest);
}

/// `acc[i] = f16(acc[i] · s)`, four at a time.
pub(crate) fn f16r_scale(acc: &mut [f32], s: f32) {
    let (c, rest) = acc.as_chunks_mut::<4>();
    let m = f32x4_splat(s);
    for a in c {
        st4(a, round4(f32x4_mul(ld4(a), m)));
    }
    super::super::f16r_scale_scalar(rest, s);
}

/// `acc[i] = f16(acc[i] + v[i] · s)`, four at a time (no fused multiply-add).
pub(crate) fn f16r_mad(acc: &mut [f32], v: &[f32], s: f32) {
    let (c, rest) = acc.as_chunks_mut::<4>();
    let (vc, vr) = v.as_chunks::<4>();
    let m = f32x4_splat(s);
    for (a, b) in c.iter_mut().zip(vc) {
        st4(a, round4(f32x4_add(ld4(a), f32x4_mul(ld4(b), m))));
    }
    super::super::f16r_mad_scalar(rest, vr, s);
}
