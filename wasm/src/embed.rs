//! Sentence embeddings ([`WasmEmbeddingModel`]): a BERT-family model built from the files
//! of a Hugging Face model directory passed as bytes.

use hearth_core::{EmbedInfoJs, EmbedLoadOptions, EmbedOptions, EmbeddingModel, ModelBytes};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::{core_error, js_error, to_js};

/// A loaded BERT-family embedding model (all-MiniLM-L6-v2 and the like).
#[wasm_bindgen]
#[derive(Debug)]
pub struct WasmEmbeddingModel {
    model: EmbeddingModel,
}

/// `{ ids, truncated }` of one text as the encoder sees it.
#[derive(Serialize)]
struct JsEncoded<'a> {
    ids: &'a [u32],
    truncated: bool,
}

#[wasm_bindgen]
impl WasmEmbeddingModel {
    /// Builds the model from `config.json`, `tokenizer.json` and `model.safetensors` bytes,
    /// and optionally the Pooling module's `config.json`, `sentence_bert_config.json` and
    /// `modules.json` (`undefined` when absent). `quantize`: Q8_0 matrices.
    ///
    /// Throws with the engine's codes: `SAFETENSORS_*` (a damaged or lying weights file),
    /// `INVALID_MODEL_CONFIG`, `UNSUPPORTED_ARCHITECTURE`, tokenizer errors.
    #[wasm_bindgen(constructor)]
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: &[u8],
        tokenizer: &[u8],
        weights: Vec<u8>,
        pooling: Option<Vec<u8>>,
        #[wasm_bindgen(js_name = sentenceConfig)] sentence_config: Option<Vec<u8>>,
        modules: Option<Vec<u8>>,
        quantize: Option<bool>,
    ) -> Result<WasmEmbeddingModel, JsValue> {
        let model = EmbeddingModel::from_parts(
            config,
            tokenizer,
            ModelBytes::from_vec(weights),
            pooling.as_deref(),
            sentence_config.as_deref(),
            modules.as_deref(),
            EmbedLoadOptions {
                quantize: quantize.unwrap_or(false),
            },
        )
        .map_err(core_error)?;
        Ok(WasmEmbeddingModel { model })
    }

    /// Builds the model from the bytes of a `bert` GGUF file (llama.cpp's layout).
    /// `quantize`: Q8_0 matrices. Throws `GGUF_*`, `UNSUPPORTED_ARCHITECTURE` (any other
    /// architecture), `INVALID_MODEL_CONFIG`, `MISSING_TENSOR`.
    #[wasm_bindgen(js_name = fromGguf)]
    pub fn from_gguf(
        bytes: Vec<u8>,
        quantize: Option<bool>,
    ) -> Result<WasmEmbeddingModel, JsValue> {
        let model = EmbeddingModel::from_gguf(
            ModelBytes::from_vec(bytes),
            EmbedLoadOptions {
                quantize: quantize.unwrap_or(false),
            },
        )
        .map_err(core_error)?;
        Ok(WasmEmbeddingModel { model })
    }

    /// `{ architecture, dims, layers, heads, vocabSize, maxTokens, pooling, normalize,
    /// matrixType, quantized, matrixBytes }`.
    pub fn info(&self) -> Result<JsValue, JsValue> {
        to_js(&EmbedInfoJs::from(&self.model.info()))
    }

    /// `{ ids, truncated }`: the token ids `embed` runs for `text` (special tokens added,
    /// cut at the model's length limit).
    pub fn encode(&self, text: &str) -> Result<JsValue, JsValue> {
        let e = self.model.encode(text).map_err(core_error)?;
        to_js(&JsEncoded {
            ids: &e.ids,
            truncated: e.truncated,
        })
    }

    /// Embeds `texts` into one flat `Float32Array` of `texts.length × dims` values, in input
    /// order; `truncated` (one flag per text) is written into the given array.
    /// `normalize`: `undefined` follows the model. `batchSize`: 0 means 32.
    ///
    /// Throws `EMPTY_INPUT` for no texts.
    pub fn embed(
        &self,
        texts: Vec<String>,
        normalize: Option<bool>,
        #[wasm_bindgen(js_name = batchSize)] batch_size: u32,
        truncated: &js_sys::Array,
    ) -> Result<Vec<f32>, JsValue> {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let out = self
            .model
            .embed(
                &refs,
                EmbedOptions {
                    normalize,
                    batch_size: batch_size as usize,
                },
            )
            .map_err(core_error)?;
        if out.vectors.iter().any(|v| v.len() != out.dims) {
            return Err(js_error("HEARTH_INTERNAL", "a vector has the wrong length"));
        }
        for &t in &out.truncated {
            truncated.push(&JsValue::from_bool(t));
        }
        Ok(out.vectors.concat())
    }
}

/// A bare tokenizer from a Hugging Face `tokenizer.json` (for engines that bring their own
/// weights, such as the ONNX adapter of `@hearth/runner`).
#[wasm_bindgen]
#[derive(Debug)]
pub struct WasmTokenizer {
    tokenizer: hearth_core::tokenizer::Tokenizer,
}

#[wasm_bindgen]
impl WasmTokenizer {
    /// Parses `tokenizer.json`; throws a tokenizer error code when it is not one.
    #[wasm_bindgen(constructor)]
    pub fn new(json: &[u8]) -> Result<WasmTokenizer, JsValue> {
        let tokenizer = hearth_core::tokenizer::Tokenizer::from_hf_json(json)
            .map_err(|e| core_error(e.into()))?;
        Ok(WasmTokenizer { tokenizer })
    }

    /// Token ids of `text`; `addSpecial` adds the post-processor's tokens (`[CLS]`/`[SEP]`).
    pub fn encode(
        &self,
        text: &str,
        #[wasm_bindgen(js_name = addSpecial)] add_special: bool,
    ) -> Result<Vec<u32>, JsValue> {
        self.tokenizer
            .encode(text, add_special, false)
            .map_err(|e| core_error(e.into()))
    }

    /// Whether `id` is a special (control) token.
    #[wasm_bindgen(js_name = isSpecial)]
    pub fn is_special(&self, id: u32) -> bool {
        self.tokenizer.is_special(id)
    }
}
