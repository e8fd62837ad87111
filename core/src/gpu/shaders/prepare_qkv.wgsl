// The step's Q, K and V made ready for attention in one launch, one workgroup per token and
// head. They arrive side by side per token in QKV (the stacked Q/K/V products). Q heads get
// their bias, per-head RMS norm and RoPE, into Q; K heads the same, then go to the cache at positions step.pos0.. (rounded to f16 for an f16 cache); V heads their
// bias, then the cache. The same operations in the same order as the CPU backend (bias,
// norm, rotation, rounding), one launch where separate kernels took up to seven.
// `KvElem` (prepended) is f16 with shader-f16, else f32.

struct Params {
    n_head: u32,
    n_head_kv: u32,
    head_dim: u32,
    head_dim_v: u32,
    half_rot: u32, // n_rot / 2 pairs rotated
    neox: u32,     // 1: pairs (i, i + half_rot); 0: adjacent pairs (2i, 2i + 1)
    round_f16: u32,
    eps: f32,
    // Where in AUX each vector starts, NONE when the model has none.
    bq: u32,
    bk: u32,
    bv: u32,
    q_norm: u32,
    k_norm: u32,
    _p0: u32,
    _p1: u32,
    _p2: u32,
}

const NONE: u32 = 0xffffffffu;

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> table: array<f32>;
// The layer's biases and Q/K norm weights, one buffer (a launch may bind only 8 storage
// buffers in WebGPU).
@group(0) @binding(3) var<storage, read> AUX: array<f32>;
// Per token: Q (n_head heads), K (n_head_kv heads), V (n_head_kv heads of head_dim_v).
@group(0) @binding(4) var<storage, read> QKV: array<f32>;
@group(0) @binding(5) var<storage, read_write> Q: array<f32>;
@group(0) @binding(6) var<storage, read_write> KC: array<KvElem>;
@group(0) @binding(7) var<storage, read_write> VC: array<KvElem>;

// One head (head_dim ≤ 512) between loading and rotating.
var<workgroup> head: array<f32, 512>;

fn rounded(v: f32) -> KvElem {
    if (p.round_f16 != 0u) {
        return KvElem(f16_round(v));
    }
    return KvElem(v);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let slots = p.n_head + 2u * p.n_head_kv;
    let t = wg.x / slots;
    if (t >= step.n_tok) {
        return;
    }
    let slot = wg.x % slots;
    let pos = step.pos0 + t;
    let hd = p.head_dim;
    let q_dim = p.n_head * hd;
    let kv_dim = p.n_head_kv * hd;
    let hdv = p.head_dim_v;
    let v_dim = p.n_head_kv * hdv;
    let row = t * (q_dim + kv_dim + v_dim);
    if (slot >= p.n_head + p.n_head_kv) {
        // A V head: bias, then the cache.
        let off = (slot - p.n_head - p.n_head_kv) * hdv;
        for (var i = lid; i < hdv; i += 64u) {
            var v = QKV[row + q_dim + kv_dim + off + i];
            if (p.bv != NONE) {
                v += AUX[p.bv + off + i];
            }
            VC[pos * v_dim + off + i] = rounded(v);
        }
        return;
    }
    let is_q = slot < p.n_head;
    var off = slot * hd;
    var src = row + off;
    var bias = p.bq;
    var norm = p.q_norm;
    if (!is_q) {
        off = (slot - p.n_head) * hd;
        src = row + q_dim + off;
        bias = p.bk;
        norm = p.k_norm;
    }
    var s = 0.0;
    for (var i = lid; i < hd; i += 64u) {
        var v = QKV[src + i];
        if (bias != NONE) {
            v += AUX[bias + off + i];
        }
        head[i] = v;
        s += v * v;
    }
    if (norm != NONE) {
        // As rms_norm.wgsl's rows: each thread's squares in order, then the workgroup sum.
        let scale = step.one / sqrt(wg_sum64(s, lid) / f32(hd) + p.eps);
        for (var i = lid; i < hd; i += 64u) {
            head[i] = (head[i] * scale) * AUX[norm + i];
        }
    }
    workgroupBarrier();
    // Rotated pairs, then the dimensions past n_rot as they are.
    let tb = pos * p.half_rot * 2u;
    let n_rot = 2u * p.half_rot;
    for (var i = lid; i < hd; i += 64u) {
        var y = head[i];
        if (i < n_rot) {
            var j = i / 2u;
            var second = (i & 1u) == 1u;
            var mate = i ^ 1u;
            if (p.neox != 0u) {
                j = i % p.half_rot;
                second = i >= p.half_rot;
                mate = select(i + p.half_rot, i - p.half_rot, second);
            }
            let c = table[tb + 2u * j];
            let sn = table[tb + 2u * j + 1u];
            if (second) {
                y = head[mate] * sn + head[i] * c;
            } else {
                y = head[i] * c - head[mate] * sn;
            }
        }
        if (is_q) {
            Q[t * q_dim + off + i] = y;
        } else {
            KC[pos * kv_dim + off + i] = rounded(y);
        }
    }
}
