// Index and value of the largest of `len` values (the first on ties), so a greedy decode
// step reads back 8 bytes instead of the vocabulary's logits. One workgroup.

struct Params {
    len: u32,
    _p0: u32,
    _p1: u32,
    _p2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> result: array<u32>;

var<workgroup> best_v: array<f32, 256>;
var<workgroup> best_i: array<u32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
    var bv = -3.4e38;
    var bi = 0xffffffffu;
    for (var i = lid; i < p.len; i += 256u) {
        let v = X[i];
        if (v > bv) {
            bv = v;
            bi = i;
        }
    }
    best_v[lid] = bv;
    best_i[lid] = bi;
    workgroupBarrier();
    // Workgroup memory down to SG lanes, then subgroup shuffles (none when SG = 1).
    for (var w = 128u; w >= SG; w = w / 2u) {
        if (lid < w) {
            let ov = best_v[lid + w];
            let oi = best_i[lid + w];
            if (ov > best_v[lid] || (ov == best_v[lid] && oi < best_i[lid])) {
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
        if (ov > bv || (ov == bv && oi < bi)) {
            bv = ov;
            bi = oi;
        }
    }
    if (lid == 0u) {
        result[0] = bi;
        result[1] = bitcast<u32>(bv);
    }
}
