use super::*;
use crate::gguf::{GgufWriter, MetaValue};

/// A tiny SentencePiece vocabulary: control tokens, byte fallback for every byte, a few pieces.
fn spm_gguf(extra: impl FnOnce(&mut GgufWriter)) -> Vec<u8> {
    let mut tokens: Vec<String> = vec![
        "<unk>".into(),
        "<s>".into(),
        "</s>".into(),
        "<ctl>".into(),
        "<usr>".into(),
    ];
    let mut types = vec![2, 3, 3, 3, 4];
    let mut scores = vec![0.0f32; 5];
    for b in 0..=255u8 {
        tokens.push(format!("<0x{b:02X}>"));
        types.push(6);
        scores.push(0.0);
    }
    for (piece, score) in [
        ("▁", -1.0),
        ("h", -2.0),
        ("i", -2.0),
        ("▁h", -3.0),
        ("hi", -1.5),
        ("▁hi", -0.5),
        ("é", -2.0),
    ] {
        tokens.push(piece.into());
        types.push(1);
        scores.push(score);
    }
    let mut w = GgufWriter::new();
    w.meta_str("tokenizer.ggml.model", "llama")
        .meta(
            "tokenizer.ggml.tokens",
            MetaValue::Array(MetaArray::String(tokens)),
        )
        .meta(
            "tokenizer.ggml.token_type",
            MetaValue::Array(MetaArray::I32(types)),
        )
        .meta(
            "tokenizer.ggml.scores",
            MetaValue::Array(MetaArray::F32(scores)),
        );
    extra(&mut w);
    w.to_bytes()
}

fn spm(extra: impl FnOnce(&mut GgufWriter)) -> Tokenizer {
    Tokenizer::from_gguf(&Gguf::parse(&spm_gguf(extra)).unwrap()).unwrap()
}

fn id(t: &Tokenizer, s: &str) -> u32 {
    t.token_to_id(s).unwrap()
}

#[test]
fn spm_merges_by_score_and_prefixes_space() {
    let t = spm(|_| {});
    // Defaults for `llama` vocabularies: BOS 1, EOS 2, add_bos, add_space_prefix.
    assert_eq!(
        (t.bos(), t.eos(), t.unk(), t.add_bos(), t.add_space_prefix()),
        (Some(1), Some(2), Some(0), true, true)
    );
    // Initial pairs of "▁hi" are "▁h" (-3.0) and "hi" (-1.5): "hi" wins, then "▁" + "hi".
    assert_eq!(t.encode("hi", true, false).unwrap(), vec![1, id(&t, "▁hi")]);
    assert_eq!(t.encode("hi", false, false).unwrap(), vec![id(&t, "▁hi")]);
    // Unknown characters fall back to their UTF-8 bytes.
    assert_eq!(
        t.encode("ж", false, false).unwrap(),
        vec![id(&t, "▁"), id(&t, "<0xD0>"), id(&t, "<0xB6>")]
    );
    assert_eq!(
        t.decode(&t.encode("hi ж é", false, false).unwrap(), false)
            .unwrap(),
        " hi ж é"
    );
}

#[test]
fn special_tokens_split_only_when_asked_but_user_defined_always() {
    let t = spm(|w| {
        w.meta("tokenizer.ggml.add_space_prefix", MetaValue::Bool(false));
    });
    let ctl = id(&t, "<ctl>");
    let usr = id(&t, "<usr>");
    assert_eq!(
        t.encode("hi<ctl>hi", false, true).unwrap(),
        vec![id(&t, "hi"), ctl, id(&t, "hi")]
    );
    let plain = t.encode("hi<ctl>", false, false).unwrap();
    assert!(!plain.contains(&ctl), "{plain:?}");
    assert_eq!(
        t.encode("<usr>hi", false, false).unwrap(),
        vec![usr, id(&t, "hi")]
    );
    // Decoding: control tokens disappear with skip_special, user-defined ones stay.
    assert_eq!(t.decode(&[ctl, usr], true).unwrap(), "<usr>");
    assert_eq!(t.decode(&[ctl, usr], false).unwrap(), "<ctl><usr>");
    assert!(t.is_special(ctl) && !t.is_special(usr));
}

#[test]
fn empty_text_and_out_of_range_ids() {
    let t = spm(|_| {});
    assert_eq!(t.encode("", true, true).unwrap(), vec![1]);
    assert!(t.encode("", false, true).unwrap().is_empty());
    let n = t.vocab_size() as u32;
    assert!(
        matches!(t.decode(&[n], false), Err(TokenizerError::InvalidToken { id, .. }) if id == n)
    );
    assert!(t.token_piece(n).is_err());
}

#[test]
fn eog_set_includes_eos_and_named_turn_ends() {
    let t = spm(|w| {
        w.meta_u32("tokenizer.ggml.eos_token_id", 2);
    });
    assert!(t.is_eog(2));
    assert!(!t.is_eog(1));
}

#[test]
fn metadata_errors_are_typed() {
    let mut w = GgufWriter::new();
    w.meta_str("tokenizer.ggml.model", "wordpiece-ish").meta(
        "tokenizer.ggml.tokens",
        MetaValue::Array(MetaArray::String(vec!["a".into()])),
    );
    let g = Gguf::parse(&w.to_bytes()).unwrap();
    assert!(
        matches!(Tokenizer::from_gguf(&g), Err(TokenizerError::UnknownModel(m)) if m == "wordpiece-ish")
    );

    let g = Gguf::parse(&GgufWriter::new().to_bytes()).unwrap();
    assert!(matches!(
        Tokenizer::from_gguf(&g),
        Err(TokenizerError::MissingMetadata("tokenizer.ggml.model"))
    ));

    let mut w = GgufWriter::new();
    w.meta_str("tokenizer.ggml.model", "llama")
        .meta(
            "tokenizer.ggml.tokens",
            MetaValue::Array(MetaArray::String(vec!["a".into(), "b".into(), "c".into()])),
        )
        .meta(
            "tokenizer.ggml.token_type",
            MetaValue::Array(MetaArray::I32(vec![1, 1])),
        );
    assert!(matches!(
        Tokenizer::from_gguf(&Gguf::parse(&w.to_bytes()).unwrap()),
        Err(TokenizerError::Inconsistent(_))
    ));

    let mut w = GgufWriter::new();
    w.meta_str("tokenizer.ggml.model", "gpt2")
        .meta_str("tokenizer.ggml.pre", "no-such-pre")
        .meta(
            "tokenizer.ggml.tokens",
            MetaValue::Array(MetaArray::String(vec!["a".into()])),
        );
    let g = Gguf::parse(&w.to_bytes()).unwrap();
    assert!(matches!(
        Tokenizer::from_gguf(&g),
        Err(TokenizerError::UnknownPreTokenizer(_))
    ));
}

#[test]
fn byte_level_alphabet_round_trips_all_bytes() {
    // GPT-2's bytes_to_unicode, written out the way the Python reference does.
    let mut printable: Vec<u32> = (0x21..=0x7E)
        .chain(0xA1..=0xAC)
        .chain(0xAE..=0xFF)
        .collect();
    let mut chars = printable.clone();
    let mut n = 0;
    for b in 0..256u32 {
        if !printable.contains(&b) {
            printable.push(b);
            chars.push(256 + n);
            n += 1;
        }
    }
    for (&b, &c) in printable.iter().zip(&chars) {
        assert_eq!(
            byte_level_decode_char(char::from_u32(c).unwrap()),
            Some(b as u8),
            "U+{c:04X}"
        );
    }
    assert_eq!(byte_level_decode_char('€'), None);
}

#[test]
fn stream_decoder_holds_back_partial_characters() {
    let mut d = StreamDecoder::new(false);
    let euro = "€".as_bytes();
    assert_eq!(d.push_bytes(&euro[..1]), "");
    assert_eq!(d.push_bytes(&euro[1..2]), "");
    assert_eq!(d.pending().len(), 2);
    assert_eq!(d.push_bytes(&[euro[2], b'x']), "€x");
    // A byte that can never start a character is replaced at once.
    assert_eq!(d.push_bytes(&[0xFF, b'y']), "\u{FFFD}y");
    assert_eq!(d.push_bytes(&euro[..2]), "");
    assert_eq!(d.finish(), "\u{FFFD}");
    assert!(d.pending().is_empty());

    let t = spm(|_| {});
    let ids = t.encode("ж!", false, false).unwrap();
    let mut d = StreamDecoder::new(true);
    let mut out = String::new();
    for &i in &ids {
        let s = d.push(&t, i).unwrap();
        assert!(!s.contains('\u{FFFD}'));
        out += &s;
    }
    assert_eq!(out + &d.finish(), " ж!");
}
