//! Q8_0: 32 signed 8-bit quants times one f16 scale (`x = d * q`). Weights and the activation
//! format of Q4_0/Q5_0/Q8_0 dot products.

use super::{LANES, RawBlock, dot_lanes, f16_to_f32, f32_to_f16, fma_lanes};
use crate::GgmlType;

/// Elements per block.
pub const QK8_0: usize = 32;

/// One Q8_0 block as stored (34 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockQ8_0 {
    /// Scale, f16 little-endian.
    pub d: [u8; 2],
    /// Quants, in element order.
    pub qs: [i8; QK8_0],
}

// SAFETY: repr(C), byte arrays only, 34 bytes.
unsafe impl RawBlock for BlockQ8_0 {
    const TYPE: GgmlType = GgmlType::Q8_0;
}

impl BlockQ8_0 {
    /// The block scale.
    #[inline(always)]
    pub fn d(&self) -> f32 {
        f16_to_f32(self.d)
    }
}

/// `dequantize_row_q8_0`.
pub(crate) fn dequantize(src: &[BlockQ8_0], dst: &mut [f32]) {
    for (b, y) in src.iter().zip(dst.as_chunks_mut::<QK8_0>().0) {
        let d = b.d();
        for j in 0..QK8_0 {
            y[j] = b.qs[j] as f32 * d;
        }
    }
}

/// `quantize_row_q8_0_ref`: scale by the absolute maximum, round half away from zero.
pub(crate) fn quantize(src: &[f32], dst: &mut [BlockQ8_0]) {
    for (x, y) in src.as_chunks::<QK8_0>().0.iter().zip(dst) {
        let amax = x
            .iter()
            .fold(0f32, |m, v| if m > v.abs() { m } else { v.abs() });
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        y.d = f32_to_f16(d);
        for j in 0..QK8_0 {
            // `f32::round` is C's `roundf` (ties away from zero).
            y.qs[j] = (x[j] * id).round() as i8;
        }
    }
}

/// Activation quantization as ggml-cpu's `quantize_row_q8_0` does it on x86
/// (what llama.cpp actually feeds its dot products): scale by `127 / amax`,
/// round half to even. The reference quantizer above divides by `d` and
/// rounds half away from zero, which differs in the last step now and then.
pub(crate) fn quantize_activation(src: &[f32], dst: &mut [BlockQ8_0]) {
    for (x, y) in src.as_chunks::<QK8_0>().0.iter().zip(dst) {
        let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
        y.d = f32_to_f16(amax / 127.0);
        let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
        for j in 0..QK8_0 {
            y.qs[j] = (x[j] * id).round_ties_even() as i8;
        }
    }
}

/// `ggml_vec_dot_q8_0_q8_0`.
pub(crate) fn vec_dot(w: &[BlockQ8_0], x: &[BlockQ8_0]) -> f32 {
    let mut acc = [0f32; LANES];
    for (bw, bx) in w.iter().zip(x) {
        fma_lanes(&mut acc, &dot_lanes(&bw.qs, &bx.qs), bw.d() * bx.d());
    }
    acc.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_block() {
        let mut b = BlockQ8_0 {
            d: 0x3800u16.to_le_bytes(),
            qs: [0; 32],
        }; // d = 0.5
        b.qs[0] = 1;
        b.qs[5] = -128;
        b.qs[31] = 127;
        let mut y = [0f32; 32];
        dequantize(&[b], &mut y);
        assert_eq!((y[0], y[1], y[5], y[31]), (0.5, 0.0, -64.0, 63.5));
    }

    #[test]
    fn quantize_known_row() {
        let mut x = [0f32; 32];
        x[0] = -2.54;
        x[1] = 1.3;
        x[2] = 0.011;
        let mut b = [BlockQ8_0 {
            d: [0; 2],
            qs: [0; 32],
        }];
        quantize(&x, &mut b);
        assert_eq!(b[0].d(), half::f16::from_f32(2.54f32 / 127.0).to_f32());
        assert_eq!(&b[0].qs[..4], &[-127, 65, 1, 0]);
        assert_eq!(
            vec_dot(&b, &b),
            (127 * 127 + 65 * 65 + 1) as f32 * (b[0].d() * b[0].d())
        );
    }
}
