// The activations as the CPU backend's dot products see them: it quantizes x to the weight
// type's `vec_dot_type` once per row before the integer dot product. Writing back the
// dequantized values (x' = q * d) lets the f32 matmul reproduce those products up to f32
// rounding. Modes: 1 = f16 (F16 weights), 2 = Q8_0/Q8_1 (blocks of 32, f16 scale, ties to
// even), 3 = Q8_K (blocks of 256, f32 scale from the signed extreme), 4 = bf16 (BF16
// weights: ggml's round to nearest even, NaNs made quiet). A 256-thread workgroup
// takes 256 values (whole blocks), one per thread; a block's largest |x| and its Σq come from
// trees in workgroup memory (the first largest on ties, as the CPU's loop; Σq adds integers,
// so any order is exact).
// Mode 2 also writes each block's Q8_1 sum `s = f16(d * Σq)` (d unrounded, as the CPU stores
// it) at `Y[sums_off + block]` when `sums_off` is non-zero: Q4_1's dot product uses it.
// `main` quantizes X; `main_silu` / `main_gelu` quantize the gated feed-forward's
// act(gate) * up from X holding each token's gate and up rows side by side (what
// elementwise.wgsl's silu_mul / gelu_mul compute, the same operations, so the same bits),
// which spares the down product's input a launch. Prepended with expf.wgsl and gelu.wgsl.

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

const WG: u32 = 256u;
var<workgroup> ra: array<f32, WG>; // largest |x| so far
var<workgroup> ri: array<u32, WG>; // its thread
var<workgroup> rv: array<f32, WG>; // each thread's x
var<workgroup> rq: array<f32, WG>; // Σq

fn n_elems() -> u32 {
    var n_tok = step.n_tok;
    if (p.fixed_tok != 0u) {
        n_tok = p.fixed_tok;
    }
    return n_tok * p.cols;
}

fn elem(wg: vec3<u32>, lid: u32) -> u32 {
    return (wg.x + wg.y * 32768u) * WG + lid;
}

// Where element e's gate is in X (its up is p.cols further).
fn gate_at(e: u32) -> u32 {
    return (e / p.cols) * 2u * p.cols + e % p.cols;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let e = elem(wg, lid);
    let valid = e < n_elems();
    var v = 0.0;
    if (valid) {
        v = X[e];
    }
    quantize(e, valid, v, lid);
}

@compute @workgroup_size(256)
fn main_silu(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let e = elem(wg, lid);
    let valid = e < n_elems();
    var v = 0.0;
    if (valid) {
        let g = X[gate_at(e)];
        v = g / (1.0 + expf(-g)) * X[gate_at(e) + p.cols];
    }
    quantize(e, valid, v, lid);
}

@compute @workgroup_size(256)
fn main_gelu(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let e = elem(wg, lid);
    let valid = e < n_elems();
    var v = 0.0;
    if (valid) {
        v = gelu(X[gate_at(e)]) * X[gate_at(e) + p.cols];
    }
    quantize(e, valid, v, lid);
}

// Element e (thread lid of its workgroup) holding `v`: written as the mode rounds it.
fn quantize(e: u32, valid: bool, v: f32, lid: u32) {
    if (p.mode == 1u) {
        if (valid) {
            Y[e] = f16_round(v);
        }
        return;
    }
    if (p.mode == 4u) {
        if (valid) {
            Y[e] = bf16_round(v);
        }
        return;
    }
    var bs = 32u;
    if (p.mode == 3u) {
        bs = 256u;
    }
    rv[lid] = v;
    ra[lid] = abs(v);
    ri[lid] = lid;
    workgroupBarrier();
    let o = lid % bs;
    for (var w = bs / 2u; w > 0u; w = w / 2u) {
        if (o < w && ra[lid + w] > ra[lid]) {
            ra[lid] = ra[lid + w];
            ri[lid] = ri[lid + w];
        }
        workgroupBarrier();
    }
    let first = lid - o;
    let amax = ra[first];
    let mx = rv[ri[first]];
    if (p.mode == 2u) {
        let d = f16_round(amax / 127.0);
        var id = 0.0;
        if (amax != 0.0) {
            id = 127.0 / amax;
        }
        let q = round(v * id);
        if (valid) {
            Y[e] = q * d;
        }
        if (p.sums_off != 0u) {
            rq[lid] = q;
            workgroupBarrier();
            for (var w = bs / 2u; w > 0u; w = w / 2u) {
                if (o < w) {
                    rq[lid] += rq[lid + w];
                }
                workgroupBarrier();
            }
            if (valid && o == 0u) {
                Y[p.sums_off + e / 32u] = f16_round((amax / 127.0) * rq[lid]);
            }
        }
    } else if (valid) {
        if (amax == 0.0) {
            Y[e] = 0.0;
        } else {
            let iscale = -127.0 / mx;
            let d = step.one / iscale;
            Y[e] = min(round(iscale * v), 127.0) * d;
        }
    }
}
