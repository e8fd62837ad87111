// Q3_K super-block (110 bytes, 256 weights): 32 bytes of high bits (hmask), 64 bytes of 2-bit
// quants, 12 bytes of sixteen 6-bit scales, f16 d. x = d * (sc - 32) * q with q in -4..4: the
// low bits as Q2_K's, minus 4 where the high bit (bit 4 * half + j of hmask[16k + l]) is
// clear. Group g's scale: low 4 bits from byte g % 8 (its high nibble for g >= 8), high 2 bits
// from bits 2 * (g / 4) of byte 8 + g % 4.
fn dequant_chunk(row_byte: u32, c: u32) {
    let b = row_byte + (c / 8u) * 110u;
    let d = f16at(b + 108u);
    for (var k = 0u; k < 2u; k++) {
        let g = 2u * (c % 8u) + k;
        let half = g / 8u;
        let j = (g / 2u) % 4u;
        var lo = rd8(b + 96u + g % 8u);
        if (g >= 8u) {
            lo = lo >> 4u;
        }
        let hi = (rd8(b + 104u + g % 4u) >> (2u * (g / 4u))) & 3u;
        let dl = d * f32(i32((lo & 15u) | (hi << 4u)) - 32);
        let q0 = b + 32u + 32u * half + 16u * k;
        let bit = 4u * half + j;
        for (var l = 0u; l < 16u; l++) {
            let q = i32((rd8(q0 + l) >> (2u * j)) & 3u) - 4 + 4 * i32((rd8(b + 16u * k + l) >> bit) & 1u);
            wv[16u * k + l] = dl * f32(q);
        }
    }
}
