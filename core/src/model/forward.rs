//! The decoder forward pass shared by the llama, qwen2 and gemma3
//! architectures: one pre-norm transformer whose per-architecture differences
//! (biases, QK-norm, sandwich norms, activation, RoPE style, sliding window)
//! come from [`ModelConfig`] and the optional weights in [`LayerWeights`].

use half::f16;
use rayon::prelude::*;

use super::attend_tiled;
use super::config::{Architecture, ModelConfig, RopeStyle};
use super::matmul::{MatmulScratch, matmul};
use super::ops::{gelu, rms_norm, rms_norm_inplace, rope_apply, rope_cache};
use super::weights::{LayerWeights, Weights};
use super::{Activation, ModelError};

/// The element type of the KV cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KvType {
    /// Half precision, llama.cpp's default cache type (`-ctk f16 -ctv f16`); attention then
    /// follows ggml's flash-attention numerics for an f16 cache, so greedy outputs match
    /// llama.cpp's defaults.
    #[default]
    F16,
    /// Single precision: twice the memory, keys and values kept exactly as computed and
    /// attention in f32 throughout (as ggml's flash attention over an f32 cache).
    F32,
}

impl KvType {
    /// The lower-case name (`"f16"`, `"f32"`).
    pub fn name(self) -> &'static str {
        match self {
            KvType::F16 => "f16",
            KvType::F32 => "f32",
        }
    }

    /// Bytes per cached element.
    pub fn bytes(self) -> usize {
        match self {
            KvType::F16 => 2,
            KvType::F32 => 4,
        }
    }
}

impl std::str::FromStr for KvType {
    type Err = String;

    /// Parses `f16` or `f32` (any case).
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "f16" => Ok(KvType::F16),
            "f32" => Ok(KvType::F32),
            _ => Err(format!("unknown KV cache type {s:?} (expected f16 or f32)")),
        }
    }
}

/// One layer's cached keys or values, `positions × dim` row-major.
#[derive(Debug, Clone)]
enum KvRows {
    F16(Vec<f16>),
    F32(Vec<f32>),
}

impl KvRows {
    fn new(ty: KvType) -> Self {
        match ty {
            KvType::F16 => KvRows::F16(Vec::new()),
            KvType::F32 => KvRows::F32(Vec::new()),
        }
    }

    fn truncate(&mut self, n: usize) {
        match self {
            KvRows::F16(v) => v.truncate(n),
            KvRows::F32(v) => v.truncate(n),
        }
    }

    fn extend(&mut self, x: &[f32]) {
        match self {
            KvRows::F16(v) => v.extend(x.iter().map(|&x| f16::from_f32(x))),
            KvRows::F32(v) => v.extend_from_slice(x),
        }
    }

    fn capacity_bytes(&self) -> usize {
        match self {
            KvRows::F16(v) => v.capacity() * 2,
            KvRows::F32(v) => v.capacity() * 4,
        }
    }
}

/// Keys and values of every layer for the positions evaluated so far, in f16 (as
/// llama.cpp's default cache type) or f32 (see [`KvType`]).
#[derive(Debug, Clone)]
pub struct KvCache {
    k: Vec<KvRows>,
    v: Vec<KvRows>,
    ty: KvType,
    kv_dim: usize,
    v_dim: usize,
    len: usize,
    capacity: usize,
}

impl KvCache {
    /// An empty f16 cache for `capacity` positions; memory grows as positions are added.
    pub fn new(cfg: &ModelConfig, capacity: usize) -> Self {
        Self::with_type(cfg, capacity, KvType::F16)
    }

    /// An empty cache of element type `ty` for `capacity` positions.
    pub fn with_type(cfg: &ModelConfig, capacity: usize, ty: KvType) -> Self {
        KvCache {
            k: vec![KvRows::new(ty); cfg.n_layer],
            v: vec![KvRows::new(ty); cfg.n_layer],
            ty,
            kv_dim: cfg.n_head_kv * cfg.head_dim,
            v_dim: cfg.n_head_kv * cfg.head_dim_v,
            len: 0,
            capacity,
        }
    }

    /// The element type.
    pub fn kv_type(&self) -> KvType {
        self.ty
    }

    /// Number of cached positions.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Maximum number of positions.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Drops every position from `len` on (keeps a common prefix for reuse).
    pub fn truncate(&mut self, len: usize) {
        if len < self.len {
            self.len = len;
            for (k, v) in self.k.iter_mut().zip(&mut self.v) {
                k.truncate(len * self.kv_dim);
                v.truncate(len * self.v_dim);
            }
        }
    }

    /// Bytes held by the cache.
    pub fn memory_bytes(&self) -> usize {
        self.k
            .iter()
            .chain(&self.v)
            .map(KvRows::capacity_bytes)
            .sum()
    }
}

/// Scratch buffers for one forward pass, reused between calls.
#[derive(Debug, Default)]
pub struct ForwardScratch {
    x: Vec<f32>,
    xn: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    attn: Vec<f32>,
    o: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
    attn_scratch: AttnScratch,
    kf: Vec<f32>,
    vf: Vec<f32>,
    rope: Vec<(f32, f32)>,
    mm: MatmulScratch,
}

/// One attention task's buffers: Q rounded to f16, the scores, the V accumulator.
type AttnScratch = (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>);

/// Which positions of a batch need logits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Logits {
    /// Only the last token (generation).
    Last,
    /// Every token of the batch.
    All,
    /// No logits: every token's final hidden state after the output norm (`n_embd` each), for
    /// pooled embeddings.
    Hidden,
}

/// Runs `tokens` (at positions `cache.len()…`) through the model, appends their
/// keys and values to `cache`, and returns logits (`n_vocab` per requested position).
pub fn forward(
    cfg: &ModelConfig,
    w: &Weights,
    cache: &mut KvCache,
    tokens: &[u32],
    which: Logits,
    s: &mut ForwardScratch,
) -> Result<Vec<f32>, ModelError> {
    let n = tokens.len();
    if n == 0 {
        return Err(ModelError::EmptyInput);
    }
    check_room(cache, n)?;
    if let Some(&bad) = tokens.iter().find(|&&t| t as usize >= cfg.n_vocab) {
        return Err(ModelError::TokenOutOfRange {
            token: bad,
            n_vocab: cfg.n_vocab,
        });
    }
    let d = cfg.n_embd;
    s.x.resize(n * d, 0.0);
    for (t, &tok) in tokens.iter().enumerate() {
        let row = &mut s.x[t * d..(t + 1) * d];
        w.token_embd.dequantize_row(tok as usize, row)?;
        if let Some(scale) = cfg.embed_scale {
            row.iter_mut().for_each(|v| *v *= scale);
        }
    }
    Ok(layers_and_head(cfg, w, 0, cache, n, which, s))
}

/// [`forward`] from block `first` on: `hidden` holds the residual stream of `hidden.len() /
/// n_embd` tokens after blocks `0..first` (computed elsewhere: the GPU, in a partial
/// offload). Appends the tokens' keys and values of blocks `first..` to `cache` (its blocks
/// before `first` stay untouched) and returns logits as [`forward`] does.
pub fn forward_from_hidden(
    cfg: &ModelConfig,
    w: &Weights,
    first: usize,
    cache: &mut KvCache,
    hidden: &[f32],
    which: Logits,
    s: &mut ForwardScratch,
) -> Result<Vec<f32>, ModelError> {
    let d = cfg.n_embd;
    let n = hidden.len() / d;
    if n == 0 {
        return Err(ModelError::EmptyInput);
    }
    if !hidden.len().is_multiple_of(d) {
        return Err(ModelError::InvalidHidden(format!(
            "hidden states of {} values are not whole rows of {d}",
            hidden.len()
        )));
    }
    if first > w.layers.len() {
        return Err(ModelError::InvalidHidden(format!(
            "from block {first} of a model with {}",
            w.layers.len()
        )));
    }
    check_room(cache, n)?;
    s.x.clear();
    s.x.extend_from_slice(hidden);
    Ok(layers_and_head(cfg, w, first, cache, n, which, s))
}

fn check_room(cache: &KvCache, n: usize) -> Result<(), ModelError> {
    if cache.len + n > cache.capacity {
        return Err(ModelError::ContextFull {
            needed: cache.len + n,
            capacity: cache.capacity,
        });
    }
    Ok(())
}

/// Blocks `first..` over the `n` tokens in `s.x`, then the output norm and LM head.
fn layers_and_head(
    cfg: &ModelConfig,
    w: &Weights,
    first: usize,
    cache: &mut KvCache,
    n: usize,
    which: Logits,
    s: &mut ForwardScratch,
) -> Vec<f32> {
    let d = cfg.n_embd;
    let pos0 = cache.len;
    for (il, layer) in w.layers.iter().enumerate().skip(first) {
        layer_forward(cfg, w, il, layer, cache, pos0, n, s);
    }
    cache.len = pos0 + n;

    // The last token's row, or every token's.
    let first = match which {
        Logits::Last => n - 1,
        Logits::All | Logits::Hidden => 0,
    };
    let n_rows = n - first;
    s.xn.resize(n_rows * d, 0.0);
    let x = &s.x[first * d..];
    per_token(&mut s.xn, d, |i, out| {
        rms_norm(&x[i * d..(i + 1) * d], &w.output_norm, cfg.rms_eps, out)
    });
    if which == Logits::Hidden {
        return s.xn.clone();
    }
    let mut logits = vec![0f32; n_rows * cfg.n_vocab];
    matmul(&w.output, &s.xn, n_rows, &mut logits, &mut s.mm);
    if let Some(cap) = cfg.final_logit_softcap {
        logits
            .iter_mut()
            .for_each(|l| *l = libm::tanhf(*l / cap) * cap);
    }
    logits
}

fn add_bias(x: &mut [f32], bias: Option<&Vec<f32>>) {
    if let Some(b) = bias {
        for row in x.chunks_exact_mut(b.len()) {
            row.iter_mut().zip(b).for_each(|(v, &bb)| *v += bb);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn layer_forward(
    cfg: &ModelConfig,
    w: &Weights,
    il: usize,
    l: &LayerWeights,
    cache: &mut KvCache,
    pos0: usize,
    n: usize,
    s: &mut ForwardScratch,
) {
    let d = cfg.n_embd;
    let (hd, hdv) = (cfg.head_dim, cfg.head_dim_v);
    let q_dim = cfg.n_head * hd;
    let kv_dim = cfg.n_head_kv * hd;
    let v_dim = cfg.n_head_kv * hdv;
    let eps = cfg.rms_eps;

    // --- attention ---
    s.xn.resize(n * d, 0.0);
    let x = &s.x;
    per_token(&mut s.xn, d, |t, out| {
        rms_norm(&x[t * d..(t + 1) * d], &l.attn_norm, eps, out)
    });
    s.q.resize(n * q_dim, 0.0);
    s.k.resize(n * kv_dim, 0.0);
    s.v.resize(n * v_dim, 0.0);
    matmul(&l.wq, &s.xn, n, &mut s.q, &mut s.mm);
    matmul(&l.wk, &s.xn, n, &mut s.k, &mut s.mm);
    matmul(&l.wv, &s.xn, n, &mut s.v, &mut s.mm);
    let swa = cfg.swa_layers[il];
    let (base, scale) = if swa {
        (cfg.rope_freq_base_swa, cfg.rope_freq_scale_swa)
    } else {
        (cfg.rope_freq_base, cfg.rope_freq_scale)
    };
    // RoPE's (cos, sin) pairs for every token of the batch, shared by Q and K.
    let half_rot = cfg.n_rot / 2;
    s.rope.resize(n * half_rot, (0.0, 0.0));
    per_token(&mut s.rope, half_rot, |t, pairs| {
        rope_cache(
            pos0 + t,
            cfg.n_rot,
            base,
            scale,
            w.rope_freqs.as_deref(),
            pairs,
        )
    });
    // Gemma scales Q before attention; the others scale the scores (as llama.cpp does).
    let (q_scale, kq_scale) = if cfg.arch == Architecture::Gemma3 {
        (Some(cfg.attn_scale), 1.0)
    } else {
        (None, cfg.attn_scale)
    };
    let heads = Heads {
        hd,
        rope: &s.rope,
        half_rot,
        style: cfg.rope_style,
        eps,
    };
    heads.prepare(&mut s.q, q_dim, l.bq.as_ref(), l.q_norm.as_ref(), q_scale);
    heads.prepare(&mut s.k, kv_dim, l.bk.as_ref(), l.k_norm.as_ref(), None);
    add_bias(&mut s.v, l.bv.as_ref());
    cache.k[il].extend(&s.k);
    cache.v[il].extend(&s.v);
    let (kc, vc) = (&cache.k[il], &cache.v[il]);

    s.attn.resize(n * cfg.n_head * hdv, 0.0);
    let group = cfg.n_head / cfg.n_head_kv;
    // The first position any token of the batch attends to (starts only grow with `p`).
    let lo = match (swa, cfg.sliding_window) {
        (true, Some(win)) => (pos0 + 1).saturating_sub(win),
        _ => 0,
    };
    // An f16 cache's rows `lo..` widened to f32 once per layer (exact), instead of once per
    // query head and token.
    if let (KvRows::F16(kc), KvRows::F16(vc)) = (kc, vc) {
        use half::slice::HalfFloatSliceExt;
        let hi = pos0 + n;
        let widen = |src: &[f16], dim: usize, dst: &mut Vec<f32>| {
            dst.resize((hi - lo) * dim, 0.0);
            crate::quant::f16_to_f32_row(src[lo * dim..hi * dim].reinterpret_cast(), dst);
        };
        widen(kc, kv_dim, &mut s.kf);
        widen(vc, v_dim, &mut s.vf);
    }
    // One token's heads; `sc` is the (qf, scores, acc, exps) scratch of whoever runs it.
    let (q_all, kf, vf) = (&s.q, &s.kf, &s.vf);
    let n_head = cfg.n_head;
    let token = |t: usize, out_t: &mut [f32], sc: &mut AttnScratch| {
        let p = pos0 + t;
        let start = match (swa, cfg.sliding_window) {
            (true, Some(win)) => (p + 1).saturating_sub(win),
            _ => 0,
        };
        for (h, out) in out_t.chunks_exact_mut(hdv).enumerate() {
            let q = &q_all[t * q_dim + h * hd..t * q_dim + (h + 1) * hd];
            let shape = Head {
                kvh: h / group,
                hd,
                hdv,
                kv_dim,
                v_dim,
            };
            let (qf, scores, acc, ex) = sc;
            match (kc, vc) {
                (KvRows::F16(_), KvRows::F16(_)) => attend(
                    q,
                    kf,
                    vf,
                    shape,
                    start - lo..p + 1 - lo,
                    kq_scale,
                    qf,
                    scores,
                    ex,
                    acc,
                    out,
                ),
                (KvRows::F32(kc), KvRows::F32(vc)) => attend_f32(
                    q,
                    kc,
                    vc,
                    shape,
                    start..p + 1,
                    kq_scale,
                    scores,
                    ex,
                    acc,
                    out,
                ),
                _ => unreachable!("keys and values share one cache type"),
            }
        }
    };
    // A batch of 64 or more tokens attends in tiles, as llama.cpp's ubatches then do.
    // Otherwise the tokens attend in parallel (each its own scratch); one token, or one
    // thread, runs here.
    if n >= attend_tiled::TILE {
        let (k, v, base) = match (kc, vc) {
            (KvRows::F16(_), KvRows::F16(_)) => (&s.kf[..], &s.vf[..], lo),
            (KvRows::F32(kc), KvRows::F32(vc)) => (&kc[..], &vc[..], 0),
            _ => unreachable!("keys and values share one cache type"),
        };
        let batch = attend_tiled::Batch {
            q: &s.q,
            k,
            v,
            base,
            pos0,
            n,
            n_head,
            group,
            hd,
            hdv,
            kv_dim,
            v_dim,
            window: cfg.sliding_window.filter(|_| swa),
            scale: kq_scale,
        };
        attend_tiled::attend_tiled(&batch, &mut s.attn);
    } else if n == 1 || rayon::current_num_threads() == 1 {
        let mut sc = std::mem::take(&mut s.attn_scratch);
        for (t, out_t) in s.attn.chunks_exact_mut(n_head * hdv).enumerate() {
            token(t, out_t, &mut sc);
        }
        s.attn_scratch = sc;
    } else {
        s.attn
            .par_chunks_exact_mut(n_head * hdv)
            .enumerate()
            .for_each_init(AttnScratch::default, |sc, (t, out_t)| token(t, out_t, sc));
    }

    s.o.resize(n * d, 0.0);
    matmul(&l.wo, &s.attn, n, &mut s.o, &mut s.mm);
    residual(&mut s.x, &mut s.o, d, l.attn_post_norm.as_ref(), eps);

    // --- feed-forward ---
    let x = &s.x;
    per_token(&mut s.xn, d, |t, out| {
        rms_norm(&x[t * d..(t + 1) * d], &l.ffn_norm, eps, out)
    });
    s.gate.resize(n * cfg.n_ff, 0.0);
    s.up.resize(n * cfg.n_ff, 0.0);
    matmul(&l.ffn_gate, &s.xn, n, &mut s.gate, &mut s.mm);
    matmul(&l.ffn_up, &s.xn, n, &mut s.up, &mut s.mm);
    let (up, n_ff) = (&s.up, cfg.n_ff);
    per_token(&mut s.gate, n_ff, |t, g| {
        let u = &up[t * n_ff..(t + 1) * n_ff];
        match cfg.activation {
            Activation::Silu => silu_mul(g, u),
            Activation::GeluTanh => g.iter_mut().zip(u).for_each(|(g, &u)| *g = gelu(*g) * u),
        }
    });
    matmul(&l.ffn_down, &s.gate, n, &mut s.o, &mut s.mm);
    residual(&mut s.x, &mut s.o, d, l.ffn_post_norm.as_ref(), eps);
}

/// What Q and K rows go through before attention: `hd`-sized heads rotated by each token's
/// `half_rot` RoPE pairs in `rope`, optionally normed first.
struct Heads<'a> {
    hd: usize,
    rope: &'a [(f32, f32)],
    half_rot: usize,
    style: RopeStyle,
    eps: f32,
}

impl Heads<'_> {
    /// Per token (`row_len` values each): the bias, each head's norm, its rotation, then
    /// `mul` (Gemma's Q scale) — in the order llama.cpp's graph applies them.
    fn prepare(
        &self,
        x: &mut [f32],
        row_len: usize,
        bias: Option<&Vec<f32>>,
        norm: Option<&Vec<f32>>,
        mul: Option<f32>,
    ) {
        per_token(x, row_len, |t, row| {
            if let Some(b) = bias {
                row.iter_mut().zip(b).for_each(|(v, &bb)| *v += bb);
            }
            let pairs = &self.rope[t * self.half_rot..(t + 1) * self.half_rot];
            for h in row.chunks_exact_mut(self.hd) {
                if let Some(nw) = norm {
                    rms_norm_inplace(h, nw, self.eps);
                }
                rope_apply(h, pairs, self.style);
            }
            if let Some(m) = mul {
                row.iter_mut().for_each(|v| *v *= m);
            }
        });
    }
}

/// Tokens per task of the per-token steps (norms, RoPE, activations) in a parallel batch.
const TOKENS_PER_TASK: usize = 8;

/// Runs `f(t, row)` on each `len`-sized row of `x` (one per token of the batch): over the
/// thread pool when the batch is big enough to pay for it, in order otherwise. `f` reads
/// and writes only its own row, so the result is the same bits either way.
fn per_token<T: Send>(x: &mut [T], len: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    if len == 0 {
        return;
    }
    if x.len() < 2 * TOKENS_PER_TASK * len || rayon::current_num_threads() == 1 {
        x.chunks_exact_mut(len)
            .enumerate()
            .for_each(|(t, r)| f(t, r));
    } else {
        x.par_chunks_exact_mut(len)
            .enumerate()
            .with_min_len(TOKENS_PER_TASK)
            .for_each(|(t, r)| f(t, r));
    }
}

/// `x += o` per token, after Gemma's post-norm of `o` when the layer has one.
fn residual(x: &mut [f32], o: &mut [f32], d: usize, post_norm: Option<&Vec<f32>>, eps: f32) {
    if let Some(pn) = post_norm {
        per_token(o, d, |_, row| rms_norm_inplace(row, pn, eps));
    }
    let o = &*o;
    per_token(x, d, |t, row| {
        row.iter_mut()
            .zip(&o[t * d..(t + 1) * d])
            .for_each(|(x, &o)| *x += o)
    });
}

/// Where one query head reads the cache: its KV head `kvh`, the key and value head sizes,
/// and the key and value row strides.
#[derive(Clone, Copy)]
struct Head {
    kvh: usize,
    hd: usize,
    hdv: usize,
    kv_dim: usize,
    v_dim: usize,
}

/// `gate[i] = silu(gate[i]) · up[i]`, bit-identical to `ops::silu(gate[i]) * up[i]`, with its exponentials
/// computed in vectorised batches.
fn silu_mul(gate: &mut [f32], up: &[f32]) {
    let mut e = [0f32; 256];
    for (g, u) in gate.chunks_mut(256).zip(up.chunks(256)) {
        let e = &mut e[..g.len()];
        e.iter_mut().zip(g.iter()).for_each(|(e, &g)| *e = -g);
        crate::quant::expf_batch(e);
        for ((g, &u), &e) in g.iter_mut().zip(u).zip(e.iter()) {
            *g = *g / (1.0 + e) * u;
        }
    }
}

/// The online softmax's exponentials, all at once (vectorised): walking the scaled scores
/// as [`attend`] does, `ex[j]` is `expf(max - s)` where score `j` raises the running
/// maximum and `expf(s - max)` otherwise — exactly the values the walk then uses.
fn softmax_exps(scores: &[f32], scale: f32, ex: &mut Vec<f32>) {
    let mut max = f32::NEG_INFINITY;
    ex.clear();
    ex.extend(scores.iter().map(|&dot| {
        let s = dot * scale;
        if s > max {
            let a = max - s;
            max = s;
            a
        } else {
            s - max
        }
    }));
    crate::quant::expf_batch(ex);
}

/// Attention of one query head over cached positions `range`, computed as
/// ggml-cpu's per-query flash-attention kernel does for an f16 cache (llama.cpp's
/// default cache; the kernel it runs for decode and batches under 64 tokens, see
/// `attend_tiled.rs` for longer ones): Q rounded to f16, `K·Q` in f32, an online softmax, and the
/// weighted sum of V accumulated in f16. Keeping its rounding points keeps
/// our logits within noise of llama.cpp's.
/// `kc` and `vc` are the cache's f16 rows widened to f32 (exact), `range` indexes them.
#[allow(clippy::too_many_arguments)]
fn attend(
    q: &[f32],
    kc: &[f32],
    vc: &[f32],
    Head {
        kvh,
        hd,
        hdv,
        kv_dim,
        v_dim,
    }: Head,
    range: std::ops::Range<usize>,
    scale: f32,
    qf: &mut Vec<f32>,
    scores: &mut Vec<f32>,
    ex: &mut Vec<f32>,
    acc: &mut Vec<f32>,
    out: &mut [f32],
) {
    // Q rounded to f16 (as ggml stores it), widened back once.
    qf.clear();
    qf.extend(q.iter().map(|&v| f16::from_f32(v).to_f32()));
    // The f16 accumulator, held as f32s that are always f16 values.
    acc.clear();
    acc.resize(hdv, 0.0);
    // All K·Q dots first (each summed in order, exactly as one at a time).
    let n = range.len();
    scores.clear();
    scores.resize(n, 0.0);
    if n > 0 {
        let first = range.start * kv_dim + kvh * hd;
        crate::quant::f32_dots(qf, &kc[first..], kv_dim, scores);
    }
    softmax_exps(scores, scale, ex);
    let mut sum = 0f32;
    let mut max = f32::NEG_INFINITY;
    for ((j, &dot), &e) in range.zip(scores.iter()).zip(ex.iter()) {
        let s = dot * scale;
        let (mut ms, mut vs) = (1.0f32, 1.0f32);
        if s > max {
            ms = e;
            max = s;
            crate::quant::f16r_scale(acc, ms);
        } else {
            vs = e;
        }
        let v = &vc[j * v_dim + kvh * hdv..j * v_dim + (kvh + 1) * hdv];
        crate::quant::f16r_mad(acc, v, vs);
        sum = sum * ms + vs;
    }
    let inv = if sum == 0.0 { 0.0 } else { 1.0 / sum };
    out.iter_mut()
        .zip(acc.iter())
        .for_each(|(o, &a)| *o = a * inv);
}

/// [`attend`] over an f32 cache, as ggml-cpu's flash-attention kernel does when K and V
/// are f32: Q as is, `K·Q` in f32, the same online softmax, and the weighted sum of V
/// accumulated in f32 (scale, then multiply-add).
#[allow(clippy::too_many_arguments)]
fn attend_f32(
    q: &[f32],
    kc: &[f32],
    vc: &[f32],
    Head {
        kvh,
        hd,
        hdv,
        kv_dim,
        v_dim,
    }: Head,
    range: std::ops::Range<usize>,
    scale: f32,
    scores: &mut Vec<f32>,
    ex: &mut Vec<f32>,
    acc: &mut Vec<f32>,
    out: &mut [f32],
) {
    acc.clear();
    acc.resize(hdv, 0.0);
    scores.clear();
    scores.extend(range.clone().map(|j| {
        let k = &kc[j * kv_dim + kvh * hd..j * kv_dim + (kvh + 1) * hd];
        k.iter().zip(q).map(|(&a, &b)| a * b).sum::<f32>()
    }));
    softmax_exps(scores, scale, ex);
    let mut sum = 0f32;
    let mut max = f32::NEG_INFINITY;
    for ((j, &dot), &e) in range.zip(scores.iter()).zip(ex.iter()) {
        let s = dot * scale;
        let (mut ms, mut vs) = (1.0f32, 1.0f32);
        if s > max {
            ms = e;
            max = s;
            acc.iter_mut().for_each(|a| *a *= ms);
        } else {
            vs = e;
        }
        let v = &vc[j * v_dim + kvh * hdv..j * v_dim + (kvh + 1) * hdv];
        acc.iter_mut().zip(v).for_each(|(a, &b)| *a += b * vs);
        sum = sum * ms + vs;
    }
    let inv = if sum == 0.0 { 0.0 } else { 1.0 / sum };
    out.iter_mut()
        .zip(acc.iter())
        .for_each(|(o, &a)| *o = a * inv);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The batched SiLU and softmax exponentials give exactly the scalar results.
    #[test]
    fn batched_exponentials_match_the_scalar_definitions() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 40) as f32 / (1u64 << 24) as f32 * 40.0 - 20.0
        };
        let gate: Vec<f32> = (0..1000).map(|_| next()).collect();
        let up: Vec<f32> = (0..1000).map(|_| next()).collect();
        let mut ours = gate.clone();
        silu_mul(&mut ours, &up);
        for i in 0..gate.len() {
            let want = super::super::ops::silu(gate[i]) * up[i];
            assert_eq!(ours[i].to_bits(), want.to_bits(), "{}", gate[i]);
        }
        let scores: Vec<f32> = (0..300).map(|_| next()).collect();
        let mut ex = Vec::new();
        softmax_exps(&scores, 0.125, &mut ex);
        let mut max = f32::NEG_INFINITY;
        for (&dot, &e) in scores.iter().zip(&ex) {
            let s = dot * 0.125;
            let want = if s > max {
                let m = libm::expf(max - s);
                max = s;
                m
            } else {
                libm::expf(s - max)
            };
            assert_eq!(e.to_bits(), want.to_bits());
        }
    }
}

/// Both attention paths against ggml's own flash attention (linked through
/// `hearth-llama-cpp`): a batch of 64 or more queries against its tiled kernel, fewer
/// against its per-query kernel, over an f16 cache with grouped heads.
#[cfg(all(test, not(any(target_arch = "wasm32", hearth_no_llama_cpp))))]
mod ggml_oracle_tests {
    use super::*;
    use hearth_llama_cpp::ggml;

    struct Case {
        n: usize,
        pos0: usize,
        window: Option<usize>,
        hd: usize,
    }

    /// The largest |ours − ggml's| over all outputs, for `per_position` (`attend`) or the
    /// tiled path, on random data of attention-like magnitudes.
    fn worst_difference(c: &Case, per_position: bool) -> f32 {
        let (n_head, n_head_kv) = (4, 2);
        let group = n_head / n_head_kv;
        let (hd, n_kv) = (c.hd, c.pos0 + c.n);
        let (kv_dim, q_dim) = (n_head_kv * hd, n_head * hd);
        let mut seed = 0x5eed_0fa7_7e00_u64 ^ (c.n * 31 + c.pos0) as u64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
        };
        // Ours: q `[t][h][d]`; cache rows `[j][kvh][d]` as f16 values widened.
        let q: Vec<f32> = (0..c.n * q_dim).map(|_| rnd() * 2.0).collect();
        let kh: Vec<f16> = (0..n_kv * kv_dim)
            .map(|_| f16::from_f32(rnd() * 2.0))
            .collect();
        let vh: Vec<f16> = (0..n_kv * kv_dim).map(|_| f16::from_f32(rnd())).collect();
        let (kf, vf): (Vec<f32>, Vec<f32>) = (
            kh.iter().map(|x| x.to_f32()).collect(),
            vh.iter().map(|x| x.to_f32()).collect(),
        );
        let scale = 1.0 / (hd as f32).sqrt();
        let start = |p: usize| c.window.map_or(0, |w| (p + 1).saturating_sub(w));
        let mut ours = vec![0f32; c.n * n_head * hd];
        if per_position {
            let (mut qf, mut scores, mut ex, mut acc) = Default::default();
            for t in 0..c.n {
                let p = c.pos0 + t;
                for h in 0..n_head {
                    let shape = Head {
                        kvh: h / group,
                        hd,
                        hdv: hd,
                        kv_dim,
                        v_dim: kv_dim,
                    };
                    attend(
                        &q[t * q_dim + h * hd..][..hd],
                        &kf,
                        &vf,
                        shape,
                        start(p)..p + 1,
                        scale,
                        &mut qf,
                        &mut scores,
                        &mut ex,
                        &mut acc,
                        &mut ours[(t * n_head + h) * hd..][..hd],
                    );
                }
            }
        } else {
            let batch = attend_tiled::Batch {
                q: &q,
                k: &kf,
                v: &vf,
                base: 0,
                pos0: c.pos0,
                n: c.n,
                n_head,
                group,
                hd,
                hdv: hd,
                kv_dim,
                v_dim: kv_dim,
                window: c.window,
                scale,
            };
            attend_tiled::attend_tiled(&batch, &mut ours);
        }
        // ggml's layouts: heads outermost.
        let mut gq = vec![0f32; q.len()];
        for t in 0..c.n {
            for h in 0..n_head {
                gq[(h * c.n + t) * hd..][..hd].copy_from_slice(&q[t * q_dim + h * hd..][..hd]);
            }
        }
        let per_head = |src: &[f16]| {
            let mut out = vec![0u16; src.len()];
            for j in 0..n_kv {
                for kvh in 0..n_head_kv {
                    for d in 0..hd {
                        out[(kvh * n_kv + j) * hd + d] = src[j * kv_dim + kvh * hd + d].to_bits();
                    }
                }
            }
            out
        };
        let mask: Vec<u16> = (0..c.n)
            .flat_map(|t| {
                let p = c.pos0 + t;
                (0..n_kv).map(move |j| {
                    let seen = j >= start(p) && j <= p;
                    if seen { f16::ZERO } else { f16::NEG_INFINITY }.to_bits()
                })
            })
            .collect();
        let shape = ggml::AttnShape {
            dk: hd,
            dv: hd,
            n: c.n,
            n_kv,
            n_head,
            n_head_kv,
        };
        let theirs =
            ggml::flash_attn_ext(shape, &gq, &per_head(&kh), &per_head(&vh), &mask, scale, 2);
        ours.iter()
            .zip(&theirs)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max)
    }

    #[test]
    fn batches_of_64_or_more_match_ggmls_tiled_kernel() {
        for c in [
            Case {
                n: 64,
                pos0: 0,
                window: None,
                hd: 64,
            },
            Case {
                n: 150,
                pos0: 20,
                window: None,
                hd: 64,
            },
            Case {
                n: 100,
                pos0: 90,
                window: Some(70),
                hd: 256,
            },
        ] {
            let tiled = worst_difference(&c, false);
            let per_position = worst_difference(&c, true);
            eprintln!(
                "n {} pos0 {}: tiled {tiled:e}, per position {per_position:e}",
                c.n, c.pos0
            );
            assert!(tiled < 1e-5, "tiled path: {tiled}");
            // What the per-query path's f16 rounding would cost here, for the record.
            assert!(tiled * 10.0 < per_position, "{tiled} vs {per_position}");
        }
    }

    #[test]
    fn smaller_batches_match_ggmls_per_query_kernel() {
        for c in [
            Case {
                n: 1,
                pos0: 300,
                window: None,
                hd: 64,
            },
            Case {
                n: 20,
                pos0: 50,
                window: Some(40),
                hd: 256,
            },
        ] {
            let per_position = worst_difference(&c, true);
            eprintln!("n {} pos0 {}: per position {per_position:e}", c.n, c.pos0);
            // Within a step of the f16 accumulator over the softmax sum: ggml's expf is not
            // libm's, so now and then an f16 sum rounds the other way.
            assert!(per_position < 1e-3, "per-position path: {per_position}");
        }
    }
}
