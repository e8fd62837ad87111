// F16 rows: 32 halves (64 bytes) per chunk.
fn dequant_chunk(row_byte: u32, c: u32) {
    let b = row_byte + c * 64u;
    for (var i = 0u; i < 32u; i++) {
        wv[i] = f16at(b + 2u * i);
    }
}
