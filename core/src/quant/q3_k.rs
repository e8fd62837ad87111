//! Q3_K: 256 weights in 16 groups of 16; signed 3-bit quants (2 low bits in `qs`, the high bit
//! in `hmask`, stored *set* for non-negative values) with a 6-bit scale per group, scaled by
//! the f16 `d` (`x = d·(sc - 32)·q`, `q` in `-4..4`).
//!
//! Quant layout as Q2_K; the high bit of element `32·j + l` of half `h` is bit `4h + j` of
//! `hmask[l]`.

use super::q8_k::BlockQ8K;
use super::{QK_K, RawBlock, f16_to_f32};
use crate::GgmlType;

/// One Q3_K block as stored (110 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockQ3K {
    /// High bits of the quants.
    pub hmask: [u8; QK_K / 8],
    /// Low 2 bits of the quants.
    pub qs: [u8; QK_K / 4],
    /// Sixteen 6-bit scales, packed.
    pub scales: [u8; 12],
    /// Super-block scale, f16 little-endian.
    pub d: [u8; 2],
}

// SAFETY: repr(C), byte arrays only, 110 bytes.
unsafe impl RawBlock for BlockQ3K {
    const TYPE: GgmlType = GgmlType::Q3_K;
}

impl BlockQ3K {
    /// The 16 group scales, unpacked and re-centred (`sc - 32`, in `-32..32`).
    ///
    /// Group `g` takes its low 4 bits from byte `g % 8` (low nibble for `g < 8`) and its high
    /// 2 bits from bit pair `g / 4` of byte `8 + g % 4`.
    #[inline(always)]
    pub(crate) fn group_scales(&self) -> [i32; 16] {
        const KMASK1: u32 = 0x0303_0303;
        const KMASK2: u32 = 0x0f0f_0f0f;
        let s = &self.scales;
        let a0 = u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
        let a1 = u32::from_le_bytes([s[4], s[5], s[6], s[7]]);
        let tmp = u32::from_le_bytes([s[8], s[9], s[10], s[11]]);
        let aux = [
            (a0 & KMASK2) | ((tmp & KMASK1) << 4),
            (a1 & KMASK2) | (((tmp >> 2) & KMASK1) << 4),
            ((a0 >> 4) & KMASK2) | (((tmp >> 4) & KMASK1) << 4),
            ((a1 >> 4) & KMASK2) | (((tmp >> 6) & KMASK1) << 4),
        ];
        std::array::from_fn(|g| ((aux[g / 4] >> (8 * (g % 4))) & 0xff) as i32 - 32)
    }

    /// The 16 quants of group `g`, in `-4..4`.
    #[inline(always)]
    fn group_quants(&self, g: usize) -> [i8; 16] {
        let (half, j, k) = (g / 8, (g / 2) % 4, g % 2);
        let q = &self.qs[32 * half + 16 * k..][..16];
        let hm = &self.hmask[16 * k..][..16];
        let bit = 4 * half + j;
        std::array::from_fn(|l| {
            // 4 is subtracted where the high bit is clear.
            ((q[l] >> (2 * j)) & 3) as i8 - 4 + 4 * ((hm[l] >> bit) & 1) as i8
        })
    }
}

/// `dequantize_row_q3_K`.
pub(crate) fn dequantize(src: &[BlockQ3K], dst: &mut [f32]) {
    for (b, y) in src.iter().zip(dst.as_chunks_mut::<QK_K>().0) {
        let d_all = f16_to_f32(b.d);
        let scales = b.group_scales();
        for (g, yg) in y.as_chunks_mut::<16>().0.iter_mut().enumerate() {
            let dl = d_all * scales[g] as f32;
            let q = b.group_quants(g);
            for l in 0..16 {
                yg[l] = dl * q[l] as f32;
            }
        }
    }
}

/// `ggml_vec_dot_q3_K_q8_K`.
pub(crate) fn vec_dot(w: &[BlockQ3K], x: &[BlockQ8K]) -> f32 {
    let mut sumf = 0f32;
    for (bw, bx) in w.iter().zip(x) {
        let scales = bw.group_scales();
        let mut isum = 0i32;
        for (g, q8) in bx.qs.as_chunks::<16>().0.iter().enumerate() {
            let q3 = bw.group_quants(g);
            let mut s = 0i32;
            for l in 0..16 {
                s += q8[l] as i32 * q3[l] as i32;
            }
            isum += scales[g] * s;
        }
        sumf += f16_to_f32(bw.d) * bx.d() * isum as f32;
    }
    sumf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_block() {
        let mut b = BlockQ3K {
            hmask: [0; 32],
            qs: [0; 64],
            scales: [0; 12],
            d: 0x3c00u16.to_le_bytes(),
        };
        // Group 0 scale 33 (-> 1): low nibble 1 in byte 0, high bits 0b10 in bits 0..2 of byte 8.
        b.scales[0] = 0x01;
        b.scales[8] = 0b10;
        // Group 9 scale 31 (-> -1): high nibble of byte 1 = 15, high bits 0b01 in bits 4..6 of byte 9.
        b.scales[1] = 0xF0;
        b.scales[9] = 0b01 << 4;
        assert_eq!(b.group_scales()[0], 1);
        assert_eq!(b.group_scales()[9], -1);
        assert_eq!(b.group_scales()[5], -32);
        b.qs[0] = 0b11; // element 0: low bits 3, high bit clear -> 3 - 4 = -1
        b.qs[1] = 0b10;
        b.hmask[1] = 1; // element 1: low bits 2, high bit set -> 2
        // Group 9 = half 1, j = 0, second 16: element 144 + l from qs[32 + 16 + l] and hmask bit 4.
        b.qs[48] = 0b01;
        b.hmask[16] = 1 << 4; // element 144: 1
        let mut y = [0f32; QK_K];
        dequantize(&[b], &mut y);
        assert_eq!((y[0], y[1], y[2]), (-1.0, 2.0, -4.0));
        assert_eq!((y[144], y[145]), (-1.0, 4.0));
    }
}
