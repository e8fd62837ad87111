// Element-wise kernels over step.n_tok * per_tok elements (or fixed_len): `silu_mul` /
// `gelu_mul` (the gated feed-forward, Y = act(gate) * up, from X holding each token's gate
// and up rows side by side as the stacked gate/up product writes them), `softcap`
// (Y = tanh(X / cap) * cap). Prepended with expf.wgsl and gelu.wgsl.

struct Params {
    per_tok: u32,
    fixed_len: u32,
    cap: f32,
    _p0: u32,
}

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
fn n_elems() -> u32 {
    if (p.fixed_len != 0u) {
        return p.fixed_len;
    }
    return step.n_tok * p.per_tok;
}

// Where output element i's gate is in X (its up is per_tok further).
fn gate_at(i: u32) -> u32 {
    return (i / p.per_tok) * 2u * p.per_tok + i % p.per_tok;
}

@compute @workgroup_size(64)
fn silu_mul(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * 2097152u;
    if (i < n_elems()) {
        let g = X[gate_at(i)];
        Y[i] = g / (1.0 + expf(-g)) * X[gate_at(i) + p.per_tok];
    }
}

@compute @workgroup_size(64)
fn gelu_mul(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * 2097152u;
    if (i < n_elems()) {
        Y[i] = gelu(X[gate_at(i)]) * X[gate_at(i) + p.per_tok];
    }
}

@compute @workgroup_size(64)
fn softcap(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * 2097152u;
    if (i < n_elems()) {
        Y[i] = tanh(X[i] / p.cap) * p.cap;
    }
}
