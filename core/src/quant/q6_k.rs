//! Q6_K: 256 weights in 16 groups of 16; signed 6-bit quants (`q - 32`) with a signed 8-bit
//! scale per group, scaled by the f16 `d` (`x = d·sc·(q - 32)`).
//!
//! Each 128-element half uses 64 `ql` bytes and 32 `qh` bytes: for `l` in `0..32`, elements
//! `l`, `l + 32`, `l + 64`, `l + 96` take low nibbles of `ql[l]`, `ql[l + 32]`, then high
//! nibbles of `ql[l]`, `ql[l + 32]`, and their top 2 bits from bit pairs 0..4 of `qh[l]`.

use super::q8_k::BlockQ8K;
use super::{QK_K, RawBlock, f16_to_f32, f32_to_f16, nearest_int};
use crate::GgmlType;

/// One Q6_K block as stored (210 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockQ6K {
    /// Low 4 bits of the quants.
    pub ql: [u8; QK_K / 2],
    /// High 2 bits of the quants.
    pub qh: [u8; QK_K / 4],
    /// Group scales.
    pub scales: [i8; QK_K / 16],
    /// Super-block scale, f16 little-endian.
    pub d: [u8; 2],
}

// SAFETY: repr(C), byte arrays only, 210 bytes.
unsafe impl RawBlock for BlockQ6K {
    const TYPE: GgmlType = GgmlType::Q6_K;
}

impl BlockQ6K {
    /// The 128 quants (in `-32..32`) of half `h`, in element order.
    #[inline(always)]
    fn half_quants(&self, h: usize) -> [i8; 128] {
        let ql = &self.ql[64 * h..][..64];
        let qh = &self.qh[32 * h..][..32];
        let mut a = [0i8; 128];
        for l in 0..32 {
            a[l] = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) as i8 - 32;
            a[l + 32] = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) as i8 - 32;
            a[l + 64] = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i8 - 32;
            a[l + 96] = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i8 - 32;
        }
        a
    }
}

/// `dequantize_row_q6_K`.
pub(crate) fn dequantize(src: &[BlockQ6K], dst: &mut [f32]) {
    for (b, y) in src.iter().zip(dst.as_chunks_mut::<QK_K>().0) {
        let d = f16_to_f32(b.d);
        for (h, y) in y.as_chunks_mut::<128>().0.iter_mut().enumerate() {
            let a = b.half_quants(h);
            for (g, (y, a)) in y
                .as_chunks_mut::<16>()
                .0
                .iter_mut()
                .zip(a.as_chunks::<16>().0)
                .enumerate()
            {
                let sc = b.scales[8 * h + g] as f32;
                for l in 0..16 {
                    // `d * sc * q`, associated left to right as in ggml.
                    y[l] = d * sc * a[l] as f32;
                }
            }
        }
    }
}

/// `ggml_vec_dot_q6_K_q8_K`.
pub(crate) fn vec_dot(w: &[BlockQ6K], x: &[BlockQ8K]) -> f32 {
    let mut sumf = 0f32;
    for (bw, bx) in w.iter().zip(x) {
        let mut isum = 0i32;
        for (h, q8) in bx.qs.as_chunks::<128>().0.iter().enumerate() {
            let a = bw.half_quants(h);
            for (g, (a, q8)) in a
                .as_chunks::<16>()
                .0
                .iter()
                .zip(q8.as_chunks::<16>().0)
                .enumerate()
            {
                let mut s = 0i32;
                for l in 0..16 {
                    s += a[l] as i32 * q8[l] as i32;
                }
                isum += bw.scales[8 * h + g] as i32 * s;
            }
        }
        sumf += f16_to_f32(bw.d) * bx.d() * isum as f32;
    }
    sumf
}

/// Smallest group maximum treated as non-zero (ggml's `GROUP_MAX_EPS`).
const GROUP_MAX_EPS: f32 = 1e-15;

/// ggml's `make_qx_quants` with `rmse_type = 1` and no importance weights: fits `x ≈ scale·L`
/// with `L` in `-nmax..nmax`, trying 18 scales around `nmax / max` and keeping the best
/// `x²`-weighted fit. `l` receives `L + nmax`.
fn make_qx_quants<const N: usize>(nmax: i32, x: &[f32; N], l: &mut [i8; N]) -> f32 {
    let (mut max, mut amax) = (0f32, 0f32);
    for &v in x {
        if v.abs() > amax {
            amax = v.abs();
            max = v;
        }
    }
    if amax < GROUP_MAX_EPS {
        *l = [0; N];
        return 0.0;
    }
    let quant = |iscale: f32, v: f32| nearest_int(iscale * v).clamp(-nmax, nmax - 1);
    let fit = |iscale: f32| {
        let (mut sumlx, mut suml2) = (0f32, 0f32);
        for &v in x {
            let q = quant(iscale, v) as f32;
            let w = v * v;
            sumlx += w * v * q;
            suml2 += w * q * q;
        }
        (sumlx, suml2)
    };
    let iscale = -(nmax as f32) / max;
    for i in 0..N {
        l[i] = (quant(iscale, x[i]) + nmax) as i8;
    }
    let (sumlx, suml2) = fit(iscale);
    let mut scale = if suml2 != 0.0 { sumlx / suml2 } else { 0.0 };
    let mut best = scale * sumlx;
    for is in -9i32..=9 {
        if is == 0 {
            continue;
        }
        let iscale = -(nmax as f32 + 0.1 * is as f32) / max;
        let (sumlx, suml2) = fit(iscale);
        if suml2 > 0.0 && sumlx * sumlx > best * suml2 {
            for i in 0..N {
                l[i] = (quant(iscale, x[i]) + nmax) as i8;
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    scale
}

/// `quantize_row_q6_K_ref`.
pub(crate) fn quantize(src: &[f32], dst: &mut [BlockQ6K]) {
    for (x, y) in src.as_chunks::<QK_K>().0.iter().zip(dst) {
        let mut l = [[0i8; 16]; 16];
        let mut scales = [0f32; 16];
        let (mut max_scale, mut max_abs_scale) = (0f32, 0f32);
        for (ib, xs) in x.as_chunks::<16>().0.iter().enumerate() {
            scales[ib] = make_qx_quants(32, xs, &mut l[ib]);
            if scales[ib].abs() > max_abs_scale {
                max_abs_scale = scales[ib].abs();
                max_scale = scales[ib];
            }
        }
        if max_abs_scale < GROUP_MAX_EPS {
            *y = BlockQ6K {
                ql: [0; 128],
                qh: [0; 64],
                scales: [0; 16],
                d: f32_to_f16(0.0),
            };
            continue;
        }
        let iscale = -128.0 / max_scale;
        y.d = f32_to_f16(1.0 / iscale);
        for ib in 0..16 {
            y.scales[ib] = nearest_int(iscale * scales[ib]).min(127) as i8;
        }
        for (j, xs) in x.as_chunks::<16>().0.iter().enumerate() {
            let d = f16_to_f32(y.d) * y.scales[j] as f32;
            if d == 0.0 {
                continue;
            }
            for i in 0..16 {
                l[j][i] = (nearest_int(xs[i] / d).clamp(-32, 31) + 32) as i8;
            }
        }
        let lf = l.as_flattened();
        for h in 0..2 {
            let lh = &lf[128 * h..][..128];
            let ql = &mut y.ql[64 * h..][..64];
            for i in 0..32 {
                ql[i] = (lh[i] as u8 & 0xF) | ((lh[i + 64] as u8 & 0xF) << 4);
                ql[i + 32] = (lh[i + 32] as u8 & 0xF) | ((lh[i + 96] as u8 & 0xF) << 4);
            }
            let qh = &mut y.qh[32 * h..][..32];
            for i in 0..32 {
                qh[i] = (lh[i] as u8 >> 4)
                    | ((lh[i + 32] as u8 >> 4) << 2)
                    | ((lh[i + 64] as u8 >> 4) << 4)
                    | ((lh[i + 96] as u8 >> 4) << 6);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_block() {
        let mut b = BlockQ6K {
            ql: [0; 128],
            qh: [0; 64],
            scales: [0; 16],
            d: 0x3800u16.to_le_bytes(),
        }; // d = 0.5
        b.scales[0] = 2;
        b.scales[6] = -4; // group 6: elements 96..112 (high nibbles of ql[32..48], qh bits 6..8)
        b.scales[8] = 1; // group 8: elements 128..144
        b.ql[0] = 0x0F;
        b.qh[0] = 0b11; // element 0: 15 | 48 = 63 -> 31
        b.ql[32] = 0x50;
        b.qh[0] |= 0b10 << 6; // element 96: 5 | 32 = 37 -> 5
        b.ql[64] = 0x01; // element 128: 1 -> -31
        let mut y = [0f32; QK_K];
        dequantize(&[b], &mut y);
        assert_eq!((y[0], y[1]), (0.5 * 2.0 * 31.0, 0.5 * 2.0 * -32.0));
        assert_eq!(y[96], 0.5 * -4.0 * 5.0);
        assert_eq!(y[128], 0.5 * -31.0);
    }

    #[test]
    fn quantize_is_close() {
        let x: [f32; QK_K] = std::array::from_fn(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0);
        let mut b = [BlockQ6K {
            ql: [0; 128],
            qh: [0; 64],
            scales: [0; 16],
            d: [0; 2],
        }];
        quantize(&x, &mut b);
        let mut y = [0f32; QK_K];
        dequantize(&b, &mut y);
        let err = x
            .iter()
            .zip(&y)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(err < 0.05, "max error {err}");
    }
}
