//! `libm::expf` (FreeBSD's `e_expf.c`) on eight lanes with AVX2, bit-identical to it: the
//! same f32 operations in the same order (no fused multiply-adds), its branches turned
//! into per-lane selects. Lanes in its rare special ranges (NaN, overflow, and the
//! gradual-underflow band `-103.97 < x ≤ -87.34` where it rescales in two steps) go to
//! `libm::expf` itself.

use std::arch::x86_64::*;

// libm's constants, by their bits.
const LN2_HI: f32 = f32::from_bits(0x3f31_7200);
const LN2_LO: f32 = f32::from_bits(0x35bf_be8e);
const INV_LN2: f32 = f32::from_bits(0x3fb8_aa3b);
const P1: f32 = f32::from_bits(0x3e2a_aa8f);
const P2: f32 = f32::from_bits(0xbb35_5215);

/// `x[i] = libm::expf(x[i])` for every element.
pub(crate) fn expf_batch(x: &mut [f32]) {
    // SAFETY: only called after `super::detected()` confirmed AVX2, FMA and F16C.
    unsafe { expf_batch_avx2(x) }
}

#[target_feature(enable = "avx2,fma,f16c")]
fn expf_batch_avx2(x: &mut [f32]) {
    let (chunks, tail) = x.as_chunks_mut::<8>();
    for c in chunks {
        // SAFETY: `c` is 8 floats; `loadu`/`storeu` have no alignment requirement.
        let v = unsafe { _mm256_loadu_ps(c.as_ptr()) };
        let (y, special) = expf8(v);
        unsafe { _mm256_storeu_ps(c.as_mut_ptr(), y) };
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

/// Eight `expf`s, and a bit mask of the lanes left for the scalar function (their
/// result lanes hold the unchanged input).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn expf8(x: __m256) -> (__m256, i32) {
    let bits = _mm256_castps_si256(x);
    let hx = _mm256_and_si256(bits, _mm256_set1_epi32(0x7fff_ffff));
    let neg = _mm256_cmpgt_epi32(_mm256_setzero_si256(), bits); // sign bit set
    let gt = |a: __m256i, b: i32| _mm256_cmpgt_epi32(a, _mm256_set1_epi32(b));
    // |x| ≥ 87.34 or NaN: only x ≤ -103.97 (result +0) is handled here.
    let big = gt(hx, 0x42ae_ac50 - 1);
    let not_nan = _mm256_cmpgt_epi32(_mm256_set1_epi32(0x7f80_0001), hx);
    let zero = _mm256_and_si256(_mm256_and_si256(neg, not_nan), gt(hx, 0x42cf_f1b5 - 1));
    let special = _mm256_andnot_si256(zero, big);
    // Argument reduction: k = (x/ln2 ± 0.5) truncated where |x| > 1.5 ln2, ±1 where
    // 0.5 ln2 < |x| ≤ 1.5 ln2, else 0 (then hi = x, lo = 0, as below with k = 0).
    let half = _mm256_blendv_ps(
        _mm256_set1_ps(0.5),
        _mm256_set1_ps(-0.5),
        _mm256_castsi256_ps(neg),
    );
    let k_far = _mm256_cvttps_epi32(_mm256_add_ps(
        _mm256_mul_ps(_mm256_set1_ps(INV_LN2), x),
        half,
    ));
    // 1 - 2·sign: -1 where negative, else 1.
    let k_near = _mm256_or_si256(neg, _mm256_set1_epi32(1));
    let k = _mm256_blendv_epi8(k_near, k_far, gt(hx, 0x3f85_1592));
    let k = _mm256_and_si256(k, gt(hx, 0x3eb1_7218));
    let kf = _mm256_cvtepi32_ps(k);
    let hi = _mm256_sub_ps(x, _mm256_mul_ps(kf, _mm256_set1_ps(LN2_HI)));
    let lo = _mm256_mul_ps(kf, _mm256_set1_ps(LN2_LO));
    let r = _mm256_sub_ps(hi, lo);
    let rr = _mm256_mul_ps(r, r);
    let p = _mm256_add_ps(_mm256_set1_ps(P1), _mm256_mul_ps(rr, _mm256_set1_ps(P2)));
    let c = _mm256_sub_ps(r, _mm256_mul_ps(rr, p));
    let q = _mm256_div_ps(_mm256_mul_ps(r, c), _mm256_sub_ps(_mm256_set1_ps(2.0), c));
    let y = _mm256_add_ps(_mm256_set1_ps(1.0), _mm256_add_ps(_mm256_sub_ps(q, lo), hi));
    // scalbnf(y, k) for k in [-126, 126] is one multiplication by 2^k (k = 0: by 1).
    let scale = _mm256_slli_epi32::<23>(_mm256_add_epi32(k, _mm256_set1_epi32(127)));
    let y = _mm256_mul_ps(y, _mm256_castsi256_ps(scale));
    // |x| ≤ 2^-14: 1 + x.
    let tiny = _mm256_cmpgt_epi32(_mm256_set1_epi32(0x3900_0001), hx);
    let y = _mm256_blendv_ps(
        y,
        _mm256_add_ps(_mm256_set1_ps(1.0), x),
        _mm256_castsi256_ps(tiny),
    );
    let y = _mm256_andnot_ps(_mm256_castsi256_ps(zero), y);
    let y = _mm256_blendv_ps(y, x, _mm256_castsi256_ps(special));
    (y, _mm256_movemask_ps(_mm256_castsi256_ps(special)))
}
