//! Byte-level BPE pre-tokenizers, selected by `tokenizer.ggml.pre` exactly as llama.cpp's
//! `llama_vocab::impl::load` and `llm_tokenizer_bpe` do.
//!
//! llama.cpp applies its regex list in sequence: every regex splits each piece left by the
//! previous one into matches and the text between them. That is precisely a sequence of
//! `tokenizers` `Split(Regex, Isolated)` pre-tokenizers, so we hand it the same regexes.
//!
//! We use llama.cpp's *adapted* regexes rather than the originals from `tokenizer.json`:
//! llama.cpp runs most of them on a "collapsed" text where every non-ASCII code point is
//! replaced by one byte standing for its Unicode category (letter, number, …). An adapted
//! regex such as `[^a-z]` for "not lowercase" therefore treats every non-ASCII letter alike,
//! and running that same adapted regex on the real text with `\p{L}` reproduces it.
//! `(?i:'s|…)` is spelled `'[sS]|…` for the same reason (and because Unicode case folding
//! would also match `'ſ`).

use super::TokenizerError;

/// What `tokenizer.ggml.pre` selects for a byte-level BPE vocabulary.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PreTokenizerConfig {
    /// Regexes applied one after the other (see the module docs).
    pub regexes: &'static [&'static str],
    /// A word that is itself a token is emitted whole, without running merges (llama3 family).
    pub ignore_merges: bool,
    /// Overrides the vocabulary's default `add_bos` (before the GGUF flag, which wins).
    pub add_bos: Option<bool>,
    /// The family has no default BOS id (only an explicit `bos_token_id` sets one).
    pub no_default_bos: bool,
}

const GPT2: &str = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const LLAMA3: &str = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2: &str = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN35: &str = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const GPT4O: &str = "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const TEKKEN: &str = "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const SEED_CODER: &str = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const BAILINGMOE: &str = "'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+";
const UFAKZEKA: &str = "[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const MINICPM5: &str = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const EXAONE_MOE: &str = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?(?:\\p{L}\\p{M}*(?: \\p{L}\\p{M}*)*)+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]?|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+";
const DEEPSEEK3: &str = "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+";
const PORO: &str = " ?[^(\\s|.,!?…。，、।۔،)]+";

/// Plain options: no merges skipping, no `add_bos` override.
const fn plain(regexes: &'static [&'static str]) -> PreTokenizerConfig {
    PreTokenizerConfig {
        regexes,
        ignore_merges: false,
        add_bos: None,
        no_default_bos: false,
    }
}

/// The pre-tokenizer for a `tokenizer.ggml.pre` value (absent → llama.cpp's "default").
pub(crate) fn config_for(pre: Option<&str>) -> Result<PreTokenizerConfig, TokenizerError> {
    const DEFAULT: &[&str] = &[
        "[\\p{P}\\$\\+<=>\\^~\\|]+",
        GPT2,
        "\\p{N}+",
        "[0-9][0-9][0-9]",
    ];
    let Some(pre) = pre else {
        return Ok(plain(DEFAULT));
    };
    Ok(match pre {
        "default" => plain(DEFAULT),
        "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "falcon-h1" | "pixtral" | "midm-2.0"
        | "lfm2" | "jina-v5-nano" => PreTokenizerConfig {
            ignore_merges: true,
            add_bos: Some(true),
            ..plain(&[LLAMA3])
        },
        "dbrx" | "smaug-bpe" => plain(&[LLAMA3]),
        "chatglm-bpe" => PreTokenizerConfig {
            no_default_bos: true,
            ..plain(&[LLAMA3])
        },
        "glm4" | "glm5" => PreTokenizerConfig {
            ignore_merges: true,
            no_default_bos: true,
            ..plain(&[LLAMA3])
        },
        "deepseek-coder" => plain(&[
            "[\r\n]",
            "\\s?\\p{L}+",
            "\\s?\\p{P}+",
            "[一-龥ࠀ-一가-퟿]+",
            "\\p{N}",
        ]),
        "deepseek-v3" | "hunyuan-dense" | "joyai-llm" | "hy_v4" => {
            plain(&["\\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+", DEEPSEEK3])
        }
        "falcon" => plain(&[
            "[\\p{P}\\$\\+<=>\\^~\\|`]+",
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
            "[0-9][0-9][0-9]",
        ]),
        "starcoder" | "refact" | "command-r" | "smollm" | "codeshell" | "exaone" | "minerva-7b"
        | "mellum2" => plain(&["\\p{N}", GPT2]),
        "gpt-2" | "phi-2" | "jina-es" | "jina-de" | "gigachat" | "jina-v2-es" | "jina-v2-de"
        | "a.x-4.0" | "mellum" | "modern-bert" | "jina-v1-en" | "jina-v2-code" | "roberta-bpe"
        | "exaone4" | "mpt" | "olmo" | "jais" | "trillion" | "granite-docling" => plain(&[GPT2]),
        "qwen2" | "deepseek-r1-qwen" | "kormo" | "f2llmv2" | "megrez" | "stablelm2" | "hunyuan"
        | "solar-open" => plain(&[QWEN2]),
        "grok-2" => plain(&[QWEN2]),
        "qwen35" => plain(&[QWEN35]),
        "poro-chat" | "bloom" | "gpt3-finnish" => plain(&[PORO]),
        "viking" => plain(&[PORO, "\\p{N}"]),
        "tekken" => PreTokenizerConfig {
            ignore_merges: true,
            ..plain(&[TEKKEN])
        },
        "gpt-4o" | "llama4" | "kanana2" | "talkie" | "minimax-m2" => plain(&[GPT4O]),
        "seed-coder" => plain(&[SEED_CODER]),
        "bailingmoe" | "bailingmoe2" | "llada-moe" => plain(&[BAILINGMOE]),
        "ufakzeka" => plain(&[UFAKZEKA]),
        "minicpm5" => PreTokenizerConfig {
            ignore_merges: true,
            ..plain(&["\\p{N}{1,3}", MINICPM5])
        },
        "exaone-moe" => plain(&[EXAONE_MOE]),
        // Everything else either needs one of llama.cpp's hand-written splitters (kimi-k2,
        // afmoe, tiny_aya, superbpe…) or SPM-style BPE on raw UTF-8 (gemma4, sarvam-moe,
        // mmbert), which this crate does not implement yet.
        other => return Err(TokenizerError::UnknownPreTokenizer(other.to_string())),
    })
}
