//! Every GPU kernel against the CPU backend's kernels on random data, tolerances scaled with
//! the size of what is summed. They run on whatever adapter exists, software ones included:
//! natively on lavapipe in CI (without an adapter they fail when `CI` is set and are skipped
//! otherwise), and as wasm in headless Chromium on SwiftShader's WebGPU (`scripts/test`;
//! there an adapter is required).

use super::attention::{AttnShape, attention, attention_pipeline};
use super::elementwise::{Op, elementwise, elementwise_pipeline, gelu_table_buffer};
use super::kernel::{Dispatch, storage, storage_f32};
use super::matmul::{
    GpuMatrix, MatmulIo, act_mode, matmul, matmul_pipeline, quantize_act, quantize_act_pipeline,
    quantize_gated_pipeline,
};
use super::prepare_qkv::{QkvShape, QkvVectors, prepare_qkv, prepare_qkv_pipeline, rope_table};
use super::rms_norm::{copy_pipeline, rms_norm};
use super::*;
use crate::model::{QMatrix, RopeStyle, ops};
use crate::{GgmlType, ModelBytes, quant};

/// One GPU test, written once as an async body: natively a plain test whose futures
/// `block_on` drives, in wasm an async wasm-bindgen test (WebGPU maps buffers asynchronously,
/// so nothing there may block).
macro_rules! gpu_test {
    ($(#[$m:meta])* async fn $name:ident() $body:block) => {
        $(#[$m])*
        #[cfg(not(target_arch = "wasm32"))]
        #[test]
        fn $name() {
            block_on(async $body)
        }
        $(#[$m])*
        #[cfg(target_arch = "wasm32")]
        #[wasm_bindgen_test::wasm_bindgen_test]
        async fn $name() $body
    };
}

/// A context on any adapter, software included, with every optional feature it offers;
/// `None` (test skipped) only natively outside CI.
pub(crate) async fn test_context() -> Option<GpuContext> {
    match GpuContext::new(GpuOptions {
        allow_software: true,
        ..Default::default()
    })
    .await
    {
        Ok(c) => Some(c),
        Err(e) if cfg!(target_arch = "wasm32") => {
            panic!("no WebGPU adapter ({e}); headless Chromium needs --enable-unsafe-webgpu")
        }
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!(
                "no GPU adapter in CI ({e}); scripts/setup installs lavapipe (mesa-vulkan-drivers)"
            )
        }
        Err(e) => {
            eprintln!("skipping GPU test: {e}");
            None
        }
    }
}

/// [`test_context`] and, when it uses optional features (shader-f16, subgroups), a second
/// context without them: every kernel test runs on both, so both shader variants are checked.
pub(crate) async fn test_contexts() -> Vec<GpuContext> {
    let Some(ctx) = test_context().await else {
        return Vec::new();
    };
    eprintln!("adapter: {:?} {:?}", ctx.adapter(), ctx.features());
    let mut all = vec![ctx];
    if !all[0].adapter().features.is_empty() {
        let plain = GpuContext::new(GpuOptions {
            allow_software: true,
            disable_f16: true,
            disable_subgroups: true,
        })
        .await
        .expect("the same adapter without optional features");
        assert!(plain.adapter().features.is_empty());
        all.push(plain);
    }
    all
}

/// The variants' results are bit-identical: native f16 loads widen exactly, and the subgroup
/// shuffles make the same additions in the same order as the workgroup-memory trees.
fn assert_same_across_features(results: &[Vec<f32>], what: &str) {
    for r in &results[1..] {
        let same = r.len() == results[0].len()
            && r.iter()
                .zip(&results[0])
                .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(
            same,
            "{what}: results differ with and without optional features"
        );
    }
}

/// Deterministic values in [-1, 1).
pub(crate) fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

fn step_buffer(ctx: &GpuContext, n_tok: u32, pos0: u32) -> wgpu::Buffer {
    let buf = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("step"),
        size: 16,
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    ctx.queue
        .write_buffer(&buf, 0, &super::kernel::step_bytes(n_tok, pos0));
    buf
}

fn run(ctx: &GpuContext, ds: &[Dispatch], n_tok: u32) {
    let mut enc = ctx.device.create_command_encoder(&Default::default());
    {
        let mut pass = enc.begin_compute_pass(&Default::default());
        for d in ds {
            d.record(&mut pass, n_tok);
        }
    }
    ctx.queue.submit([enc.finish()]);
}

async fn read_f32(ctx: &GpuContext, buf: &wgpu::Buffer, n: usize) -> Vec<f32> {
    let size = (n * 4) as u64;
    let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut enc = ctx.device.create_command_encoder(&Default::default());
    enc.copy_buffer_to_buffer(buf, 0, &staging, 0, size);
    ctx.queue.submit([enc.finish()]);
    let bytes = ctx.read(&staging, size).await.expect("readback");
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn quantized(ty: GgmlType, rows: usize, cols: usize, seed: u64) -> QMatrix {
    let vals = random(rows * cols, seed);
    let rb = ty.row_bytes(cols as u64).unwrap() as usize;
    let mut data = vec![0u8; rows * rb];
    // Q2_K, Q3_K and Q5_K have no quantizer here (only llama.cpp's tools make them): random
    // quant bytes with small finite f16 scales at the type's scale fields instead.
    let f16_fields: &[usize] = match ty {
        GgmlType::Q2_K => &[80, 82],
        GgmlType::Q3_K => &[108],
        GgmlType::Q5_K => &[0, 2],
        _ => {
            for (r, dst) in data.chunks_exact_mut(rb).enumerate() {
                quant::quantize_row(ty, &vals[r * cols..(r + 1) * cols], dst).unwrap();
            }
            return QMatrix::from_raw(ModelBytes::from_vec(data), 0, ty, rows, cols);
        }
    };
    for (byte, v) in data.iter_mut().zip(vals.iter().cycle()) {
        *byte = (v.to_bits() >> 3) as u8;
    }
    for (block, v) in data.chunks_exact_mut(ty.block_bytes()).zip(vals.chunks(2)) {
        for (&o, v) in f16_fields.iter().zip(v) {
            block[o..o + 2].copy_from_slice(&half::f16::from_f32(v * 0.05).to_le_bytes());
        }
    }
    QMatrix::from_raw(ModelBytes::from_vec(data), 0, ty, rows, cols)
}

/// Every weight type the CPU backend has a dot product for.
const TYPES: [GgmlType; 13] = [
    GgmlType::F32,
    GgmlType::F16,
    GgmlType::BF16,
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q5_1,
    GgmlType::Q8_0,
    GgmlType::Q2_K,
    GgmlType::Q3_K,
    GgmlType::Q4_K,
    GgmlType::Q5_K,
    GgmlType::Q6_K,
];

async fn check_matmul(
    ctx: &GpuContext,
    ty: GgmlType,
    rows: usize,
    cols: usize,
    n_tok: usize,
    lanes: u32,
) -> Vec<f32> {
    let w = quantized(ty, rows, cols, ty as u64 + 1);
    let gm: GpuMatrix = model::upload_matrix(ctx, &[&w]).unwrap();
    let mut x = random(n_tok * cols, 99);
    // The last token's first 256 values quantize with a scale of exactly 1 (every block of 32
    // holds -127) to values halfway between integers: ties, rounded to even as the CPU does.
    let last = (n_tok - 1) * cols;
    for (i, v) in x[last..last + 256].iter_mut().enumerate() {
        *v = if i % 32 == 0 {
            -127.0
        } else {
            (i * 37 % 200) as f32 - 100.5
        };
    }
    let step = step_buffer(ctx, n_tok as u32, 0);
    let xb = storage_f32(ctx, "x", &x);
    let sums_off = n_tok * cols;
    let xq = storage(ctx, "xq", ((sums_off + sums_off / 32) * 4) as u64);
    let yb = storage(ctx, "y", (n_tok * rows * 4) as u64);
    let pipe = matmul_pipeline(ctx, ty, lanes).unwrap();
    let mode = act_mode(ty);
    // Activations quantized as the CPU backend does for this type, then the product.
    let mut ds = Vec::new();
    if mode != 0 {
        let qp = quantize_act_pipeline(ctx);
        ds.push(quantize_act(
            ctx,
            &qp,
            &[&step, &xb, &xq],
            cols,
            mode,
            0,
            sums_off as u32,
        ));
    }
    let io = MatmulIo {
        step: &step,
        x: if mode == 0 { &xb } else { &xq },
        y: &yb,
        x_off: 0,
        fixed_tok: 0,
        sums_off: sums_off as u32,
        out_stride: 0,
        row_off: 0,
    };
    ds.extend(matmul(ctx, &pipe, &gm, &io));
    run(ctx, &ds, n_tok as u32);
    let got = read_f32(ctx, &yb, n_tok * rows).await;
    let xq = if mode == 0 {
        x.clone()
    } else {
        read_f32(ctx, &xq, n_tok * cols).await
    };
    // The quantized activations are the CPU's bit for bit (its quantizer, dequantized; a
    // rounded-to-zero value may keep its sign here, which no sum tells apart).
    let vdt = quant::vec_dot_type(ty);
    if vdt != GgmlType::F32 {
        let mut blocks = vec![0u8; vdt.row_bytes(cols as u64).unwrap() as usize];
        let mut want = vec![0f32; cols];
        for t in 0..n_tok {
            quant::quantize_activation_row(vdt, &x[t * cols..(t + 1) * cols], &mut blocks).unwrap();
            quant::dequantize_row(vdt, &blocks, &mut want).unwrap();
            let got = &xq[t * cols..(t + 1) * cols];
            if let Some(i) = (0..cols).find(|&i| got[i] != want[i]) {
                panic!(
                    "{ty} tok {t}: activation {i} quantized to {:e}, the CPU's {:e}",
                    got[i], want[i]
                );
            }
        }
    }
    // The CPU backend's product (integer dot products over its quantized activations), and
    // an exact one over the dequantized weights and the GPU's quantized activations.
    let mut cpu = vec![0f32; n_tok * rows];
    crate::model::matmul::matmul(&w, &x, n_tok, &mut cpu, &mut Default::default());
    let mut row = vec![0f32; cols];
    for r in 0..rows {
        w.dequantize_row(r, &mut row).unwrap();
        for t in 0..n_tok {
            let xt = &xq[t * cols..(t + 1) * cols];
            let exact: f64 = row
                .iter()
                .zip(xt)
                .map(|(&a, &b)| f64::from(a) * f64::from(b))
                .sum();
            let mag: f32 = row.iter().zip(xt).map(|(&a, &b)| (a * b).abs()).sum();
            let g = got[t * rows + r];
            // Q4_1's and Q5_1's minimum terms use x's f16-rounded block sums (as the CPU's
            // Q8_1 does), not the exact sums: they are held to the CPU's product only.
            if !matches!(ty, GgmlType::Q4_1 | GgmlType::Q5_1) {
                assert!(
                    (f64::from(g) - exact).abs() <= 1e-5 * f64::from(mag) + 1e-6,
                    "{ty} lanes {lanes} row {r} tok {t}: gpu {g} exact {exact}"
                );
            }
            // Same quantized activations and block sums as the CPU: only summation order differs.
            let c = cpu[t * rows + r];
            assert!(
                (g - c).abs() <= 1e-5 * mag + 1e-6,
                "{ty} lanes {lanes} row {r} tok {t}: gpu {g} cpu {c}"
            );
        }
    }
    got
}

// Lanes 4 and 16: on an adapter with subgroups of 8 (lavapipe), the first sums with shuffles
// only, the second with workgroup memory then shuffles.
gpu_test! {
    async fn matmul_every_type_matches_cpu() {
        let ctxs = test_contexts().await;
        for ty in TYPES {
            for lanes in [1, 4, 16] {
                for n_tok in [1, 11] {
                    let mut runs = Vec::new();
                    for ctx in &ctxs {
                        runs.push(check_matmul(ctx, ty, 37, 512, n_tok, lanes).await);
                    }
                    assert_same_across_features(&runs, &format!("matmul {ty} lanes {lanes}"));
                }
            }
        }
    }
}

gpu_test! {
    async fn matmul_split_over_several_buffers() {
        for ctx in test_contexts().await {
            matmul_split(ctx).await;
        }
    }
}

async fn matmul_split(ctx: GpuContext) {
    // 300 rows of 256 Q8_0 weights (272 bytes each) in parts of at most 15 rows.
    let ctx = ctx.with_binding_cap(272 * 15 + 4);
    let w = quantized(GgmlType::Q8_0, 300, 256, 5);
    assert_eq!(model::upload_matrix(&ctx, &[&w]).unwrap().parts.len(), 20);
    check_matmul(&ctx, GgmlType::Q8_0, 300, 256, 3, 1).await;
    check_matmul(&ctx, GgmlType::Q4_K, 300, 256, 9, 16).await;
    check_stacked(&ctx).await;
    // A row larger than a binding cannot be split: a clear error.
    let small = ctx.with_binding_cap(100);
    assert_eq!(
        model::upload_matrix(&small, &[&w]).unwrap_err().code(),
        "GPU_DOES_NOT_FIT"
    );
}

/// Matrices stacked by rows (as Q/K/V and gate/up are uploaded) give, in one launch, the
/// bits the separate matrices give, each at its rows of a shared output: two Q8_0 matrices
/// stacked across parts (a part holding rows of both), then a Q4_K one beside them.
async fn check_stacked(ctx: &GpuContext) {
    let (cols, n_tok) = (256, 3);
    let a = quantized(GgmlType::Q8_0, 40, cols, 21);
    let b = quantized(GgmlType::Q8_0, 12, cols, 22);
    let c = quantized(GgmlType::Q4_K, 9, cols, 23);
    let runs = model::stack_runs(&[&a, &b, &c]);
    assert_eq!(runs.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1]);
    let ab = model::upload_matrix(ctx, &runs[0]).unwrap();
    assert_eq!(
        (ab.rows, ab.parts.len()),
        (52, 4),
        "15 rows a part: 15, 15, 15 (10 + 5), 7"
    );
    let cg = model::upload_matrix(ctx, &runs[1]).unwrap();
    let x = random(n_tok * cols, 24);
    let step = step_buffer(ctx, n_tok as u32, 0);
    let xb = storage_f32(ctx, "x", &x);
    let sums_off = n_tok * cols;
    let xq = storage(ctx, "xq", ((sums_off + sums_off / 32) * 4) as u64);
    // Q8_0 and Q4_K products read Q8_0 (mode 2) and Q8_K (mode 3) activations.
    let xk = storage(ctx, "xk", ((sums_off + sums_off / 32) * 4) as u64);
    let qp = quantize_act_pipeline(ctx);
    let quantize = |mode, y| quantize_act(ctx, &qp, &[&step, &xb, y], cols, mode, 0, 0);
    let product = |w: &GpuMatrix, x: &wgpu::Buffer, y: &wgpu::Buffer, out_stride, row_off| {
        let pipe = matmul_pipeline(ctx, w.ty, 16).unwrap();
        let io = MatmulIo {
            step: &step,
            x,
            y,
            x_off: 0,
            fixed_tok: 0,
            sums_off: 0,
            out_stride,
            row_off,
        };
        matmul(ctx, &pipe, w, &io)
    };
    let total = 61;
    let stacked = storage(ctx, "stacked", (n_tok * total * 4) as u64);
    let mut ds = vec![quantize(2, &xq), quantize(3, &xk)];
    ds.extend(product(&ab, &xq, &stacked, total as u32, 0));
    ds.extend(product(&cg, &xk, &stacked, total as u32, 52));
    run(ctx, &ds, n_tok as u32);
    let got = read_f32(ctx, &stacked, n_tok * total).await;
    let mut first = 0;
    for (w, mode_x) in [(&a, &xq), (&b, &xq), (&c, &xk)] {
        let alone = model::upload_matrix(ctx, &[w]).unwrap();
        let y = storage(ctx, "alone", (n_tok * w.rows * 4) as u64);
        run(ctx, &product(&alone, mode_x, &y, 0, 0), n_tok as u32);
        let want = read_f32(ctx, &y, n_tok * w.rows).await;
        for t in 0..n_tok {
            for r in 0..w.rows {
                let (g, e) = (got[t * total + first + r], want[t * w.rows + r]);
                assert_eq!(
                    g.to_bits(),
                    e.to_bits(),
                    "row {} tok {t}: {g} vs {e}",
                    first + r
                );
            }
        }
        first += w.rows;
    }
}

gpu_test! {
    async fn rms_norm_matches_cpu() {
        let mut runs = Vec::new();
        for ctx in test_contexts().await {
            runs.push(check_rms_norm(ctx).await);
        }
        assert_same_across_features(&runs, "rms_norm");
    }
}

async fn check_rms_norm(ctx: GpuContext) -> Vec<f32> {
    let (len, n_tok, eps) = (300, 5, 1e-6);
    let x = random(len * n_tok, 1);
    let w = random(len, 2);
    let step = step_buffer(&ctx, n_tok as u32, 0);
    let (wb, xb, yb) = (
        storage_f32(&ctx, "w", &w),
        storage_f32(&ctx, "x", &x),
        storage(&ctx, "y", (len * n_tok * 4) as u64),
    );
    let norm = copy_pipeline(&ctx);
    let spare = storage(&ctx, "unused", 4);
    run(
        &ctx,
        &[rms_norm(
            &ctx,
            &norm,
            [&step, &wb, &xb, &yb],
            (&spare, 0),
            0,
            len,
            eps,
            0,
            0,
        )],
        n_tok as u32,
    );
    let got = read_f32(&ctx, &yb, len * n_tok).await;
    let mut want = vec![0f32; len];
    for t in 0..n_tok {
        ops::rms_norm(&x[t * len..(t + 1) * len], &w, eps, &mut want);
        for i in 0..len {
            assert!((got[t * len + i] - want[i]).abs() <= 1e-5 * (1.0 + want[i].abs()));
        }
    }
    // The last token only.
    run(
        &ctx,
        &[rms_norm(
            &ctx,
            &norm,
            [&step, &wb, &xb, &yb],
            (&spare, 0),
            0,
            len,
            eps,
            1,
            u32::MAX,
        )],
        n_tok as u32,
    );
    let last = read_f32(&ctx, &yb, len).await;
    for i in 0..len {
        assert!((last[i] - want[i]).abs() <= 1e-5 * (1.0 + want[i].abs()));
    }
    [got, last].concat()
}

gpu_test! {
    /// The fused residual step: `x += post_norm(o)` (or `+= o`), then `y = norm(x)` when the
    /// next sublayer's norm is given, against the CPU's norms.
    async fn add_norm_matches_cpu() {
        let mut runs = Vec::new();
        for ctx in test_contexts().await {
            runs.push(check_add_norm(ctx).await);
        }
        assert_same_across_features(&runs, "add_norm");
    }
}

async fn check_add_norm(ctx: GpuContext) -> Vec<f32> {
    let (len, n_tok, eps) = (300, 4, 1e-6);
    let pipe = super::rms_norm::add_norm_pipeline(&ctx);
    let step = step_buffer(&ctx, n_tok as u32, 0);
    let o = random(len * n_tok, 31);
    let wpost = random(len, 32);
    let wnext = random(len, 33);
    let close = |a: f32, b: f32| (a - b).abs() <= 1e-5 * (1.0 + b.abs());
    let spare = storage(&ctx, "unused", 4);
    let mut all = Vec::new();
    for (post, next) in [(true, true), (false, true), (true, false)] {
        let x = random(len * n_tok, 34);
        let (ob, xb, yb) = (
            storage_f32(&ctx, "o", &o),
            storage_f32(&ctx, "x", &x),
            storage(&ctx, "y", (len * n_tok * 4) as u64),
        );
        let (pb, nb) = (
            storage_f32(&ctx, "wpost", &wpost),
            storage_f32(&ctx, "wnext", &wnext),
        );
        run(
            &ctx,
            &[super::rms_norm::add_norm(
                &ctx,
                &pipe,
                &step,
                &ob,
                &xb,
                post.then_some(&pb),
                next.then_some(&nb),
                &yb,
                (&spare, 0),
                0,
                len,
                eps,
            )],
            n_tok as u32,
        );
        let (gx, gy) = (
            read_f32(&ctx, &xb, len * n_tok).await,
            read_f32(&ctx, &yb, len * n_tok).await,
        );
        let mut normed = vec![0f32; len];
        let mut want_y = vec![0f32; len];
        for t in 0..n_tok {
            let row = t * len..(t + 1) * len;
            if post {
                ops::rms_norm(&o[row.clone()], &wpost, eps, &mut normed);
            } else {
                normed.copy_from_slice(&o[row.clone()]);
            }
            let want_x: Vec<f32> = x[row.clone()]
                .iter()
                .zip(&normed)
                .map(|(a, b)| a + b)
                .collect();
            for (g, w) in gx[row.clone()].iter().zip(&want_x) {
                assert!(close(*g, *w), "post {post}: x {g} vs {w}");
            }
            if next {
                ops::rms_norm(&want_x, &wnext, eps, &mut want_y);
                for (g, w) in gy[row.clone()].iter().zip(&want_y) {
                    assert!(close(*g, *w), "post {post}: y {g} vs {w}");
                }
            }
        }
        all.extend(gx);
        all.extend(gy);
    }
    all.extend(check_add_norm_quantized(&ctx).await);
    all
}

/// A quantization fused into another kernel against quantize_act.wgsl's (`separate`), bit
/// for bit: the first `n` values and, in mode 2, their Q8_1 block sums (from `sums_off`).
/// Returns what was compared.
async fn assert_same_quantized(
    ctx: &GpuContext,
    fused: &wgpu::Buffer,
    separate: &wgpu::Buffer,
    n: usize,
    sums_off: usize,
    mode: u32,
    what: &str,
) -> Vec<f32> {
    let words = sums_off + sums_off / 32;
    let got = read_f32(ctx, fused, words).await;
    let want = read_f32(ctx, separate, words).await;
    let sums = if mode == 2 { n / 32 } else { 0 };
    (0..n)
        .chain(sums_off..sums_off + sums)
        .map(|i| {
            assert_eq!(
                got[i].to_bits(),
                want[i].to_bits(),
                "{what}, mode {mode} [{i}]: {} vs {}",
                got[i],
                want[i]
            );
            got[i]
        })
        .collect()
}

/// add_norm's y quantized in the same launch equals quantize_act.wgsl's quantization of it,
/// bit for bit, in every mode (Q8_1's block sums too).
async fn check_add_norm_quantized(ctx: &GpuContext) -> Vec<f32> {
    let (len, n_tok, eps) = (512, 3, 1e-6);
    let pipe = super::rms_norm::add_norm_pipeline(ctx);
    let plain = quantize_act_pipeline(ctx);
    let step = step_buffer(ctx, n_tok as u32, 0);
    let (ob, wb) = (
        storage_f32(ctx, "o", &random(len * n_tok, 35)),
        storage_f32(ctx, "w", &random(len, 36)),
    );
    let sums_off = len * n_tok;
    let size = ((sums_off + sums_off / 32) * 4) as u64;
    let mut all = Vec::new();
    for mode in 1..=4u32 {
        let xb = storage_f32(ctx, "x", &random(len * n_tok, 37));
        let (yb, fused, separate) = (
            storage(ctx, "y", (len * n_tok * 4) as u64),
            storage(ctx, "fused", size),
            storage(ctx, "separate", size),
        );
        let so = sums_off as u32;
        run(
            ctx,
            &[
                super::rms_norm::add_norm(
                    ctx,
                    &pipe,
                    &step,
                    &ob,
                    &xb,
                    None,
                    Some(&wb),
                    &yb,
                    (&fused, mode),
                    so,
                    len,
                    eps,
                ),
                quantize_act(ctx, &plain, &[&step, &yb, &separate], len, mode, 0, so),
            ],
            n_tok as u32,
        );
        all.extend(
            assert_same_quantized(ctx, &fused, &separate, sums_off, sums_off, mode, "add_norm")
                .await,
        );
        // The plain norm the same, every token's row and the last token's alone (the LM
        // head's input).
        let norm = copy_pipeline(ctx);
        for (fixed_rows, src_row0, rows) in [(0, 0, n_tok), (1, u32::MAX, 1)] {
            let (y2, fused, separate) = (
                storage(ctx, "y", (len * n_tok * 4) as u64),
                storage(ctx, "fused", size),
                storage(ctx, "separate", size),
            );
            run(
                ctx,
                &[
                    rms_norm(
                        ctx,
                        &norm,
                        [&step, &wb, &xb, &y2],
                        (&fused, mode),
                        so,
                        len,
                        eps,
                        fixed_rows,
                        src_row0,
                    ),
                    quantize_act(
                        ctx,
                        &plain,
                        &[&step, &y2, &separate],
                        len,
                        mode,
                        fixed_rows,
                        so,
                    ),
                ],
                n_tok as u32,
            );
            let what = format!("norm_copy of {rows} rows");
            assert_same_quantized(ctx, &fused, &separate, rows * len, sums_off, mode, &what).await;
        }
    }
    all
}

gpu_test! {
    /// One launch: biases, per-head Q/K norms, RoPE (both styles, partial rotations) and the
    /// K/V cache stores (f32, f16-rounded, f16-typed), against the CPU's operations, with GQA
    /// and V heads of another size; cache rows outside the step's positions untouched.
    async fn prepare_qkv_matches_cpu() {
        let mut runs = Vec::new();
        for ctx in test_contexts().await {
            runs.push(check_prepare_qkv(ctx).await);
        }
        assert_same_across_features(&runs, "prepare_qkv");
    }
}

/// A KV cache's first `n` values: f16s (`half`) or f32s.
async fn read_cache(ctx: &GpuContext, buf: &wgpu::Buffer, n: usize, half: bool) -> Vec<f32> {
    if !half {
        return read_f32(ctx, buf, n).await;
    }
    read_f32(ctx, buf, n.div_ceil(2))
        .await
        .iter()
        .flat_map(|w| {
            let b = w.to_bits();
            [b as u16, (b >> 16) as u16].map(|h| half::f16::from_bits(h).to_f32())
        })
        .take(n)
        .collect()
}

async fn check_prepare_qkv(ctx: GpuContext) -> Vec<f32> {
    let (n_head, n_head_kv, n_tok, pos0, n_ctx, eps) = (4, 2, 3usize, 5usize, 12usize, 1e-6);
    let f16 = |v: f32| half::f16::from_f32(v).to_f32();
    let mut all = Vec::new();
    // style, n_rot, head_dim, head_dim_v, biases, norms, f16-typed cache, round to f16
    for (case, (style, n_rot, hd, hdv, biases, norms, half, round)) in [
        (RopeStyle::Norm, 48, 64, 64, false, false, false, false),
        (RopeStyle::Neox, 64, 64, 48, true, false, false, true),
        (RopeStyle::Neox, 32, 128, 128, false, true, false, false),
        (RopeStyle::Norm, 64, 64, 64, true, true, true, true),
    ]
    .into_iter()
    .enumerate()
    {
        if half && !ctx.features().f16 {
            continue;
        }
        let seed = 40 + 10 * case as u64;
        let (q_dim, kv_dim, v_dim) = (n_head * hd, n_head_kv * hd, n_head_kv * hdv);
        let q = random(n_tok * q_dim, seed);
        let k = random(n_tok * kv_dim, seed + 1);
        let v = random(n_tok * v_dim, seed + 2);
        let vector = |n: usize, seed: u64, on: bool| on.then(|| random(n, seed));
        let (bq, bk, bv) = (
            vector(q_dim, seed + 3, biases),
            vector(kv_dim, seed + 4, biases),
            vector(v_dim, seed + 5, biases),
        );
        let (qn, kn) = (vector(hd, seed + 6, norms), vector(hd, seed + 7, norms));
        let vectors = QkvVectors::upload(&ctx, [&bq, &bk, &bv, &qn, &kn]);
        let table = rope_table(n_ctx, n_rot, 10_000.0, 0.5, None);
        // Caches filled with values the launch must leave alone outside its positions.
        let kc0: Vec<f32> = random(n_ctx * kv_dim, seed + 8)
            .into_iter()
            .map(f16)
            .collect();
        let vc0: Vec<f32> = random(n_ctx * v_dim, seed + 9)
            .into_iter()
            .map(f16)
            .collect();
        // Per token Q, K, V side by side, as the stacked products write them.
        let qkv: Vec<f32> = (0..n_tok)
            .flat_map(|t| {
                let q = &q[t * q_dim..][..q_dim];
                let k = &k[t * kv_dim..][..kv_dim];
                q.iter().chain(k).chain(&v[t * v_dim..][..v_dim]).copied()
            })
            .collect();
        let (tb, qkvb, qb) = (
            storage_f32(&ctx, "table", &table),
            storage_f32(&ctx, "qkv", &qkv),
            storage(&ctx, "q", (q.len() * 4) as u64),
        );
        let (kcb, vcb) = (
            cache_buffer(&ctx, &kc0, half),
            cache_buffer(&ctx, &vc0, half),
        );
        let step = step_buffer(&ctx, n_tok as u32, pos0 as u32);
        let pipe = prepare_qkv_pipeline(&ctx, half);
        let shape = QkvShape {
            n_head,
            n_head_kv,
            head_dim: hd,
            head_dim_v: hdv,
            n_rot,
            style,
            round_f16: round,
            eps,
        };
        run(
            &ctx,
            &[prepare_qkv(
                &ctx,
                &pipe,
                [&step, &tb, &qkvb, &qb, &kcb, &vcb],
                &vectors,
                shape,
            )],
            n_tok as u32,
        );
        let got_q = read_f32(&ctx, &qb, q.len()).await;
        let got_kc = read_cache(&ctx, &kcb, kc0.len(), half).await;
        let got_vc = read_cache(&ctx, &vcb, vc0.len(), half).await;
        // The CPU's order: bias, per-head norm, rotation; then rounding into the cache.
        let prepare = |x: &[f32], bias: &Option<Vec<f32>>, norm: &Option<Vec<f32>>, pos: usize| {
            let mut x = x.to_vec();
            if let Some(b) = bias {
                x.iter_mut().zip(b).for_each(|(x, b)| *x += b);
            }
            let mut cache = vec![(0.0, 0.0); n_rot / 2];
            ops::rope_cache(pos, n_rot, 10_000.0, 0.5, None, &mut cache);
            for h in x.chunks_exact_mut(hd) {
                if let Some(w) = norm {
                    ops::rms_norm_inplace(h, w, eps);
                }
                ops::rope_apply(h, &cache, style);
            }
            x
        };
        let stored = |v: f32| if round || half { f16(v) } else { v };
        let (mut want_kc, mut want_vc) = (kc0.clone(), vc0.clone());
        for t in 0..n_tok {
            let pos = pos0 + t;
            let want_q = prepare(&q[t * q_dim..][..q_dim], &bq, &qn, pos);
            for (i, w) in want_q.iter().enumerate() {
                let g = got_q[t * q_dim + i];
                assert!(
                    (g - w).abs() <= 1e-5 * (1.0 + w.abs()),
                    "case {case} t{t} q[{i}]: {g} vs {w}"
                );
            }
            let want_k = prepare(&k[t * kv_dim..][..kv_dim], &bk, &kn, pos);
            want_kc[pos * kv_dim..][..kv_dim].copy_from_slice(&want_k);
            for (i, x) in v[t * v_dim..][..v_dim].iter().enumerate() {
                let b = bv.as_ref().map_or(0.0, |b| b[i]);
                want_vc[pos * v_dim + i] = stored(x + b);
            }
        }
        for (i, (g, w)) in got_kc.iter().zip(&want_kc).enumerate() {
            let in_step = (pos0..pos0 + n_tok).contains(&(i / kv_dim));
            if !in_step {
                assert_eq!(
                    g.to_bits(),
                    w.to_bits(),
                    "case {case}: k cache [{i}] touched"
                );
                continue;
            }
            // Rounded to f16 where the CPU's value rounds (an ulp of f16 apart at most).
            let w = stored(*w);
            let tol = if round || half { 1e-3 } else { 1e-5 };
            assert!(
                (g - w).abs() <= tol * (1.0 + w.abs()),
                "case {case}: k cache [{i}]: {g} vs {w}"
            );
        }
        for (i, (g, w)) in got_vc.iter().zip(&want_vc).enumerate() {
            // V only gains its bias and rounding: the same f32 operations, bit for bit.
            assert_eq!(
                g.to_bits(),
                w.to_bits(),
                "case {case}: v cache [{i}]: {g} vs {w}"
            );
        }
        if !half {
            all.extend(got_q.into_iter().chain(got_kc).chain(got_vc));
        }
    }
    all
}

/// Attention over positions 0..=pos of a cache, in f64: the reference for the GPU kernel.
#[allow(clippy::too_many_arguments)]
fn attention_ref(
    q: &[f32],
    kc: &[f32],
    vc: &[f32],
    s: &AttnShape,
    t: usize,
    h: usize,
    pos: usize,
) -> Vec<f64> {
    let kvh = h / (s.n_head / s.n_head_kv);
    let start = if s.window > 0 {
        (pos + 1).saturating_sub(s.window)
    } else {
        0
    };
    let (kv_dim, v_dim) = (s.n_head_kv * s.head_dim, s.n_head_kv * s.head_dim_v);
    let qh = &q[(t * s.n_head + h) * s.head_dim..][..s.head_dim];
    let scores: Vec<f64> = (start..=pos)
        .map(|j| {
            let k = &kc[j * kv_dim + kvh * s.head_dim..][..s.head_dim];
            k.iter()
                .zip(qh)
                .map(|(&a, &b)| f64::from(a) * f64::from(b * s.q_scale))
                .sum::<f64>()
                * f64::from(s.kq_scale)
        })
        .collect();
    let mx = scores.iter().cloned().fold(f64::MIN, f64::max);
    let e: Vec<f64> = scores.iter().map(|&x| (x - mx).exp()).collect();
    let sum: f64 = e.iter().sum();
    (0..s.head_dim_v)
        .map(|d| {
            (start..=pos)
                .zip(&e)
                .map(|(j, &w)| w * f64::from(vc[j * v_dim + kvh * s.head_dim_v + d]))
                .sum::<f64>()
                / sum
        })
        .collect()
}

gpu_test! {
    async fn cache_store_and_attention_gqa_window_match_reference() {
        let mut runs = Vec::new();
        for ctx in test_contexts().await {
            runs.push(check_attention(ctx).await);
        }
        assert_same_across_features(&runs, "attention");
    }
}

/// Attention's output quantized in the same launch equals quantize_act.wgsl's quantization
/// of it, bit for bit, in every mode (heads of 256: whole Q8_K blocks), and the output
/// itself is the same with and without.
async fn check_attention_quantized(ctx: &GpuContext) -> Vec<f32> {
    let (n_ctx, n_tok, pos0) = (8usize, 2usize, 3usize);
    let s = AttnShape {
        n_head: 2,
        n_head_kv: 1,
        head_dim: 256,
        head_dim_v: 256,
        window: 0,
        n_ctx,
        q_scale: 0.25,
        kq_scale: 0.1,
        round_q_f16: false,
    };
    let cols = s.n_head * s.head_dim_v;
    let step = step_buffer(ctx, n_tok as u32, pos0 as u32);
    let (qb, kb, vb) = (
        storage_f32(ctx, "q", &random(n_tok * s.n_head * s.head_dim, 41)),
        storage_f32(ctx, "k", &random(n_ctx * s.head_dim, 42)),
        storage_f32(ctx, "v", &random(n_ctx * s.head_dim_v, 43)),
    );
    let scores = storage(ctx, "scores", (n_tok * s.n_head * n_ctx * 4) as u64);
    let (plain_out, out) = (
        storage(ctx, "plain out", (n_tok * cols * 4) as u64),
        storage(ctx, "out", (n_tok * cols * 4) as u64),
    );
    let attn = attention_pipeline(ctx, false);
    let plain = quantize_act_pipeline(ctx);
    let sums_off = n_tok * cols;
    let size = ((sums_off + sums_off / 32) * 4) as u64;
    let spare = storage(ctx, "unused", 4);
    let mut all = Vec::new();
    for mode in 1..=4u32 {
        assert!(super::attention::quantizes_for(mode, s.head_dim_v));
        let (fused, separate) = (storage(ctx, "fused", size), storage(ctx, "separate", size));
        let so = sums_off as u32;
        run(
            ctx,
            &[
                attention(
                    ctx,
                    &attn,
                    [&step, &qb, &kb, &vb, &scores, &plain_out],
                    s,
                    (&spare, 0),
                    0,
                ),
                quantize_act(
                    ctx,
                    &plain,
                    &[&step, &plain_out, &separate],
                    cols,
                    mode,
                    0,
                    so,
                ),
                attention(
                    ctx,
                    &attn,
                    [&step, &qb, &kb, &vb, &scores, &out],
                    s,
                    (&fused, mode),
                    so,
                ),
            ],
            n_tok as u32,
        );
        let n = n_tok * cols;
        let (o1, o2) = (
            read_f32(ctx, &plain_out, n).await,
            read_f32(ctx, &out, n).await,
        );
        assert!(o1.iter().zip(&o2).all(|(a, b)| a.to_bits() == b.to_bits()));
        all.extend(
            assert_same_quantized(
                ctx,
                &fused,
                &separate,
                sums_off,
                sums_off,
                mode,
                "attention",
            )
            .await,
        );
    }
    assert!(
        !super::attention::quantizes_for(3, 64),
        "Q8_K blocks span heads of 64"
    );
    all
}

/// The f32-typed cache's outputs (compared across contexts); with shader-f16 the f16-typed
/// cache (`half`) is checked too.
async fn check_attention(ctx: GpuContext) -> Vec<f32> {
    let mut all = check_attention_quantized(&ctx).await;
    for half in [false, true] {
        if half && !ctx.features().f16 {
            continue;
        }
        for window in [0, 5] {
            let got = check_attention_case(&ctx, window, half).await;
            if !half {
                all.extend(got);
            }
        }
    }
    all
}

/// A cache buffer of f16s (`half`) or f32s holding `v`.
fn cache_buffer(ctx: &GpuContext, v: &[f32], half: bool) -> wgpu::Buffer {
    if !half {
        return storage_f32(ctx, "cache", v);
    }
    let buf = storage(ctx, "cache", (v.len() * 2) as u64);
    let bytes: Vec<u8> = v
        .iter()
        .flat_map(|&x| half::f16::from_f32(x).to_le_bytes())
        .collect();
    ctx.queue.write_buffer(&buf, 0, &bytes);
    buf
}

async fn check_attention_case(ctx: &GpuContext, window: usize, half: bool) -> Vec<f32> {
    let n_ctx = 40;
    let s = AttnShape {
        n_head: 4,
        n_head_kv: 2,
        head_dim: 32,
        head_dim_v: 32,
        window,
        n_ctx,
        q_scale: 0.5,
        kq_scale: 0.3,
        round_q_f16: false,
    };
    let f16 = |v: f32| half::f16::from_f32(v).to_f32();
    let (kv_dim, n_tok, pos0) = (64, 6usize, 20usize);
    // Earlier positions written directly; this step's keys and values by prepare_qkv (no
    // rotation; rounded to f16 for a cache of f16s, as a session with an f16 cache does).
    let mut kc = random(n_ctx * kv_dim, 11);
    let mut vc = random(n_ctx * kv_dim, 12);
    if half {
        kc.iter_mut()
            .chain(vc.iter_mut())
            .for_each(|v| *v = f16(*v));
    }
    let kb = cache_buffer(ctx, &kc, half);
    let vb = cache_buffer(ctx, &vc, half);
    let knew = random(n_tok * kv_dim, 13);
    let vnew = random(n_tok * kv_dim, 14);
    let q = random(n_tok * s.n_head * s.head_dim, 15);
    let step = step_buffer(ctx, n_tok as u32, pos0 as u32);
    let qkv: Vec<f32> = (0..n_tok)
        .flat_map(|t| {
            let q = &q[t * s.n_head * s.head_dim..][..s.n_head * s.head_dim];
            let k = &knew[t * kv_dim..][..kv_dim];
            q.iter()
                .chain(k)
                .chain(&vnew[t * kv_dim..][..kv_dim])
                .copied()
        })
        .collect();
    let qkvb = storage_f32(ctx, "qkv", &qkv);
    let qb = storage(ctx, "q", (q.len() * 4) as u64);
    let table = storage_f32(ctx, "table", &[]);
    let scores = storage(ctx, "scores", (n_tok * s.n_head * n_ctx * 4) as u64);
    let out = storage(ctx, "out", (n_tok * s.n_head * s.head_dim_v * 4) as u64);
    let prepare = prepare_qkv_pipeline(ctx, half);
    let attn = attention_pipeline(ctx, half);
    let spare = storage(ctx, "unused", 4);
    let none = None;
    run(
        ctx,
        &[
            prepare_qkv(
                ctx,
                &prepare,
                [&step, &table, &qkvb, &qb, &kb, &vb],
                &QkvVectors::upload(ctx, [&none; 5]),
                QkvShape {
                    n_head: s.n_head,
                    n_head_kv: s.n_head_kv,
                    head_dim: s.head_dim,
                    head_dim_v: s.head_dim_v,
                    n_rot: 0,
                    style: RopeStyle::Norm,
                    round_f16: half,
                    eps: 1e-6,
                },
            ),
            attention(
                ctx,
                &attn,
                [&step, &qb, &kb, &vb, &scores, &out],
                s,
                (&spare, 0),
                0,
            ),
        ],
        n_tok as u32,
    );
    let got = read_f32(ctx, &out, n_tok * s.n_head * s.head_dim_v).await;
    let stored = |v: f32| if half { f16(v) } else { v };
    let mut kc2 = kc.clone();
    let mut vc2 = vc.clone();
    for (i, (&k, &v)) in knew.iter().zip(&vnew).enumerate() {
        kc2[pos0 * kv_dim + i] = stored(k);
        vc2[pos0 * kv_dim + i] = stored(v);
    }
    assert_eq!(
        read_cache(ctx, &kb, n_ctx * kv_dim, half).await,
        kc2,
        "prepare_qkv stores keys at the step's positions (half {half})"
    );
    assert_eq!(
        read_f32(ctx, &qb, q.len()).await,
        q,
        "no rotation: Q as it came"
    );
    for t in 0..n_tok {
        for h in 0..s.n_head {
            let want = attention_ref(&q, &kc2, &vc2, &s, t, h, pos0 + t);
            for (d, w) in want.iter().enumerate() {
                let g = got[(t * s.n_head + h) * s.head_dim_v + d];
                assert!(
                    (f64::from(g) - w).abs() < 1e-5,
                    "window {window} half {half} t{t} h{h} d{d}"
                );
            }
        }
    }
    got
}

gpu_test! {
    /// The shaders' own f16 conversion (`f16_bits`/`f16_value` in common.wgsl) rounds as the CPU
    /// (`half`: to nearest even) on the values drivers may get wrong with `pack2x16float`: ties,
    /// subnormals, the underflow and overflow edges, infinities, and a spread of normal values.
    async fn f16_rounding_matches_the_cpu_on_edge_values() {
        for ctx in test_contexts().await {
            let mut xs: Vec<f32> = vec![
                0.0,
                -0.0,
                1.0,
                -1.0,
                65504.0,
                65519.99,
                65520.0,
                1e9,
                -1e9,
                f32::INFINITY,
                f32::NEG_INFINITY,
                6.1035156e-5,
                6.0e-5,
                5.9604645e-8,
                2.9802322e-8,
                2.9802326e-8,
                4.4703484e-8,
                1e-9,
                -3.0e-6,
                1e-38,
            ];
            // Exact ties between neighbouring f16s (round to even up and down), and one f32
            // ulp either side of them, over normal and subnormal f16 ranges.
            for h in [
                0x0001u16, 0x0002, 0x03ff, 0x0400, 0x3c00, 0x3c01, 0x7bfe, 0x8401, 0xbc00,
            ] {
                let a = half::f16::from_bits(h).to_f32();
                let b = half::f16::from_bits(h + 1).to_f32();
                let mid = (a + b) / 2.0;
                xs.extend([
                    mid,
                    f32::from_bits(mid.to_bits() + 1),
                    f32::from_bits(mid.to_bits() - 1),
                ]);
            }
            xs.extend(
                random(4096, 77)
                    .iter()
                    .enumerate()
                    .map(|(i, v)| v * 2f32.powi(i as i32 % 48 - 30)),
            );
            // The values as one V head of one token (after a Q and a K head of two), into an
            // f32 cache rounding to f16.
            let n = xs.len();
            let step = step_buffer(&ctx, 1, 0);
            let qkv: Vec<f32> = [0.0; 4].iter().chain(&xs).copied().collect();
            let src = storage_f32(&ctx, "qkv", &qkv);
            let dst = storage(&ctx, "y", (n * 4) as u64);
            let small = |label| storage(&ctx, label, 8);
            let (table, q, kc) = (small("table"), small("q"), small("k cache"));
            let none = None;
            let pipe = prepare_qkv_pipeline(&ctx, false);
            run(
                &ctx,
                &[prepare_qkv(
                    &ctx,
                    &pipe,
                    [&step, &table, &src, &q, &kc, &dst],
                    &QkvVectors::upload(&ctx, [&none; 5]),
                    QkvShape {
                        n_head: 1,
                        n_head_kv: 1,
                        head_dim: 2,
                        head_dim_v: n,
                        n_rot: 0,
                        style: RopeStyle::Norm,
                        round_f16: true,
                        eps: 1e-6,
                    },
                )],
                1,
            );
            let got = read_f32(&ctx, &dst, n).await;
            for (x, g) in xs.iter().zip(&got) {
                let want = half::f16::from_f32(*x).to_f32();
                assert!(
                    g.to_bits() == want.to_bits(),
                    "f16 rounding of {x:e} ({:#010x}): gpu {g:e}, cpu {want:e}",
                    x.to_bits()
                );
            }
        }
    }
}

gpu_test! {
    async fn gated_activations_and_softcap_match_cpu() {
        for ctx in test_contexts().await {
            check_elementwise(ctx).await;
        }
    }
}

async fn check_elementwise(ctx: GpuContext) {
    let (n, n_tok) = (200usize, 3u32);
    let g = random(n * n_tok as usize, 21)
        .iter()
        .map(|v| v * 12.0)
        .collect::<Vec<_>>();
    let u = random(n * n_tok as usize, 22);
    let step = step_buffer(&ctx, n_tok, 0);
    type Reference = fn(f32, f32) -> f32;
    let cases: [(Op, Reference); 3] = [
        (Op::SiluMul, |g, u| ops::silu(g) * u),
        (Op::GeluMul, |g, u| ops::gelu(g) * u),
        (Op::Softcap, |_, u| libm::tanhf(u * 9.0 / 7.0) * 7.0),
    ];
    // The gates read each token's gate and up side by side (the stacked product's output).
    let gate_up: Vec<f32> = g
        .chunks_exact(n)
        .zip(u.chunks_exact(n))
        .flat_map(|(g, u)| g.iter().chain(u).copied())
        .collect();
    for (op, f) in cases {
        let scaled: Vec<f32> = u.iter().map(|v| v * 9.0).collect();
        let xb = storage_f32(
            &ctx,
            "x",
            if op == Op::Softcap { &scaled } else { &gate_up },
        );
        let yb = storage(&ctx, "y", (n * n_tok as usize * 4) as u64);
        let pipe = elementwise_pipeline(&ctx, op);
        let table = (op == Op::GeluMul).then(|| gelu_table_buffer(&ctx));
        let bufs: Vec<&wgpu::Buffer> = [&step, &xb, &yb].into_iter().chain(&table).collect();
        run(&ctx, &[elementwise(&ctx, &pipe, &bufs, n, 0, 7.0)], n_tok);
        let got = read_f32(&ctx, &yb, n * n_tok as usize).await;
        for i in 0..got.len() {
            let want = f(g[i], u[i]);
            if op == Op::SiluMul {
                // libm's expf step for step: the CPU's SiLU bit for bit.
                assert_eq!(
                    got[i].to_bits(),
                    want.to_bits(),
                    "silu({}) * {}",
                    g[i],
                    u[i]
                );
                continue;
            }
            // GELU reads the CPU's table: the same f16 value, times u in f32.
            let tol = 1e-5;
            assert!(
                (got[i] - want).abs() <= tol * (1.0 + want.abs()),
                "{op:?} {i}: {} vs {want}",
                got[i]
            );
        }
    }
}

gpu_test! {
    /// The down product's input in one launch (act(gate) * up quantized) equals the gate's
    /// launch then the quantization's, bit for bit: every activation mode, both gates, two
    /// tokens, Q8_1 block sums included.
    async fn gated_quantization_equals_gate_then_quantize() {
        for ctx in test_contexts().await {
            check_gated_quantization(&ctx).await;
        }
    }
}

async fn check_gated_quantization(ctx: &GpuContext) {
    use crate::model::Activation;
    let (n, n_tok) = (512usize, 2u32);
    let gate_up: Vec<f32> = random(2 * n * n_tok as usize, 31)
        .iter()
        .enumerate()
        .map(|(i, v)| if i % (2 * n) < n { v * 12.0 } else { *v })
        .collect();
    let step = step_buffer(ctx, n_tok, 0);
    let xb = storage_f32(ctx, "gate_up", &gate_up);
    let table = gelu_table_buffer(ctx);
    let sums_off = n * n_tok as usize;
    let size = ((sums_off + sums_off / 32) * 4) as u64;
    let plain = quantize_act_pipeline(ctx);
    for (activation, op) in [
        (Activation::Silu, Op::SiluMul),
        (Activation::GeluTanh, Op::GeluMul),
    ] {
        let gate = elementwise_pipeline(ctx, op);
        let gated = quantize_gated_pipeline(ctx, activation);
        for mode in 1..=4u32 {
            let (act, two_step, one_step) = (
                storage(ctx, "act", (sums_off * 4) as u64),
                storage(ctx, "two launches", size),
                storage(ctx, "one launch", size),
            );
            // GELU's launches also bind the table.
            let extra: &[&wgpu::Buffer] = match activation {
                Activation::Silu => &[],
                Activation::GeluTanh => &[&table],
            };
            let so = sums_off as u32;
            run(
                ctx,
                &[
                    elementwise(
                        ctx,
                        &gate,
                        &[&[&step, &xb, &act][..], extra].concat(),
                        n,
                        0,
                        0.0,
                    ),
                    quantize_act(ctx, &plain, &[&step, &act, &two_step], n, mode, 0, so),
                    quantize_act(
                        ctx,
                        &gated,
                        &[&[&step, &xb, &one_step][..], extra].concat(),
                        n,
                        mode,
                        0,
                        so,
                    ),
                ],
                n_tok,
            );
            let what = format!("{activation:?}-gated");
            assert_same_quantized(ctx, &one_step, &two_step, sums_off, sums_off, mode, &what).await;
        }
    }
}

gpu_test! {
    async fn silu_equals_the_cpu_bit_for_bit_across_the_exponent_range() {
        for ctx in test_contexts().await {
            check_silu_sweep(ctx).await;
        }
    }
}

/// SiLU (so the WGSL `expf`) at 2^16 gates spread over every exponent the f32 range offers
/// between ±2^-20 and ±2^7 (past ±104 `expf` saturates to 0 or +inf), against `ops::silu`.
async fn check_silu_sweep(ctx: GpuContext) {
    let n = 1usize << 16;
    let g: Vec<f32> = (0..n)
        .map(|i| {
            let t = i as f32 / n as f32;
            let mag = 2f32.powf(-20.0 + 27.0 * (2.0 * t).fract()) * (1.0 + (i % 7) as f32 / 9.0);
            if i % 2 == 0 { mag } else { -mag }
        })
        .collect();
    // One token: the gates, then ups of 1.
    let gate_up: Vec<f32> = g
        .iter()
        .copied()
        .chain(std::iter::repeat_n(1.0, n))
        .collect();
    let step = step_buffer(&ctx, 1, 0);
    let xb = storage_f32(&ctx, "gate_up", &gate_up);
    let yb = storage(&ctx, "y", (n * 4) as u64);
    let pipe = elementwise_pipeline(&ctx, Op::SiluMul);
    run(
        &ctx,
        &[elementwise(&ctx, &pipe, &[&step, &xb, &yb], n, 0, 0.0)],
        1,
    );
    let got = read_f32(&ctx, &yb, n).await;
    let differ: Vec<String> = (0..n)
        .filter(|&i| got[i].to_bits() != ops::silu(g[i]).to_bits())
        .take(5)
        .map(|i| {
            format!(
                "silu({:e}): gpu {:e}, cpu {:e}",
                g[i],
                got[i],
                ops::silu(g[i])
            )
        })
        .collect();
    assert!(differ.is_empty(), "{differ:?}");
}

gpu_test! {
    async fn argmax_finds_first_largest() {
        for ctx in test_contexts().await {
            check_argmax(ctx).await;
        }
    }
}

async fn check_argmax(ctx: GpuContext) {
    for len in [1usize, 255, 70_001, 262_144] {
        let mut x = random(len, len as u64);
        let at = len * 2 / 3;
        x[at] = 5.0;
        if len > 1 {
            x[len - 1] = 5.0; // a tie later on: the first index wins
        }
        let xb = storage_f32(&ctx, "x", &x);
        let out = storage(&ctx, "out", super::argmax::out_bytes(len));
        let pipes = super::argmax::argmax_pipelines(&ctx);
        run(
            &ctx,
            &super::argmax::argmax(&ctx, &pipes, &xb, &out, len),
            1,
        );
        let got = read_f32(&ctx, &out, 2).await;
        assert_eq!(got[0].to_bits() as usize, at, "len {len}");
        assert_eq!(got[1], 5.0);
    }
}

/// The CPU sampler's top-k: finite values, largest first by `total_cmp`, ties by lower index.
fn top_k_ref(x: &[f32], k: usize) -> Vec<(u32, f32)> {
    let mut c: Vec<(u32, f32)> = x
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(i, &v)| (i as u32, v))
        .collect();
    c.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    c.truncate(k);
    c
}

gpu_test! {
    async fn top_k_matches_the_cpu_samplers_selection() {
        let Some(ctx) = test_context().await else { return };
        let pipes = super::top_k::top_k_pipelines(&ctx);
        let check = async |x: &[f32], ks: &[usize], what: &str| {
            let xb = storage_f32(&ctx, "x", x);
            let out = storage(&ctx, "out", super::top_k::out_bytes(x.len()));
            let params = super::top_k::top_k_params(&ctx, x.len());
            let ds = super::top_k::top_k(&ctx, &pipes, params.clone(), &xb, &out, x.len());
            assert_eq!(ds.len(), if x.len() > 4096 { 2 } else { 1 }, "{what}");
            for &k in ks {
                super::top_k::set_k(&ctx, &params, k);
                run(&ctx, &ds, 1);
                let words = read_f32(&ctx, &out, 1 + 2 * super::top_k::MAX_TOP_K).await;
                let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
                let got = super::top_k::parse(&bytes);
                let want = top_k_ref(x, k);
                assert_eq!(got.len(), want.len(), "{what}, k {k}: count");
                for (g, w) in got.iter().zip(&want) {
                    assert!(
                        g.0 == w.0 && g.1.to_bits() == w.1.to_bits(),
                        "{what}, k {k}: got {got:?}, want {want:?}"
                    );
                }
            }
        };
        check(&[0.5], &[1, 40], "one value").await;
        let mut x = random(96, 3);
        x[5] = f32::NAN;
        x[17] = f32::INFINITY;
        x[40] = f32::NEG_INFINITY;
        check(&x, &[1, 40, 93, 128], "96 with non-finite values").await;
        // Few distinct values (many ties at the threshold, across the 4096-value chunks the
        // first launch splits them into), both zeros among them.
        let mut x: Vec<f32> = random(5000, 9)
            .iter()
            .map(|v| (v * 8.0).round() / 4.0)
            .collect();
        x[100] = -0.0;
        x[4000] = 0.0;
        check(&x, &[1, 7, 40, 128], "5000 with ties").await;
        check(&vec![0.0f32; 300], &[40], "all equal").await;
        // Equal values in every chunk: the first k by index, wherever the chunks end.
        check(&vec![1.5f32; 9000], &[1, 40, 128], "9000 equal").await;
        let mut x: Vec<f32> = random(20_000, 5).iter().map(|v| v.round()).collect();
        x[4095] = 3.0;
        x[4096] = 3.0;
        x[19_999] = 3.0;
        check(&x, &[1, 2, 3, 50, 128], "ties across a chunk edge").await;
        // A chunk with nothing finite and one with fewer finite values than k.
        let mut x = vec![f32::NAN; 12_000];
        x[5000] = 2.0;
        x[6000] = -1.0;
        x[11_000] = 7.0;
        check(&x, &[1, 2, 40], "chunks with few finite values").await;
        check(&random(70_001, 11), &[1, 64, 128], "70001 random").await;
        check(&random(262_144, 12), &[1, 40, 128], "262144 random (Gemma's vocabulary)").await;
        check(&[f32::NAN, f32::INFINITY], &[40], "nothing finite").await;
    }
}

gpu_test! {
    async fn feature_lists_parse() {
        let base = GpuOptions::default();
        let none = base.with_features("none").unwrap();
        assert!(none.disable_f16 && none.disable_subgroups);
        let all = none.with_features("all").unwrap();
        assert!(!all.disable_f16 && !all.disable_subgroups);
        let f16 = base.with_features(" shader-f16 ").unwrap();
        assert!(!f16.disable_f16 && f16.disable_subgroups);
        let sg = base.with_features("subgroups,").unwrap();
        assert!(sg.disable_f16 && !sg.disable_subgroups);
        assert_eq!(base.with_features("f16").unwrap_err().code(), "GPU_INPUT");
    }
}
