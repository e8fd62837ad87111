// Q2_K super-block (84 bytes, 256 weights): 16 bytes of scales (low nibble) and minimums
// (high nibble), one per group of 16, 64 bytes of 2-bit quants, f16 d, f16 dmin.
// x = d * sc * q - dmin * m. Group g = 8 * half + 2 * j + k reads bits 2j..2j+2 of bytes
// 16k.. of its half's 32 bytes; chunk c holds groups 2c and 2c+1.
fn dequant_chunk(row_byte: u32, c: u32) {
    let b = row_byte + (c / 8u) * 84u;
    let d = f16at(b + 80u);
    let dmin = f16at(b + 82u);
    for (var k = 0u; k < 2u; k++) {
        let g = 2u * (c % 8u) + k;
        let half = g / 8u;
        let shift = 2u * ((g / 2u) % 4u);
        let sc = rd8(b + g);
        let dl = d * f32(sc & 15u);
        let ml = dmin * f32(sc >> 4u);
        let q0 = b + 16u + 32u * half + 16u * k;
        for (var l = 0u; l < 16u; l++) {
            wv[16u * k + l] = dl * f32((rd8(q0 + l) >> shift) & 3u) - ml;
        }
    }
}
