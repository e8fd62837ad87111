// f16 values of W without shader-f16: two bytes unpacked from W's u32 words.
fn f16at(a: u32) -> f32 {
    return unpack2x16float(rd16(a)).x;
}
