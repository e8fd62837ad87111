// The k largest finite values of `len` (k ≤ 128) with their indices, so a sampling step reads
// back a few hundred bytes instead of the vocabulary's logits. Values are ordered as Rust's
// `f32::total_cmp` orders them (−0 below +0), ties by the lower index: the set the CPU
// sampler's top-k keeps.
// Two launches, so a large vocabulary is not scanned six times by one workgroup (one compute
// unit): `chunks` selects the top k of each CHUNK values in a workgroup of its own, `merge`
// (one workgroup) the top k of those candidate lists. A vocabulary of one chunk needs
// `chunks` alone, which then writes the result directly.
// One selection: a radix select over order-preserving u32 keys (four 8-bit passes find the
// k-th largest key T and how many of the values equal to T to take), then a gather that
// writes the values above T and the first ties, each in index order. Index order is what
// lets `merge` take the first ties by index: its candidates, list after list, then meet
// equal keys in the order one scan of all values would.
// A selection's output at `out[base..]`: the count, then `count` (index, value bits) pairs.
// `out` holds the result at 0 and, with several chunks, chunk c's list at LIST * (1 + c).

struct Params {
    len: u32,
    k: u32,
    _p0: u32,
    _p1: u32,
}

const CHUNK: u32 = 4096u;
const MAX_K: u32 = 128u;
const LIST: u32 = 257u; // 1 + 2 * MAX_K words

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<u32>; // the values' bits
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

var<workgroup> hist: array<atomic<u32>, 256>;
var<workgroup> above: array<u32, 256>;
var<workgroup> ties: array<u32, 256>;
var<workgroup> prefix_w: u32;
var<workgroup> need_w: u32;
var<workgroup> keff_w: u32;

// What a selection reads: X[first..] (`chunks`), or the candidate lists (`merge`).
var<private> merging: bool;
var<private> first: u32;

// Unsigned keys in the order of `total_cmp`.
fn key_of(b: u32) -> u32 {
    if ((b & 0x80000000u) != 0u) {
        return ~b;
    }
    return b | 0x80000000u;
}

// The CPU sampler drops NaN and ±infinity before its top-k.
fn is_finite(b: u32) -> bool {
    return (b & 0x7f800000u) != 0x7f800000u;
}

// Element i of the selection: (1 if a finite candidate else 0, index, value bits).
fn elem(i: u32) -> vec3<u32> {
    if (merging) {
        let list = LIST * (1u + i / MAX_K);
        let j = i % MAX_K;
        if (j >= out[list]) {
            return vec3<u32>(0u, 0u, 0u);
        }
        return vec3<u32>(1u, out[list + 1u + 2u * j], out[list + 2u + 2u * j]);
    }
    let b = X[first + i];
    return vec3<u32>(select(0u, 1u, is_finite(b)), first + i, b);
}

// The top k of the selection's `n` elements, written at out[base..].
fn select_top_k(n: u32, base: u32, lid: u32) {
    if (lid == 0u) {
        prefix_w = 0u;
        need_w = 0u;
        keff_w = 0u;
    }
    for (var round = 0u; round < 4u; round++) {
        atomicStore(&hist[lid], 0u);
        workgroupBarrier();
        let prefix = prefix_w;
        let shift = 24u - 8u * round;
        for (var i = lid; i < n; i += 256u) {
            let e = elem(i);
            if (e.x != 0u) {
                let key = key_of(e.z);
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
    // Contiguous ranges, so one scan of counts gives each thread its first output slots.
    let per = (n + 255u) / 256u;
    let start = min(lid * per, n);
    let end = min(start + per, n);
    var gt = 0u;
    var eq = 0u;
    for (var i = start; i < end; i++) {
        let e = elem(i);
        if (e.x != 0u) {
            let key = key_of(e.z);
            if (key > t) {
                gt++;
            } else if (key == t) {
                eq++;
            }
        }
    }
    above[lid] = gt;
    ties[lid] = eq;
    workgroupBarrier();
    if (lid == 0u) {
        var a = 0u;
        var b = 0u;
        for (var j = 0u; j < 256u; j++) {
            let g = above[j];
            above[j] = a;
            a += g;
            let c = ties[j];
            ties[j] = b;
            b += c;
        }
        out[base] = keff;
    }
    workgroupBarrier();
    // keff - need values lie above T: they take the first slots, the ties the rest.
    var slot = above[lid];
    var rank = ties[lid];
    for (var i = start; i < end; i++) {
        let e = elem(i);
        if (e.x != 0u) {
            let key = key_of(e.z);
            var at = MAX_K;
            if (key > t) {
                at = slot;
                slot++;
            } else if (key == t && rank < need) {
                at = keff - need + rank;
                rank++;
            }
            if (at < MAX_K) {
                out[base + 1u + 2u * at] = e.y;
                out[base + 2u + 2u * at] = e.z;
            }
        }
    }
}

@compute @workgroup_size(256)
fn chunks(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    first = wg.x * CHUNK;
    var base = 0u;
    if (p.len > CHUNK) {
        base = LIST * (1u + wg.x);
    }
    select_top_k(min(CHUNK, p.len - first), base, lid);
}

@compute @workgroup_size(256)
fn merge(@builtin(local_invocation_index) lid: u32) {
    merging = true;
    select_top_k(((p.len + CHUNK - 1u) / CHUNK) * MAX_K, 0u, lid);
}
