//! Q5_0: 32 weights as 5-bit quants around 16 times one f16 scale (`x = d * (q - 16)`).
//! Low nibbles as Q4_0; bit `j` of the little-endian `qh` is element `j`'s fifth bit.

use super::q8_0::BlockQ8_0;
use super::{LANES, RawBlock, dot_lanes, f16_to_f32, f32_to_f16, fma_lanes};
use crate::GgmlType;

/// Elements per block.
pub const QK5_0: usize = 32;

/// One Q5_0 block as stored (22 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockQ5_0 {
    /// Scale, f16 little-endian.
    pub d: [u8; 2],
    /// Fifth bits, a little-endian u32.
    pub qh: [u8; 4],
    /// Low nibbles.
    pub qs: [u8; QK5_0 / 2],
}

// SAFETY: repr(C), byte arrays only, 22 bytes.
unsafe impl RawBlock for BlockQ5_0 {
    const TYPE: GgmlType = GgmlType::Q5_0;
}

impl BlockQ5_0 {
    /// The block scale.
    #[inline(always)]
    pub fn d(&self) -> f32 {
        f16_to_f32(self.d)
    }

    /// The 32 quants, unpacked to `-16..16`.
    #[inline(always)]
    pub(crate) fn quants(&self) -> [i8; QK5_0] {
        let qh = u32::from_le_bytes(self.qh);
        let mut q = [0i8; QK5_0];
        for j in 0..QK5_0 / 2 {
            let h0 = ((qh >> j) << 4) & 0x10;
            let h1 = (qh >> (j + 12)) & 0x10;
            q[j] = (((self.qs[j] & 0x0F) as u32 | h0) as i32 - 16) as i8;
            q[j + QK5_0 / 2] = (((self.qs[j] >> 4) as u32 | h1) as i32 - 16) as i8;
        }
        q
    }
}

/// `dequantize_row_q5_0`.
pub(crate) fn dequantize(src: &[BlockQ5_0], dst: &mut [f32]) {
    for (b, y) in src.iter().zip(dst.as_chunks_mut::<QK5_0>().0) {
        let d = b.d();
        let q = b.quants();
        for j in 0..QK5_0 {
            y[j] = q[j] as f32 * d;
        }
    }
}

/// `quantize_row_q5_0_ref`: the value of largest magnitude maps to -16.
pub(crate) fn quantize(src: &[f32], dst: &mut [BlockQ5_0]) {
    for (x, y) in src.as_chunks::<QK5_0>().0.iter().zip(dst) {
        let (mut amax, mut max) = (0f32, 0f32);
        for &v in x {
            if amax < v.abs() {
                amax = v.abs();
                max = v;
            }
        }
        let d = max / -16.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        y.d = f32_to_f16(d);
        let mut qh = 0u32;
        for j in 0..QK5_0 / 2 {
            let q0 = ((x[j] * id + 16.5) as i8).min(31) as u8;
            let q1 = ((x[j + QK5_0 / 2] * id + 16.5) as i8).min(31) as u8;
            y.qs[j] = (q0 & 0x0F) | ((q1 & 0x0F) << 4);
            qh |= ((q0 as u32 & 0x10) >> 4) << j;
            qh |= ((q1 as u32 & 0x10) >> 4) << (j + QK5_0 / 2);
        }
        y.qh = qh.to_le_bytes();
    }
}

/// `ggml_vec_dot_q5_0_q8_0`.
pub(crate) fn vec_dot(w: &[BlockQ5_0], x: &[BlockQ8_0]) -> f32 {
    let mut acc = [0f32; LANES];
    for (bw, bx) in w.iter().zip(x) {
        fma_lanes(&mut acc, &dot_lanes(&bw.quants(), &bx.qs), bw.d() * bx.d());
    }
    acc.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_block() {
        // d = 1; element 0: nibble 0, high bit 0 -> -16; element 16: nibble 15, high bit 1 -> 15;
        // element 1: nibble 0, high bit 1 -> 0.
        let mut b = BlockQ5_0 {
            d: 0x3c00u16.to_le_bytes(),
            qh: (1u32 << 16 | 1 << 1).to_le_bytes(),
            qs: [0; 16],
        };
        b.qs[0] = 0xF0;
        let mut y = [0f32; 32];
        dequantize(&[b], &mut y);
        assert_eq!((y[0], y[16], y[1], y[17]), (-16.0, 15.0, 0.0, -16.0));
    }

    #[test]
    fn quantize_round_trips_small_integers() {
        let x: [f32; 32] = std::array::from_fn(|i| i as f32 - 16.0); // max magnitude -16: d = 1
        let mut b = [BlockQ5_0 {
            d: [0; 2],
            qh: [0; 4],
            qs: [0; 16],
        }];
        quantize(&x, &mut b);
        let mut y = [0f32; 32];
        dequantize(&b, &mut y);
        assert_eq!(y, x);
    }
}
