// Q6_K super-block (210 bytes, 256 weights): ql[128] low nibbles, qh[64] high 2 bits,
// 16 signed 8-bit scales (one per 16 weights), f16 d. x = d * sc * (q - 32).
// Chunk c: half h = c / 4, quarter k = c % 4 of the half's 128 weights.
fn dequant_chunk(row_byte: u32, c: u32) {
    let b = row_byte + (c / 8u) * 210u;
    let cc = c % 8u;
    let h = cc / 4u;
    let k = cc % 4u;
    let d = f16at(b + 208u);
    let ql = b + 64u * h + (k % 2u) * 32u;
    let qh = b + 128u + 32u * h;
    let lshift = (k / 2u) * 4u;
    let hshift = 2u * k;
    for (var l = 0u; l < 32u; l++) {
        let lo = (rd8(ql + l) >> lshift) & 15u;
        let hi = (rd8(qh + l) >> hshift) & 3u;
        let q = f32(i32(lo | (hi << 4u)) - 32);
        let sc = f32(i32(rd8(b + 192u + 8u * h + 2u * k + l / 16u) << 24u) >> 24u);
        wv[l] = d * sc * q;
    }
}
