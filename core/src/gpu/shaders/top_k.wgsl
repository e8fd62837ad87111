// The k largest finite values of `len` (k ≤ 128) with their indices, so a sampling step reads
// back a few hundred bytes instead of the vocabulary's logits. Values are ordered as Rust's
// `f32::total_cmp` orders them (−0 below +0), ties by the lower index: the set the CPU
// sampler's top-k keeps. One workgroup: a radix select over the order-preserving u32 keys
// (four 8-bit passes find the k-th largest key T and how many of the values equal to T to
// take), then a gather of the values above T and of the first ties by index.
// Output: `result[0]` = count, then `count` pairs (index, value bits), in no particular order.

struct Params {
    len: u32,
    k: u32,
    _p0: u32,
    _p1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> result: array<u32>;

var<workgroup> hist: array<atomic<u32>, 256>;
var<workgroup> ties: array<u32, 256>;
var<workgroup> prefix_w: u32;
var<workgroup> need_w: u32;
var<workgroup> keff_w: u32;
var<workgroup> n_gt: atomic<u32>;

// Unsigned keys in the order of `total_cmp`.
fn key_of(v: f32) -> u32 {
    let b = bitcast<u32>(v);
    if ((b & 0x80000000u) != 0u) {
        return ~b;
    }
    return b | 0x80000000u;
}

// The CPU sampler drops NaN and ±infinity before its top-k.
fn is_finite(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u;
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
    if (lid == 0u) {
        prefix_w = 0u;
        need_w = 0u;
        keff_w = 0u;
        atomicStore(&n_gt, 0u);
    }
    for (var round = 0u; round < 4u; round++) {
        atomicStore(&hist[lid], 0u);
        workgroupBarrier();
        let prefix = prefix_w;
        let shift = 24u - 8u * round;
        for (var i = lid; i < p.len; i += 256u) {
            let v = X[i];
            if (is_finite(v)) {
                let key = key_of(v);
                if (round == 0u || (key >> (shift + 8u)) == prefix) {
                    atomicAdd(&hist[(key >> shift) & 255u], 1u);
                }
            }
        }
        workgroupBarrier();
        if (lid == 0u) {
            var need = need_w;
            if (round == 0u) {
                var total = 0u;
                for (var b = 0u; b < 256u; b++) {
                    total += atomicLoad(&hist[b]);
                }
                need = min(p.k, total);
                keff_w = need;
            }
            // The bin holding the need-th largest of the values still in play.
            var acc = 0u;
            var chosen = 0u;
            for (var b = 255i; b >= 0; b--) {
                let h = atomicLoad(&hist[u32(b)]);
                if (acc + h >= need) {
                    chosen = u32(b);
                    break;
                }
                acc += h;
            }
            need_w = need - acc;
            prefix_w = (prefix << 8u) | chosen;
        }
        workgroupBarrier();
    }
    let t = prefix_w;
    let need = need_w;
    let keff = keff_w;
    // Contiguous chunks, so the first ties by index can be found with one scan of counts.
    let chunk = (p.len + 255u) / 256u;
    let start = min(lid * chunk, p.len);
    let end = min(start + chunk, p.len);
    var eq = 0u;
    for (var i = start; i < end; i++) {
        let v = X[i];
        if (is_finite(v)) {
            let key = key_of(v);
            if (key > t) {
                let slot = atomicAdd(&n_gt, 1u);
                result[1u + 2u * slot] = i;
                result[2u + 2u * slot] = bitcast<u32>(v);
            } else if (key == t) {
                eq++;
            }
        }
    }
    ties[lid] = eq;
    workgroupBarrier();
    if (lid == 0u) {
        var acc = 0u;
        for (var j = 0u; j < 256u; j++) {
            let c = ties[j];
            ties[j] = acc;
            acc += c;
        }
        result[0] = keff;
    }
    workgroupBarrier();
    var rank = ties[lid];
    let base = keff - need;
    for (var i = start; i < end && rank < need; i++) {
        let v = X[i];
        if (is_finite(v) && key_of(v) == t) {
            let slot = base + rank;
            result[1u + 2u * slot] = i;
            result[2u + 2u * slot] = bitcast<u32>(v);
            rank++;
        }
    }
}
