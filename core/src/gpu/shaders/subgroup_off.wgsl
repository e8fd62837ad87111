// Without subgroups: SG = 1, so the kernels' workgroup-memory trees run down to one lane and
// these finish nothing.
const SG: u32 = 1u;

fn sg_sum(v: f32, width: u32) -> f32 {
    return v;
}
fn sg_max(v: f32, width: u32) -> f32 {
    return v;
}
// Lane (this ^ w)'s value.
fn sg_shuffle_f32(v: f32, w: u32) -> f32 {
    return v;
}
fn sg_shuffle_u32(v: u32, w: u32) -> u32 {
    return v;
}
