// Shared by every kernel: the per-forward step uniform and f16 rounding.

struct Step {
    // Tokens in this forward call.
    n_tok: u32,
    // Position of the first of them (cached positions before it).
    pos0: u32,
    // 1.0, known only at run time: `step.one / x` is a true division, which a compiler may
    // not turn into an approximate reciprocal as it may `1.0 / x` (SwiftShader's is off by
    // an ulp at times). Adapters whose division rounds correctly then give the CPU's bits.
    one: f32,
    _pad1: u32,
}

// f16 conversions in integer arithmetic: WGSL's `pack2x16float`/`unpack2x16float` leave the
// rounding mode and subnormals to the driver (NVIDIA's pack does not round to nearest even),
// while the CPU backend (the `half` crate, F16C) rounds to nearest even and keeps subnormals.

// The f16 bits of `x`, rounded to nearest even (overflow to infinity, NaN stays NaN).
fn f16_bits(x: f32) -> u32 {
    let b = bitcast<u32>(x);
    let sign = (b >> 16u) & 0x8000u;
    let e = i32((b >> 23u) & 0xffu) - 127;
    let m = b & 0x7fffffu;
    if (e == 128) {
        return sign | 0x7c00u | select(0u, 0x200u | (m >> 13u), m != 0u);
    }
    if (e > 15) {
        return sign | 0x7c00u;
    }
    if (e >= -14) {
        // A carry out of the mantissa moves to the next exponent (or to infinity): correct.
        let h = (u32(e + 15) << 10u) | (m >> 13u);
        let rest = m & 0x1fffu;
        return sign | (h + select(0u, 1u, rest > 0x1000u || (rest == 0x1000u && (h & 1u) == 1u)));
    }
    if (e < -25) {
        return sign;
    }
    // Subnormal: the 24-bit significand in units of 2^-24.
    let full = m | 0x800000u;
    let shift = u32(-e - 1);
    let h = full >> shift;
    let rest = full & ((1u << shift) - 1u);
    let half = 1u << (shift - 1u);
    return sign | (h + select(0u, 1u, rest > half || (rest == half && (h & 1u) == 1u)));
}

// The f32 value of f16 bits `h` (low 16 bits), exactly.
fn f16_value(h: u32) -> f32 {
    let sign = (h & 0x8000u) << 16u;
    let e = (h >> 10u) & 0x1fu;
    let m = h & 0x3ffu;
    if (e == 0u) {
        // Zero or subnormal: m * 2^-24 is a normal f32, the product exact.
        return bitcast<f32>(sign | bitcast<u32>(f32(m) * 5.9604644775390625e-8));
    }
    if (e == 31u) {
        return bitcast<f32>(sign | 0x7f800000u | (m << 13u));
    }
    return bitcast<f32>(sign | ((e + 112u) << 23u) | (m << 13u));
}

// The value `x` takes once stored as f16 (as the CPU backend's f16 KV cache and tables do).
fn f16_round(x: f32) -> f32 {
    return f16_value(f16_bits(x));
}

// `x` as ggml's `ggml_compute_fp32_to_bf16` stores it, widened back to f32.
fn bf16_round(x: f32) -> f32 {
    let u = bitcast<u32>(x);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        return bitcast<f32>(((u >> 16u) | 64u) << 16u);
    }
    return bitcast<f32>(((u + 0x7fffu + ((u >> 16u) & 1u)) >> 16u) << 16u);
}
