// GELU as the CPU backend computes it (prepended by the kernels that gate with it): the
// CPU's f16 table at x rounded to f16, saturating outside ±10. The table is bound at 4, two
// f16 per word, indexed by x's f16 bits.

@group(0) @binding(4) var<storage, read> GELU: array<u32>;

fn gelu(x: f32) -> f32 {
    if (x <= -10.0) {
        return 0.0;
    }
    if (x >= 10.0) {
        return x;
    }
    let h = f16_bits(x);
    let word = GELU[h >> 1u];
    return f16_value((word >> ((h & 1u) * 16u)) & 0xffffu);
}
