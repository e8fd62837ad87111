//! Sentence embeddings: `loadEmbeddingModel(path, { quantize })` loads a Hugging Face
//! BERT-family model directory (`model.safetensors` memory-mapped) or a `bert` GGUF file, and
//! `NativeEmbeddingModel.embed` encodes on libuv worker threads, never on the event loop.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use hearth_core::{EmbedInfoJs, EmbedLoadOptions, EmbedOptions, EmbeddingModel};
use napi::Env;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::{Failure, Outcome, code, guard, sync};
use crate::lock;

/// Options of `loadEmbeddingModel`.
#[napi(object)]
#[derive(Debug, Default)]
pub struct LoadEmbeddingOptions {
    /// Quantize the encoder matrices to Q8_0 at load (default false).
    pub quantize: Option<bool>,
}

/// Loads an embedding model directory on a libuv worker thread.
#[derive(Debug)]
pub struct LoadEmbeddingTask {
    dir: PathBuf,
    quantize: bool,
}

impl Task for LoadEmbeddingTask {
    type Output = Outcome<EmbeddingModel>;
    type JsValue = NativeEmbeddingModel;

    fn compute(&mut self) -> Result<Self::Output> {
        let options = EmbedLoadOptions {
            quantize: self.quantize,
        };
        Ok(guard(|| {
            EmbeddingModel::load_path_with(&self.dir, options).map_err(Failure::from)
        }))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<Self::JsValue> {
        match output {
            Ok(model) => Ok(NativeEmbeddingModel {
                model: Mutex::new(Some(Arc::new(model))),
            }),
            Err(f) => Err(f.into_napi(&env)),
        }
    }
}

/// Loads a Hugging Face embedding model directory (`config.json`, `tokenizer.json`,
/// `model.safetensors`, sentence-transformers files) or a `bert` GGUF file off the main thread.
///
/// Rejects with `IO_ERROR` (unreadable path), `GGUF_*`, `MISSING_MODEL_FILE`, `SAFETENSORS_*`,
/// `INVALID_MODEL_CONFIG`, `UNSUPPORTED_ARCHITECTURE`.
#[napi(ts_return_type = "Promise<NativeEmbeddingModel>")]
pub fn load_embedding_model(
    dir: String,
    options: Option<LoadEmbeddingOptions>,
) -> AsyncTask<LoadEmbeddingTask> {
    AsyncTask::new(LoadEmbeddingTask {
        dir: PathBuf::from(dir),
        quantize: options.and_then(|o| o.quantize).unwrap_or(false),
    })
}

/// What `embed` resolves with: `vectors` is one flat array of `count × dims` values.
#[napi(object)]
pub struct NativeEmbeddings {
    /// All vectors back to back, in input order.
    pub vectors: Float32Array,
    /// Vector length.
    pub dims: u32,
    /// Per input: whether it was cut at the model's length limit.
    pub truncated: Vec<bool>,
}

impl std::fmt::Debug for NativeEmbeddings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeEmbeddings")
            .field("values", &self.vectors.len())
            .field("dims", &self.dims)
            .field("truncated", &self.truncated)
            .finish()
    }
}

/// Embeds texts on a libuv worker thread.
#[derive(Debug)]
pub struct EmbedTask {
    model: Arc<EmbeddingModel>,
    texts: Vec<String>,
    options: EmbedOptions,
}

impl Task for EmbedTask {
    type Output = Outcome<hearth_core::Embeddings>;
    type JsValue = NativeEmbeddings;

    fn compute(&mut self) -> Result<Self::Output> {
        let refs: Vec<&str> = self.texts.iter().map(String::as_str).collect();
        Ok(guard(|| {
            self.model.embed(&refs, self.options).map_err(Failure::from)
        }))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<Self::JsValue> {
        match output {
            Ok(e) => Ok(NativeEmbeddings {
                dims: e.dims as u32,
                truncated: e.truncated,
                vectors: Float32Array::new(e.vectors.concat()),
            }),
            Err(f) => Err(f.into_napi(&env)),
        }
    }
}

/// Options of `NativeEmbeddingModel.embed`.
#[napi(object)]
#[derive(Debug, Default)]
pub struct NativeEmbedOptions {
    /// L2-normalise; absent: as the model declares.
    pub normalize: Option<bool>,
    /// Texts per encoder batch (default 32).
    pub batch_size: Option<u32>,
}

/// `{ ids, truncated }`: one text as the encoder sees it.
#[napi(object)]
#[derive(Debug)]
pub struct NativeEncoded {
    /// Token ids with special tokens.
    pub ids: Vec<u32>,
    /// Whether it was cut at the model's length limit.
    pub truncated: bool,
}

/// A loaded BERT-family embedding model.
#[napi]
#[derive(Debug)]
pub struct NativeEmbeddingModel {
    model: Mutex<Option<Arc<EmbeddingModel>>>,
}

impl NativeEmbeddingModel {
    fn get(&self) -> Outcome<Arc<EmbeddingModel>> {
        lock(&self.model)
            .clone()
            .ok_or_else(|| Failure::new(code::DISPOSED, "the model was disposed"))
    }
}

#[napi]
impl NativeEmbeddingModel {
    /// `{ architecture, dims, layers, heads, vocabSize, maxTokens, pooling, normalize,
    /// matrixType, quantized, matrixBytes }`.
    #[napi(ts_return_type = "any")]
    pub fn info(&self, env: Env) -> Result<serde_json::Value> {
        sync(&env, || {
            serde_json::to_value(EmbedInfoJs::from(&self.get()?.info()))
                .map_err(|e| Failure::new(code::INTERNAL, e.to_string()))
        })
    }

    /// The token ids `embed` runs for `text` (special tokens, truncation).
    #[napi]
    pub fn encode(&self, env: Env, text: String) -> Result<NativeEncoded> {
        sync(&env, || {
            let e = self.get()?.encode(&text)?;
            Ok(NativeEncoded {
                ids: e.ids,
                truncated: e.truncated,
            })
        })
    }

    /// Embeds `texts` off the main thread. Rejects with `EMPTY_INPUT` for no texts.
    #[napi(ts_return_type = "Promise<NativeEmbeddings>")]
    pub fn embed(
        &self,
        env: Env,
        texts: Vec<String>,
        options: Option<NativeEmbedOptions>,
    ) -> Result<AsyncTask<EmbedTask>> {
        let model = sync(&env, || self.get())?;
        let options = options.unwrap_or_default();
        Ok(AsyncTask::new(EmbedTask {
            model,
            texts,
            options: EmbedOptions {
                normalize: options.normalize,
                batch_size: options.batch_size.unwrap_or(0) as usize,
            },
        }))
    }

    /// Releases the model (running `embed` calls finish first).
    #[napi]
    pub fn dispose(&self) {
        lock(&self.model).take();
    }
}

/// A bare tokenizer from a Hugging Face `tokenizer.json` (for engines that bring their own
/// weights, such as the ONNX adapter of `@hearth/runner`).
#[napi]
#[derive(Debug)]
pub struct NativeTokenizer {
    tokenizer: hearth_core::tokenizer::Tokenizer,
}

#[napi]
impl NativeTokenizer {
    /// Parses `tokenizer.json` bytes; throws a tokenizer error code when it is not one.
    #[napi(factory)]
    pub fn from_json(env: Env, json: &[u8]) -> Result<NativeTokenizer> {
        sync(&env, || {
            let tokenizer = hearth_core::tokenizer::Tokenizer::from_hf_json(json)
                .map_err(|e| Failure::from(hearth_core::Error::from(e)))?;
            Ok(NativeTokenizer { tokenizer })
        })
    }

    /// Token ids of `text`; `addSpecial` adds the post-processor's tokens (`[CLS]`/`[SEP]`).
    #[napi]
    pub fn encode(&self, env: Env, text: String, add_special: bool) -> Result<Vec<u32>> {
        sync(&env, || {
            self.tokenizer
                .encode(&text, add_special, false)
                .map_err(|e| Failure::from(hearth_core::Error::from(e)))
        })
    }

    /// Whether `id` is a special (control) token.
    #[napi]
    pub fn is_special(&self, id: u32) -> bool {
        self.tokenizer.is_special(id)
    }
}
