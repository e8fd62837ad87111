// Values quantized as quantize_act.wgsl quantizes them (same modes, same values bit for bit)
// by the kernel that produced them, sparing that launch: one thread per block, its values
// walked in order (the first largest |x| on ties as the CPU's loop; Σq of integers, exact).
// The including shader defines `XQ` (read_write array<f32>) and `fn q_src(i: u32) -> f32`,
// the value at element i, already written and made visible (storageBarrier) by the caller.

// Elements first..first + len (whole blocks of the mode) by `threads` threads.
fn quantize_serial(first: u32, len: u32, mode: u32, sums_off: u32, lid: u32, threads: u32) {
    if (mode == 1u || mode == 4u) {
        for (var i = lid; i < len; i += threads) {
            let v = q_src(first + i);
            if (mode == 1u) {
                XQ[first + i] = f16_round(v);
            } else {
                XQ[first + i] = bf16_round(v);
            }
        }
        return;
    }
    var bs = 32u;
    if (mode == 3u) {
        bs = 256u;
    }
    for (var b0 = lid * bs; b0 < len; b0 += threads * bs) {
        let at = first + b0;
        var amax = 0.0;
        var mx = 0.0;
        for (var i = 0u; i < bs; i++) {
            let v = q_src(at + i);
            if (abs(v) > amax) {
                amax = abs(v);
                mx = v;
            }
        }
        if (mode == 2u) {
            let d = f16_round(amax / 127.0);
            var id = 0.0;
            if (amax != 0.0) {
                id = 127.0 / amax;
            }
            var sq = 0.0;
            for (var i = 0u; i < bs; i++) {
                let q = round(q_src(at + i) * id);
                XQ[at + i] = q * d;
                sq += q;
            }
            if (sums_off != 0u) {
                XQ[sums_off + at / 32u] = f16_round((amax / 127.0) * sq);
            }
        } else {
            for (var i = 0u; i < bs; i++) {
                if (amax == 0.0) {
                    XQ[at + i] = 0.0;
                } else {
                    let iscale = -127.0 / mx;
                    let d = step.one / iscale;
                    XQ[at + i] = min(round(iscale * q_src(at + i)), 127.0) * d;
                }
            }
        }
    }
}
