// f16 values of W with shader-f16: the same buffer bound a second time as f16s (every f16
// of a GGUF block sits at an even byte), one native load, widened to f32 exactly.
@group(0) @binding(5) var<storage, read> W16: array<f16>;

fn f16at(a: u32) -> f32 {
    return f32(W16[a >> 1u]);
}
