// Shared by every kernel: the per-forward step uniform and f16 rounding.

struct Step {
    // Tokens in this forward call.
    n_tok: u32,
    // Position of the first of them (cached positions before it).
    pos0: u32,
    _pad0: u32,
    _pad1: u32,
}

// The value `x` takes once stored as f16 (as the CPU backend's f16 KV cache and tables do).
fn f16_round(x: f32) -> f32 {
    return unpack2x16float(pack2x16float(vec2<f32>(x, 0.0))).x;
}
