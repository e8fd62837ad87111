//! Quantized blocks: layouts, dequantization, activation quantization and dot products.
//!
//! Every format matches ggml bit for bit: [`dequantize_row`] reproduces ggml's reference
//! `dequantize_row_*`, [`quantize_row`] its `quantize_row_*_ref`, and [`vec_dot`] follows the
//! per-block integer math of ggml-cpu's `ggml_vec_dot_*` (only the order in which block results
//! are summed may differ). One file per block family; this module checks lengths once and
//! dispatches on [`GgmlType`].
//!
//! Data arrives as `&[u8]` straight from a (possibly unaligned, mmapped) file. Block structs
//! are therefore `#[repr(C)]` aggregates of byte arrays only (alignment 1, no padding), viewed
//! in place by [`as_blocks`]; multi-byte fields are decoded with `from_le_bytes`.
//!
//! The per-type kernels (`qX_Y::dequantize`, `qX_Y::vec_dot`, …) are `pub(crate)` portable
//! scalar code written to auto-vectorise. The per-arch SIMD kernels in [`simd`] sit behind the
//! same public functions ([`vec_dot`], [`VecDot`], [`quantize_activation_row`]), chosen at run
//! time, and are tested against the scalar ones.

use crate::GgmlType;

pub mod float;
pub mod q2_k;
pub mod q3_k;
pub mod q4_0;
pub mod q4_1;
pub mod q4_k;
pub mod q5_0;
pub mod q5_1;
pub mod q5_k;
pub mod q6_k;
pub mod q8_0;
pub mod q8_1;
pub mod q8_k;
mod simd;

pub use simd::level as simd_level;
pub(crate) use simd::{expf_batch, f16_to_f32_row, f16r_mad, f16r_scale, f32_dots};
#[cfg(all(test, not(target_arch = "wasm32"), not(hearth_no_llama_cpp)))]
mod oracle_tests;

pub use q2_k::BlockQ2K;
pub use q3_k::BlockQ3K;
pub use q4_0::BlockQ4_0;
pub use q4_1::BlockQ4_1;
pub use q4_k::BlockQ4K;
pub use q5_0::BlockQ5_0;
pub use q5_1::BlockQ5_1;
pub use q5_k::BlockQ5K;
pub use q6_k::BlockQ6K;
pub use q8_0::BlockQ8_0;
pub use q8_1::BlockQ8_1;
pub use q8_k::BlockQ8K;

/// Elements in a K-quant super-block.
pub const QK_K: usize = 256;

/// Errors from the quantized-block functions. Lengths are always checked up front, so bad
/// input gives one of these instead of a panic.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QuantError {
    /// The operation has no implementation for this type.
    #[error("{op} is not supported for {ty}")]
    Unsupported {
        /// The type asked for.
        ty: GgmlType,
        /// The operation (`"dequantize"`, `"quantize"`, `"vec_dot"`).
        op: &'static str,
    },
    /// The element count is not a whole number of blocks.
    #[error("{n} elements is not a whole number of {ty} blocks of {block}")]
    PartialBlock {
        /// The block type.
        ty: GgmlType,
        /// Element count asked for.
        n: usize,
        /// Elements per block.
        block: usize,
    },
    /// A buffer does not have the size the element count calls for.
    #[error("{what}: {n} {ty} elements take {expected} bytes/values, got {got}")]
    LengthMismatch {
        /// Which buffer (`"src"`, `"dst"`, `"w"`, `"x"`).
        what: &'static str,
        /// The buffer's type.
        ty: GgmlType,
        /// Element count.
        n: usize,
        /// Size the buffer should have (bytes for quantized data, values for f32 slices).
        expected: usize,
        /// Size it has.
        got: usize,
    },
    /// The row size does not fit in `usize`.
    #[error("a row of {n} {ty} elements overflows usize")]
    Overflow {
        /// The type.
        ty: GgmlType,
        /// Element count.
        n: usize,
    },
}

/// Bytes taken by a row of `n` elements of type `ty`.
///
/// Errors when `n` is not a whole number of blocks or the size overflows.
pub fn row_bytes(ty: GgmlType, n: usize) -> Result<usize, QuantError> {
    let be = ty.block_elems();
    if !n.is_multiple_of(be) {
        return Err(QuantError::PartialBlock { ty, n, block: be });
    }
    (n / be)
        .checked_mul(ty.block_bytes())
        .ok_or(QuantError::Overflow { ty, n })
}

/// Checks that a buffer of `got` bytes holds exactly `n` elements of `ty`.
fn check_bytes(what: &'static str, ty: GgmlType, n: usize, got: usize) -> Result<(), QuantError> {
    let expected = row_bytes(ty, n)?;
    if got != expected {
        return Err(QuantError::LengthMismatch {
            what,
            ty,
            n,
            expected,
            got,
        });
    }
    Ok(())
}

/// The activation format that `ty`'s dot product consumes, as in ggml-cpu's type traits:
/// Q4_0/Q5_0/Q8_0 (and IQ4_NL, MXFP4) take Q8_0, Q4_1/Q5_1 take Q8_1, K- and I-quants take
/// Q8_K, and plain float types take themselves.
pub fn vec_dot_type(ty: GgmlType) -> GgmlType {
    use GgmlType::*;
    match ty {
        Q4_0 | Q5_0 | Q8_0 | IQ4_NL | MXFP4 => Q8_0,
        Q4_1 | Q5_1 | Q8_1 => Q8_1,
        Q2_K | Q3_K | Q4_K | Q5_K | Q6_K | Q8_K | IQ2_XXS | IQ2_XS | IQ3_XXS | IQ1_S | IQ3_S
        | IQ2_S | IQ4_XS | IQ1_M | TQ1_0 | TQ2_0 => Q8_K,
        F32 | F16 | BF16 | I8 | I16 | I32 | I64 | F64 => ty,
    }
}

/// Dequantizes one row: `dst.len()` elements of type `ty` from `src` into f32.
///
/// Bit-exact with ggml's `dequantize_row_*` (and its F16/BF16 conversions). Supports F32, F16,
/// BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and Q8_K.
pub fn dequantize_row(ty: GgmlType, src: &[u8], dst: &mut [f32]) -> Result<(), QuantError> {
    use GgmlType::*;
    // Non-capturing closures coerce to fn pointers: one indirect call per row, not per block.
    let f: fn(&[u8], &mut [f32]) = match ty {
        F32 => float::dequantize_f32,
        F16 => float::dequantize_f16,
        BF16 => float::dequantize_bf16,
        Q4_0 => |s, d| q4_0::dequantize(as_blocks(s), d),
        Q4_1 => |s, d| q4_1::dequantize(as_blocks(s), d),
        Q5_0 => |s, d| q5_0::dequantize(as_blocks(s), d),
        Q5_1 => |s, d| q5_1::dequantize(as_blocks(s), d),
        Q8_0 => |s, d| q8_0::dequantize(as_blocks(s), d),
        Q8_1 => |s, d| q8_1::dequantize(as_blocks(s), d),
        Q2_K => |s, d| q2_k::dequantize(as_blocks(s), d),
        Q3_K => |s, d| q3_k::dequantize(as_blocks(s), d),
        Q4_K => |s, d| q4_k::dequantize(as_blocks(s), d),
        Q5_K => |s, d| q5_k::dequantize(as_blocks(s), d),
        Q6_K => |s, d| q6_k::dequantize(as_blocks(s), d),
        Q8_K => |s, d| q8_k::dequantize(as_blocks(s), d),
        _ => {
            return Err(QuantError::Unsupported {
                ty,
                op: "dequantize",
            });
        }
    };
    check_bytes("src", ty, dst.len(), src.len())?;
    f(src, dst);
    Ok(())
}

/// Quantizes one row of `src.len()` floats to type `ty` into `dst`.
///
/// Bit-exact with ggml's reference quantizers (`quantize_row_*_ref`, which `ggml_quantize_chunk`
/// uses without an importance matrix). Supports the activation formats F32, F16, BF16, Q8_0,
/// Q8_1 and Q8_K, the legacy weight formats Q4_0, Q4_1, Q5_0 and Q5_1, and Q4_K and Q6_K.
pub fn quantize_row(ty: GgmlType, src: &[f32], dst: &mut [u8]) -> Result<(), QuantError> {
    use GgmlType::*;
    let f: fn(&[f32], &mut [u8]) = match ty {
        F32 => float::quantize_f32,
        F16 => float::quantize_f16,
        BF16 => float::quantize_bf16,
        Q4_0 => |s, d| q4_0::quantize(s, as_blocks_mut(d)),
        Q4_1 => |s, d| q4_1::quantize(s, as_blocks_mut(d)),
        Q5_0 => |s, d| q5_0::quantize(s, as_blocks_mut(d)),
        Q5_1 => |s, d| q5_1::quantize(s, as_blocks_mut(d)),
        Q8_0 => |s, d| q8_0::quantize(s, as_blocks_mut(d)),
        Q8_1 => |s, d| q8_1::quantize(s, as_blocks_mut(d)),
        Q4_K => |s, d| q4_k::quantize(s, as_blocks_mut(d)),
        Q6_K => |s, d| q6_k::quantize(s, as_blocks_mut(d)),
        Q8_K => |s, d| q8_k::quantize(s, as_blocks_mut(d)),
        _ => return Err(QuantError::Unsupported { ty, op: "quantize" }),
    };
    check_bytes("dst", ty, src.len(), dst.len())?;
    f(src, dst);
    Ok(())
}

/// Quantizes one activation row to `ty` (a [`vec_dot_type`]) the way ggml-cpu
/// does before its dot products — for Q8_0/Q8_1 that is not quite the reference
/// quantizer (see `q8_0::quantize_activation`) — so matrix products see the same
/// 8-bit activations as llama.cpp's. Uses the SIMD quantizer where there is one
/// (bit-identical to the scalar one).
pub fn quantize_activation_row(
    ty: GgmlType,
    src: &[f32],
    dst: &mut [u8],
) -> Result<(), QuantError> {
    if let Some(f) = simd::quantize_activation(ty) {
        check_bytes("dst", ty, src.len(), dst.len())?;
        f(src, dst);
        return Ok(());
    }
    quantize_activation_row_scalar(ty, src, dst)
}

/// [`quantize_activation_row`] with the portable scalar code only.
pub(crate) fn quantize_activation_row_scalar(
    ty: GgmlType,
    src: &[f32],
    dst: &mut [u8],
) -> Result<(), QuantError> {
    match ty {
        GgmlType::Q8_0 => {
            check_bytes("dst", ty, src.len(), dst.len())?;
            q8_0::quantize_activation(src, as_blocks_mut(dst));
            Ok(())
        }
        GgmlType::Q8_1 => {
            check_bytes("dst", ty, src.len(), dst.len())?;
            q8_1::quantize_activation(src, as_blocks_mut(dst));
            Ok(())
        }
        _ => quantize_row(ty, src, dst),
    }
}

/// The portable scalar dot product for weights of type `ty`.
fn scalar_vec_dot(ty: GgmlType) -> Option<simd::DotFn> {
    use GgmlType::*;
    Some(match ty {
        F32 => float::vec_dot_f32,
        F16 => float::vec_dot_f16,
        BF16 => float::vec_dot_bf16,
        Q4_0 => |w, x| q4_0::vec_dot(as_blocks(w), as_blocks(x)),
        Q4_1 => |w, x| q4_1::vec_dot(as_blocks(w), as_blocks(x)),
        Q5_0 => |w, x| q5_0::vec_dot(as_blocks(w), as_blocks(x)),
        Q5_1 => |w, x| q5_1::vec_dot(as_blocks(w), as_blocks(x)),
        Q8_0 => |w, x| q8_0::vec_dot(as_blocks(w), as_blocks(x)),
        Q2_K => |w, x| q2_k::vec_dot(as_blocks(w), as_blocks(x)),
        Q3_K => |w, x| q3_k::vec_dot(as_blocks(w), as_blocks(x)),
        Q4_K => |w, x| q4_k::vec_dot(as_blocks(w), as_blocks(x)),
        Q5_K => |w, x| q5_k::vec_dot(as_blocks(w), as_blocks(x)),
        Q6_K => |w, x| q6_k::vec_dot(as_blocks(w), as_blocks(x)),
        _ => return None,
    })
}

/// Dot product of one weight row `w` (`n` elements of type `ty`) with one activation row `x`
/// (`n` elements already quantized to [`vec_dot_type`]`(ty)`).
///
/// Mirrors ggml-cpu's `ggml_vec_dot_*`: integer products inside a block, then the same
/// per-block scaling; block results may be summed in a different order, so results agree with
/// ggml to float rounding (about 1e-6 relative), not bit for bit. Supports F32, F16, BF16,
/// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K and Q6_K weights, with SIMD kernels
/// where the CPU has them (see [`simd_level`]).
///
/// Returns an error (never panics) when a length is wrong. For many rows of one shape,
/// [`VecDot`] does the type dispatch and size arithmetic once.
pub fn vec_dot(ty: GgmlType, n: usize, w: &[u8], x: &[u8]) -> Result<f32, QuantError> {
    VecDot::new(ty, n)?.dot(w, x)
}

/// [`vec_dot`] with the portable scalar kernels only (the reference for the SIMD ones).
#[cfg(test)]
pub(crate) fn vec_dot_scalar(
    ty: GgmlType,
    n: usize,
    w: &[u8],
    x: &[u8],
) -> Result<f32, QuantError> {
    let f = scalar_vec_dot(ty).ok_or(QuantError::Unsupported { ty, op: "vec_dot" })?;
    check_bytes("w", ty, n, w.len())?;
    check_bytes("x", vec_dot_type(ty), n, x.len())?;
    Ok(f(w, x))
}

/// A [`vec_dot`] kernel chosen once for a weight type and row length: the per-call work is
/// then two length comparisons and an indirect call.
#[derive(Clone, Copy, Debug)]
pub struct VecDot {
    ty: GgmlType,
    n: usize,
    w_bytes: usize,
    x_bytes: usize,
    f: simd::DotFn,
    /// Several rows × several tokens at once, bit-identical to `f` (SIMD types only).
    tile: Option<simd::TileFn>,
}

impl VecDot {
    /// The kernel for rows of `n` elements of type `ty` (SIMD where available).
    pub fn new(ty: GgmlType, n: usize) -> Result<Self, QuantError> {
        let simd = simd::vec_dot(ty);
        let f = simd
            .or_else(|| scalar_vec_dot(ty))
            .ok_or(QuantError::Unsupported { ty, op: "vec_dot" })?;
        Ok(VecDot {
            ty,
            n,
            w_bytes: row_bytes(ty, n)?,
            x_bytes: row_bytes(vec_dot_type(ty), n)?,
            f,
            // A tile kernel reproduces the SIMD single-row kernel, so only pair it with that.
            tile: simd.and_then(|_| simd::dot_tile(ty)),
        })
    }

    /// [`VecDot::new`] with the single-row kernel only (no tiles), for comparisons.
    #[cfg(test)]
    pub(crate) fn without_tiles(mut self) -> Self {
        self.tile = None;
        self
    }

    /// All dot products between the weight rows in `w` (`w.len() / w_bytes()` rows, back to
    /// back) and the activation rows in `x`: `out[r · toks + t] = w_r · x_t`, row-major.
    ///
    /// Each result is bit-identical to [`dot`](Self::dot) of that pair; types with a tile
    /// kernel (Q4_0, Q4_1, Q5_0, Q8_0, Q4_K, Q6_K on AVX2) compute several rows × several tokens
    /// at once, sharing each unpacked weight block and each loaded activation block; with a
    /// single token (decode) the 32-element types on x86-64 take four rows per call.
    /// Errors when a buffer is not a whole number of rows or `out` has the wrong size.
    pub fn dot_tile(&self, w: &[u8], x: &[u8], out: &mut [f32]) -> Result<(), QuantError> {
        if self.n == 0 {
            // Empty rows: every dot product is zero, whatever the row counts.
            out.fill(0.0);
            return Ok(());
        }
        if !w.len().is_multiple_of(self.w_bytes) {
            let rows = w.len().div_ceil(self.w_bytes);
            return Err(self.mismatch("w", self.ty, rows * self.w_bytes, w.len()));
        }
        let xt = vec_dot_type(self.ty);
        if !x.len().is_multiple_of(self.x_bytes) {
            let toks = x.len().div_ceil(self.x_bytes);
            return Err(self.mismatch("x", xt, toks * self.x_bytes, x.len()));
        }
        let (rows, toks) = (w.len() / self.w_bytes, x.len() / self.x_bytes);
        if out.len() != rows * toks {
            return Err(QuantError::LengthMismatch {
                what: "out",
                ty: GgmlType::F32,
                n: self.n,
                expected: rows * toks,
                got: out.len(),
            });
        }
        if let Some(tile) = self.tile {
            tile(w, self.w_bytes, x, self.x_bytes, out);
            return Ok(());
        }
        for (wr, o) in w
            .chunks_exact(self.w_bytes)
            .zip(out.chunks_exact_mut(toks.max(1)))
        {
            for (xr, o) in x.chunks_exact(self.x_bytes).zip(o) {
                *o = (self.f)(wr, xr);
            }
        }
        Ok(())
    }

    /// Bytes of one weight row.
    pub fn w_bytes(&self) -> usize {
        self.w_bytes
    }

    /// Bytes of one (quantized) activation row.
    pub fn x_bytes(&self) -> usize {
        self.x_bytes
    }

    /// `w · x`; errors when a row has the wrong length.
    #[inline]
    pub fn dot(&self, w: &[u8], x: &[u8]) -> Result<f32, QuantError> {
        if w.len() != self.w_bytes {
            return Err(self.mismatch("w", self.ty, self.w_bytes, w.len()));
        }
        if x.len() != self.x_bytes {
            return Err(self.mismatch("x", vec_dot_type(self.ty), self.x_bytes, x.len()));
        }
        Ok((self.f)(w, x))
    }

    #[cold]
    fn mismatch(
        &self,
        what: &'static str,
        ty: GgmlType,
        expected: usize,
        got: usize,
    ) -> QuantError {
        QuantError::LengthMismatch {
            what,
            ty,
            n: self.n,
            expected,
            got,
        }
    }
}

/// A block struct that can be viewed in place over file bytes.
///
/// # Safety
///
/// Implementors must be `#[repr(C)]` structs made only of `u8`/`i8` arrays, so that they have
/// alignment 1, no padding, and every byte pattern is a valid value, and their size must equal
/// `TYPE.block_bytes()`.
pub(crate) unsafe trait RawBlock: Copy + 'static {
    /// The ggml type this block stores.
    const TYPE: GgmlType;
}

/// Views bytes as blocks (whole blocks only; a trailing partial block is ignored — callers
/// check lengths first).
#[inline]
pub(crate) fn as_blocks<B: RawBlock>(bytes: &[u8]) -> &[B] {
    const { assert!(align_of::<B>() == 1 && size_of::<B>() > 0) };
    debug_assert_eq!(size_of::<B>(), B::TYPE.block_bytes());
    let n = bytes.len() / size_of::<B>();
    // SAFETY: `B` has alignment 1 and accepts any byte pattern (RawBlock contract), and
    // `n * size_of::<B>() <= bytes.len()`, so the view stays inside the borrowed bytes.
    unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<B>(), n) }
}

/// Mutable version of [`as_blocks`].
#[inline]
pub(crate) fn as_blocks_mut<B: RawBlock>(bytes: &mut [u8]) -> &mut [B] {
    const { assert!(align_of::<B>() == 1 && size_of::<B>() > 0) };
    debug_assert_eq!(size_of::<B>(), B::TYPE.block_bytes());
    let n = bytes.len() / size_of::<B>();
    // SAFETY: as in `as_blocks`; the exclusive borrow of `bytes` moves to the result, and any
    // value written through `B` is a valid byte pattern.
    unsafe { std::slice::from_raw_parts_mut(bytes.as_mut_ptr().cast::<B>(), n) }
}

/// An IEEE half stored little-endian, widened exactly (ggml's `ggml_compute_fp16_to_fp32`).
///
/// Branch-free bit arithmetic rather than `half::f16::to_f32`, whose per-call runtime CPU
/// dispatch costs about 2 ns and blocks vectorisation — too slow for the per-block scales of a
/// dot product. Exact for every input, subnormals, infinities and NaNs included.
#[inline(always)]
pub(crate) fn f16_to_f32(b: [u8; 2]) -> f32 {
    let w = (u16::from_le_bytes(b) as u32) << 16;
    let sign = w & 0x8000_0000;
    let two_w = w.wrapping_add(w);
    // Normal (and inf/NaN): move exponent and mantissa into place, then rebias by 2^-112.
    let normalized = f32::from_bits((two_w >> 4) + (0xE0 << 23)) * f32::from_bits(0x0780_0000); // 0x1p-112
    // Subnormal: the mantissa lands in the low bits of 0.5's mantissa; subtracting 0.5 leaves it.
    let denormalized = f32::from_bits((two_w >> 17) | (126 << 23)) - 0.5;
    let bits = if two_w < (1 << 27) {
        denormalized.to_bits()
    } else {
        normalized.to_bits()
    };
    f32::from_bits(sign | bits)
}

/// Rounds to the nearest IEEE half, ties to even, as ggml's `ggml_compute_fp32_to_fp16`
/// (what `GGML_FP32_TO_FP16` is in the reference quantizers); NaN becomes `0x7E00`.
#[inline(always)]
pub(crate) fn f32_to_f16(f: f32) -> [u8; 2] {
    let scale_to_inf = f32::from_bits(0x7780_0000); // 0x1p+112
    let scale_to_zero = f32::from_bits(0x0880_0000); // 0x1p-110
    let mut base = (f.abs() * scale_to_inf) * scale_to_zero;
    let w = f.to_bits();
    let shl1_w = w.wrapping_add(w);
    let sign = w & 0x8000_0000;
    let bias = (shl1_w & 0xFF00_0000).max(0x7100_0000);
    base += f32::from_bits((bias >> 1) + 0x0780_0000);
    let bits = base.to_bits();
    let exp_bits = (bits >> 13) & 0x0000_7C00;
    let mantissa_bits = bits & 0x0000_0FFF;
    let h = (sign >> 16)
        | if shl1_w > 0xFF00_0000 {
            0x7E00
        } else {
            exp_bits + mantissa_bits
        };
    (h as u16).to_le_bytes()
}

/// Lanes of the integer dot-product helpers. The 32-element kernels keep per-lane partial
/// sums across the whole row and reduce them once at the end instead of reducing every block
/// to a scalar, which let the compiler keep everything in vector registers (2x faster on
/// x86-64 baseline). The K-quant kernels reduce once per 32 elements, which measured faster
/// there than lanes.
pub(crate) const LANES: usize = 8;

/// Integer dot product of `N` quants (a multiple of [`LANES`]), in [`LANES`] partial sums:
/// lane `k` sums elements `k, k + LANES, k + 2·LANES, …`.
#[inline(always)]
pub(crate) fn dot_lanes<const N: usize>(a: &[i8; N], b: &[i8; N]) -> [i32; LANES] {
    const { assert!(N.is_multiple_of(LANES)) };
    let mut s = [0i32; LANES];
    for j in 0..N / LANES {
        for k in 0..LANES {
            s[k] += a[LANES * j + k] as i32 * b[LANES * j + k] as i32;
        }
    }
    s
}

/// `acc += d · s`, lane-wise.
#[inline(always)]
pub(crate) fn fma_lanes(acc: &mut [f32; LANES], s: &[i32; LANES], d: f32) {
    for k in 0..LANES {
        acc[k] += s[k] as f32 * d;
    }
}

/// ggml's `nearest_int`: round to nearest, ties to even, via the 1.5·2^23 trick. Only valid
/// for `|f| <= 4194303`, which every caller guarantees by construction.
#[inline(always)]
pub(crate) fn nearest_int(f: f32) -> i32 {
    let val = f + 12582912.0;
    (val.to_bits() & 0x007f_ffff) as i32 - 0x0040_0000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_size<B: RawBlock>() {
        assert_eq!(size_of::<B>(), B::TYPE.block_bytes(), "{}", B::TYPE);
    }

    #[test]
    fn block_structs_match_the_type_table() {
        block_size::<BlockQ4_0>();
        block_size::<BlockQ4_1>();
        block_size::<BlockQ5_0>();
        block_size::<BlockQ5_1>();
        block_size::<BlockQ8_0>();
        block_size::<BlockQ8_1>();
        block_size::<BlockQ2K>();
        block_size::<BlockQ3K>();
        block_size::<BlockQ4K>();
        block_size::<BlockQ5K>();
        block_size::<BlockQ6K>();
        block_size::<BlockQ8K>();
    }

    #[test]
    fn row_bytes_checks_blocks_and_overflow() {
        assert_eq!(row_bytes(GgmlType::Q4_0, 64), Ok(36));
        assert_eq!(row_bytes(GgmlType::Q6_K, 512), Ok(420));
        assert_eq!(row_bytes(GgmlType::F16, 3), Ok(6));
        assert_eq!(
            row_bytes(GgmlType::Q4_K, 100),
            Err(QuantError::PartialBlock {
                ty: GgmlType::Q4_K,
                n: 100,
                block: 256
            })
        );
        assert!(matches!(
            row_bytes(GgmlType::F64, usize::MAX),
            Err(QuantError::Overflow { .. })
        ));
    }

    #[test]
    fn f16_conversions_agree_with_the_half_crate() {
        for h in 0..=u16::MAX {
            let ours = f16_to_f32(h.to_le_bytes());
            let theirs = half::f16::from_bits(h).to_f32();
            assert!(
                ours.to_bits() == theirs.to_bits() || (ours.is_nan() && theirs.is_nan()),
                "{h:#06x}"
            );
        }
        let mut x = 0x0000_0000u32;
        while x < 0xFFFF_FFFF - 977 {
            let f = f32::from_bits(x);
            let ours = u16::from_le_bytes(f32_to_f16(f));
            if f.is_nan() {
                assert_eq!(ours & 0x7FFF, 0x7E00);
            } else {
                assert_eq!(ours, half::f16::from_f32(f).to_bits(), "{f:e}");
            }
            x += 977; // a prime stride through every exponent and many mantissas
        }
        // Ties to even at the half grid: 1 + 2^-11 lies between 1 and the next half.
        assert_eq!(f32_to_f16(1.0 + 2f32.powi(-11)), 0x3c00u16.to_le_bytes());
        assert_eq!(
            f32_to_f16(1.0 + 3.0 * 2f32.powi(-11)),
            0x3c02u16.to_le_bytes()
        );
        assert_eq!(f32_to_f16(65520.0), 0x7c00u16.to_le_bytes()); // rounds up to infinity
    }

    #[test]
    fn nearest_int_rounds_ties_to_even() {
        assert_eq!(nearest_int(0.5), 0);
        assert_eq!(nearest_int(1.5), 2);
        assert_eq!(nearest_int(-2.5), -2);
        assert_eq!(nearest_int(-2.6), -3);
        assert_eq!(nearest_int(127.0), 127);
    }

    #[test]
    fn bad_lengths_are_errors_not_panics() {
        use GgmlType::*;
        let types = [
            F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K,
        ];
        for ty in types {
            let n = 2 * ty.block_elems().max(32);
            let bytes = vec![0u8; row_bytes(ty, n).unwrap()];
            let mut out = vec![0f32; n];
            assert!(dequantize_row(ty, &bytes, &mut out).is_ok(), "{ty}");
            assert!(matches!(
                dequantize_row(ty, &bytes[1..], &mut out),
                Err(QuantError::LengthMismatch { .. })
            ));
            assert!(dequantize_row(ty, &bytes, &mut out[1..]).is_err(), "{ty}");
            assert!(dequantize_row(ty, &[], &mut out).is_err());

            let mut q = bytes.clone();
            if quantize_row(ty, &out, &mut q).is_ok() {
                assert!(quantize_row(ty, &out, &mut q[1..]).is_err(), "{ty}");
                assert!(quantize_row(ty, &out[1..], &mut q).is_err(), "{ty}");
            }

            let xt = vec_dot_type(ty);
            let x = vec![0u8; row_bytes(xt, n).unwrap()];
            if let Ok(v) = vec_dot(ty, n, &bytes, &x) {
                assert_eq!(v, 0.0);
                assert!(vec_dot(ty, n, &bytes[1..], &x).is_err(), "{ty}");
                assert!(vec_dot(ty, n, &bytes, &x[1..]).is_err(), "{ty}");
                assert!(vec_dot(ty, n + 1, &bytes, &x).is_err(), "{ty}");
                assert!(vec_dot(ty, usize::MAX, &bytes, &x).is_err(), "{ty}");
            }
        }
        assert!(matches!(
            dequantize_row(IQ2_XXS, &[0; 66], &mut [0.0; 256]),
            Err(QuantError::Unsupported { ty: IQ2_XXS, .. })
        ));
        assert!(matches!(
            vec_dot(Q8_K, 256, &[0; 292], &[0; 292]),
            Err(QuantError::Unsupported { .. })
        ));
        assert!(matches!(
            quantize_row(Q3_K, &[0.0; 256], &mut [0; 110]),
            Err(QuantError::Unsupported { .. })
        ));
    }
}
