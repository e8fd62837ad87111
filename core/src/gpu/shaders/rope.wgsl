// RoPE in place on `heads` heads of `head_dim` per token, at positions step.pos0 + t, from a
// table of (cos, sin) per position and pair computed on the CPU exactly as the CPU backend
// does (ggml's iterative angles), so both backends rotate by the same bits.

struct Params {
    heads: u32,
    head_dim: u32,
    half_rot: u32, // n_rot / 2 pairs rotated
    neox: u32,     // 1: pairs (i, i + half_rot); 0: adjacent pairs (2i, 2i + 1)
}

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> table: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let t = wg.x / p.heads;
    if (t >= step.n_tok) {
        return;
    }
    let base = wg.x * p.head_dim;
    let tb = (step.pos0 + t) * p.half_rot * 2u;
    for (var i = lid; i < p.half_rot; i += 64u) {
        let c = table[tb + 2u * i];
        let s = table[tb + 2u * i + 1u];
        var i0 = base + 2u * i;
        var i1 = i0 + 1u;
        if (p.neox != 0u) {
            i0 = base + i;
            i1 = base + i + p.half_rot;
        }
        let x0 = Y[i0];
        let x1 = Y[i1];
        Y[i0] = x0 * c - x1 * s;
        Y[i1] = x0 * s + x1 * c;
    }
}
