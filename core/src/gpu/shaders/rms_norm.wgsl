// RMS norm of rows: y = x / sqrt(mean(x^2) + eps) * w. One workgroup per row; the number of
// rows is step.n_tok * rows_per_tok (or fixed_rows). `norm_copy` reads X writes Y (and,
// with `p.q_mode`, Y quantized into XQ as add_norm does).
// Prepended with reduce64.wgsl and quantize_serial.wgsl.

struct Params {
    len: u32,          // row length
    rows_per_tok: u32, // rows per token (heads for a per-head norm)
    fixed_rows: u32,   // 0: step.n_tok * rows_per_tok
    src_row0: u32,     // first source row (norm_copy); 0xffffffff: the step's last token
    eps: f32,
    _p0: u32,
    _p1: u32,
    _p2: u32,
    q_mode: u32,   // y also quantized into XQ (modes of quantize_act.wgsl; 0: not)
    sums_off: u32, // where XQ's Q8_1 block sums start (mode 2)
    _p3: u32,
    _p4: u32,
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
    return step.one / sqrt(mean + p.eps);
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
    if (p.q_mode != 0u) {
        storageBarrier();
        quantize_serial(dst, p.len, p.q_mode, p.sums_off, lid, 64u);
    }
}

// The residual step between sublayers, in one launch per token row: `r += o` (o first
// normed with `Wpost` when `p._p0` is set: Gemma's post-norms), then, when `p._p1` is set,
// `y = norm(r) * Wt` for the next sublayer. Each thread walks the same elements in the same
// order as separate launches of an in-place norm, the add and `norm_copy` would, so the
// results are bit-identical to those three launches.
// With `p.q_mode`, y is also quantized for the next sublayer's products into XQ
// (quantize_serial.wgsl), which spares that launch.
@group(0) @binding(5) var<storage, read> Wpost: array<f32>;
@group(0) @binding(6) var<storage, read_write> R: array<f32>;
@group(0) @binding(7) var<storage, read_write> XQ: array<f32>;

// quantize_serial.wgsl's source: this launch's output.
fn q_src(i: u32) -> f32 {
    return Y[i];
}

@compute @workgroup_size(64)
fn add_norm(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = wg.x;
    if (row >= step.n_tok) {
        return;
    }
    let base = row * p.len;
    var post = 1.0;
    if (p._p0 != 0u) {
        var s = 0.0;
        for (var i = lid; i < p.len; i += 64u) {
            let v = X[base + i];
            s += v * v;
        }
        post = row_scale(s, lid);
    }
    var s2 = 0.0;
    for (var i = lid; i < p.len; i += 64u) {
        var o = X[base + i];
        if (p._p0 != 0u) {
            o = (o * post) * Wpost[i];
        }
        let r = R[base + i] + o;
        R[base + i] = r;
        s2 += r * r;
    }
    if (p._p1 != 0u) {
        let scale = row_scale(s2, lid);
        for (var i = lid; i < p.len; i += 64u) {
            Y[base + i] = (R[base + i] * scale) * Wt[i];
        }
        if (p.q_mode != 0u) {
            // The row's y, written by every thread, read back by the block's.
            storageBarrier();
            quantize_serial(base, p.len, p.q_mode, p.sums_off, lid, 64u);
        }
    }
}
