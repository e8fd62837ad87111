// Q8_0 block (34 bytes): f16 d, 32 signed bytes; x = d * q.
fn dequant_chunk(row_byte: u32, c: u32) {
    let b = row_byte + c * 34u;
    let d = f16at(b);
    for (var j = 0u; j < 32u; j++) {
        let q = i32(rd8(b + 2u + j) << 24u) >> 24u;
        wv[j] = d * f32(q);
    }
}
