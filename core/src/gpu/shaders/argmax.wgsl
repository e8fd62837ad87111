// Index and value of the largest of `len` values (the first on ties), so a greedy decode
// step reads back 8 bytes instead of the vocabulary's logits. Two launches: `partial` has
// one workgroup per CHUNK values write each chunk's best after the result slot, then `main`
// (one workgroup) picks the best of the chunks. Each thread keeps the first largest of its
// values (in increasing index order), and every merge prefers the larger value, then the
// lower index, so the result is the first largest overall.

struct Params {
    len: u32,
    chunks: u32,
    _p1: u32,
    _p2: u32,
}

const WG: u32 = 256u;
const PER_THREAD: u32 = 16u;
const CHUNK: u32 = 4096u; // WG * PER_THREAD

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
// [index, value bits] of the result, then one pair per chunk.
@group(0) @binding(2) var<storage, read_write> result: array<u32>;

var<workgroup> best_v: array<f32, WG>;
var<workgroup> best_i: array<u32, WG>;

fn better(ov: f32, oi: u32, bv: f32, bi: u32) -> bool {
    return ov > bv || (ov == bv && oi < bi);
}

// The workgroup's best pair (valid in thread 0).
fn reduce(v: f32, i: u32, lid: u32) -> vec2<u32> {
    var bv = v;
    var bi = i;
    best_v[lid] = bv;
    best_i[lid] = bi;
    workgroupBarrier();
    // Workgroup memory down to SG lanes, then subgroup shuffles (none when SG = 1).
    for (var w = WG / 2u; w >= SG; w = w / 2u) {
        if (lid < w) {
            let ov = best_v[lid + w];
            let oi = best_i[lid + w];
            if (better(ov, oi, best_v[lid], best_i[lid])) {
                best_v[lid] = ov;
                best_i[lid] = oi;
            }
        }
        workgroupBarrier();
    }
    bv = best_v[lid];
    bi = best_i[lid];
    for (var w = SG / 2u; w > 0u; w = w / 2u) {
        let ov = sg_shuffle_f32(bv, w);
        let oi = sg_shuffle_u32(bi, w);
        if (better(ov, oi, bv, bi)) {
            bv = ov;
            bi = oi;
        }
    }
    return vec2<u32>(bi, bitcast<u32>(bv));
}

@compute @workgroup_size(256)
fn partial(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    var bv = -3.4e38;
    var bi = 0xffffffffu;
    let base = wg.x * CHUNK;
    for (var k = 0u; k < PER_THREAD; k++) {
        let i = base + k * WG + lid;
        if (i < p.len) {
            let v = X[i];
            if (v > bv) {
                bv = v;
                bi = i;
            }
        }
    }
    let r = reduce(bv, bi, lid);
    if (lid == 0u) {
        result[2u + 2u * wg.x] = r.x;
        result[3u + 2u * wg.x] = r.y;
    }
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
    var bv = -3.4e38;
    var bi = 0xffffffffu;
    for (var c = lid; c < p.chunks; c += WG) {
        let oi = result[2u + 2u * c];
        let ov = bitcast<f32>(result[3u + 2u * c]);
        if (better(ov, oi, bv, bi)) {
            bv = ov;
            bi = oi;
        }
    }
    let r = reduce(bv, bi, lid);
    if (lid == 0u) {
        result[0] = r.x;
        result[1] = r.y;
    }
}
