//! Plain float rows: F32, F16 (IEEE half) and BF16 (brain float), all little-endian.
//!
//! Lengths are checked by the caller ([`super`]); these functions process whole elements
//! and ignore any trailing bytes.

/// Lanes of the float dot products: independent accumulators the compiler can keep in one
/// vector register (ggml's SIMD versions also sum in lanes, so the order differs from a plain
/// left-to-right sum either way).
const LANES: usize = 8;

/// ggml's BF16 -> F32: the 16 bits become the top half of the f32 (a plain shift).
#[inline(always)]
fn bf16_to_f32(b: [u8; 2]) -> f32 {
    f32::from_bits((u16::from_le_bytes(b) as u32) << 16)
}

/// ggml's `ggml_compute_fp32_to_bf16`: round to nearest even, NaNs made quiet.
#[inline(always)]
fn f32_to_bf16(x: f32) -> [u8; 2] {
    let u = x.to_bits();
    let h = if (u & 0x7fff_ffff) > 0x7f80_0000 {
        (u >> 16) | 64
    } else {
        u.wrapping_add(0x7fff + ((u >> 16) & 1)) >> 16
    };
    (h as u16).to_le_bytes()
}

/// F32 bytes to floats.
pub(crate) fn dequantize_f32(src: &[u8], dst: &mut [f32]) {
    for (s, d) in src.as_chunks::<4>().0.iter().zip(dst) {
        *d = f32::from_le_bytes(*s);
    }
}

/// F16 bytes to floats (exact).
pub(crate) fn dequantize_f16(src: &[u8], dst: &mut [f32]) {
    for (s, d) in src.as_chunks::<2>().0.iter().zip(dst) {
        *d = super::f16_to_f32(*s);
    }
}

/// BF16 bytes to floats (exact).
pub(crate) fn dequantize_bf16(src: &[u8], dst: &mut [f32]) {
    for (s, d) in src.as_chunks::<2>().0.iter().zip(dst) {
        *d = bf16_to_f32(*s);
    }
}

/// Floats to F32 bytes.
pub(crate) fn quantize_f32(src: &[f32], dst: &mut [u8]) {
    for (s, d) in src.iter().zip(dst.as_chunks_mut::<4>().0) {
        *d = s.to_le_bytes();
    }
}

/// Floats to F16 bytes, rounding to nearest even.
pub(crate) fn quantize_f16(src: &[f32], dst: &mut [u8]) {
    for (s, d) in src.iter().zip(dst.as_chunks_mut::<2>().0) {
        *d = super::f32_to_f16(*s);
    }
}

/// Floats to BF16 bytes, as ggml's `ggml_fp32_to_bf16_row_ref`.
pub(crate) fn quantize_bf16(src: &[f32], dst: &mut [u8]) {
    for (s, d) in src.iter().zip(dst.as_chunks_mut::<2>().0) {
        *d = f32_to_bf16(*s);
    }
}

/// Dot product of two rows of `S`-byte elements decoded by `load`, in [`LANES`] accumulators.
#[inline(always)]
fn dot_lanes<const S: usize>(w: &[u8], x: &[u8], load: impl Fn([u8; S]) -> f32) -> f32 {
    let (w8, wr) = w.as_chunks::<S>().0.as_chunks::<LANES>();
    let (x8, xr) = x.as_chunks::<S>().0.as_chunks::<LANES>();
    let mut acc = [0f32; LANES];
    for (a, b) in w8.iter().zip(x8) {
        for k in 0..LANES {
            acc[k] += load(a[k]) * load(b[k]);
        }
    }
    let mut tail = 0f32;
    for (a, b) in wr.iter().zip(xr) {
        tail += load(*a) * load(*b);
    }
    acc.iter().sum::<f32>() + tail
}

/// F32 · F32.
pub(crate) fn vec_dot_f32(w: &[u8], x: &[u8]) -> f32 {
    dot_lanes(w, x, f32::from_le_bytes)
}

/// F16 · F16, accumulated in f32 (as ggml's SIMD path).
pub(crate) fn vec_dot_f16(w: &[u8], x: &[u8]) -> f32 {
    dot_lanes(w, x, super::f16_to_f32)
}

/// BF16 · BF16, accumulated in f32.
pub(crate) fn vec_dot_bf16(w: &[u8], x: &[u8]) -> f32 {
    dot_lanes(w, x, bf16_to_f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        let mut out = [0f32; 3];
        // f16: 1.0 = 0x3c00, -2.0 = 0xc000, smallest subnormal 0x0001 = 2^-24.
        dequantize_f16(&[0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00], &mut out);
        assert_eq!(out, [1.0, -2.0, 2f32.powi(-24)]);
        // bf16: 1.0 = 0x3f80, -0.5 = 0xbf00, 3.0 = 0x4040.
        dequantize_bf16(&[0x80, 0x3f, 0x00, 0xbf, 0x40, 0x40], &mut out);
        assert_eq!(out, [1.0, -0.5, 3.0]);
        dequantize_f32(
            &[
                1.5f32.to_le_bytes(),
                (-0.25f32).to_le_bytes(),
                7f32.to_le_bytes(),
            ]
            .concat(),
            &mut out,
        );
        assert_eq!(out, [1.5, -0.25, 7.0]);
    }

    #[test]
    fn bf16_rounding_is_ggmls() {
        // 1 + 2^-8 is halfway between bf16 1.0 and 1.0078125: ties go to even (1.0).
        assert_eq!(f32_to_bf16(1.0 + 2f32.powi(-8)), 0x3f80u16.to_le_bytes());
        // 1 + 3·2^-8 ties upward to the even 0x3f82.
        assert_eq!(
            f32_to_bf16(1.0 + 3.0 * 2f32.powi(-8)),
            0x3f82u16.to_le_bytes()
        );
        // NaNs come out quiet.
        assert_eq!(
            f32_to_bf16(f32::from_bits(0x7f80_0001)),
            0x7fc0u16.to_le_bytes()
        );
    }

    #[test]
    fn round_trip_and_dot() {
        let v: Vec<f32> = (0..37).map(|i| i as f32 * 0.5 - 9.0).collect();
        for (q, dq, dot) in [
            (
                quantize_f32 as fn(&[f32], &mut [u8]),
                dequantize_f32 as fn(&[u8], &mut [f32]),
                4usize,
            ),
            (quantize_f16, dequantize_f16, 2),
            (quantize_bf16, dequantize_bf16, 2),
        ] {
            let mut bytes = vec![0u8; v.len() * dot];
            q(&v, &mut bytes);
            let mut back = vec![0f32; v.len()];
            dq(&bytes, &mut back);
            assert_eq!(
                back, v,
                "halves of small integers are exact in every format"
            );
        }
        let mut b = vec![0u8; v.len() * 4];
        quantize_f32(&v, &mut b);
        let expect: f32 = v.iter().map(|a| a * a).sum();
        assert_eq!(vec_dot_f32(&b, &b), expect);
    }
}
