// Q5_0 block (22 bytes): f16 d, u32 qh (fifth bits), 16 bytes of nibbles; x = d * (q - 16).
fn dequant_chunk(row_byte: u32, c: u32) {
    let b = row_byte + c * 22u;
    let d = f16at(b);
    let qh = rd32(b + 2u);
    for (var j = 0u; j < 16u; j++) {
        let q = rd8(b + 6u + j);
        let h0 = ((qh >> j) << 4u) & 16u;
        let h1 = (qh >> (j + 12u)) & 16u;
        wv[j] = d * (f32((q & 15u) | h0) - 16.0);
        wv[j + 16u] = d * (f32((q >> 4u) | h1) - 16.0);
    }
}
