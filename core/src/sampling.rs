//! Token sampling: logit bias, repetition penalties, top-k, top-p, min-p,
//! temperature and a seeded RNG.
//!
//! The chain runs in llama.cpp's default order (penalties → top-k → top-p →
//! min-p → temperature → draw). Randomness comes from our own SplitMix64 and
//! exponentials from the pure-Rust `libm`, so one seed gives one output on
//! every platform, native or wasm.

use serde::{Deserialize, Serialize};

/// Sampling settings. `temperature <= 0` means greedy (arg-max).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SamplingOptions {
    pub temperature: f32,
    /// Keep the `top_k` most likely tokens; 0 disables.
    pub top_k: usize,
    /// Keep the smallest set whose probability reaches `top_p`; 1 disables.
    pub top_p: f32,
    /// Drop tokens less likely than `min_p` × the best one; 0 disables.
    pub min_p: f32,
    /// Divide positive (multiply negative) logits of recent tokens; 1 disables.
    pub repeat_penalty: f32,
    /// Subtract once from the logit of every recent token; 0 disables.
    pub presence_penalty: f32,
    /// Subtract per occurrence of a recent token; 0 disables.
    pub frequency_penalty: f32,
    /// How many recent tokens the penalties look at.
    pub penalty_last_n: usize,
    /// Added to the logits of the given tokens (`f32::NEG_INFINITY` bans one).
    pub logit_bias: Vec<(u32, f32)>,
    pub seed: u64,
}

impl Default for SamplingOptions {
    fn default() -> Self {
        SamplingOptions {
            temperature: 0.8,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.05,
            repeat_penalty: 1.0,
            presence_penalty: 0.0,
            frequency_penalty: 0.0,
            penalty_last_n: 64,
            logit_bias: Vec::new(),
            seed: 0x5eed,
        }
    }
}

/// An option out of its valid range.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[error("invalid sampling option {option}: {value} ({expected})")]
pub struct SamplingError {
    pub option: &'static str,
    pub value: String,
    pub expected: &'static str,
}

impl SamplingOptions {
    /// Greedy decoding (temperature 0, no filters).
    pub fn greedy() -> Self {
        SamplingOptions {
            temperature: 0.0,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            ..Default::default()
        }
    }

    /// Checks every option's range.
    pub fn validate(&self, n_vocab: usize) -> Result<(), SamplingError> {
        let bad = |option, value: &dyn std::fmt::Display, expected| {
            Err(SamplingError {
                option,
                value: value.to_string(),
                expected,
            })
        };
        if !self.temperature.is_finite() || self.temperature < 0.0 {
            return bad("temperature", &self.temperature, "a finite number >= 0");
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return bad("top_p", &self.top_p, "in (0, 1]");
        }
        if !(0.0..=1.0).contains(&self.min_p) {
            return bad("min_p", &self.min_p, "in [0, 1]");
        }
        if !self.repeat_penalty.is_finite() || self.repeat_penalty <= 0.0 {
            return bad(
                "repeat_penalty",
                &self.repeat_penalty,
                "a finite number > 0",
            );
        }
        if !self.presence_penalty.is_finite() || !self.frequency_penalty.is_finite() {
            return bad(
                "presence/frequency_penalty",
                &self.presence_penalty,
                "finite numbers",
            );
        }
        if let Some((id, _)) = self
            .logit_bias
            .iter()
            .find(|(id, _)| *id as usize >= n_vocab)
        {
            return bad("logit_bias", id, "token ids inside the vocabulary");
        }
        if let Some((_, b)) = self
            .logit_bias
            .iter()
            .find(|(_, b)| b.is_nan() || *b == f32::INFINITY)
        {
            return bad("logit_bias", b, "finite values or -infinity");
        }
        Ok(())
    }
}

/// SplitMix64: tiny, fast and identical on every platform.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` with 53 bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// What a sampling step needs from the model's output: the GPU backend reads back only that
/// (the whole vocabulary's logits, 8 bytes for the argmax, or a few hundred for the top k).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Needs {
    /// Every logit (no top-k cut comes first in the chain, or greedy with bias or penalties).
    Logits,
    /// Only the largest logit's token (greedy without bias or penalties).
    Argmax,
    /// The chain starts with top-k: the `k + extra.len()` largest finite raw logits with their
    /// ids, and the raw logits of `extra`, the tokens logit bias and penalties change (sorted,
    /// distinct; empty without them). The `k` largest after those changes are among these.
    TopK { k: usize, extra: Vec<u32> },
}

/// Picks tokens from logits according to [`SamplingOptions`].
#[derive(Clone, Debug)]
pub struct Sampler {
    opts: SamplingOptions,
    rng: Rng,
    cand: Vec<(u32, f32)>,
}

/// Index of the largest value; the first one on ties (as llama.cpp).
pub fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

impl Sampler {
    /// A sampler; call [`SamplingOptions::validate`] first.
    pub fn new(opts: SamplingOptions) -> Self {
        let rng = Rng::new(opts.seed);
        Sampler {
            opts,
            rng,
            cand: Vec::new(),
        }
    }

    /// The options in use.
    pub fn options(&self) -> &SamplingOptions {
        &self.opts
    }

    /// What [`Sampler::sample`] reads of the logits after `history`, so a backend can read
    /// back less: [`Sampler::sample_top_k`] on what [`Needs::TopK`] asks for gives the token
    /// `sample` gives on all of them.
    pub fn needs(&self, history: &[u32]) -> Needs {
        let o = &self.opts;
        let mut extra: Vec<u32> = o.logit_bias.iter().map(|&(id, _)| id).collect();
        if self.penalizes() {
            extra.extend(self.recent(history));
        }
        extra.sort_unstable();
        extra.dedup();
        if o.temperature <= 0.0 {
            if extra.is_empty() {
                Needs::Argmax
            } else {
                Needs::Logits
            }
        } else if o.top_k > 0 {
            Needs::TopK { k: o.top_k, extra }
        } else {
            Needs::Logits
        }
    }

    fn penalizes(&self) -> bool {
        let o = &self.opts;
        o.repeat_penalty != 1.0 || o.presence_penalty != 0.0 || o.frequency_penalty != 0.0
    }

    /// The tokens the penalties look at.
    fn recent<'h>(&self, history: &'h [u32]) -> &'h [u32] {
        &history[history.len().saturating_sub(self.opts.penalty_last_n)..]
    }

    /// Applies logit bias and penalties in place (what every mode shares).
    pub fn adjust(&self, logits: &mut [f32], history: &[u32]) {
        self.adjust_with(history, |id, f| {
            if let Some(l) = logits.get_mut(id as usize) {
                *l = f(*l);
            }
        });
    }

    /// Logit bias, then penalties, through `apply(token, change)`: the same operations in the
    /// same order for a whole vocabulary and for a few `(id, logit)` pairs.
    fn adjust_with(&self, history: &[u32], mut apply: impl FnMut(u32, &dyn Fn(f32) -> f32)) {
        for &(id, b) in &self.opts.logit_bias {
            apply(id, &|l| l + b);
        }
        if !self.penalizes() {
            return;
        }
        let o = &self.opts;
        let mut counts: Vec<(u32, u32)> = Vec::new();
        for &t in self.recent(history) {
            match counts.iter_mut().find(|(id, _)| *id == t) {
                Some(c) => c.1 += 1,
                None => counts.push((t, 1)),
            }
        }
        for (id, n) in counts {
            apply(id, &|l| {
                let l = if l <= 0.0 {
                    l * o.repeat_penalty
                } else {
                    l / o.repeat_penalty
                };
                l - (n as f32 * o.frequency_penalty + o.presence_penalty)
            });
        }
    }

    /// Chooses the next token. `logits` is modified (bias and penalties applied).
    pub fn sample(&mut self, logits: &mut [f32], history: &[u32]) -> u32 {
        self.adjust(logits, history);
        let o = &self.opts;
        if o.temperature <= 0.0 {
            return argmax(logits) as u32;
        }
        self.cand.clear();
        self.cand.extend(
            logits
                .iter()
                .enumerate()
                .filter(|(_, l)| l.is_finite())
                .map(|(i, &l)| (i as u32, l)),
        );
        if self.cand.is_empty() {
            return argmax(logits) as u32;
        }
        if o.top_k > 0 && o.top_k < self.cand.len() {
            self.cand.select_nth_unstable_by(o.top_k - 1, by_logit);
            self.cand.truncate(o.top_k);
        }
        self.draw()
    }

    /// [`Sampler::sample`] for a chain that starts with top-k, given what
    /// [`Sampler::needs`] asked for: `top`, the `k + extra.len()` largest finite raw logits
    /// `(id, logit)` in any order, and `extra`, the raw logits of its `extra` tokens. The same
    /// token, and the same random draw, as `sample` on all the logits. `None` when nothing
    /// finite is left (sample on all of them instead).
    pub fn sample_top_k(
        &mut self,
        top: &[(u32, f32)],
        extra: &[(u32, f32)],
        history: &[u32],
    ) -> Option<u32> {
        let mut cand = std::mem::take(&mut self.cand);
        cand.clear();
        // Tokens the bias and penalties leave alone keep their raw logits; the others come
        // from `extra`, changed as `adjust` changes them.
        cand.extend(
            top.iter()
                .filter(|(id, _)| !extra.iter().any(|(e, _)| e == id)),
        );
        let first_extra = cand.len();
        cand.extend_from_slice(extra);
        let changed = &mut cand[first_extra..];
        self.adjust_with(history, |id, f| {
            if let Some((_, l)) = changed.iter_mut().find(|(i, _)| *i == id) {
                *l = f(*l);
            }
        });
        self.cand = cand;
        self.cand.retain(|(_, l)| l.is_finite());
        if self.cand.is_empty() {
            return None;
        }
        let o = &self.opts;
        if o.temperature <= 0.0 {
            self.cand.sort_unstable_by(by_logit);
            return Some(self.cand[0].0);
        }
        if o.top_k > 0 && o.top_k < self.cand.len() {
            self.cand.select_nth_unstable_by(o.top_k - 1, by_logit);
            self.cand.truncate(o.top_k);
        }
        Some(self.draw())
    }

    /// The rest of the chain on the candidates left after top-k: top-p, min-p, temperature
    /// and the draw.
    fn draw(&mut self) -> u32 {
        let o = &self.opts;
        self.cand.sort_unstable_by(by_logit);
        if o.top_p < 1.0 || o.min_p > 0.0 {
            let probs = softmax_probs(&self.cand, 1.0);
            let mut keep = self.cand.len();
            if o.top_p < 1.0 {
                let mut cum = 0.0;
                for (i, p) in probs.iter().enumerate() {
                    cum += p;
                    if cum >= f64::from(o.top_p) {
                        keep = keep.min(i + 1);
                        break;
                    }
                }
            }
            if o.min_p > 0.0 {
                let floor = probs[0] * f64::from(o.min_p);
                keep = keep.min(probs.iter().take_while(|&&p| p >= floor).count().max(1));
            }
            self.cand.truncate(keep);
        }
        let probs = softmax_probs(&self.cand, o.temperature);
        let u = self.rng.next_f64();
        let mut cum = 0.0;
        for (i, p) in probs.iter().enumerate() {
            cum += p;
            if u < cum {
                return self.cand[i].0;
            }
        }
        self.cand[self.cand.len() - 1].0
    }
}

/// Highest logit first; ties by lower id so the order is total and portable.
fn by_logit(a: &(u32, f32), b: &(u32, f32)) -> std::cmp::Ordering {
    b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
}

/// Probabilities of sorted candidates at temperature `temp` (max first).
fn softmax_probs(cand: &[(u32, f32)], temp: f32) -> Vec<f64> {
    let max = cand[0].1;
    let e: Vec<f64> = cand
        .iter()
        .map(|&(_, l)| f64::from(libm::expf((l - max) / temp)))
        .collect();
    let sum: f64 = e.iter().sum();
    e.into_iter().map(|x| x / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logits() -> Vec<f32> {
        vec![1.0, 3.0, 2.0, 0.5, 3.0, -1.0]
    }

    #[test]
    fn greedy_takes_first_max() {
        let mut s = Sampler::new(SamplingOptions::greedy());
        assert_eq!(s.sample(&mut logits(), &[]), 1);
    }

    #[test]
    fn logit_bias_and_penalties() {
        let mut o = SamplingOptions::greedy();
        o.logit_bias = vec![(1, f32::NEG_INFINITY)];
        assert_eq!(Sampler::new(o.clone()).sample(&mut logits(), &[]), 4);
        o.logit_bias.clear();
        o.repeat_penalty = 2.0;
        // Tokens 1 and 4 were just used: 3.0 / 2 = 1.5 < 2.0 of token 2.
        assert_eq!(Sampler::new(o.clone()).sample(&mut logits(), &[1, 4]), 2);
        o.repeat_penalty = 1.0;
        o.frequency_penalty = 1.0;
        let mut l = logits();
        Sampler::new(o).adjust(&mut l, &[2, 2, 2]);
        assert_eq!(l[2], -1.0);
    }

    #[test]
    fn top_k_one_is_greedy_and_seeds_repeat() {
        let o = SamplingOptions {
            temperature: 1.5,
            top_k: 1,
            ..Default::default()
        };
        for _ in 0..10 {
            assert_eq!(Sampler::new(o.clone()).sample(&mut logits(), &[]), 1);
        }
        let o = SamplingOptions {
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            seed: 42,
            ..Default::default()
        };
        let run = || {
            let mut s = Sampler::new(o.clone());
            (0..50)
                .map(|_| s.sample(&mut logits(), &[]))
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        // With temperature 1 every token is possible: all but the -1 one show up in 50 draws.
        for t in 0..5 {
            assert!(a.contains(&t), "{t} never drawn in {a:?}");
        }
    }

    #[test]
    fn top_p_and_min_p_cut_the_tail() {
        let o = SamplingOptions {
            temperature: 1.0,
            top_k: 0,
            top_p: 0.5,
            min_p: 0.0,
            ..Default::default()
        };
        let mut s = Sampler::new(o);
        for _ in 0..50 {
            let t = s.sample(&mut logits(), &[]);
            assert!(t == 1 || t == 4, "{t}");
        }
        let o = SamplingOptions {
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.5,
            ..Default::default()
        };
        let mut s = Sampler::new(o);
        for _ in 0..50 {
            let t = s.sample(&mut logits(), &[]);
            assert!(t == 1 || t == 4 || t == 2, "{t}");
        }
    }

    #[test]
    fn top_k_candidates_draw_what_all_logits_draw() {
        // Logits with ties, both zeros and non-finite values; the k largest handed over
        // shuffled, as a GPU returns them.
        let mut x: Vec<f32> = (0..500u32)
            .map(|i| ((i.wrapping_mul(2_654_435_761) >> 20) % 97) as f32 / 8.0 - 6.0)
            .collect();
        x[3] = f32::NAN;
        x[9] = f32::INFINITY;
        x[10] = -0.0;
        x[11] = 0.0;
        let mut finite: Vec<(u32, f32)> = x
            .iter()
            .enumerate()
            .filter(|(_, l)| l.is_finite())
            .map(|(i, &l)| (i as u32, l))
            .collect();
        finite.sort_by(by_logit);
        for (top_k, top_p, min_p, temperature) in [
            (40, 0.95, 0.05, 0.8),
            (1, 1.0, 0.0, 1.0),
            (7, 1.0, 0.0, 2.0),
            (128, 0.5, 0.0, 1.3),
            (600, 1.0, 0.1, 0.7),
        ] {
            let o = SamplingOptions {
                temperature,
                top_k,
                top_p,
                min_p,
                seed: 11,
                ..Default::default()
            };
            // Plain, then with bias (a ban, a boost past the top, a cut) and penalties over a
            // history that holds top tokens, a repeated one and low ones.
            let history: Vec<u32> = vec![finite[0].0, finite[2].0, finite[2].0, 400, 401, 77];
            let biases = [
                vec![],
                vec![
                    (finite[1].0, f32::NEG_INFINITY),
                    (450, 9.0),
                    (finite[3].0, -0.5),
                ],
            ];
            for (bias, penalties) in [(&biases[0], false), (&biases[1], true)] {
                let o = SamplingOptions {
                    logit_bias: bias.clone(),
                    repeat_penalty: if penalties { 1.3 } else { 1.0 },
                    presence_penalty: if penalties { 0.2 } else { 0.0 },
                    frequency_penalty: if penalties { 0.1 } else { 0.0 },
                    ..o.clone()
                };
                let (mut all, mut top) = (Sampler::new(o.clone()), Sampler::new(o));
                let Needs::TopK { k, extra } = all.needs(&history) else {
                    panic!("top-k first in the chain")
                };
                assert_eq!(k, top_k);
                assert_eq!(extra.is_empty(), bias.is_empty() && !penalties);
                // What a GPU reads back: the k + extra largest raw logits, shuffled, and the
                // raw logits of the extra tokens.
                let mut given: Vec<(u32, f32)> =
                    finite[..(k + extra.len()).min(finite.len())].to_vec();
                given.reverse();
                let extra: Vec<(u32, f32)> = extra.iter().map(|&id| (id, x[id as usize])).collect();
                for _ in 0..200 {
                    let want = all.sample(&mut x.clone(), &history);
                    assert_eq!(
                        top.sample_top_k(&given, &extra, &history),
                        Some(want),
                        "top_k {top_k}, penalties {penalties}"
                    );
                }
            }
        }
        let o = SamplingOptions {
            repeat_penalty: 1.1,
            temperature: 0.0,
            ..Default::default()
        };
        assert_eq!(Sampler::new(o).needs(&[1]), Needs::Logits);
        assert_eq!(
            Sampler::new(SamplingOptions::greedy()).needs(&[1]),
            Needs::Argmax
        );
        assert_eq!(
            Sampler::new(SamplingOptions::default()).sample_top_k(&[], &[], &[]),
            None
        );
    }

    #[test]
    fn validation() {
        let v = |o: SamplingOptions| o.validate(10).map_err(|e| e.option);
        assert_eq!(
            v(SamplingOptions {
                temperature: -1.0,
                ..Default::default()
            }),
            Err("temperature")
        );
        assert_eq!(
            v(SamplingOptions {
                top_p: 1.5,
                ..Default::default()
            }),
            Err("top_p")
        );
        assert_eq!(
            v(SamplingOptions {
                top_p: 0.0,
                ..Default::default()
            }),
            Err("top_p")
        );
        assert_eq!(
            v(SamplingOptions {
                min_p: -0.1,
                ..Default::default()
            }),
            Err("min_p")
        );
        assert_eq!(
            v(SamplingOptions {
                logit_bias: vec![(99, 1.0)],
                ..Default::default()
            }),
            Err("logit_bias")
        );
        assert_eq!(v(SamplingOptions::default()), Ok(()));
    }
}
