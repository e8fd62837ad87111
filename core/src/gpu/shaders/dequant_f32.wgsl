// F32 rows: 32 floats (128 bytes) per chunk.
fn dequant_chunk(row_byte: u32, c: u32) {
    let w0 = (row_byte + c * 128u) / 4u;
    for (var i = 0u; i < 32u; i++) {
        wv[i] = bitcast<f32>(W[w0 + i]);
    }
}
