// f16 values of W without shader-f16: two bytes of W's u32 words, widened exactly.
fn f16at(a: u32) -> f32 {
    return f16_value(rd16(a));
}
