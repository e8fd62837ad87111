//! Q2_K: 256 weights in 16 groups of 16; 2-bit quants with a 4-bit scale and 4-bit minimum
//! per group, themselves scaled by the f16 `d` and `dmin` (`x = d·sc·q - dmin·m`).
//!
//! Quant layout: each 128-element half uses 32 bytes; element `32·j + l` of the half sits in
//! bits `2j..2j+2` of byte `l`.

use super::q8_k::BlockQ8K;
use super::{QK_K, RawBlock, f16_to_f32};
use crate::GgmlType;

/// One Q2_K block as stored (84 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockQ2K {
    /// Per-group scale (low nibble) and minimum (high nibble).
    pub scales: [u8; QK_K / 16],
    /// 2-bit quants.
    pub qs: [u8; QK_K / 4],
    /// Super-block scale for the scales, f16 little-endian.
    pub d: [u8; 2],
    /// Super-block scale for the minimums, f16 little-endian.
    pub dmin: [u8; 2],
}

// SAFETY: repr(C), byte arrays only, 84 bytes.
unsafe impl RawBlock for BlockQ2K {
    const TYPE: GgmlType = GgmlType::Q2_K;
}

/// `dequantize_row_q2_K`.
pub(crate) fn dequantize(src: &[BlockQ2K], dst: &mut [f32]) {
    for (b, y) in src.iter().zip(dst.as_chunks_mut::<QK_K>().0) {
        let d = f16_to_f32(b.d);
        let min = f16_to_f32(b.dmin);
        let (qs, _) = b.qs.as_chunks::<32>();
        let (ys, _) = y.as_chunks_mut::<16>();
        // Group g = 8·half + 2·j + k covers elements 16·g.., from bytes 16·k.. of the half.
        for (g, yg) in ys.iter_mut().enumerate() {
            let (half, j, k) = (g / 8, (g / 2) % 4, g % 2);
            let sc = b.scales[g];
            let dl = d * (sc & 0xF) as f32;
            let ml = min * (sc >> 4) as f32;
            let q = &qs[half][16 * k..16 * k + 16];
            for l in 0..16 {
                yg[l] = dl * ((q[l] >> (2 * j)) & 3) as f32 - ml;
            }
        }
    }
}

/// `ggml_vec_dot_q2_K_q8_K`.
pub(crate) fn vec_dot(w: &[BlockQ2K], x: &[BlockQ8K]) -> f32 {
    let mut sumf = 0f32;
    for (bw, bx) in w.iter().zip(x) {
        let bsums = bx.bsums();
        let mut summs = 0i32;
        for j in 0..16 {
            summs += bsums[j] as i32 * (bw.scales[j] >> 4) as i32;
        }
        let dall = bx.d() * f16_to_f32(bw.d);
        let dmin = bx.d() * f16_to_f32(bw.dmin);

        let mut isum = 0i32;
        for (half, (q2, q8)) in bw
            .qs
            .as_chunks::<32>()
            .0
            .iter()
            .zip(bx.qs.as_chunks::<128>().0)
            .enumerate()
        {
            for (j, q8) in q8.as_chunks::<32>().0.iter().enumerate() {
                let shift = 2 * j;
                let (mut s0, mut s1) = (0i32, 0i32);
                for l in 0..16 {
                    s0 += q8[l] as i32 * ((q2[l] >> shift) & 3) as i32;
                    s1 += q8[l + 16] as i32 * ((q2[l + 16] >> shift) & 3) as i32;
                }
                let g = 8 * half + 2 * j;
                isum += (bw.scales[g] & 0xF) as i32 * s0 + (bw.scales[g + 1] & 0xF) as i32 * s1;
            }
        }
        sumf += dall * isum as f32 - dmin * summs as f32;
    }
    sumf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_block() {
        // d = 1, dmin = 0.5. Group 0: scale 2, min 3; group 3 (half 0, j = 1, second 16 bytes): scale 1, min 0.
        let mut b = BlockQ2K {
            scales: [0; 16],
            qs: [0; 64],
            d: 0x3c00u16.to_le_bytes(),
            dmin: 0x3800u16.to_le_bytes(),
        };
        b.scales[0] = 0x32;
        b.scales[3] = 0x01;
        b.qs[0] = 0b11; // element 0: q = 3
        b.qs[16] = 0b10_00; // element 48 (j = 1, byte 16): q = 2
        let mut y = [0f32; QK_K];
        dequantize(&[b], &mut y);
        assert_eq!(y[0], 2.0 * 3.0 - 1.5);
        assert_eq!(y[1], -1.5);
        assert_eq!(y[48], 2.0);
        assert_eq!(y[255], 0.0);
    }
}
