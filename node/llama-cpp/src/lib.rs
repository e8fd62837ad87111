//! A small safe wrapper over llama.cpp through `llama-cpp-sys-2`.
//!
//! Hearth uses llama.cpp three ways: as the correctness reference in
//! hearth-core's tests (tokens, logits, quant blocks, attention), as the peer in `bench/`,
//! and as the optional `backend: 'llama.cpp'` of hearth-node. Only what those
//! need is wrapped; every call checks its result and returns a [`LlamaError`].

use std::ffi::{CString, c_char, c_void};
use std::path::Path;
use std::ptr::NonNull;
use std::sync::Once;

pub use llama_cpp_sys_2 as sys;

/// A llama.cpp token id.
pub type Token = i32;

/// Errors from llama.cpp calls.
#[derive(Debug, thiserror::Error)]
pub enum LlamaError {
    #[error("llama.cpp could not load the model {0}")]
    Load(String),
    #[error("llama.cpp could not create a context")]
    Context,
    #[error("llama.cpp tokenization failed ({0})")]
    Tokenize(i32),
    #[error("llama.cpp decode failed with code {0}")]
    Decode(i32),
    #[error("llama.cpp quantization failed with code {0}")]
    Quantize(u32),
    #[error("invalid argument: {0}")]
    Invalid(String),
}

static INIT: Once = Once::new();

unsafe extern "C" fn quiet_log(level: sys::ggml_log_level, text: *const c_char, _: *mut c_void) {
    // Keep errors visible; llama.cpp's info chatter would drown test output.
    if level == sys::GGML_LOG_LEVEL_ERROR {
        // SAFETY: llama.cpp passes a NUL-terminated string valid for this call.
        let s = unsafe { std::ffi::CStr::from_ptr(text) };
        eprint!("llama.cpp: {}", s.to_string_lossy());
    }
}

/// Initialises the llama.cpp backend once per process, with quiet logging.
pub fn init() {
    INIT.call_once(|| {
        // SAFETY: plain global initialisation calls with a valid callback.
        unsafe {
            sys::llama_log_set(Some(quiet_log), std::ptr::null_mut());
            sys::llama_backend_init();
        }
    });
}

fn cpath(path: &Path) -> Result<CString, LlamaError> {
    CString::new(path.to_string_lossy().as_bytes())
        .map_err(|_| LlamaError::Invalid("path contains NUL".into()))
}

/// A loaded model (weights mmapped; on the CPU unless loaded with GPU layers).
#[derive(Debug)]
pub struct Model {
    ptr: NonNull<sys::llama_model>,
}

// SAFETY: llama.cpp models are immutable after load and documented as shareable across contexts/threads.
unsafe impl Send for Model {}
unsafe impl Sync for Model {}

impl Model {
    /// Loads a GGUF model from a file.
    pub fn load(path: impl AsRef<Path>) -> Result<Model, LlamaError> {
        Self::load_with_gpu_layers(path, 0)
    }

    /// [`Model::load`] with `n_gpu_layers` layers offloaded to llama.cpp's GPU backend
    /// (`-1`: all). Only a build with a GPU backend (the `vulkan` feature) has one; without
    /// it llama.cpp runs every layer on the CPU.
    pub fn load_with_gpu_layers(
        path: impl AsRef<Path>,
        n_gpu_layers: i32,
    ) -> Result<Model, LlamaError> {
        init();
        let path = path.as_ref();
        let c = cpath(path)?;
        // SAFETY: valid params struct and NUL-terminated path.
        let ptr = unsafe {
            let mut params = sys::llama_model_default_params();
            params.n_gpu_layers = n_gpu_layers;
            sys::llama_model_load_from_file(c.as_ptr(), params)
        };
        NonNull::new(ptr)
            .map(|ptr| Model { ptr })
            .ok_or_else(|| LlamaError::Load(path.display().to_string()))
    }

    fn vocab(&self) -> *const sys::llama_vocab {
        // SAFETY: the model pointer is valid for self's lifetime.
        unsafe { sys::llama_model_get_vocab(self.ptr.as_ptr()) }
    }

    /// Vocabulary size.
    pub fn n_vocab(&self) -> usize {
        // SAFETY: valid vocab pointer.
        unsafe { sys::llama_vocab_n_tokens(self.vocab()) as usize }
    }

    /// Training context length.
    pub fn n_ctx_train(&self) -> usize {
        // SAFETY: valid model pointer.
        unsafe { sys::llama_model_n_ctx_train(self.ptr.as_ptr()) as usize }
    }

    /// Whether the vocabulary adds BOS when `add_special` is set.
    pub fn add_bos(&self) -> bool {
        // SAFETY: valid vocab pointer.
        unsafe { sys::llama_vocab_get_add_bos(self.vocab()) }
    }

    /// Whether `token` ends generation (EOS, EOT, …).
    pub fn is_eog(&self, token: Token) -> bool {
        // SAFETY: valid vocab pointer; llama.cpp range-checks the token.
        unsafe { sys::llama_vocab_is_eog(self.vocab(), token) }
    }

    /// Tokenizes `text` as `llama_tokenize` does.
    pub fn tokenize(
        &self,
        text: &str,
        add_special: bool,
        parse_special: bool,
    ) -> Result<Vec<Token>, LlamaError> {
        let len =
            i32::try_from(text.len()).map_err(|_| LlamaError::Invalid("text too long".into()))?;
        let mut out = vec![0; text.len() + 8];
        for _ in 0..2 {
            // SAFETY: buffers are valid for the lengths passed.
            let n = unsafe {
                sys::llama_tokenize(
                    self.vocab(),
                    text.as_ptr().cast(),
                    len,
                    out.as_mut_ptr(),
                    out.len() as i32,
                    add_special,
                    parse_special,
                )
            };
            if n >= 0 {
                out.truncate(n as usize);
                return Ok(out);
            }
            if n == i32::MIN {
                return Err(LlamaError::Tokenize(n));
            }
            out.resize((-n) as usize, 0);
        }
        Err(LlamaError::Tokenize(-1))
    }

    /// The bytes of one token as `llama_token_to_piece` renders them.
    pub fn token_to_piece(&self, token: Token, special: bool) -> Vec<u8> {
        let mut buf = vec![0u8; 64];
        loop {
            // SAFETY: buffer valid for its length.
            let n = unsafe {
                sys::llama_token_to_piece(
                    self.vocab(),
                    token,
                    buf.as_mut_ptr().cast(),
                    buf.len() as i32,
                    0,
                    special,
                )
            };
            if n >= 0 {
                buf.truncate(n as usize);
                return buf;
            }
            buf.resize((-n) as usize, 0);
        }
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: the pointer came from llama_model_load_from_file and is freed once.
        unsafe { sys::llama_model_free(self.ptr.as_ptr()) }
    }
}

/// An inference context (KV cache) over a [`Model`].
#[derive(Debug)]
pub struct Context<'m> {
    ptr: NonNull<sys::llama_context>,
    model: &'m Model,
    n_past: usize,
}

// SAFETY: a context is used from one thread at a time (`&mut self` methods).
unsafe impl Send for Context<'_> {}

/// Options for a [`Context`].
#[derive(Clone, Copy, Debug)]
pub struct ContextOptions {
    /// Context length in tokens.
    pub n_ctx: u32,
    /// Threads for decode and prompt processing.
    pub n_threads: i32,
    /// Batch size for prompt processing.
    pub n_batch: u32,
    /// Flash attention: `None` leaves llama.cpp's default (auto: on for CPU).
    pub flash_attn: Option<bool>,
}

impl Default for ContextOptions {
    fn default() -> Self {
        ContextOptions {
            n_ctx: 2048,
            n_threads: 1,
            n_batch: 512,
            flash_attn: None,
        }
    }
}

impl<'m> Context<'m> {
    /// Creates a context; the KV cache holds `opts.n_ctx` tokens.
    pub fn new(model: &'m Model, opts: ContextOptions) -> Result<Self, LlamaError> {
        // SAFETY: valid model and params.
        let ptr = unsafe {
            let mut p = sys::llama_context_default_params();
            p.n_ctx = opts.n_ctx;
            p.n_batch = opts.n_batch;
            p.n_ubatch = opts.n_batch;
            p.n_threads = opts.n_threads;
            p.n_threads_batch = opts.n_threads;
            p.no_perf = true;
            if let Some(fa) = opts.flash_attn {
                p.flash_attn_type = if fa {
                    sys::LLAMA_FLASH_ATTN_TYPE_ENABLED
                } else {
                    sys::LLAMA_FLASH_ATTN_TYPE_DISABLED
                };
            }
            sys::llama_init_from_model(model.ptr.as_ptr(), p)
        };
        NonNull::new(ptr)
            .map(|ptr| Context {
                ptr,
                model,
                n_past: 0,
            })
            .ok_or(LlamaError::Context)
    }

    /// The model this context runs.
    pub fn model(&self) -> &'m Model {
        self.model
    }

    /// Number of tokens in the KV cache.
    pub fn n_past(&self) -> usize {
        self.n_past
    }

    /// Empties the KV cache.
    pub fn clear(&mut self) {
        // SAFETY: valid context.
        unsafe { sys::llama_memory_clear(sys::llama_get_memory(self.ptr.as_ptr()), true) };
        self.n_past = 0;
    }

    /// Keeps the first `n` cached tokens and forgets the rest (for prompt-prefix reuse).
    pub fn truncate(&mut self, n: usize) -> Result<(), LlamaError> {
        if n >= self.n_past {
            return Ok(());
        }
        let p0 = i32::try_from(n).map_err(|_| LlamaError::Invalid("position too large".into()))?;
        // SAFETY: valid context; sequence 0 from `p0` to the end (-1).
        let ok = unsafe {
            sys::llama_memory_seq_rm(sys::llama_get_memory(self.ptr.as_ptr()), 0, p0, -1)
        };
        if !ok {
            return Err(LlamaError::Invalid(format!(
                "llama.cpp cannot truncate the KV cache to {n} tokens"
            )));
        }
        self.n_past = n;
        Ok(())
    }

    /// Evaluates `tokens` after what is already cached and returns the logits of the last one.
    pub fn eval(&mut self, tokens: &[Token]) -> Result<Vec<f32>, LlamaError> {
        if tokens.is_empty() {
            return Err(LlamaError::Invalid("no tokens to evaluate".into()));
        }
        let mut toks = tokens.to_vec();
        // SAFETY: the batch borrows `toks`, which outlives the decode call.
        let rc = unsafe {
            let batch = sys::llama_batch_get_one(toks.as_mut_ptr(), toks.len() as i32);
            sys::llama_decode(self.ptr.as_ptr(), batch)
        };
        if rc != 0 {
            return Err(LlamaError::Decode(rc));
        }
        self.n_past += tokens.len();
        let n = self.model.n_vocab();
        // SAFETY: after a successful decode the last position's logits hold n_vocab floats.
        let logits = unsafe { sys::llama_get_logits_ith(self.ptr.as_ptr(), -1) };
        if logits.is_null() {
            return Err(LlamaError::Decode(-100));
        }
        Ok(unsafe { std::slice::from_raw_parts(logits, n) }.to_vec())
    }

    /// Greedy generation: evaluates `prompt` then picks the arg-max token `n` times
    /// (stopping early at an end-of-generation token unless `ignore_eos`).
    pub fn greedy(
        &mut self,
        prompt: &[Token],
        n: usize,
        ignore_eos: bool,
    ) -> Result<Vec<Token>, LlamaError> {
        let mut logits = self.eval(prompt)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let t = argmax(&logits) as Token;
            if !ignore_eos && self.model.is_eog(t) {
                break;
            }
            out.push(t);
            logits = self.eval(&[t])?;
        }
        Ok(out)
    }
}

impl Drop for Context<'_> {
    fn drop(&mut self) {
        // SAFETY: created by llama_init_from_model, freed once.
        unsafe { sys::llama_free(self.ptr.as_ptr()) }
    }
}

/// How llama.cpp pools token embeddings into one vector per sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pooling {
    /// Mean over the tokens (`LLAMA_POOLING_TYPE_MEAN`).
    Mean,
    /// The last token (`LLAMA_POOLING_TYPE_LAST`).
    Last,
    /// The first token (`LLAMA_POOLING_TYPE_CLS`, BERT models).
    Cls,
}

/// A context in embeddings mode: each [`Embedder::embed`] runs one sequence from an empty
/// cache and returns llama.cpp's pooled vector (`llama_get_embeddings_seq`), not normalised.
#[derive(Debug)]
pub struct Embedder<'m> {
    ctx: Context<'m>,
}

impl<'m> Embedder<'m> {
    /// Creates an embeddings context for sequences of up to `n_ctx` tokens.
    pub fn new(
        model: &'m Model,
        n_ctx: u32,
        n_threads: i32,
        pooling: Pooling,
    ) -> Result<Self, LlamaError> {
        // SAFETY: valid model and params.
        let ptr = unsafe {
            let mut p = sys::llama_context_default_params();
            p.n_ctx = n_ctx;
            p.n_batch = n_ctx;
            p.n_ubatch = n_ctx;
            p.n_threads = n_threads;
            p.n_threads_batch = n_threads;
            p.no_perf = true;
            p.embeddings = true;
            p.pooling_type = match pooling {
                Pooling::Mean => sys::LLAMA_POOLING_TYPE_MEAN,
                Pooling::Last => sys::LLAMA_POOLING_TYPE_LAST,
                Pooling::Cls => sys::LLAMA_POOLING_TYPE_CLS,
            };
            sys::llama_init_from_model(model.ptr.as_ptr(), p)
        };
        let ptr = NonNull::new(ptr).ok_or(LlamaError::Context)?;
        Ok(Embedder {
            ctx: Context {
                ptr,
                model,
                n_past: 0,
            },
        })
    }

    /// The pooled embedding of `tokens` (`n_embd` values).
    pub fn embed(&mut self, tokens: &[Token]) -> Result<Vec<f32>, LlamaError> {
        if tokens.is_empty() {
            return Err(LlamaError::Invalid("no tokens to embed".into()));
        }
        self.ctx.clear();
        let ctx = self.ctx.ptr.as_ptr();
        let mut toks = tokens.to_vec();
        // SAFETY: the batch borrows `toks`, which outlives the decode call; a batch from
        // llama_batch_get_one is sequence 0, and with pooling every token is an output.
        let rc = unsafe {
            let batch = sys::llama_batch_get_one(toks.as_mut_ptr(), toks.len() as i32);
            sys::llama_decode(ctx, batch)
        };
        if rc != 0 {
            return Err(LlamaError::Decode(rc));
        }
        // SAFETY: valid model pointer.
        let n = unsafe { sys::llama_model_n_embd(self.ctx.model.ptr.as_ptr()) } as usize;
        // SAFETY: after a successful decode with pooling, sequence 0 has n_embd floats.
        let v = unsafe { sys::llama_get_embeddings_seq(ctx, 0) };
        if v.is_null() {
            return Err(LlamaError::Decode(-101));
        }
        Ok(unsafe { std::slice::from_raw_parts(v, n) }.to_vec())
    }
}

/// The GPU devices llama.cpp's backends offer (`"name: description"`, e.g.
/// `"Vulkan0: NVIDIA H100"`); empty in a CPU-only build.
pub fn gpu_devices() -> Vec<String> {
    init();
    let cstr = |p: *const c_char| {
        if p.is_null() {
            String::new()
        } else {
            // SAFETY: ggml returns NUL-terminated strings owned by the device registry.
            unsafe { std::ffi::CStr::from_ptr(p) }
                .to_string_lossy()
                .into_owned()
        }
    };
    // SAFETY: the device registry is initialised by `init` and lives for the process.
    unsafe {
        (0..sys::ggml_backend_dev_count())
            .map(|i| sys::ggml_backend_dev_get(i))
            .filter(|&d| {
                let t = sys::ggml_backend_dev_type(d);
                t == sys::GGML_BACKEND_DEVICE_TYPE_GPU || t == sys::GGML_BACKEND_DEVICE_TYPE_IGPU
            })
            .map(|d| {
                format!(
                    "{}: {}",
                    cstr(sys::ggml_backend_dev_name(d)),
                    cstr(sys::ggml_backend_dev_description(d))
                )
            })
            .collect()
    }
}

/// Index of the largest value (first on ties, as llama.cpp's greedy sampler).
pub fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// Quantizes a GGUF model file with `llama_model_quantize` (requantizing allowed).
/// `ftype` is a `llama_ftype` value, e.g. [`sys::llama_ftype_LLAMA_FTYPE_MOSTLY_Q8_0`].
pub fn quantize_model(
    input: &Path,
    output: &Path,
    ftype: sys::llama_ftype,
    n_threads: i32,
) -> Result<(), LlamaError> {
    init();
    let (i, o) = (cpath(input)?, cpath(output)?);
    // SAFETY: valid params and paths.
    let rc = unsafe {
        let mut p = sys::llama_model_quantize_default_params();
        p.ftype = ftype;
        p.allow_requantize = true;
        p.nthread = n_threads;
        sys::llama_model_quantize(i.as_ptr(), o.as_ptr(), &p)
    };
    if rc != 0 {
        Err(LlamaError::Quantize(rc))
    } else {
        Ok(())
    }
}

/// ggml's own kernels, for checking Hearth's quant blocks (bit for bit) and attention.
pub mod ggml {
    use super::sys;

    /// A ggml type id (`enum ggml_type`).
    pub type TypeId = u32;

    /// Dequantizes `n` values of type `ty` with ggml's `to_float`.
    pub fn dequantize(ty: TypeId, data: &[u8], n: usize) -> Vec<f32> {
        super::init();
        let mut out = vec![0f32; n];
        // SAFETY: traits are static; `data` holds `n` values of `ty` (checked by the row size).
        unsafe {
            let tr = &*sys::ggml_get_type_traits(ty);
            assert_eq!(data.len(), sys::ggml_row_size(ty, n as i64), "data size");
            (tr.to_float.expect("type has to_float"))(
                data.as_ptr().cast(),
                out.as_mut_ptr(),
                n as i64,
            );
        }
        out
    }

    /// Quantizes rows of `n_per_row` floats to `ty` with ggml's reference quantizer.
    pub fn quantize(ty: TypeId, src: &[f32], n_per_row: usize) -> Vec<u8> {
        super::init();
        let nrows = src.len() / n_per_row;
        assert_eq!(nrows * n_per_row, src.len());
        // SAFETY: output sized by ggml_row_size; no importance matrix.
        unsafe {
            let mut out = vec![0u8; sys::ggml_row_size(ty, n_per_row as i64) * nrows];
            let written = sys::ggml_quantize_chunk(
                ty,
                src.as_ptr(),
                out.as_mut_ptr().cast(),
                0,
                nrows as i64,
                n_per_row as i64,
                std::ptr::null(),
            );
            assert_eq!(written, out.len());
            out
        }
    }

    /// Quantizes one activation row with the CPU backend's `from_float` (the format
    /// `vec_dot_type(ty)` that `ty`'s dot product consumes).
    pub fn from_float(ty: TypeId, src: &[f32]) -> Vec<u8> {
        super::init();
        // SAFETY: output sized by ggml_row_size for the row length.
        unsafe {
            let tr = &*sys::ggml_get_type_traits_cpu(ty);
            let mut out = vec![0u8; sys::ggml_row_size(ty, src.len() as i64)];
            (tr.from_float.expect("from_float"))(
                src.as_ptr(),
                out.as_mut_ptr().cast(),
                src.len() as i64,
            );
            out
        }
    }

    /// The activation type that `ty`'s CPU dot product takes.
    pub fn vec_dot_type(ty: TypeId) -> TypeId {
        super::init();
        // SAFETY: static traits table.
        unsafe { (*sys::ggml_get_type_traits_cpu(ty)).vec_dot_type }
    }

    /// ggml's CPU dot product of one `ty` row with one `vec_dot_type(ty)` row of `n` values.
    pub fn vec_dot(ty: TypeId, n: usize, w: &[u8], x: &[u8]) -> f32 {
        super::init();
        let mut s = 0f32;
        // SAFETY: rows sized for n values of their types (asserted).
        unsafe {
            let tr = &*sys::ggml_get_type_traits_cpu(ty);
            assert_eq!(w.len(), sys::ggml_row_size(ty, n as i64));
            assert_eq!(x.len(), sys::ggml_row_size(tr.vec_dot_type, n as i64));
            (tr.vec_dot.expect("vec_dot"))(
                n as i32,
                &mut s,
                0,
                w.as_ptr().cast(),
                0,
                x.as_ptr().cast(),
                0,
                1,
            );
        }
        s
    }

    /// The shapes of one [`flash_attn_ext`] call: `n` queries of `n_head` heads over `n_kv`
    /// cached positions of `n_head_kv` heads (grouped-query attention when fewer).
    #[derive(Clone, Copy, Debug)]
    pub struct AttnShape {
        pub dk: usize,
        pub dv: usize,
        pub n: usize,
        pub n_kv: usize,
        pub n_head: usize,
        pub n_head_kv: usize,
    }

    /// ggml's CPU flash attention (`ggml_flash_attn_ext`, default precision, as llama.cpp's
    /// graphs use it) over f16 keys and values. Layouts are ggml's, fastest index last:
    /// `q` `[n_head][n][dk]` f32, `k` `[n_head_kv][n_kv][dk]` and `v` `[n_head_kv][n_kv][dv]`
    /// f16 bits, `mask` `[n][n_kv]` f16 bits (0 or -inf). Returns `[n][n_head][dv]`.
    pub fn flash_attn_ext(
        s: AttnShape,
        q: &[f32],
        k: &[u16],
        v: &[u16],
        mask: &[u16],
        scale: f32,
        threads: i32,
    ) -> Vec<f32> {
        super::init();
        assert_eq!(q.len(), s.n_head * s.n * s.dk);
        assert_eq!(k.len(), s.n_head_kv * s.n_kv * s.dk);
        assert_eq!(v.len(), s.n_head_kv * s.n_kv * s.dv);
        assert_eq!(mask.len(), s.n * s.n_kv);
        let bytes = 4 * (q.len() + s.n * s.n_head * s.dv) + 2 * (k.len() + v.len() + mask.len());
        let params = sys::ggml_init_params {
            // Tensors, the graph and the work buffer (a few tiles per thread).
            mem_size: bytes + (64 << 20),
            mem_buffer: std::ptr::null_mut(),
            no_alloc: false,
        };
        // SAFETY: a fresh context holds every tensor made here; each is filled with exactly
        // its element count (asserted above) before the graph runs; the context is freed last.
        unsafe {
            let ctx = sys::ggml_init(params);
            assert!(!ctx.is_null(), "ggml_init");
            let tensor = |ty, ne: [usize; 3], src: *const u8, size: usize| {
                let t =
                    sys::ggml_new_tensor_4d(ctx, ty, ne[0] as i64, ne[1] as i64, ne[2] as i64, 1);
                std::ptr::copy_nonoverlapping(src, (*t).data.cast::<u8>(), size);
                t
            };
            let qt = tensor(
                sys::GGML_TYPE_F32,
                [s.dk, s.n, s.n_head],
                q.as_ptr().cast(),
                q.len() * 4,
            );
            let kt = tensor(
                sys::GGML_TYPE_F16,
                [s.dk, s.n_kv, s.n_head_kv],
                k.as_ptr().cast(),
                k.len() * 2,
            );
            let vt = tensor(
                sys::GGML_TYPE_F16,
                [s.dv, s.n_kv, s.n_head_kv],
                v.as_ptr().cast(),
                v.len() * 2,
            );
            let mt = tensor(
                sys::GGML_TYPE_F16,
                [s.n_kv, s.n, 1],
                mask.as_ptr().cast(),
                mask.len() * 2,
            );
            let out = sys::ggml_flash_attn_ext(ctx, qt, kt, vt, mt, scale, 0.0, 0.0);
            let graph = sys::ggml_new_graph(ctx);
            sys::ggml_build_forward_expand(graph, out);
            let status = sys::ggml_graph_compute_with_ctx(ctx, graph, threads);
            assert_eq!(status, sys::GGML_STATUS_SUCCESS, "ggml_graph_compute");
            let len = s.n * s.n_head * s.dv;
            let result = std::slice::from_raw_parts((*out).data.cast::<f32>(), len).to_vec();
            sys::ggml_free(ctx);
            result
        }
    }
}
