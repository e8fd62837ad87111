//! Q5_1: 32 weights as unsigned 5-bit quants with an f16 scale and minimum (`x = d * q + m`).
//! Bit layout as Q5_0.

use super::q8_1::BlockQ8_1;
use super::{LANES, RawBlock, dot_lanes, f16_to_f32, f32_to_f16, fma_lanes};
use crate::GgmlType;

/// Elements per block.
pub const QK5_1: usize = 32;

/// One Q5_1 block as stored (24 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockQ5_1 {
    /// Scale, f16 little-endian.
    pub d: [u8; 2],
    /// Minimum, f16 little-endian.
    pub m: [u8; 2],
    /// Fifth bits, a little-endian u32.
    pub qh: [u8; 4],
    /// Low nibbles.
    pub qs: [u8; QK5_1 / 2],
}

// SAFETY: repr(C), byte arrays only, 24 bytes.
unsafe impl RawBlock for BlockQ5_1 {
    const TYPE: GgmlType = GgmlType::Q5_1;
}

impl BlockQ5_1 {
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

    /// The 32 quants, unpacked to `0..32`.
    #[inline(always)]
    pub(crate) fn quants(&self) -> [i8; QK5_1] {
        let qh = u32::from_le_bytes(self.qh);
        let mut q = [0i8; QK5_1];
        for j in 0..QK5_1 / 2 {
            let h0 = (((qh >> j) << 4) & 0x10) as u8;
            let h1 = ((qh >> (j + 12)) & 0x10) as u8;
            q[j] = ((self.qs[j] & 0x0F) | h0) as i8;
            q[j + QK5_1 / 2] = ((self.qs[j] >> 4) | h1) as i8;
        }
        q
    }
}

/// `dequantize_row_q5_1`.
pub(crate) fn dequantize(src: &[BlockQ5_1], dst: &mut [f32]) {
    for (b, y) in src.iter().zip(dst.as_chunks_mut::<QK5_1>().0) {
        let (d, m) = (b.d(), b.m());
        let q = b.quants();
        for j in 0..QK5_1 {
            y[j] = q[j] as f32 * d + m;
        }
    }
}

/// `quantize_row_q5_1_ref`: the block's range split into 31 steps from its minimum.
pub(crate) fn quantize(src: &[f32], dst: &mut [BlockQ5_1]) {
    for (x, y) in src.as_chunks::<QK5_1>().0.iter().zip(dst) {
        let (mut min, mut max) = (f32::MAX, -f32::MAX);
        for &v in x {
            if v < min {
                min = v;
            }
            if v > max {
                max = v;
            }
        }
        let d = (max - min) / 31.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        y.d = f32_to_f16(d);
        y.m = f32_to_f16(min);
        let mut qh = 0u32;
        for j in 0..QK5_1 / 2 {
            // ggml converts straight to uint8_t here (no clamp).
            let q0 = ((x[j] - min) * id + 0.5) as u8;
            let q1 = ((x[j + QK5_1 / 2] - min) * id + 0.5) as u8;
            y.qs[j] = (q0 & 0x0F) | ((q1 & 0x0F) << 4);
            qh |= ((q0 as u32 & 0x10) >> 4) << j;
            qh |= ((q1 as u32 & 0x10) >> 4) << (j + QK5_1 / 2);
        }
        y.qh = qh.to_le_bytes();
    }
}

/// `ggml_vec_dot_q5_1_q8_1`.
pub(crate) fn vec_dot(w: &[BlockQ5_1], x: &[BlockQ8_1]) -> f32 {
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
        // d = 0.5, m = 1: element 16 = (15 | 16) * 0.5 + 1; element 0 = 0 * 0.5 + 1.
        let mut b = BlockQ5_1 {
            d: 0x3800u16.to_le_bytes(),
            m: 0x3c00u16.to_le_bytes(),
            qh: (1u32 << 16).to_le_bytes(),
            qs: [0; 16],
        };
        b.qs[0] = 0xF0;
        let mut y = [0f32; 32];
        dequantize(&[b], &mut y);
        assert_eq!((y[0], y[16], y[17]), (1.0, 16.5, 1.0));
    }

    #[test]
    fn quantize_round_trips_small_integers() {
        let x: [f32; 32] = std::array::from_fn(|i| i as f32 - 3.0); // min -3, max 28: d = 1
        let mut b = [BlockQ5_1 {
            d: [0; 2],
            m: [0; 2],
            qh: [0; 4],
            qs: [0; 16],
        }];
        quantize(&x, &mut b);
        let mut y = [0f32; 32];
        dequantize(&b, &mut y);
        assert_eq!(y, x);
    }
}
