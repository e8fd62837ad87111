//! Q4_1: 32 weights as unsigned 4-bit quants with an f16 scale and an f16 minimum
//! (`x = d * q + m`). Nibble layout as Q4_0.

use super::q8_1::BlockQ8_1;
use super::{LANES, RawBlock, dot_lanes, f16_to_f32, f32_to_f16, fma_lanes};
use crate::GgmlType;

/// Elements per block.
pub const QK4_1: usize = 32;

/// One Q4_1 block as stored (20 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockQ4_1 {
    /// Scale, f16 little-endian.
    pub d: [u8; 2],
    /// Minimum, f16 little-endian.
    pub m: [u8; 2],
    /// Nibble quants.
    pub qs: [u8; QK4_1 / 2],
}

// SAFETY: repr(C), byte arrays only, 20 bytes.
unsafe impl RawBlock for BlockQ4_1 {
    const TYPE: GgmlType = GgmlType::Q4_1;
}

impl BlockQ4_1 {
    /// The block scale.
    #[inline(always)]
    pub fn d(&self) -> f32 {
        f16_to_f32(self.d)
    }

    /// The block minimum.
    #[inline(always)]
    pub fn m(&self) -> f32 {
        f16_to_f32(self.m)
    }

    /// The 32 quants, unpacked to `0..16`.
    #[inline(always)]
    pub(crate) fn quants(&self) -> [i8; QK4_1] {
        std::array::from_fn(|i| {
            let q = self.qs[i % 16];
            (if i < 16 { q & 0x0F } else { q >> 4 }) as i8
        })
    }
}

/// `dequantize_row_q4_1`.
pub(crate) fn dequantize(src: &[BlockQ4_1], dst: &mut [f32]) {
    for (b, y) in src.iter().zip(dst.as_chunks_mut::<QK4_1>().0) {
        let (d, m) = (b.d(), b.m());
        for j in 0..QK4_1 / 2 {
            y[j] = (b.qs[j] & 0x0F) as f32 * d + m;
            y[j + QK4_1 / 2] = (b.qs[j] >> 4) as f32 * d + m;
        }
    }
}

/// `quantize_row_q4_1_ref`: the block's range split into 15 steps from its minimum.
pub(crate) fn quantize(src: &[f32], dst: &mut [BlockQ4_1]) {
    for (x, y) in src.as_chunks::<QK4_1>().0.iter().zip(dst) {
        let (mut min, mut max) = (f32::MAX, -f32::MAX);
        for &v in x {
            if v < min {
                min = v;
            }
            if v > max {
                max = v;
            }
        }
        let d = (max - min) / 15.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        y.d = f32_to_f16(d);
        y.m = f32_to_f16(min);
        for j in 0..QK4_1 / 2 {
            let q0 = (((x[j] - min) * id + 0.5) as i8).min(15) as u8;
            let q1 = (((x[j + QK4_1 / 2] - min) * id + 0.5) as i8).min(15) as u8;
            y.qs[j] = q0 | (q1 << 4);
        }
    }
}

/// `ggml_vec_dot_q4_1_q8_1`: `Σ d·q·dx·qx + m·(dx·Σqx)`, the second term read from `s`.
pub(crate) fn vec_dot(w: &[BlockQ4_1], x: &[BlockQ8_1]) -> f32 {
    let mut acc = [0f32; LANES];
    let mut summ = 0f32;
    for (bw, bx) in w.iter().zip(x) {
        fma_lanes(&mut acc, &dot_lanes(&bw.quants(), &bx.qs), bw.d() * bx.d());
        summ += bw.m() * bx.s();
    }
    acc.iter().sum::<f32>() + summ
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_block() {
        // d = 0.5, m = -1.0: element 0 = 3 * 0.5 - 1, element 16 = 15 * 0.5 - 1.
        let mut b = BlockQ4_1 {
            d: 0x3800u16.to_le_bytes(),
            m: 0xbc00u16.to_le_bytes(),
            qs: [0; 16],
        };
        b.qs[0] = 0xF3;
        let mut y = [0f32; 32];
        dequantize(&[b], &mut y);
        assert_eq!((y[0], y[16], y[1]), (0.5, 6.5, -1.0));
    }

    #[test]
    fn quantize_known_row() {
        let x: [f32; 32] = std::array::from_fn(|i| (i % 16) as f32 - 1.0); // min -1, max 14, d = 1
        let mut b = [BlockQ4_1 {
            d: [0; 2],
            m: [0; 2],
            qs: [0; 16],
        }];
        quantize(&x, &mut b);
        assert_eq!((b[0].d(), b[0].m()), (1.0, -1.0));
        assert_eq!((b[0].qs[0], b[0].qs[15]), (0x00, 0xFF));
    }
}
