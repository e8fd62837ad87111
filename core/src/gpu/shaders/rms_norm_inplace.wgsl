// In-place RMS norm with weights (per-head Q/K norms, Gemma's post-norms); see rms_norm.wgsl.

struct Params {
    len: u32,
    rows_per_tok: u32,
    fixed_rows: u32,
    src_row0: u32,
    eps: f32,
    _p0: u32,
    _p1: u32,
    _p2: u32,
}

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> Wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = wg.x;
    if (row >= step.n_tok * p.rows_per_tok) {
        return;
    }
    let base = row * p.len;
    var s = 0.0;
    for (var i = lid; i < p.len; i += 64u) {
        let v = Y[base + i];
        s += v * v;
    }
    let scale = step.one / sqrt(wg_sum64(s, lid) / f32(p.len) + p.eps);
    for (var i = lid; i < p.len; i += 64u) {
        Y[base + i] = (Y[base + i] * scale) * Wt[i];
    }
}
