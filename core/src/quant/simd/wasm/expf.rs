//! `libm::expf` on four lanes with simd128, bit-identical to it: the AVX2 version's
//! operations (`x86/expf.rs`, which follows FreeBSD's `e_expf.c`) in the same order, no
//! fused multiply-adds. Lanes in its special ranges (NaN, overflow, and the gradual-underflow
//! band `-103.97 < x ≤ -87.34`) go to `libm::expf` itself.

use core::arch::wasm32::*;

// libm's constants, by their bits.
const LN2_HI: f32 = f32::from_bits(0x3f31_7200);
const LN2_LO: f32 = f32::from_bits(0x35bf_be8e);
const INV_LN2: f32 = f32::from_bits(0x3fb8_aa3b);
const P1: f32 = f32::from_bits(0x3e2a_aa8f);
const P2: f32 = f32::from_bits(0xbb35_5215);

/// `x[i] = libm::expf(x[i])` for every element.
pub(crate) fn expf_batch(x: &mut [f32]) {
    let (chunks, tail) = x.as_chunks_mut::<4>();
    for c in chunks {
        // SAFETY: `c` is 4 floats; v128 loads and stores need no alignment.
        let v = unsafe { v128_load(c.as_ptr().cast()) };
        let (y, special) = expf4(v);
        unsafe { v128_store(c.as_mut_ptr().cast(), y) };
        if special != 0 {
            for (i, e) in c.iter_mut().enumerate() {
                if special & (1 << i) != 0 {
                    *e = libm::expf(*e);
                }
            }
        }
    }
    for e in tail {
        *e = libm::expf(*e);
    }
}

/// Four `expf`s, and a bit mask of the lanes left for the scalar function (their result
/// lanes hold the unchanged input).
#[inline]
fn expf4(x: v128) -> (v128, u8) {
    let splat = f32x4_splat;
    let hx = v128_and(x, i32x4_splat(0x7fff_ffff));
    let neg = i32x4_lt(x, i32x4_splat(0)); // sign bit set
    let gt = |a: v128, b: i32| i32x4_gt(a, i32x4_splat(b));
    // |x| ≥ 87.34 or NaN: only x ≤ -103.97 (result +0) is handled here.
    let big = gt(hx, 0x42ae_ac50 - 1);
    let not_nan = i32x4_gt(i32x4_splat(0x7f80_0001), hx);
    let zero = v128_and(v128_and(neg, not_nan), gt(hx, 0x42cf_f1b5 - 1));
    let special = v128_andnot(big, zero);
    // Argument reduction, as the AVX2 version: k = (x/ln2 ± 0.5) truncated where
    // |x| > 1.5 ln2, ±1 where 0.5 ln2 < |x| ≤ 1.5 ln2, else 0. Lanes where the truncation
    // would saturate are special ones, replaced below.
    let half = v128_bitselect(splat(-0.5), splat(0.5), neg);
    let k_far = i32x4_trunc_sat_f32x4(f32x4_add(f32x4_mul(splat(INV_LN2), x), half));
    // 1 - 2·sign: -1 where negative, else 1.
    let k_near = v128_or(neg, i32x4_splat(1));
    let k = v128_bitselect(k_far, k_near, gt(hx, 0x3f85_1592));
    let k = v128_and(k, gt(hx, 0x3eb1_7218));
    let kf = f32x4_convert_i32x4(k);
    let hi = f32x4_sub(x, f32x4_mul(kf, splat(LN2_HI)));
    let lo = f32x4_mul(kf, splat(LN2_LO));
    let r = f32x4_sub(hi, lo);
    let rr = f32x4_mul(r, r);
    let p = f32x4_add(splat(P1), f32x4_mul(rr, splat(P2)));
    let c = f32x4_sub(r, f32x4_mul(rr, p));
    let q = f32x4_div(f32x4_mul(r, c), f32x4_sub(splat(2.0), c));
    let y = f32x4_add(splat(1.0), f32x4_add(f32x4_sub(q, lo), hi));
    // scalbnf(y, k) for k in [-126, 126] is one multiplication by 2^k (k = 0: by 1).
    let scale = i32x4_shl(i32x4_add(k, i32x4_splat(127)), 23);
    let y = f32x4_mul(y, scale);
    // |x| ≤ 2^-14: 1 + x.
    let tiny = i32x4_gt(i32x4_splat(0x3900_0001), hx);
    let y = v128_bitselect(f32x4_add(splat(1.0), x), y, tiny);
    let y = v128_andnot(y, zero);
    let y = v128_bitselect(x, y, special);
    (y, i32x4_bitmask(special))
}
