// Q5_1 block (24 bytes): f16 d, f16 m, u32 qh (fifth bits), 16 bytes of nibbles;
// x = d * q + m with q in 0..32. The `m` term is left to the matmul (`wm`), which adds it
// against x's Q8_1 block sum, as the CPU's Q5_1 · Q8_1 dot does.
fn dequant_chunk(row_byte: u32, c: u32) {
    let b = row_byte + c * 24u;
    let d = f16at(b);
    let m = f16at(b + 2u);
    let qh = rd32(b + 4u);
    for (var j = 0u; j < 16u; j++) {
        let q = rd8(b + 8u + j);
        let h0 = ((qh >> j) << 4u) & 16u;
        let h1 = (qh >> (j + 12u)) & 16u;
        wv[j] = f32((q & 15u) | h0) * d;
        wv[j + 16u] = f32((q >> 4u) | h1) * d;
    }
    wm = m;
}
