//! Q8_K: the activation format of the K-quant dot products. 256 signed 8-bit quants with an
//! f32 scale and the sums of each group of 16 quants (`bsums`), which let the K-quant kernels
//! apply their per-group minimums without touching the quants again.

use super::{QK_K, RawBlock, nearest_int};
use crate::GgmlType;

/// One Q8_K block (292 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockQ8K {
    /// Scale, f32 little-endian.
    pub d: [u8; 4],
    /// Quants, in element order.
    pub qs: [i8; QK_K],
    /// Sum of each group of 16 quants, 16 little-endian i16.
    pub bsums: [u8; QK_K / 16 * 2],
}

// SAFETY: repr(C), byte arrays only, 292 bytes.
unsafe impl RawBlock for BlockQ8K {
    const TYPE: GgmlType = GgmlType::Q8_K;
}

impl BlockQ8K {
    /// The block scale.
    #[inline(always)]
    pub fn d(&self) -> f32 {
        f32::from_le_bytes(self.d)
    }

    /// The 16 group sums.
    #[inline(always)]
    pub fn bsums(&self) -> [i16; QK_K / 16] {
        std::array::from_fn(|j| i16::from_le_bytes([self.bsums[2 * j], self.bsums[2 * j + 1]]))
    }
}

/// `dequantize_row_q8_K`.
pub(crate) fn dequantize(src: &[BlockQ8K], dst: &mut [f32]) {
    for (b, y) in src.iter().zip(dst.as_chunks_mut::<QK_K>().0) {
        let d = b.d();
        for j in 0..QK_K {
            y[j] = d * b.qs[j] as f32;
        }
    }
}

/// `quantize_row_q8_K_ref` (also ggml-cpu's x86 `quantize_row_q8_K`): the value of largest
/// magnitude maps to -127, rounding ties to even.
pub(crate) fn quantize(src: &[f32], dst: &mut [BlockQ8K]) {
    for (x, y) in src.as_chunks::<QK_K>().0.iter().zip(dst) {
        let (mut amax, mut max) = (0f32, 0f32);
        for &v in x {
            if v.abs() > amax {
                amax = v.abs();
                max = v;
            }
        }
        if amax == 0.0 {
            // ggml leaves bsums untouched here; zero them so the block is fully defined.
            *y = BlockQ8K {
                d: [0; 4],
                qs: [0; QK_K],
                bsums: [0; QK_K / 16 * 2],
            };
            continue;
        }
        let iscale = -127.0 / max;
        for j in 0..QK_K {
            y.qs[j] = nearest_int(iscale * x[j]).min(127) as i8;
        }
        for (g, qs) in y.qs.as_chunks::<16>().0.iter().enumerate() {
            let sum: i32 = qs.iter().map(|&q| q as i32).sum();
            y.bsums[2 * g..2 * g + 2].copy_from_slice(&(sum as i16).to_le_bytes());
        }
        y.d = (1.0 / iscale).to_le_bytes();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantize_known_row() {
        let mut x = [0f32; QK_K];
        x[0] = 1.0;
        x[1] = -2.54; // largest magnitude: iscale = -127 / -2.54 = 50
        x[17] = 0.01;
        x[18] = 0.03;
        let mut b = [BlockQ8K {
            d: [0; 4],
            qs: [0; QK_K],
            bsums: [0; 32],
        }];
        quantize(&x, &mut b);
        let iscale = -127f32 / -2.54;
        assert_eq!(b[0].d(), 1.0 / iscale);
        assert_eq!(&b[0].qs[..2], &[50, -127]);
        assert_eq!(b[0].qs[17], nearest_int(iscale * 0.01) as i8);
        assert_eq!(b[0].bsums()[0], 50 - 127);
        assert_eq!(b[0].bsums()[1], (b[0].qs[17] + b[0].qs[18]) as i16);
        let mut y = [0f32; QK_K];
        dequantize(&b, &mut y);
        assert_eq!(y[1], -127.0 * b[0].d());
    }
}
