//! SentencePiece BPE as llama.cpp runs it (`llm_tokenizer_spm_session`).
//!
//! Why not the `tokenizers` crate's BPE model: SentencePiece BPE has no merge list. It starts
//! from single characters and repeatedly merges the adjacent pair whose concatenation is the
//! vocabulary piece with the highest *score* (ties: leftmost pair). Expressing that as ranked
//! merges would mean generating a merge for every way of splitting every one of Gemma's
//! 262,144 pieces, which is slow to build and large; the algorithm itself is forty lines.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// The vocabulary view the SPM algorithm needs.
pub(crate) trait SpmVocab {
    /// The id of the token whose text is exactly `text`.
    fn lookup(&self, text: &str) -> Option<u32>;
    /// The score of a token (higher merges first).
    fn score(&self, id: u32) -> f32;
    /// The token for one raw byte: `<0xXX>`, else the one-byte string (llama.cpp's `byte_to_token`).
    fn byte_token(&self, byte: u8) -> Option<u32>;
}

#[derive(Clone, Copy)]
struct Symbol {
    start: usize,
    len: usize,
    prev: Option<usize>,
    next: Option<usize>,
}

struct Bigram {
    left: usize,
    right: usize,
    score: f32,
    size: usize,
}

impl PartialEq for Bigram {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Bigram {}
impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Bigram {
    /// Max-heap order: highest score first, then the leftmost pair (llama.cpp's comparator).
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.left.cmp(&self.left))
    }
}

/// Tokenizes `text` (already space-escaped to `▁`) and appends the ids to `out`.
pub(crate) fn tokenize(vocab: &impl SpmVocab, text: &str, out: &mut Vec<u32>) {
    if text.is_empty() {
        return;
    }
    let mut symbols: Vec<Symbol> = Vec::with_capacity(text.len());
    for (i, (start, c)) in text.char_indices().enumerate() {
        symbols.push(Symbol {
            start,
            len: c.len_utf8(),
            prev: i.checked_sub(1),
            next: Some(i + 1),
        });
    }
    if let Some(last) = symbols.last_mut() {
        last.next = None;
    }

    let mut queue = BinaryHeap::new();
    let try_add = |symbols: &[Symbol],
                   queue: &mut BinaryHeap<Bigram>,
                   left: Option<usize>,
                   right: Option<usize>| {
        let (Some(left), Some(right)) = (left, right) else {
            return;
        };
        let (l, r) = (symbols[left], symbols[right]);
        let piece = &text[l.start..r.start + r.len];
        if let Some(id) = vocab.lookup(piece) {
            queue.push(Bigram {
                left,
                right,
                score: vocab.score(id),
                size: piece.len(),
            });
        }
    };
    for i in 1..symbols.len() {
        try_add(&symbols, &mut queue, Some(i - 1), Some(i));
    }

    while let Some(bigram) = queue.pop() {
        let (l, r) = (symbols[bigram.left], symbols[bigram.right]);
        // Stale entry: one side was merged away or grew since the pair was queued.
        if l.len == 0 || r.len == 0 || l.len + r.len != bigram.size {
            continue;
        }
        symbols[bigram.left].len += r.len;
        symbols[bigram.right].len = 0;
        symbols[bigram.left].next = r.next;
        if let Some(n) = r.next {
            symbols[n].prev = Some(bigram.left);
        }
        let prev = symbols[bigram.left].prev;
        let next = symbols[bigram.left].next;
        try_add(&symbols, &mut queue, prev, Some(bigram.left));
        try_add(&symbols, &mut queue, Some(bigram.left), next);
    }

    // Every merged symbol is a vocabulary piece by construction; only single characters
    // missing from the vocabulary remain, and those fall back to byte tokens. (llama.cpp's
    // `rev_merge` re-segmentation can therefore never trigger and is not reproduced.)
    let mut i = Some(0);
    while let Some(idx) = i {
        let s = symbols[idx];
        let piece = &text[s.start..s.start + s.len];
        match vocab.lookup(piece) {
            Some(id) => out.push(id),
            None => out.extend(piece.bytes().filter_map(|b| vocab.byte_token(b))),
        }
        i = s.next;
    }
}
