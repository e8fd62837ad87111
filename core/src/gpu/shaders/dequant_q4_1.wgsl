// Q4_1 block (20 bytes): f16 d, f16 m, 16 bytes of nibbles; x = d * q + m. The `m` term is
// left to the matmul (`wm`), which adds it against x's Q8_1 block sum.
fn dequant_chunk(row_byte: u32, c: u32) {
    let b = row_byte + c * 20u;
    let d = f16at(b);
    let m = f16at(b + 2u);
    for (var j = 0u; j < 16u; j++) {
        let q = rd8(b + 4u + j);
        wv[j] = f32(q & 15u) * d;
        wv[j + 16u] = f32(q >> 4u) * d;
    }
    wm = m;
}
