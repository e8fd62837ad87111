// Appends this step's keys or values (n_tok rows of `dim`) to a layer's cache at
// positions step.pos0.., rounded to f16 when the cache type is f16. `KvElem` (prepended) is
// f16 with shader-f16 (half the memory), else f32 (f16 values held in f32s).

struct Params {
    dim: u32,
    round_f16: u32,
    _p0: u32,
    _p1: u32,
}

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read_write> cache: array<KvElem>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= step.n_tok * p.dim) {
        return;
    }
    var v = X[i];
    if (p.round_f16 != 0u) {
        v = f16_round(v);
    }
    cache[step.pos0 * p.dim + i] = KvElem(v);
}
