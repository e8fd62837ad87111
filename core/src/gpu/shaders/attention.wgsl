// Causal attention with grouped-query heads and an optional sliding window over the GPU
// KV cache. One workgroup per (token, query head): scores into a scratch row, softmax,
// then the weighted sum of values. Prepended with reduce64.wgsl, expf.wgsl and
// quantize_serial.wgsl.

struct Params {
    n_head: u32,
    group: u32,      // query heads per KV head
    head_dim: u32,
    head_dim_v: u32,
    kv_dim: u32,     // key row stride in the cache
    v_dim: u32,      // value row stride
    window: u32,     // 0: full causal; else positions (p + 1 - window) ..= p
    n_ctx: u32,      // scratch row length
    q_scale: f32,    // applied to Q before it is rounded (Gemma scales Q)
    kq_scale: f32,   // applied to each score
    round_q_f16: u32,
    q_mode: u32,   // the output also quantized into XQ (quantize_act.wgsl's modes; 0: not)
    sums_off: u32, // where XQ's Q8_1 block sums start (mode 2)
    _p0: u32,
    _p1: u32,
}

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> Q: array<f32>;
// KvElem (prepended): f16 or f32, widened to f32 before any arithmetic.
@group(0) @binding(3) var<storage, read> K: array<KvElem>;
@group(0) @binding(4) var<storage, read> V: array<KvElem>;
@group(0) @binding(5) var<storage, read_write> scores: array<f32>;
@group(0) @binding(6) var<storage, read_write> O: array<f32>;
// With p.q_mode: the output quantized for the output product (quantize_serial.wgsl; the
// head's values hold whole blocks of the mode).
@group(0) @binding(7) var<storage, read_write> XQ: array<f32>;

fn q_src(i: u32) -> f32 {
    return O[i];
}

var<workgroup> qs: array<f32, 512>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let t = wg.x / p.n_head;
    let h = wg.x % p.n_head;
    if (t >= step.n_tok) {
        return;
    }
    let kvh = h / p.group;
    let pos = step.pos0 + t;
    var start = 0u;
    if (p.window != 0u && pos + 1u > p.window) {
        start = pos + 1u - p.window;
    }
    let qb = (t * p.n_head + h) * p.head_dim;
    for (var i = lid; i < p.head_dim; i += 64u) {
        var q = Q[qb + i] * p.q_scale;
        if (p.round_q_f16 != 0u) {
            q = f16_round(q);
        }
        qs[i] = q;
    }
    workgroupBarrier();
    let sb = (t * p.n_head + h) * p.n_ctx;
    var mx = -3.4e38;
    for (var j = start + lid; j <= pos; j += 64u) {
        let kb = j * p.kv_dim + kvh * p.head_dim;
        var s = 0.0;
        for (var i = 0u; i < p.head_dim; i++) {
            s += qs[i] * f32(K[kb + i]);
        }
        s *= p.kq_scale;
        scores[sb + j] = s;
        mx = max(mx, s);
    }
    mx = wg_max64(mx, lid);
    var sum = 0.0;
    for (var j = start + lid; j <= pos; j += 64u) {
        let e = expf(scores[sb + j] - mx);
        scores[sb + j] = e;
        sum += e;
    }
    sum = wg_sum64(sum, lid);
    storageBarrier();
    workgroupBarrier();
    let inv = select(0.0, step.one / sum, sum > 0.0);
    let ob = (t * p.n_head + h) * p.head_dim_v;
    for (var d = lid; d < p.head_dim_v; d += 64u) {
        var acc = 0.0;
        for (var j = start; j <= pos; j++) {
            acc += scores[sb + j] * f32(V[j * p.v_dim + kvh * p.head_dim_v + d]);
        }
        O[ob + d] = acc * inv;
    }
    if (p.q_mode != 0u) {
        storageBarrier();
        quantize_serial(ob, p.head_dim_v, p.q_mode, p.sums_off, lid, 64u);
    }
}
