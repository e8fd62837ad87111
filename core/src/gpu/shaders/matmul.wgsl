// out[t][row_off + r] = W[r] . x[t] for a matrix stored in its GGUF block format.
// Followed by one matmul_f16_*.wgsl, which defines `fn f16at(byte: u32) -> f32` (an f16 of
// W: unpacked from u32 words, or a native f16 load with shader-f16), and one dequant_*.wgsl,
// which defines `fn dequant_chunk(row_byte: u32, c: u32)` filling `wv` with the c-th 32
// weights of a row. A workgroup of 64 threads takes 64 / LANES rows and a tile of TILE
// tokens; LANES threads split each row's chunks and sum through workgroup memory down to SG
// lanes, then through subgroup shuffles (with subgroups of at least LANES lanes: no
// workgroup memory, no barriers). LANES = 1 (one thread per row) suits CPU-like software
// adapters; wider rows suit real GPUs.

override LANES: u32 = 16u;
const WG: u32 = 64u;
const TILE: u32 = 8u;

struct Params {
    rows: u32,        // rows in this part
    cols: u32,
    row_bytes: u32,
    out_stride: u32,  // output row length (all parts)
    row_off: u32,     // first row of this part in the output
    fixed_tok: u32,   // 0: step.n_tok tokens; else this many
    x_off: u32,       // first element of x read
    sums_off: u32,    // where x's Q8_1 block sums start (quantize_act.wgsl), for `wm`
}

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> W: array<u32>;
@group(0) @binding(3) var<storage, read> X: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;

var<private> wv: array<f32, 32>;
// A per-block offset (Q4_1's `m`), 0 for the other types. The CPU's Q4_1 · Q8_1 dot adds
// `m * s` with s the f16 block sum Q8_1 stores, so the GPU adds it against that same sum.
var<private> wm: f32;
var<workgroup> partial: array<f32, 512>; // WG * TILE

fn rd8(a: u32) -> u32 {
    return (W[a >> 2u] >> ((a & 3u) * 8u)) & 0xffu;
}
fn rd16(a: u32) -> u32 {
    return rd8(a) | (rd8(a + 1u) << 8u);
}
fn rd32(a: u32) -> u32 {
    return rd16(a) | (rd16(a + 2u) << 16u);
}

// Q4_K's and Q5_K's 6-bit scale and minimum of sub-block j (0..8) from the 12 bytes at `s`.
fn scale_min_k4(s: u32, j: u32) -> vec2<u32> {
    if (j < 4u) {
        return vec2<u32>(rd8(s + j) & 63u, rd8(s + j + 4u) & 63u);
    }
    return vec2<u32>(
        (rd8(s + j + 4u) & 15u) | ((rd8(s + j - 4u) >> 6u) << 4u),
        (rd8(s + j + 4u) >> 4u) | ((rd8(s + j) >> 6u) << 4u),
    );
}

// A Q4_K/Q5_K super-block at `b` (f16 d, f16 dmin, then the 12 scale bytes): sub-block j's
// factor d * sc[j] and offset dmin * m[j].
fn factors_k4(b: u32, j: u32) -> vec2<f32> {
    let sm = scale_min_k4(b + 4u, j);
    return vec2<f32>(f16at(b) * f32(sm.x), f16at(b + 2u) * f32(sm.y));
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let lane = lid % LANES;
    let r = (wg.x + wg.z * 32768u) * (WG / LANES) + lid / LANES;
    var n_tok = step.n_tok;
    if (p.fixed_tok != 0u) {
        n_tok = p.fixed_tok;
    }
    let t0 = wg.y * TILE;
    let nt = min(TILE, n_tok - t0);
    let valid = r < p.rows;
    var acc: array<f32, 8>;
    for (var i = 0u; i < TILE; i++) {
        acc[i] = 0.0;
    }
    if (valid) {
        let n_chunks = p.cols / 32u;
        let row_byte = r * p.row_bytes;
        for (var c = lane; c < n_chunks; c += LANES) {
            wm = 0.0;
            dequant_chunk(row_byte, c);
            for (var t = 0u; t < nt; t++) {
                let xb = p.x_off + (t0 + t) * p.cols + c * 32u;
                var s = 0.0;
                for (var i = 0u; i < 32u; i++) {
                    s += wv[i] * X[xb + i];
                }
                if (wm != 0.0) {
                    s += wm * X[p.sums_off + xb / 32u];
                }
                acc[t] += s;
            }
        }
    }
    if (LANES > SG) {
        for (var t = 0u; t < TILE; t++) {
            partial[t * WG + lid] = acc[t];
        }
        workgroupBarrier();
        for (var w = LANES / 2u; w >= SG; w = w / 2u) {
            if (lane < w) {
                for (var t = 0u; t < nt; t++) {
                    partial[t * WG + lid] += partial[t * WG + lid + w];
                }
            }
            workgroupBarrier();
        }
        for (var t = 0u; t < nt; t++) {
            acc[t] = partial[t * WG + lid];
        }
    }
    if (LANES > 1u && SG > 1u) {
        for (var t = 0u; t < TILE; t++) {
            acc[t] = sg_sum(acc[t], LANES);
        }
    }
    if (valid && lane == 0u) {
        for (var t = 0u; t < nt; t++) {
            Y[(t0 + t) * p.out_stride + p.row_off + r] = acc[t];
        }
    }
}
