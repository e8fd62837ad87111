// Q4_0 block (18 bytes): f16 d, 16 bytes of nibbles; x = d * (q - 8), low nibbles first.
fn dequant_chunk(row_byte: u32, c: u32) {
    let b = row_byte + c * 18u;
    let d = f16at(b);
    for (var j = 0u; j < 16u; j++) {
        let q = rd8(b + 2u + j);
        wv[j] = d * (f32(q & 15u) - 8.0);
        wv[j + 16u] = d * (f32(q >> 4u) - 8.0);
    }
}
