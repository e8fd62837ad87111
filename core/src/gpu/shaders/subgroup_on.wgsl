// With subgroups (prepended after `const SG`, the adapter's smallest subgroup size): the
// kernels' workgroup-memory trees stop at SG lanes and these finish them with shuffles.
// Lane i adds lane i ^ w for w = width / 2 .. 1, the very additions (same operands, same
// order) the tree makes for lane 0, so lane 0's result is bit-identical to the tree's.
// Assumes a 1-D workgroup's subgroups are aligned runs of at least SG invocation indices.

fn sg_sum(v: f32, width: u32) -> f32 {
    var s = v;
    for (var w = min(width, SG) / 2u; w > 0u; w = w / 2u) {
        s += subgroupShuffleXor(s, w);
    }
    return s;
}
fn sg_max(v: f32, width: u32) -> f32 {
    var s = v;
    for (var w = min(width, SG) / 2u; w > 0u; w = w / 2u) {
        s = max(s, subgroupShuffleXor(s, w));
    }
    return s;
}
// Lane (this ^ w)'s value.
fn sg_shuffle_f32(v: f32, w: u32) -> f32 {
    return subgroupShuffleXor(v, w);
}
fn sg_shuffle_u32(v: u32, w: u32) -> u32 {
    return subgroupShuffleXor(v, w);
}
