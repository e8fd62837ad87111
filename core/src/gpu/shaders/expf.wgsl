// `expf(x)`: libm's `expf` (FreeBSD's e_expf.c) step for step, the CPU backend's exponential.
// WGSL's `exp` is only accurate to 3 + 2|x| ULP and each adapter rounds it its own way
// (SwiftShader and lavapipe differ), which moves SiLU outputs and attention weights by a
// last bit that the next layer's 8-bit activation rounding can amplify. With this, an
// adapter whose f32 +, -, * and / round correctly gives the CPU's exponentials bit for bit.
// Constants are bit patterns: a decimal literal would be rounded twice (to f64, then f32).

// y * 2^k for y near 1 and k in [-150, 128] (libm's `scalbnf` for this range).
fn expf_scale(y: f32, k: i32) -> f32 {
    var v = y;
    var n = k;
    if (n > 127) {
        v *= bitcast<f32>(0x7f000000u); // 2^127
        n -= 127;
    } else if (n < -126) {
        v *= bitcast<f32>(0x0c800000u); // 2^-102
        n += 102;
    }
    return v * bitcast<f32>(u32(n + 127) << 23u);
}

fn expf(x_in: f32) -> f32 {
    var x = x_in;
    let bits = bitcast<u32>(x);
    let neg = (bits >> 31u) != 0u;
    let hx = bits & 0x7fffffffu;
    if (hx >= 0x42aeac50u) {
        // |x| >= 87.33655 or NaN
        if (hx > 0x7f800000u) {
            return x;
        }
        if (!neg && hx >= 0x42b17218u) {
            // x >= 88.72284: overflows to +inf, as x * 2^127 does at run time.
            return x * bitcast<f32>(0x7f000000u);
        }
        if (neg && hx >= 0x42cff1b5u) {
            // x <= -103.97208
            return 0.0;
        }
    }
    var k = 0i;
    var hi = x;
    var lo = 0.0;
    if (hx > 0x3eb17218u) {
        // |x| > ln2 / 2: x = k ln2 + r
        if (hx > 0x3f851592u) {
            k = i32(bitcast<f32>(0x3fb8aa3bu) * x + select(0.5, -0.5, neg));
        } else {
            k = select(1, -1, neg);
        }
        let kf = f32(k);
        hi = x - kf * bitcast<f32>(0x3f317200u); // exact: ln2's high part has 8 zero bits
        lo = kf * bitcast<f32>(0x35bfbe8eu);
        x = hi - lo;
    } else if (hx <= 0x39000000u) {
        // |x| <= 2^-14
        return 1.0 + x;
    }
    let xx = x * x;
    let c = x - xx * (bitcast<f32>(0x3e2aaa8fu) + xx * bitcast<f32>(0xbb355215u));
    let y = 1.0 + (x * c / (2.0 - c) - lo + hi);
    if (k == 0) {
        return y;
    }
    return expf_scale(y, k);
}
