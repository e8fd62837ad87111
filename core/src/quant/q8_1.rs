//! Q8_1: Q8_0 plus the precomputed `s = d * Σq` (both f16), the activation format of the
//! Q4_1/Q5_1 dot products (whose min terms then cost one multiply per block).

use super::{RawBlock, f16_to_f32, f32_to_f16};
use crate::GgmlType;

/// Elements per block.
pub const QK8_1: usize = 32;

/// One Q8_1 block as stored (36 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockQ8_1 {
    /// Scale, f16 little-endian.
    pub d: [u8; 2],
    /// `d * sum(qs)`, f16 little-endian.
    pub s: [u8; 2],
    /// Quants, in element order.
    pub qs: [i8; QK8_1],
}

// SAFETY: repr(C), byte arrays only, 36 bytes.
unsafe impl RawBlock for BlockQ8_1 {
    const TYPE: GgmlType = GgmlType::Q8_1;
}

impl BlockQ8_1 {
    /// The block scale.
    #[inline(always)]
    pub fn d(&self) -> f32 {
        f16_to_f32(self.d)
    }

    /// `d * Σq`, as stored.
    #[inline(always)]
    pub fn s(&self) -> f32 {
        f16_to_f32(self.s)
    }
}

/// `x = d * q` (ggml has no Q8_1 `to_float`; this is the obvious inverse of the quantizer).
pub(crate) fn dequantize(src: &[BlockQ8_1], dst: &mut [f32]) {
    for (b, y) in src.iter().zip(dst.as_chunks_mut::<QK8_1>().0) {
        let d = b.d();
        for j in 0..QK8_1 {
            y[j] = b.qs[j] as f32 * d;
        }
    }
}

/// `quantize_row_q8_1_ref`.
pub(crate) fn quantize(src: &[f32], dst: &mut [BlockQ8_1]) {
    for (x, y) in src.as_chunks::<QK8_1>().0.iter().zip(dst) {
        let amax = x
            .iter()
            .fold(0f32, |m, v| if m > v.abs() { m } else { v.abs() });
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        y.d = f32_to_f16(d);
        let mut sum = 0i32;
        for j in 0..QK8_1 {
            let q = (x[j] * id).round() as i8;
            y.qs[j] = q;
            sum += q as i32;
        }
        y.s = f32_to_f16(sum as f32 * d);
    }
}

/// Activation quantization as ggml-cpu's x86 `quantize_row_q8_1`: scale by
/// `127 / amax`, round half to even, `s = d * Σq` (see `q8_0::quantize_activation`).
pub(crate) fn quantize_activation(src: &[f32], dst: &mut [BlockQ8_1]) {
    for (x, y) in src.as_chunks::<QK8_1>().0.iter().zip(dst) {
        let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        y.d = f32_to_f16(d);
        let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
        let mut sum = 0i32;
        for j in 0..QK8_1 {
            let q = (x[j] * id).round_ties_even() as i8;
            y.qs[j] = q;
            sum += i32::from(q);
        }
        y.s = f32_to_f16(d * sum as f32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantize_and_dequantize_known_row() {
        let mut x = [0f32; 32];
        x[0] = 1.27;
        x[3] = -0.64;
        x[31] = 0.3;
        let mut b = [BlockQ8_1 {
            d: [0; 2],
            s: [0; 2],
            qs: [0; 32],
        }];
        quantize(&x, &mut b);
        let d = half::f16::from_f32(1.27f32 / 127.0).to_f32();
        assert_eq!(b[0].d(), d);
        assert_eq!((b[0].qs[0], b[0].qs[3], b[0].qs[31]), (127, -64, 30));
        assert_eq!(
            b[0].s(),
            half::f16::from_f32(93.0 * (1.27f32 / 127.0)).to_f32()
        );
        let mut y = [0f32; 32];
        dequantize(&b, &mut y);
        assert_eq!((y[0], y[3], y[1]), (127.0 * d, -64.0 * d, 0.0));
    }
}
