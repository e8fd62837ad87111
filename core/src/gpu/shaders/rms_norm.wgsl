// RMS norm of rows: y = x / sqrt(mean(x^2) + eps) * w. One workgroup per row; the number of
// rows is step.n_tok * rows_per_tok (or fixed_rows). `norm_copy` reads X writes Y
// (`rms_norm_inplace.wgsl` rewrites Y). Prepended with reduce64.wgsl.

struct Params {
    len: u32,          // row length
    rows_per_tok: u32, // rows per token (heads for a per-head norm)
    fixed_rows: u32,   // 0: step.n_tok * rows_per_tok
    src_row0: u32,     // first source row (norm_copy); 0xffffffff: the step's last token
    eps: f32,
    _p0: u32,
    _p1: u32,
    _p2: u32,
}

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> Wt: array<f32>;
@group(0) @binding(3) var<storage, read> X: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;

fn n_rows() -> u32 {
    if (p.fixed_rows != 0u) {
        return p.fixed_rows;
    }
    return step.n_tok * p.rows_per_tok;
}

fn row_scale(sum_local: f32, lid: u32) -> f32 {
    let mean = wg_sum64(sum_local, lid) / f32(p.len);
    return 1.0 / sqrt(mean + p.eps);
}

@compute @workgroup_size(64)
fn norm_copy(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = wg.x;
    if (row >= n_rows()) {
        return;
    }
    var row0 = p.src_row0;
    if (row0 == 0xffffffffu) {
        row0 = step.n_tok - 1u;
    }
    let src = (row0 + row) * p.len;
    let dst = row * p.len;
    var s = 0.0;
    for (var i = lid; i < p.len; i += 64u) {
        let v = X[src + i];
        s += v * v;
    }
    let scale = row_scale(s, lid);
    for (var i = lid; i < p.len; i += 64u) {
        Y[dst + i] = (X[src + i] * scale) * Wt[i];
    }
}
