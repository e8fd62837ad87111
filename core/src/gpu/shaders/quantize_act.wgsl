// The activations as the CPU backend's dot products see them: it quantizes x to the weight
// type's `vec_dot_type` once per row before the integer dot product. Writing back the
// dequantized values (x' = q * d) lets the f32 matmul reproduce those products up to f32
// rounding. Modes: 1 = f16 (F16 weights), 2 = Q8_0/Q8_1 (blocks of 32, f16 scale, ties to
// even), 3 = Q8_K (blocks of 256, f32 scale from the signed extreme). One thread per block.
// Mode 2 also writes each block's Q8_1 sum `s = f16(d * Σq)` (d unrounded, as the CPU stores
// it) at `Y[sums_off + block]` when `sums_off` is non-zero: Q4_1's dot product uses it.

struct Params {
    cols: u32,
    mode: u32,
    fixed_tok: u32, // 0: step.n_tok rows
    sums_off: u32,  // 0: no block sums
}

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    var n_tok = step.n_tok;
    if (p.fixed_tok != 0u) {
        n_tok = p.fixed_tok;
    }
    var bs = 32u;
    if (p.mode == 3u) {
        bs = 256u;
    }
    if (p.mode == 1u) {
        bs = 1u;
    }
    let per_row = p.cols / bs;
    let b = gid.x + gid.y * 2097152u;
    if (b >= n_tok * per_row) {
        return;
    }
    let xo = b * bs;
    let yo = xo;
    if (p.mode == 1u) {
        Y[yo] = f16_round(X[xo]);
        return;
    }
    var amax = 0.0;
    var mx = 0.0;
    for (var i = 0u; i < bs; i++) {
        let v = X[xo + i];
        if (abs(v) > amax) {
            amax = abs(v);
            mx = v;
        }
    }
    if (p.mode == 2u) {
        let d = f16_round(amax / 127.0);
        var id = 0.0;
        if (amax != 0.0) {
            id = 127.0 / amax;
        }
        var qsum = 0.0;
        for (var i = 0u; i < bs; i++) {
            let q = round(X[xo + i] * id);
            Y[yo + i] = q * d;
            qsum += q;
        }
        if (p.sums_off != 0u) {
            Y[p.sums_off + b] = f16_round((amax / 127.0) * qsum);
        }
    } else {
        if (amax == 0.0) {
            for (var i = 0u; i < bs; i++) {
                Y[yo + i] = 0.0;
            }
            return;
        }
        let iscale = -127.0 / mx;
        let d = 1.0 / iscale;
        for (var i = 0u; i < bs; i++) {
            Y[yo + i] = min(round(iscale * X[xo + i]), 127.0) * d;
        }
    }
}
