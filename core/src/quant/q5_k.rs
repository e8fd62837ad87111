//! Q5_K: Q4_K with a fifth bit per quant (`x = d·sc·q - dmin·m`, `q` in `0..32`).
//!
//! Chunk `c` (64 elements) takes its fifth bits from bits `2c` (first 32) and `2c + 1` (next
//! 32) of `qh[l]`.

use super::q4_k::{K_SCALE_SIZE, mins_dot_bsums, scales_mins_k4};
use super::q8_k::BlockQ8K;
use super::{QK_K, RawBlock, f16_to_f32};
use crate::GgmlType;

/// One Q5_K block as stored (176 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockQ5K {
    /// Super-block scale for the scales, f16 little-endian.
    pub d: [u8; 2],
    /// Super-block scale for the minimums, f16 little-endian.
    pub dmin: [u8; 2],
    /// Eight 6-bit scales and eight 6-bit minimums, packed as in Q4_K.
    pub scales: [u8; K_SCALE_SIZE],
    /// Fifth bits of the quants.
    pub qh: [u8; QK_K / 8],
    /// Low 4 bits of the quants.
    pub qs: [u8; QK_K / 2],
}

// SAFETY: repr(C), byte arrays only, 176 bytes.
unsafe impl RawBlock for BlockQ5K {
    const TYPE: GgmlType = GgmlType::Q5_K;
}

/// `dequantize_row_q5_K`.
pub(crate) fn dequantize(src: &[BlockQ5K], dst: &mut [f32]) {
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
                let h = b.qh[l] >> (2 * c);
                y[l] = d1 * ((q[l] & 0xF) + 16 * (h & 1)) as f32 - m1;
                y[l + 32] = d2 * ((q[l] >> 4) + 16 * ((h >> 1) & 1)) as f32 - m2;
            }
        }
    }
}

/// `ggml_vec_dot_q5_K_q8_K`.
pub(crate) fn vec_dot(w: &[BlockQ5K], x: &[BlockQ8K]) -> f32 {
    let mut sumf = 0f32;
    for (bw, bx) in w.iter().zip(x) {
        let (sc, m) = scales_mins_k4(&bw.scales);
        let mut isum = 0i32;
        for (c, (q5, q8)) in bw
            .qs
            .as_chunks::<32>()
            .0
            .iter()
            .zip(bx.qs.as_chunks::<64>().0)
            .enumerate()
        {
            let (mut s0, mut s1) = (0i32, 0i32);
            for l in 0..32 {
                let h = bw.qh[l] >> (2 * c);
                s0 += ((q5[l] & 0xF) + 16 * (h & 1)) as i32 * q8[l] as i32;
                s1 += ((q5[l] >> 4) + 16 * ((h >> 1) & 1)) as i32 * q8[l + 32] as i32;
            }
            isum += sc[2 * c] as i32 * s0 + sc[2 * c + 1] as i32 * s1;
        }
        let d = f16_to_f32(bw.d) * bx.d();
        let dmin = f16_to_f32(bw.dmin) * bx.d();
        sumf += d * isum as f32 - dmin * mins_dot_bsums(&m, bx) as f32;
    }
    sumf
}

#[cfg(test)]
mod tests {
    use super::super::q4_k::pack_scales_mins_k4;
    use super::*;

    #[test]
    fn known_block() {
        // d = 1, dmin = 1; group 0: scale 1, min 0; group 3 (chunk 1, high nibbles): scale 2, min 3.
        let mut b = BlockQ5K {
            d: 0x3c00u16.to_le_bytes(),
            dmin: 0x3c00u16.to_le_bytes(),
            scales: pack_scales_mins_k4(&[1, 0, 0, 2, 0, 0, 0, 0], &[0, 0, 0, 3, 0, 0, 0, 0]),
            qh: [0; 32],
            qs: [0; 128],
        };
        b.qs[0] = 0x05;
        b.qh[0] = 0b1; // element 0: 5 + 16
        b.qs[32 + 1] = 0x30;
        b.qh[1] = 0b1000; // element 64 + 32 + 1: 3 + 16
        let mut y = [0f32; QK_K];
        dequantize(&[b], &mut y);
        assert_eq!((y[0], y[1]), (21.0, 0.0));
        assert_eq!((y[97], y[96]), (2.0 * 19.0 - 3.0, -3.0));
    }
}
