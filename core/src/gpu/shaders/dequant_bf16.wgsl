// BF16 rows: 32 brain floats (64 bytes) per chunk; each is the top half of an f32 (exact).
fn dequant_chunk(row_byte: u32, c: u32) {
    let b = row_byte + c * 64u;
    for (var i = 0u; i < 32u; i++) {
        wv[i] = bitcast<f32>(rd16(b + 2u * i) << 16u);
    }
}
