// Q5_K super-block (176 bytes, 256 weights): f16 d, f16 dmin, 12 bytes of 6-bit scales and
// mins (packed as Q4_K's), 32 bytes of fifth bits, 128 bytes of nibbles. Sub-block j (32
// weights): x = d * sc[j] * (q + 16 * bit j of qh[l]) - dmin * m[j]; sub-blocks 2c and 2c+1
// are the low and high nibbles of qs[32c .. 32c+32].
fn dequant_chunk(row_byte: u32, c: u32) {
    let b = row_byte + (c / 8u) * 176u;
    let j = c % 8u;
    let f = factors_k4(b, j);
    let d1 = f.x;
    let m1 = f.y;
    let qh = b + 16u;
    let q0 = b + 48u + (j / 2u) * 32u;
    let shift = (j % 2u) * 4u;
    for (var l = 0u; l < 32u; l++) {
        let q = ((rd8(q0 + l) >> shift) & 15u) | (((rd8(qh + l) >> j) & 1u) << 4u);
        wv[l] = d1 * f32(q) - m1;
    }
}
