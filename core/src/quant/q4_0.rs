//! Q4_0: 32 weights as 4-bit quants around 8 times one f16 scale (`x = d * (q - 8)`).
//! Byte `j` holds element `j` in its low nibble and element `j + 16` in its high nibble.

use super::q8_0::BlockQ8_0;
use super::{LANES, RawBlock, dot_lanes, f16_to_f32, f32_to_f16, fma_lanes};
use crate::GgmlType;

/// Elements per block.
pub const QK4_0: usize = 32;

/// One Q4_0 block as stored (18 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockQ4_0 {
    /// Scale, f16 little-endian.
    pub d: [u8; 2],
    /// Nibble quants.
    pub qs: [u8; QK4_0 / 2],
}

// SAFETY: repr(C), byte arrays only, 18 bytes.
unsafe impl RawBlock for BlockQ4_0 {
    const TYPE: GgmlType = GgmlType::Q4_0;
}

impl BlockQ4_0 {
    /// The block scale.
    #[inline(always)]
    pub fn d(&self) -> f32 {
        f16_to_f32(self.d)
    }

    /// The 32 quants, unpacked to `-8..8`.
    #[inline(always)]
    pub(crate) fn quants(&self) -> [i8; QK4_0] {
        std::array::from_fn(|i| {
            let q = self.qs[i % 16];
            (if i < 16 { q & 0x0F } else { q >> 4 }) as i8 - 8
        })
    }
}

/// `dequantize_row_q4_0`.
pub(crate) fn dequantize(src: &[BlockQ4_0], dst: &mut [f32]) {
    for (b, y) in src.iter().zip(dst.as_chunks_mut::<QK4_0>().0) {
        let d = b.d();
        for j in 0..QK4_0 / 2 {
            y[j] = ((b.qs[j] & 0x0F) as i32 - 8) as f32 * d;
            y[j + QK4_0 / 2] = ((b.qs[j] >> 4) as i32 - 8) as f32 * d;
        }
    }
}

/// `quantize_row_q4_0_ref`: the value of largest magnitude maps to -8.
pub(crate) fn quantize(src: &[f32], dst: &mut [BlockQ4_0]) {
    for (x, y) in src.as_chunks::<QK4_0>().0.iter().zip(dst) {
        let (mut amax, mut max) = (0f32, 0f32);
        for &v in x {
            if amax < v.abs() {
                amax = v.abs();
                max = v;
            }
        }
        let d = max / -8.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        y.d = f32_to_f16(d);
        for j in 0..QK4_0 / 2 {
            // C's `(int8_t)(v + 8.5f)` truncates toward zero, as `as i8` does.
            let q0 = ((x[j] * id + 8.5) as i8).min(15) as u8;
            let q1 = ((x[j + QK4_0 / 2] * id + 8.5) as i8).min(15) as u8;
            y.qs[j] = q0 | (q1 << 4);
        }
    }
}

/// `ggml_vec_dot_q4_0_q8_0`.
pub(crate) fn vec_dot(w: &[BlockQ4_0], x: &[BlockQ8_0]) -> f32 {
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
        // d = 2.0; byte 0 = 0xF0: element 0 = (0 - 8) * 2, element 16 = (15 - 8) * 2.
        let mut b = BlockQ4_0 {
            d: 0x4000u16.to_le_bytes(),
            qs: [0x88; 16],
        };
        b.qs[0] = 0xF0;
        let mut y = [0f32; 32];
        dequantize(&[b], &mut y);
        assert_eq!((y[0], y[16], y[1], y[17]), (-16.0, 14.0, 0.0, 0.0));
    }

    #[test]
    fn quantize_known_row() {
        let mut x = [0f32; 32];
        x[0] = -4.0; // the extreme: d = -4 / -8 = 0.5, q = -8 + 8 = 0
        x[1] = 4.0; // q = 4 / 0.5 + 8 = 16, clamped to 15
        x[16] = 1.0;
        let mut b = [BlockQ4_0 {
            d: [0; 2],
            qs: [0; 16],
        }];
        quantize(&x, &mut b);
        assert_eq!(b[0].d(), 0.5);
        assert_eq!((b[0].qs[0], b[0].qs[1]), (0xA0, 0x8F));
    }
}
