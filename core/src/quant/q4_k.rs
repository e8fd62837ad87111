//! Q4_K: 256 weights in 8 groups of 32; 4-bit quants with a 6-bit scale and 6-bit minimum
//! per group, scaled by the f16 `d` and `dmin` (`x = d·sc·q - dmin·m`).
//!
//! Each 64-element chunk uses 32 quant bytes: low nibbles are its first 32 elements, high
//! nibbles the next 32. Scales and minimums are packed in 12 bytes (see [`scale_min_k4`]).

use super::q8_k::BlockQ8K;
use super::{QK_K, RawBlock, f16_to_f32, f32_to_f16, nearest_int};
use crate::GgmlType;

/// Bytes of packed 6-bit scales and minimums in Q4_K and Q5_K.
pub const K_SCALE_SIZE: usize = 12;

/// One Q4_K block as stored (144 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockQ4K {
    /// Super-block scale for the scales, f16 little-endian.
    pub d: [u8; 2],
    /// Super-block scale for the minimums, f16 little-endian.
    pub dmin: [u8; 2],
    /// Eight 6-bit scales and eight 6-bit minimums, packed.
    pub scales: [u8; K_SCALE_SIZE],
    /// 4-bit quants.
    pub qs: [u8; QK_K / 2],
}

// SAFETY: repr(C), byte arrays only, 144 bytes.
unsafe impl RawBlock for BlockQ4K {
    const TYPE: GgmlType = GgmlType::Q4_K;
}

/// ggml's `get_scale_min_k4`: the 6-bit scale and minimum of group `j` (0..8). Groups 0..4 use
/// the low 6 bits of bytes `j` and `j + 4`; groups 4..8 combine a nibble of byte `j + 4` with
/// the top 2 bits of bytes `j - 4` and `j`.
#[inline(always)]
pub(crate) fn scale_min_k4(j: usize, q: &[u8; K_SCALE_SIZE]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

/// All eight (scale, minimum) pairs.
#[inline(always)]
pub(crate) fn scales_mins_k4(q: &[u8; K_SCALE_SIZE]) -> ([u8; 8], [u8; 8]) {
    let mut sc = [0u8; 8];
    let mut m = [0u8; 8];
    for j in 0..8 {
        (sc[j], m[j]) = scale_min_k4(j, q);
    }
    (sc, m)
}

/// `Σ bsums[j] · m[j / 2]`: the minimums' share of a K-quant dot product with Q8_K.
#[inline(always)]
pub(crate) fn mins_dot_bsums(m: &[u8; 8], x: &BlockQ8K) -> i32 {
    let bsums = x.bsums();
    let mut s = 0i32;
    for j in 0..16 {
        s += bsums[j] as i32 * m[j / 2] as i32;
    }
    s
}

/// `dequantize_row_q4_K`.
pub(crate) fn dequantize(src: &[BlockQ4K], dst: &mut [f32]) {
    for (b, y) in src.iter().zip(dst.as_chunks_mut::<QK_K>().0) {
        let d = f16_to_f32(b.d);
        let min = f16_to_f32(b.dmin);
        let (sc, m) = scales_mins_k4(&b.scales);
        for (c, (q, y)) in
            b.qs.as_chunks::<32>()
                .0
                .iter()
                .zip(y.as_chunks_mut::<64>().0)
                .enumerate()
        {
            let (d1, m1) = (d * sc[2 * c] as f32, min * m[2 * c] as f32);
            let (d2, m2) = (d * sc[2 * c + 1] as f32, min * m[2 * c + 1] as f32);
            for l in 0..32 {
                y[l] = d1 * (q[l] & 0xF) as f32 - m1;
                y[l + 32] = d2 * (q[l] >> 4) as f32 - m2;
            }
        }
    }
}

/// `ggml_vec_dot_q4_K_q8_K`.
pub(crate) fn vec_dot(w: &[BlockQ4K], x: &[BlockQ8K]) -> f32 {
    let mut sumf = 0f32;
    for (bw, bx) in w.iter().zip(x) {
        let (sc, m) = scales_mins_k4(&bw.scales);
        let mut isum = 0i32;
        for (c, (q4, q8)) in bw
            .qs
            .as_chunks::<32>()
            .0
            .iter()
            .zip(bx.qs.as_chunks::<64>().0)
            .enumerate()
        {
            let (mut s0, mut s1) = (0i32, 0i32);
            for l in 0..32 {
                s0 += (q4[l] & 0xF) as i32 * q8[l] as i32;
                s1 += (q4[l] >> 4) as i32 * q8[l + 32] as i32;
            }
            isum += sc[2 * c] as i32 * s0 + sc[2 * c + 1] as i32 * s1;
        }
        let d = f16_to_f32(bw.d) * bx.d();
        let dmin = f16_to_f32(bw.dmin) * bx.d();
        sumf += d * isum as f32 - dmin * mins_dot_bsums(&m, bx) as f32;
    }
    sumf
}

/// ggml's `make_qkx2_quants`: fits `x ≈ scale·L - min` with `L` in `0..=nmax`, trying `nstep`
/// scales around the plain range fit and keeping the one with the least weighted error.
/// Returns `(scale, min)` (the min as a non-negative offset); `l` receives the quants.
pub(crate) fn make_qkx2_quants<const N: usize>(
    nmax: i32,
    x: &[f32; N],
    weights: &[f32; N],
    l: &mut [u8; N],
    rmin: f32,
    rdelta: f32,
    nstep: i32,
    use_mad: bool,
) -> (f32, f32) {
    let mut min = x[0];
    let mut max = x[0];
    let mut sum_w = weights[0];
    let mut sum_x = sum_w * x[0];
    for i in 1..N {
        if x[i] < min {
            min = x[i];
        }
        if x[i] > max {
            max = x[i];
        }
        let w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if min > 0.0 {
        min = 0.0;
    }
    if max == min {
        *l = [0; N];
        return (0.0, -min);
    }
    let err = |d: f32| if use_mad { d.abs() } else { d * d };
    let mut iscale = nmax as f32 / (max - min);
    let mut scale = 1.0 / iscale;
    let mut best_error = 0f32;
    for i in 0..N {
        let q = nearest_int(iscale * (x[i] - min)).clamp(0, nmax);
        l[i] = q as u8;
        best_error += weights[i] * err(scale * q as f32 + min - x[i]);
    }
    if nstep < 1 {
        return (scale, -min);
    }
    let mut laux = [0u8; N];
    for is in 0..=nstep {
        iscale = (rmin + rdelta * is as f32 + nmax as f32) / (max - min);
        let (mut sum_l, mut sum_l2, mut sum_xl) = (0f32, 0f32, 0f32);
        for i in 0..N {
            let q = nearest_int(iscale * (x[i] - min)).clamp(0, nmax);
            laux[i] = q as u8;
            let (w, q) = (weights[i], q as f32);
            sum_l += w * q;
            sum_l2 += w * q * q;
            sum_xl += w * q * x[i];
        }
        let det = sum_w * sum_l2 - sum_l * sum_l;
        if det > 0.0 {
            let mut this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
            let mut this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
            if this_min > 0.0 {
                this_min = 0.0;
                this_scale = sum_xl / sum_l2;
            }
            let mut cur_error = 0f32;
            for i in 0..N {
                cur_error += weights[i] * err(this_scale * laux[i] as f32 + this_min - x[i]);
            }
            if cur_error < best_error {
                *l = laux;
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    (scale, -min)
}

/// Packs eight 6-bit scales and minimums the way [`scale_min_k4`] reads them.
pub(crate) fn pack_scales_mins_k4(ls: &[u8; 8], lm: &[u8; 8]) -> [u8; K_SCALE_SIZE] {
    let mut s = [0u8; K_SCALE_SIZE];
    for j in 0..8 {
        if j < 4 {
            s[j] = ls[j];
            s[j + 4] = lm[j];
        } else {
            s[j + 4] = (ls[j] & 0xF) | ((lm[j] & 0xF) << 4);
            s[j - 4] |= (ls[j] >> 4) << 6;
            s[j] |= (lm[j] >> 4) << 6;
        }
    }
    s
}

/// `quantize_row_q4_K_ref`.
pub(crate) fn quantize(src: &[f32], dst: &mut [BlockQ4K]) {
    for (x, y) in src.as_chunks::<QK_K>().0.iter().zip(dst) {
        let mut l = [[0u8; 32]; 8];
        let mut scales = [0f32; 8];
        let mut mins = [0f32; 8];
        let (mut max_scale, mut max_min) = (0f32, 0f32);
        for (j, xs) in x.as_chunks::<32>().0.iter().enumerate() {
            let mut sum_x2 = 0f32;
            for v in xs {
                sum_x2 += v * v;
            }
            let av_x = (sum_x2 / 32.0).sqrt();
            let weights: [f32; 32] = std::array::from_fn(|i| av_x + xs[i].abs());
            (scales[j], mins[j]) =
                make_qkx2_quants(15, xs, &weights, &mut l[j], -1.0, 0.1, 20, false);
            if scales[j] > max_scale {
                max_scale = scales[j];
            }
            if mins[j] > max_min {
                max_min = mins[j];
            }
        }
        let inv_scale = if max_scale > 0.0 {
            63.0 / max_scale
        } else {
            0.0
        };
        let inv_min = if max_min > 0.0 { 63.0 / max_min } else { 0.0 };
        // C stores nearest_int into a uint8_t (wrapping) before clamping; `as u8` wraps alike.
        let ls: [u8; 8] =
            std::array::from_fn(|j| (nearest_int(inv_scale * scales[j]) as u8).min(63));
        let lm: [u8; 8] = std::array::from_fn(|j| (nearest_int(inv_min * mins[j]) as u8).min(63));
        y.scales = pack_scales_mins_k4(&ls, &lm);
        y.d = f32_to_f16(max_scale / 63.0);
        y.dmin = f32_to_f16(max_min / 63.0);

        // Re-quantize against the rounded scales.
        for (j, xs) in x.as_chunks::<32>().0.iter().enumerate() {
            let (sc, m) = scale_min_k4(j, &y.scales);
            let d = f16_to_f32(y.d) * sc as f32;
            if d == 0.0 {
                continue;
            }
            let dm = f16_to_f32(y.dmin) * m as f32;
            for i in 0..32 {
                l[j][i] = nearest_int((xs[i] + dm) / d).clamp(0, 15) as u8;
            }
        }
        for (c, q) in y.qs.as_chunks_mut::<32>().0.iter_mut().enumerate() {
            for i in 0..32 {
                q[i] = l[2 * c][i] | (l[2 * c + 1][i] << 4);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_packing_round_trips() {
        let ls = [0, 1, 17, 63, 5, 33, 62, 48];
        let lm = [63, 2, 0, 31, 16, 47, 1, 60];
        let packed = pack_scales_mins_k4(&ls, &lm);
        assert_eq!(scales_mins_k4(&packed), (ls, lm));
    }

    #[test]
    fn known_block() {
        // d = 1, dmin = 0.5; group 0: scale 2, min 1; group 5 (chunk 2, high nibbles): scale 33, min 4.
        let ls = [2, 0, 0, 0, 0, 33, 0, 0];
        let lm = [1, 0, 0, 0, 0, 4, 0, 0];
        let mut b = BlockQ4K {
            d: 0x3c00u16.to_le_bytes(),
            dmin: 0x3800u16.to_le_bytes(),
            scales: pack_scales_mins_k4(&ls, &lm),
            qs: [0; 128],
        };
        b.qs[0] = 0x07; // element 0: 7
        b.qs[64 + 3] = 0xF0; // element 128 + 32 + 3: 15
        let mut y = [0f32; QK_K];
        dequantize(&[b], &mut y);
        assert_eq!((y[0], y[1]), (2.0 * 7.0 - 0.5, -0.5));
        assert_eq!((y[163], y[162]), (33.0 * 15.0 - 2.0, -2.0));
    }

    #[test]
    fn quantize_is_close() {
        let x: [f32; QK_K] = std::array::from_fn(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0);
        let mut b = [BlockQ4K {
            d: [0; 2],
            dmin: [0; 2],
            scales: [0; 12],
            qs: [0; 128],
        }];
        quantize(&x, &mut b);
        let mut y = [0f32; QK_K];
        dequantize(&b, &mut y);
        let err = x
            .iter()
            .zip(&y)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(err < 0.2, "max error {err}");
    }
}
