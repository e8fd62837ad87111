// Sum and max over a 64-thread workgroup (every thread gets the result), for the kernels
// with one workgroup per row (RMS norm, attention). A tree in workgroup memory down to SG
// lanes, then subgroup shuffles (`subgroup_on.wgsl`; with SG = 1 the tree goes all the way).

var<workgroup> red: array<f32, 64>;

fn wg_sum64(v: f32, lid: u32) -> f32 {
    red[lid] = v;
    workgroupBarrier();
    for (var w = 32u; w >= SG; w = w / 2u) {
        if (lid < w) {
            red[lid] += red[lid + w];
        }
        workgroupBarrier();
    }
    return wg_publish(sg_sum(red[lid], 64u), lid);
}

fn wg_max64(v: f32, lid: u32) -> f32 {
    red[lid] = v;
    workgroupBarrier();
    for (var w = 32u; w >= SG; w = w / 2u) {
        if (lid < w) {
            red[lid] = max(red[lid], red[lid + w]);
        }
        workgroupBarrier();
    }
    return wg_publish(sg_max(red[lid], 64u), lid);
}

// Lane 0's value `s` to every thread (red[0] already holds it without subgroups); leaves
// `red` free for the next reduction.
fn wg_publish(s: f32, lid: u32) -> f32 {
    if (SG > 1u) {
        workgroupBarrier();
        if (lid == 0u) {
            red[0] = s;
        }
        workgroupBarrier();
    }
    let r = red[0];
    workgroupBarrier();
    return r;
}
