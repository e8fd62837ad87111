//! Tokenizers that reproduce llama.cpp token for token.
//!
//! A [`Tokenizer`] is built from a GGUF file's `tokenizer.ggml.*` metadata
//! ([`Tokenizer::from_gguf`]) or from a Hugging Face `tokenizer.json`
//! ([`Tokenizer::from_hf_json`], for SafeTensors models).
//!
//! | `tokenizer.ggml.model` | algorithm | implementation |
//! |---|---|---|
//! | `gpt2`  | byte-level BPE with ranked merges, pre-tokenizer regexes by `tokenizer.ggml.pre` | `tokenizers` crate (`Split` + `ByteLevel` + `BPE`) |
//! | `llama` | SentencePiece BPE: score-ordered merges, `<0xXX>` byte fallback, space → `▁` | [`spm`] (ours, see there why) |
//!
//! Everything around the algorithm follows `llama-vocab.cpp`: token attributes from
//! `tokenizer.ggml.token_type` plus llama.cpp's by-name fix-ups, the end-of-generation set,
//! `add_bos`/`add_eos` defaults, splitting on special-token text before tokenizing
//! (`tokenizer_st_partition`), and `token_to_piece` for decoding.

mod error;
mod pretok;
mod spm;

use std::collections::HashMap;
use std::fmt;

pub use error::TokenizerError;

use crate::gguf::{Gguf, MetaArray};

/// Per-token attributes, llama.cpp's `llama_token_attr` bit flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TokenAttr(u16);

impl TokenAttr {
    /// No type recorded.
    pub const UNDEFINED: TokenAttr = TokenAttr(0);
    /// The unknown token (`<unk>`).
    pub const UNKNOWN: TokenAttr = TokenAttr(1 << 0);
    /// Reserved, never produced by the tokenizer.
    pub const UNUSED: TokenAttr = TokenAttr(1 << 1);
    /// An ordinary vocabulary piece.
    pub const NORMAL: TokenAttr = TokenAttr(1 << 2);
    /// A control token (BOS, EOS, `<|im_start|>`…): matched in text only with `parse_special`.
    pub const CONTROL: TokenAttr = TokenAttr(1 << 3);
    /// A user-defined token: always matched in text, decoded verbatim.
    pub const USER_DEFINED: TokenAttr = TokenAttr(1 << 4);
    /// A byte-fallback token `<0xXX>`.
    pub const BYTE: TokenAttr = TokenAttr(1 << 5);
    /// Strip ASCII whitespace to the left of this token when it is matched in text.
    pub const LSTRIP: TokenAttr = TokenAttr(1 << 7);
    /// Strip ASCII whitespace to the right of this token when it is matched in text.
    pub const RSTRIP: TokenAttr = TokenAttr(1 << 8);

    /// Whether any flag of `other` is set.
    pub fn intersects(self, other: TokenAttr) -> bool {
        self.0 & other.0 != 0
    }

    /// The raw bits.
    pub fn bits(self) -> u16 {
        self.0
    }

    /// Maps a GGUF `tokenizer.ggml.token_type` value (llama.cpp's `llama_token_type`).
    fn from_gguf_type(t: i64) -> TokenAttr {
        match t {
            1 => TokenAttr::NORMAL,
            2 => TokenAttr::UNKNOWN,
            3 => TokenAttr::CONTROL,
            4 => TokenAttr::USER_DEFINED,
            5 => TokenAttr::UNUSED,
            6 => TokenAttr::BYTE,
            _ => TokenAttr::UNDEFINED,
        }
    }
}

impl std::ops::BitOr for TokenAttr {
    type Output = TokenAttr;
    fn bitor(self, rhs: TokenAttr) -> TokenAttr {
        TokenAttr(self.0 | rhs.0)
    }
}

/// Which algorithm a [`Tokenizer`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenizerKind {
    /// GGUF `gpt2`: byte-level BPE.
    Bpe,
    /// GGUF `llama`: SentencePiece BPE with byte fallback.
    Spm,
    /// A Hugging Face `tokenizer.json`, run by the `tokenizers` crate as is.
    HfJson,
}

enum Engine {
    Bpe(Box<tokenizers::Tokenizer>),
    Spm { scores: Vec<f32> },
    Hf(Box<tokenizers::Tokenizer>),
}

/// A text ⇄ token-id converter with llama.cpp's semantics. Cheap to share (`&Tokenizer` is `Sync`).
pub struct Tokenizer {
    engine: Engine,
    /// Token texts as stored in the vocabulary (`Ġ`-mapped for byte-level BPE, `▁` for SPM).
    tokens: Vec<String>,
    attrs: Vec<TokenAttr>,
    token_to_id: HashMap<String, u32>,
    /// Decoded pieces (llama.cpp `token_to_piece(id, special = true)`), concatenated.
    piece_bytes: Vec<u8>,
    /// `piece_bytes[piece_offsets[i]..piece_offsets[i + 1]]` is token `i`'s piece.
    piece_offsets: Vec<usize>,
    /// Control, user-defined and unknown tokens, longest text first: the order in which
    /// text is split on them before tokenizing.
    partition_tokens: Vec<u32>,
    /// End-of-generation ids, sorted.
    eog: Vec<u32>,
    bos: Option<u32>,
    eos: Option<u32>,
    eot: Option<u32>,
    unk: Option<u32>,
    pad: Option<u32>,
    add_bos: bool,
    add_eos: bool,
    add_space_prefix: bool,
    pre: Option<String>,
}

impl fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokenizer")
            .field("kind", &self.kind())
            .field("pre", &self.pre)
            .field("vocab_size", &self.tokens.len())
            .field("bos", &self.bos)
            .field("eos", &self.eos)
            .field("eot", &self.eot)
            .field("add_bos", &self.add_bos)
            .field("add_eos", &self.add_eos)
            .field("add_space_prefix", &self.add_space_prefix)
            .finish_non_exhaustive()
    }
}

/// Part of the input after special-token partitioning.
enum Fragment {
    Text(usize, usize),
    Token(u32),
}

/// llama.cpp's automatic EOT detection by token text, in priority order.
const EOT_NAMES: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "<｜end▁of▁sentence｜>",
    "<end_of_utterance>",
];
const FIM_PRE_NAMES: &[&str] = &[
    "<|fim_prefix|>",
    "<fim-prefix>",
    "<fim_prefix>",
    "<｜fim▁begin｜>",
    "<PRE>",
    "▁<PRE>",
    "<|code_prefix|>",
    "<|prefix|>",
];
const FIM_SUF_NAMES: &[&str] = &[
    "<|fim_suffix|>",
    "<fim-suffix>",
    "<fim_suffix>",
    "<｜fim▁hole｜>",
    "<SUF>",
    "▁<SUF>",
    "<|code_suffix|>",
    "<|suffix|>",
];
const FIM_MID_NAMES: &[&str] = &[
    "<|fim_middle|>",
    "<fim-middle>",
    "<fim_middle>",
    "<｜fim▁end｜>",
    "<MID>",
    "▁<MID>",
    "<|code_middle|>",
    "<|middle|>",
];
const FIM_PAD_NAMES: &[&str] = &["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"];
const FIM_REP_NAMES: &[&str] = &[
    "<|fim_repo|>",
    "<|repo_name|>",
    "<fim-repo>",
    "<REPO>",
    "<reponame>",
];
const FIM_SEP_NAMES: &[&str] = &["<|file_sep|>"];
/// Tokens that end generation by their text (llama.cpp issue #9606: there is no metadata for it).
const EOG_NAMES: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "<｜end▁of▁sentence｜>",
    "[e~[",
];

impl Tokenizer {
    /// Builds the tokenizer described by a GGUF file's `tokenizer.ggml.*` metadata.
    pub fn from_gguf(gguf: &Gguf) -> Result<Tokenizer, TokenizerError> {
        let model = gguf
            .get_str("tokenizer.ggml.model")
            .ok_or(TokenizerError::MissingMetadata("tokenizer.ggml.model"))?;
        let pre = gguf.get_str("tokenizer.ggml.pre").filter(|p| !p.is_empty());
        let tokens_meta = gguf
            .get_array("tokenizer.ggml.tokens")
            .and_then(MetaArray::as_strings)
            .ok_or(TokenizerError::MissingMetadata("tokenizer.ggml.tokens"))?;
        let n = tokens_meta.len();
        if n == 0 || n > u32::MAX as usize {
            return Err(TokenizerError::Inconsistent(format!(
                "vocabulary of {n} tokens"
            )));
        }
        // llama.cpp renames empty tokens so that every text is unique and non-empty
        // (an empty special token would match everywhere).
        let tokens: Vec<String> = tokens_meta
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if t.is_empty() {
                    format!("[EMPTY_{i}]")
                } else {
                    t.clone()
                }
            })
            .collect();

        let mut attrs = match gguf.get_array("tokenizer.ggml.token_type") {
            None => vec![TokenAttr::NORMAL; n],
            Some(a) => {
                let types = a
                    .to_i64s()
                    .ok_or(TokenizerError::MissingMetadata("tokenizer.ggml.token_type"))?;
                if types.len() < n {
                    return Err(TokenizerError::Inconsistent(format!(
                        "{} token types for {n} tokens",
                        types.len()
                    )));
                }
                types[..n]
                    .iter()
                    .map(|&t| TokenAttr::from_gguf_type(t))
                    .collect()
            }
        };

        let mut token_to_id = HashMap::with_capacity(n);
        for (i, t) in tokens.iter().enumerate() {
            if token_to_id.insert(t.clone(), i as u32).is_some() {
                // llama.cpp asserts on this too: ids would be ambiguous.
                return Err(TokenizerError::Inconsistent(format!(
                    "duplicate token {t:?}"
                )));
            }
        }

        // Per-model defaults (llama-vocab.cpp `load`), overridden by metadata below.
        let (
            kind,
            mut bos,
            mut eos,
            mut unk,
            mut add_bos,
            mut add_eos,
            mut add_space_prefix,
            pre_cfg,
        ) = match model {
            "llama" => (
                TokenizerKind::Spm,
                Some(1),
                Some(2),
                Some(0),
                true,
                false,
                true,
                None,
            ),
            "gpt2" => {
                let cfg = pretok::config_for(pre)?;
                let bos = if cfg.no_default_bos { None } else { Some(11) };
                (
                    TokenizerKind::Bpe,
                    bos,
                    Some(11),
                    None,
                    cfg.add_bos.unwrap_or(false),
                    false,
                    false,
                    Some(cfg),
                )
            }
            other => return Err(TokenizerError::UnknownModel(other.to_string())),
        };
        if let Some(v) = gguf.get_bool("tokenizer.ggml.add_space_prefix") {
            add_space_prefix = v;
        }

        let in_range = |id: Option<u32>| id.filter(|&i| (i as usize) < n);
        let meta_id = |key: &str, default: Option<u32>| -> Option<u32> {
            match gguf.get_u64(key) {
                // An out-of-range id keeps the default, as llama.cpp does.
                Some(v) if (v as usize) < n => Some(v as u32),
                _ => in_range(default),
            }
        };
        bos = meta_id("tokenizer.ggml.bos_token_id", bos);
        eos = meta_id("tokenizer.ggml.eos_token_id", eos);
        unk = meta_id("tokenizer.ggml.unknown_token_id", unk);
        let mut eot = meta_id("tokenizer.ggml.eot_token_id", None);
        let mut eom = meta_id("tokenizer.ggml.eom_token_id", None);
        let pad = meta_id("tokenizer.ggml.padding_token_id", None);
        let fim_pre = meta_id(
            "tokenizer.ggml.fim_pre_token_id",
            meta_id("tokenizer.ggml.prefix_token_id", None),
        );
        let fim_suf = meta_id(
            "tokenizer.ggml.fim_suf_token_id",
            meta_id("tokenizer.ggml.suffix_token_id", None),
        );
        let fim_mid = meta_id(
            "tokenizer.ggml.fim_mid_token_id",
            meta_id("tokenizer.ggml.middle_token_id", None),
        );
        let mut fim_pad = meta_id("tokenizer.ggml.fim_pad_token_id", None);
        let mut fim_rep = meta_id("tokenizer.ggml.fim_rep_token_id", None);
        let mut fim_sep = meta_id("tokenizer.ggml.fim_sep_token_id", None);
        if let Some(v) = gguf.get_bool("tokenizer.ggml.add_bos_token") {
            add_bos = v;
        }
        if let Some(v) = gguf.get_bool("tokenizer.ggml.add_eos_token") {
            add_eos = v;
        }

        // Tokens llama.cpp recognises by their text. A token found this way is forced to
        // CONTROL: converters sometimes mark `<|im_end|>` and friends as normal tokens, and
        // then it would neither be split out of text nor hidden when decoding.
        let mut force_control =
            |id: u32| attrs[id as usize] = attrs[id as usize] | TokenAttr::CONTROL;
        let mut detect = |slot: &mut Option<u32>, names: &[&str]| {
            if slot.is_none() {
                // llama.cpp takes the first hit in hash-map order; we take the first in list order.
                *slot = names
                    .iter()
                    .find_map(|name| token_to_id.get(*name).copied());
                if let Some(id) = *slot {
                    force_control(id);
                }
            }
        };
        detect(&mut eot, EOT_NAMES);
        detect(&mut eom, &["<|eom_id|>"]);
        let (mut fim_pre, mut fim_suf, mut fim_mid) = (fim_pre, fim_suf, fim_mid);
        detect(&mut fim_pre, FIM_PRE_NAMES);
        detect(&mut fim_suf, FIM_SUF_NAMES);
        detect(&mut fim_mid, FIM_MID_NAMES);
        detect(&mut fim_pad, FIM_PAD_NAMES);
        detect(&mut fim_rep, FIM_REP_NAMES);
        detect(&mut fim_sep, FIM_SEP_NAMES);

        // Control tokens named "unused…" are reserved slots.
        for (attr, text) in attrs.iter_mut().zip(&tokens) {
            if attr.intersects(TokenAttr::CONTROL) && text.contains("unused") {
                *attr = *attr | TokenAttr::UNUSED;
            }
        }

        let mut eog: Vec<u32> = [fim_pad, fim_rep, fim_sep].into_iter().flatten().collect();
        for name in EOG_NAMES {
            if let Some(&id) = token_to_id.get(*name) {
                eog.push(id);
                attrs[id as usize] = attrs[id as usize] | TokenAttr::CONTROL;
            }
        }
        // gpt-oss: these structure tokens are always rendered.
        for name in ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"] {
            if let Some(&id) = token_to_id.get(name) {
                attrs[id as usize] = TokenAttr::USER_DEFINED;
            }
        }
        eog.extend([eos, eot, eom].into_iter().flatten());
        eog.sort_unstable();
        eog.dedup();
        let eog_has = |eog: &[u32], name: &str| {
            token_to_id
                .get(name)
                .filter(|id| eog.binary_search(id).is_ok())
                .copied()
        };
        // o200k_harmony / solar-open: `<|end|>` ends a message, not the generation.
        if let Some(end) = eog_has(&eog, "<|end|>") {
            let has = |name| eog_has(&eog, name).is_some();
            if (has("<|return|>") && (has("<|call|>") || has("<|calls|>")))
                || (has("<|flush|>") && has("<|calls|>"))
            {
                eog.retain(|&id| id != end);
                attrs[end as usize] = TokenAttr::USER_DEFINED;
            }
        }
        // gemma4 and plamo have an ordinary `</s>`.
        if let Some(s) = eog_has(&eog, "</s>")
            && (eog_has(&eog, "<|tool_response>").is_some()
                || eog_has(&eog, "<|plamo:eos|>").is_some())
        {
            eog.retain(|&id| id != s);
            attrs[s as usize] = TokenAttr::NORMAL;
        }

        let mut partition_tokens: Vec<u32> = (0..n as u32)
            .filter(|&id| {
                attrs[id as usize]
                    .intersects(TokenAttr::CONTROL | TokenAttr::USER_DEFINED | TokenAttr::UNKNOWN)
            })
            .collect();
        // llama.cpp uses an unstable sort here; ties (same length) only matter for
        // overlapping special tokens of equal length, which real vocabularies do not have.
        partition_tokens.sort_by_key(|&id| std::cmp::Reverse(tokens[id as usize].len()));

        let engine = match kind {
            TokenizerKind::Spm => {
                let scores = match gguf.get_array("tokenizer.ggml.scores") {
                    None => vec![0.0; n],
                    Some(MetaArray::F32(v)) => v.clone(),
                    Some(a) => a
                        .to_i64s()
                        .ok_or(TokenizerError::MissingMetadata("tokenizer.ggml.scores"))?
                        .into_iter()
                        .map(|s| s as f32)
                        .collect(),
                };
                if scores.len() < n {
                    return Err(TokenizerError::Inconsistent(format!(
                        "{} scores for {n} tokens",
                        scores.len()
                    )));
                }
                Engine::Spm { scores }
            }
            _ => {
                let cfg = pre_cfg.expect("gpt2 always has a pre-tokenizer config");
                Engine::Bpe(Box::new(build_bpe(gguf, &tokens, cfg)?))
            }
        };

        let (piece_bytes, piece_offsets) = build_pieces(&tokens, &attrs, kind);

        apply_model_strip_fixups(gguf, &token_to_id, &partition_tokens, &mut attrs);

        Ok(Tokenizer {
            engine,
            tokens,
            attrs,
            token_to_id,
            piece_bytes,
            piece_offsets,
            partition_tokens,
            eog,
            bos,
            eos,
            eot,
            unk,
            pad,
            add_bos,
            add_eos,
            add_space_prefix,
            pre: pre.map(str::to_string),
        })
    }

    /// Loads a Hugging Face `tokenizer.json` (for SafeTensors models, e.g. BERT WordPiece).
    ///
    /// Encoding and decoding are delegated to the `tokenizers` crate with HF semantics:
    /// `add_special` runs the file's post-processor (e.g. `[CLS] … [SEP]`; the file's padding
    /// and truncation are switched off), added tokens
    /// are always split out of the text whatever `parse_special` says, and
    /// [`token_piece`](Self::token_piece) returns the raw vocabulary text. Added tokens
    /// marked `special` get [`TokenAttr::CONTROL`], other added tokens
    /// [`TokenAttr::USER_DEFINED`]. BOS/EOS are found by name (`[CLS]`/`<s>`, `[SEP]`/`</s>`…).
    pub fn from_hf_json(bytes: &[u8]) -> Result<Tokenizer, TokenizerError> {
        let mut hf = tokenizers::Tokenizer::from_bytes(bytes)?;
        // Padding and truncation are batching policies of the file's creator; `encode` returns
        // exactly the tokens of the text and leaves context limits to the caller.
        hf.with_padding(None);
        hf.with_truncation(None)?;
        let vocab = hf.get_vocab(true);
        let n = vocab.values().map(|&id| id as usize + 1).max().unwrap_or(0);
        let mut tokens = vec![String::new(); n];
        for (text, id) in vocab {
            tokens[id as usize] = text;
        }
        let mut attrs = vec![TokenAttr::NORMAL; n];
        for (id, added) in hf.get_added_tokens_decoder() {
            if let Some(a) = attrs.get_mut(id as usize) {
                *a = if added.special {
                    TokenAttr::CONTROL
                } else {
                    TokenAttr::USER_DEFINED
                };
            }
        }
        let token_to_id: HashMap<String, u32> = tokens
            .iter()
            .enumerate()
            .filter(|(_, t)| !t.is_empty())
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        let find = |names: &[&str]| {
            names
                .iter()
                .find_map(|name| token_to_id.get(*name).copied())
        };
        let bos = find(&["[CLS]", "<s>", "<|begin_of_text|>", "<bos>"]);
        let eos = find(&["[SEP]", "</s>", "<|endoftext|>", "<|end_of_text|>", "<eos>"]);
        let unk = find(&["[UNK]", "<unk>"]);
        let pad = find(&["[PAD]", "<pad>"]);
        let mut eog: Vec<u32> = eos.into_iter().collect();
        eog.extend(
            EOG_NAMES
                .iter()
                .filter_map(|name| token_to_id.get(*name).copied()),
        );
        eog.sort_unstable();
        eog.dedup();
        let mut piece_offsets = Vec::with_capacity(n + 1);
        let mut piece_bytes = Vec::new();
        piece_offsets.push(0);
        for t in &tokens {
            piece_bytes.extend_from_slice(t.as_bytes());
            piece_offsets.push(piece_bytes.len());
        }
        Ok(Tokenizer {
            engine: Engine::Hf(Box::new(hf)),
            tokens,
            attrs,
            token_to_id,
            piece_bytes,
            piece_offsets,
            partition_tokens: Vec::new(),
            eog,
            bos,
            eos,
            eot: None,
            unk,
            pad,
            add_bos: false,
            add_eos: false,
            add_space_prefix: false,
            pre: None,
        })
    }

    /// The algorithm this tokenizer runs.
    pub fn kind(&self) -> TokenizerKind {
        match self.engine {
            Engine::Bpe(_) => TokenizerKind::Bpe,
            Engine::Spm { .. } => TokenizerKind::Spm,
            Engine::Hf(_) => TokenizerKind::HfJson,
        }
    }

    /// `tokenizer.ggml.pre`, when the GGUF has one.
    pub fn pre_tokenizer(&self) -> Option<&str> {
        self.pre.as_deref()
    }

    /// Number of tokens in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.tokens.len()
    }

    /// Beginning-of-sequence token.
    pub fn bos(&self) -> Option<u32> {
        self.bos
    }

    /// End-of-sequence token.
    pub fn eos(&self) -> Option<u32> {
        self.eos
    }

    /// End-of-turn token (`<|im_end|>`, `<end_of_turn>`…), from metadata or by name.
    pub fn eot(&self) -> Option<u32> {
        self.eot
    }

    /// Unknown token.
    pub fn unk(&self) -> Option<u32> {
        self.unk
    }

    /// Padding token.
    pub fn pad(&self) -> Option<u32> {
        self.pad
    }

    /// Whether `encode(.., add_special = true, ..)` prepends BOS.
    pub fn add_bos(&self) -> bool {
        self.add_bos
    }

    /// Whether `encode(.., add_special = true, ..)` appends EOS.
    pub fn add_eos(&self) -> bool {
        self.add_eos
    }

    /// Whether SPM prefixes a space to text at the start and after each special token.
    pub fn add_space_prefix(&self) -> bool {
        self.add_space_prefix
    }

    /// Whether generating `id` ends the generation (EOS, EOT, `<|im_end|>`…; llama.cpp's EOG set).
    pub fn is_eog(&self, id: u32) -> bool {
        self.eog.binary_search(&id).is_ok()
    }

    /// All end-of-generation ids, sorted.
    pub fn eog_tokens(&self) -> &[u32] {
        &self.eog
    }

    /// Whether `id` is a control or unknown token: the tokens
    /// [`decode`](Self::decode) drops with `skip_special` (llama.cpp's `special = false`).
    /// Out-of-range ids are not special.
    pub fn is_special(&self, id: u32) -> bool {
        self.token_attr(id)
            .is_some_and(|a| a.intersects(TokenAttr::CONTROL | TokenAttr::UNKNOWN))
    }

    /// The attributes of a token.
    pub fn token_attr(&self, id: u32) -> Option<TokenAttr> {
        self.attrs.get(id as usize).copied()
    }

    /// The vocabulary text of a token (`Ġhello`, `▁hello`, `<0x0A>`…), not decoded.
    pub fn token_text(&self, id: u32) -> Option<&str> {
        self.tokens.get(id as usize).map(String::as_str)
    }

    /// The id of the token whose vocabulary text is exactly `text`.
    pub fn token_to_id(&self, text: &str) -> Option<u32> {
        self.token_to_id.get(text).copied()
    }

    /// The bytes a token stands for, as llama.cpp's `token_to_piece(id, special = true)`:
    /// byte-level BPE text mapped back to bytes, `▁` → space for SPM, `<0xXX>` → that byte,
    /// control/user-defined tokens verbatim. A piece may be part of a UTF-8 character.
    pub fn token_piece(&self, id: u32) -> Result<&[u8], TokenizerError> {
        let i = id as usize;
        if i >= self.tokens.len() {
            return Err(self.invalid(id));
        }
        Ok(&self.piece_bytes[self.piece_offsets[i]..self.piece_offsets[i + 1]])
    }

    fn invalid(&self, id: u32) -> TokenizerError {
        TokenizerError::InvalidToken {
            id,
            vocab_size: self.tokens.len(),
        }
    }

    /// Appends the bytes of `id` to `out`, leaving out control/unknown tokens if `skip_special`.
    fn push_piece(
        &self,
        id: u32,
        skip_special: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), TokenizerError> {
        let piece = self.token_piece(id)?;
        if !(skip_special && self.is_special(id)) {
            out.extend_from_slice(piece);
        }
        Ok(())
    }

    /// Decodes ids to text: the concatenated pieces, invalid UTF-8 replaced by U+FFFD.
    ///
    /// `skip_special` leaves out control and unknown tokens. Like llama.cpp's
    /// `token_to_piece` loop (not its `detokenize`), no leading space is stripped and no
    /// "clean up tokenization spaces" pass runs, so `decode(encode(s))` gives `s` back
    /// (with SPM's prefix space, if the model adds one). `HfJson` tokenizers decode with
    /// the `tokenizers` crate's decoder instead.
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> Result<String, TokenizerError> {
        if let Engine::Hf(hf) = &self.engine {
            if let Some(&bad) = ids.iter().find(|&&id| id as usize >= self.tokens.len()) {
                return Err(self.invalid(bad));
            }
            return Ok(hf.decode(ids, skip_special)?);
        }
        let mut out = Vec::new();
        for &id in ids {
            self.push_piece(id, skip_special, &mut out)?;
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// Tokenizes `text` as llama.cpp's `llama_tokenize` does.
    ///
    /// - `add_special`: prepend BOS if [`add_bos`](Self::add_bos), append EOS if [`add_eos`](Self::add_eos).
    /// - `parse_special`: control tokens written in the text (`<|im_start|>`) become those
    ///   tokens. User-defined tokens are always matched; without `parse_special` control
    ///   text is tokenized as ordinary text.
    pub fn encode(
        &self,
        text: &str,
        add_special: bool,
        parse_special: bool,
    ) -> Result<Vec<u32>, TokenizerError> {
        if let Engine::Hf(hf) = &self.engine {
            return Ok(hf.encode_fast(text, add_special)?.get_ids().to_vec());
        }
        let fragments = self.partition(text, parse_special);
        let mut out = Vec::with_capacity(text.len() / 3 + 2);
        if add_special && self.add_bos {
            out.push(self.bos.ok_or(TokenizerError::MissingSpecialToken("BOS"))?);
        }
        match &self.engine {
            Engine::Spm { scores } => {
                let vocab = SpmView { tok: self, scores };
                // SentencePiece's dummy prefix: text at the start and after a special token
                // gets a leading space, so "Hello" and " Hello" tokenize alike mid-sentence.
                let mut prev_special = true;
                let mut buf = String::new();
                for frag in &fragments {
                    match *frag {
                        Fragment::Text(a, b) => {
                            buf.clear();
                            if self.add_space_prefix && prev_special {
                                buf.push('▁');
                            }
                            for c in text[a..b].chars() {
                                buf.push(if c == ' ' { '▁' } else { c });
                            }
                            spm::tokenize(&vocab, &buf, &mut out);
                            prev_special = false;
                        }
                        Fragment::Token(id) => {
                            out.push(id);
                            prev_special = true;
                        }
                    }
                }
            }
            Engine::Bpe(hf) => {
                for frag in &fragments {
                    match *frag {
                        Fragment::Text(a, b) => {
                            out.extend_from_slice(hf.encode_fast(&text[a..b], false)?.get_ids())
                        }
                        Fragment::Token(id) => out.push(id),
                    }
                }
            }
            Engine::Hf(_) => unreachable!("handled above"),
        }
        if add_special && self.add_eos {
            out.push(self.eos.ok_or(TokenizerError::MissingSpecialToken("EOS"))?);
        }
        Ok(out)
    }

    /// llama.cpp's `tokenizer_st_partition`: for each special token, longest first, split
    /// every remaining text fragment on its occurrences.
    fn partition(&self, text: &str, parse_special: bool) -> Vec<Fragment> {
        let mut frags = Vec::new();
        if text.is_empty() {
            return frags;
        }
        frags.push(Fragment::Text(0, text.len()));
        for &id in &self.partition_tokens {
            let attr = self.attrs[id as usize];
            if !parse_special && attr.intersects(TokenAttr::CONTROL | TokenAttr::UNKNOWN) {
                continue;
            }
            let needle = self.tokens[id as usize].as_str();
            // Cheap pre-check: most special tokens never occur in a given text.
            if !text.contains(needle) {
                continue;
            }
            let mut next = Vec::with_capacity(frags.len() + 2);
            for frag in frags {
                let Fragment::Text(mut start, end) = frag else {
                    next.push(frag);
                    continue;
                };
                while let Some(pos) = text[start..end].find(needle) {
                    let m = start + pos;
                    let mut left_end = m;
                    if attr.intersects(TokenAttr::LSTRIP) {
                        while left_end > start && c_isspace(text.as_bytes()[left_end - 1]) {
                            left_end -= 1;
                        }
                    }
                    if left_end > start {
                        next.push(Fragment::Text(start, left_end));
                    }
                    next.push(Fragment::Token(id));
                    start = m + needle.len();
                    if attr.intersects(TokenAttr::RSTRIP) {
                        while start < end && c_isspace(text.as_bytes()[start]) {
                            start += 1;
                        }
                    }
                }
                if start < end {
                    next.push(Fragment::Text(start, end));
                }
            }
            frags = next;
        }
        frags
    }
}

/// C's `isspace` in the "C" locale, which llama.cpp uses for LSTRIP/RSTRIP (includes `\v`,
/// unlike `u8::is_ascii_whitespace`).
fn c_isspace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

struct SpmView<'a> {
    tok: &'a Tokenizer,
    scores: &'a [f32],
}

impl spm::SpmVocab for SpmView<'_> {
    fn lookup(&self, text: &str) -> Option<u32> {
        self.tok.token_to_id.get(text).copied()
    }
    fn score(&self, id: u32) -> f32 {
        self.scores[id as usize]
    }
    fn byte_token(&self, byte: u8) -> Option<u32> {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let name = [
            b'<',
            b'0',
            b'x',
            HEX[(byte >> 4) as usize],
            HEX[(byte & 15) as usize],
            b'>',
        ];
        let name = std::str::from_utf8(&name).expect("ASCII");
        self.lookup(name)
            .or_else(|| {
                std::str::from_utf8(&[byte])
                    .ok()
                    .and_then(|s| self.lookup(s))
            })
            // llama.cpp aborts here; a vocabulary without byte tokens gets `<unk>` from us.
            .or(self.tok.unk)
    }
}

/// Builds the `tokenizers` BPE pipeline for a `gpt2` GGUF vocabulary.
fn build_bpe(
    gguf: &Gguf,
    tokens: &[String],
    cfg: pretok::PreTokenizerConfig,
) -> Result<tokenizers::Tokenizer, TokenizerError> {
    use tokenizers::SplitDelimiterBehavior;
    use tokenizers::models::bpe::{BPE, Vocab};
    use tokenizers::pre_tokenizers::PreTokenizerWrapper;
    use tokenizers::pre_tokenizers::byte_level::ByteLevel;
    use tokenizers::pre_tokenizers::sequence::Sequence;
    use tokenizers::pre_tokenizers::split::{Split, SplitPattern};

    let merges_meta = gguf
        .get_array("tokenizer.ggml.merges")
        .and_then(MetaArray::as_strings)
        .ok_or(TokenizerError::MissingMetadata("tokenizer.ggml.merges"))?;
    let mut vocab = Vocab::default();
    vocab.reserve(tokens.len());
    for (i, t) in tokens.iter().enumerate() {
        vocab.insert(t.clone(), i as u32);
    }
    let mut seen = std::collections::HashSet::with_capacity(merges_meta.len());
    let mut merges = Vec::with_capacity(merges_meta.len());
    for m in merges_meta {
        // Split where llama.cpp does: the first space after the first byte.
        // (Bytes, not chars: `Ġ` is two bytes and a merge may start with it.)
        let Some(pos) = m.bytes().skip(1).position(|b| b == b' ').map(|p| p + 1) else {
            continue;
        };
        let (a, b) = (&m[..pos], &m[pos + 1..]);
        // A merge whose parts or result are not tokens can never yield a token (the
        // `tokenizers` crate refuses them); a repeated pair keeps its first, best rank as in
        // llama.cpp's `bpe_ranks.emplace`.
        let merged = format!("{a}{b}");
        if !vocab.contains_key(a) || !vocab.contains_key(b) || !vocab.contains_key(&merged) {
            continue;
        }
        if seen.insert((a, b)) {
            merges.push((a.to_string(), b.to_string()));
        }
    }
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .ignore_merges(cfg.ignore_merges)
        .build()?;

    let mut steps: Vec<PreTokenizerWrapper> = Vec::with_capacity(cfg.regexes.len() + 1);
    for re in cfg.regexes {
        let split = Split::new(
            SplitPattern::Regex((*re).to_string()),
            SplitDelimiterBehavior::Isolated,
            false,
        )?;
        steps.push(split.into());
    }
    // Bytes → GPT-2's printable byte alphabet; no extra regex, no prefix space.
    steps.push(ByteLevel::new(false, false, false).into());
    let mut tokenizer = tokenizers::Tokenizer::new(bpe);
    tokenizer.with_pre_tokenizer(Some(PreTokenizerWrapper::from(Sequence::new(steps))));
    Ok(tokenizer)
}

/// GPT-2's byte-level alphabet, reversed: the byte a printable stand-in character encodes.
fn byte_level_decode_char(c: char) -> Option<u8> {
    let c = c as u32;
    match c {
        0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF => Some(c as u8),
        // The 68 bytes without a printable self-image are numbered from U+0100 in byte order:
        // 0x00..=0x20, 0x7F..=0xA0, 0xAD.
        0x100..=0x120 => Some((c - 0x100) as u8),
        0x121..=0x142 => Some((c - 0x121 + 0x7F) as u8),
        0x143 => Some(0xAD),
        _ => None,
    }
}

/// Every token's piece (llama.cpp `token_to_piece(id, special = true)`), concatenated.
fn build_pieces(
    tokens: &[String],
    attrs: &[TokenAttr],
    kind: TokenizerKind,
) -> (Vec<u8>, Vec<usize>) {
    let mut bytes = Vec::with_capacity(tokens.iter().map(String::len).sum());
    let mut offsets = Vec::with_capacity(tokens.len() + 1);
    offsets.push(0);
    for (text, &attr) in tokens.iter().zip(attrs) {
        if attr.intersects(TokenAttr::UNKNOWN | TokenAttr::CONTROL | TokenAttr::USER_DEFINED) {
            bytes.extend_from_slice(text.as_bytes());
        } else if attr.intersects(TokenAttr::NORMAL) {
            match kind {
                TokenizerKind::Spm => {
                    for c in text.chars() {
                        let mut buf = [0u8; 4];
                        bytes.extend_from_slice(if c == '▁' {
                            b" "
                        } else {
                            c.encode_utf8(&mut buf).as_bytes()
                        });
                    }
                }
                _ => {
                    for c in text.chars() {
                        match byte_level_decode_char(c) {
                            Some(b) => bytes.push(b),
                            None => {
                                // llama.cpp's `llama_decode_text` marks characters outside the
                                // byte alphabet this way; reproduced so pieces stay identical.
                                bytes.extend_from_slice(b"[UNK_BYTE_0x");
                                let mut buf = [0u8; 4];
                                for b in c.encode_utf8(&mut buf).bytes() {
                                    bytes.extend_from_slice(format!("{b:02x}").as_bytes());
                                }
                                bytes.extend_from_slice(text.as_bytes());
                                bytes.push(b']');
                            }
                        }
                    }
                }
            }
        } else if attr.intersects(TokenAttr::BYTE)
            && let Some(b) = text.get(3..5).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            bytes.push(b);
        }
        // UNUSED / UNDEFINED tokens have an empty piece, as in llama.cpp.
        offsets.push(bytes.len());
    }
    (bytes, offsets)
}

/// llama.cpp's per-model LSTRIP/RSTRIP fix-ups (there is no GGUF metadata for them).
fn apply_model_strip_fixups(
    gguf: &Gguf,
    token_to_id: &HashMap<String, u32>,
    partition_tokens: &[u32],
    attrs: &mut [TokenAttr],
) {
    let name = gguf.get_str("general.name").unwrap_or("").to_lowercase();
    let pre = gguf.get_str("tokenizer.ggml.pre").unwrap_or("");
    let arch = gguf.get_str("general.architecture").unwrap_or("");
    let any = |s: &str, subs: &[&str]| subs.iter().any(|x| s.contains(x));
    let mut set = |text: &str, flag: TokenAttr, on: bool| {
        if let Some(&id) = token_to_id.get(text) {
            let a = &mut attrs[id as usize];
            *a = if on {
                *a | flag
            } else {
                TokenAttr(a.0 & !flag.0)
            };
        }
    };
    if any(pre, &["jina-v2-de", "jina-v2-es", "jina-v2-code", "mmbert"])
        || any(arch, &["nomic-bert-moe", "jina-bert-v3"])
    {
        set("<mask>", TokenAttr::LSTRIP, true);
    } else if any(&name, &["phi-3", "phi3"]) {
        for &id in partition_tokens {
            attrs[id as usize] = attrs[id as usize] | TokenAttr::RSTRIP;
        }
        let mut set = |text: &str, on: bool| {
            if let Some(&id) = token_to_id.get(text) {
                let a = &mut attrs[id as usize];
                *a = if on {
                    *a | TokenAttr::RSTRIP
                } else {
                    TokenAttr(a.0 & !TokenAttr::RSTRIP.0)
                };
            }
        };
        set("</s>", true);
        for t in ["<unk>", "<s>", "<|endoftext|>"] {
            set(t, false);
        }
    } else if name.contains("modern-bert") {
        set("[MASK]", TokenAttr::LSTRIP, true);
    }
}

/// Turns a stream of token ids into text that never ends inside a UTF-8 character.
///
/// Byte-level BPE and byte-fallback tokens can split one character over several tokens;
/// the decoder holds such bytes back until the character is complete. Bytes that can never
/// become valid UTF-8 are emitted as U+FFFD at once.
#[derive(Clone, Debug, Default)]
pub struct StreamDecoder {
    pending: Vec<u8>,
    skip_special: bool,
}

impl StreamDecoder {
    /// A decoder; `skip_special` leaves out control and unknown tokens, as in [`Tokenizer::decode`].
    pub fn new(skip_special: bool) -> StreamDecoder {
        StreamDecoder {
            pending: Vec::new(),
            skip_special,
        }
    }

    /// Adds one token; returns the text that became complete (possibly empty).
    pub fn push(&mut self, tokenizer: &Tokenizer, id: u32) -> Result<String, TokenizerError> {
        tokenizer.push_piece(id, self.skip_special, &mut self.pending)?;
        Ok(self.take_complete())
    }

    /// Adds raw bytes; returns the text that became complete (possibly empty).
    pub fn push_bytes(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        self.take_complete()
    }

    /// Bytes held back waiting for the rest of a character.
    pub fn pending(&self) -> &[u8] {
        &self.pending
    }

    /// Ends the stream: whatever is held back, with an incomplete tail as U+FFFD.
    pub fn finish(&mut self) -> String {
        let out = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        out
    }

    fn take_complete(&mut self) -> String {
        let mut out = String::new();
        let mut rest: &[u8] = &self.pending;
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    out.push_str(s);
                    rest = &[];
                    break;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    out.push_str(std::str::from_utf8(valid).expect("checked valid"));
                    match e.error_len() {
                        // Incomplete character at the end: keep it for the next token.
                        None => {
                            rest = after;
                            break;
                        }
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            rest = &after[bad..];
                        }
                    }
                }
            }
        }
        let keep = rest.len();
        let start = self.pending.len() - keep;
        self.pending.drain(..start);
        out
    }
}

#[cfg(test)]
mod tests;
