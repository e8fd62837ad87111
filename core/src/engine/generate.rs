//! Token-by-token generation as an iterator: sampling, stop strings, EOS,
//! max tokens, cancellation between tokens and streaming-safe UTF-8.

use std::borrow::BorrowMut;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use super::Session;
use super::session::NextLogits;
use super::session::Timings;
use super::stop::{StopMatcher, StopOutcome};
use crate::Timer;
use crate::error::{Error, Result};
use crate::sampling::{Sampler, SamplingOptions};
use crate::tokenizer::StreamDecoder;

/// What to generate and when to stop.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GenerateOptions {
    pub sampling: SamplingOptions,
    /// Stop after this many tokens.
    pub max_tokens: usize,
    /// Stop when the text contains one of these (the stop string is not returned).
    pub stop: Vec<String>,
    /// Keep going past end-of-generation tokens.
    pub ignore_eos: bool,
    /// Render special tokens (e.g. `<|im_end|>`) in the text.
    pub render_special: bool,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            sampling: SamplingOptions::default(),
            max_tokens: 256,
            stop: Vec::new(),
            ignore_eos: false,
            render_special: false,
        }
    }
}

/// Why generation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// An end-of-generation token or a stop string.
    Stop,
    /// `max_tokens` reached.
    Length,
    /// The context is full.
    ContextFull,
    /// Cancelled by the caller.
    Cancelled,
}

/// One step of a generation: a token and the text it completes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TokenEvent {
    /// The sampled token; `None` for the final event that releases held-back text.
    pub token: Option<u32>,
    /// Newly completed text (may be empty while a character or stop string is pending).
    pub text: String,
}

/// The outcome of a whole generation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GenerationResult {
    pub text: String,
    pub tokens: Vec<u32>,
    pub prompt_tokens: Vec<u32>,
    pub finish_reason: FinishReason,
    /// The ten highest raw logits `(token, logit)` at the first generated position.
    pub top_logits: Vec<(u32, f32)>,
    pub timings: Timings,
}

/// A running generation; iterate it for [`TokenEvent`]s, then call [`Generation::result`].
///
/// It usually borrows its session (`Generation<'_>`, from [`Session::generate`]);
/// bindings that must keep a generation between calls (the wasm step API) can
/// let it own the session instead with [`Generation::start`] and take the
/// session back with [`Generation::into_session`].
#[derive(Debug)]
pub struct Generation<'s, S: BorrowMut<Session> = &'s mut Session> {
    session: S,
    _session: PhantomData<&'s mut Session>,
    opts: GenerateOptions,
    sampler: Sampler,
    /// What the last forward pass gave: the logits, or only what the sampler needs of them.
    next: NextLogits,
    decoder: StreamDecoder,
    stop: StopMatcher,
    prompt: Vec<u32>,
    tokens: Vec<u32>,
    text: String,
    top_logits: Vec<(u32, f32)>,
    finish: Option<FinishReason>,
    flushed: bool,
    stopped_by_string: bool,
    cancel: Option<Arc<AtomicBool>>,
    started: Timer,
    first_token: Option<Timer>,
    timings: Timings,
}

fn top_k_logits(logits: &[f32], k: usize) -> Vec<(u32, f32)> {
    let mut top: Vec<(u32, f32)> = Vec::with_capacity(k + 1);
    for (i, &l) in logits.iter().enumerate() {
        if top.len() < k || l > top[top.len() - 1].1 {
            let at = top.iter().position(|&(_, x)| l > x).unwrap_or(top.len());
            top.insert(at, (i as u32, l));
            top.truncate(k);
        }
    }
    top
}

impl Session {
    /// Evaluates `prompt` (reusing the cached prefix) and returns a generation to iterate.
    pub fn generate(&mut self, prompt: &[u32], opts: GenerateOptions) -> Result<Generation<'_>> {
        Generation::start(self, prompt, opts).map_err(|(e, _)| e)
    }
}

impl<S: BorrowMut<Session>> Generation<'_, S> {
    /// Evaluates `prompt` in `session` (reusing the cached prefix) and returns
    /// a generation that holds the session; on error the session is handed back.
    pub fn start(
        mut session: S,
        prompt: &[u32],
        opts: GenerateOptions,
    ) -> std::result::Result<Self, (Error, S)> {
        let prefilled = Self::check(session.borrow_mut(), &opts).and_then(|()| {
            let started = Timer::start();
            let t_prompt = Timer::start();
            let (logits, reused) = session.borrow_mut().prefill(prompt)?;
            Ok((logits, reused, t_prompt.ms(), started))
        });
        match prefilled {
            Ok(p) => Ok(Self::from_prefill(session, prompt, opts, p)),
            Err(e) => Err((e, session)),
        }
    }

    /// [`Generation::start`] for sessions whose forward pass is asynchronous (the GPU
    /// backend on wasm32, where nothing may block); continue with [`Generation::next_async`].
    pub async fn start_async(
        mut session: S,
        prompt: &[u32],
        opts: GenerateOptions,
    ) -> std::result::Result<Self, (Error, S)> {
        if let Err(e) = Self::check(session.borrow_mut(), &opts) {
            return Err((e, session));
        }
        let started = Timer::start();
        let t_prompt = Timer::start();
        match session.borrow_mut().prefill_async(prompt).await {
            Ok((logits, reused)) => Ok(Self::from_prefill(
                session,
                prompt,
                opts,
                (logits, reused, t_prompt.ms(), started),
            )),
            Err(e) => Err((e, session)),
        }
    }

    /// The generation after its prompt was evaluated: `(logits, reused tokens, prompt ms, start)`.
    fn from_prefill(
        session: S,
        prompt: &[u32],
        opts: GenerateOptions,
        (logits, reused, prompt_ms, started): (Vec<f32>, usize, f64, Timer),
    ) -> Self {
        let new_tokens = prompt.len() - reused;
        let timings = Timings {
            load_ms: session.borrow().model().load_ms(),
            prompt_tokens: prompt.len(),
            reused_tokens: reused,
            prompt_ms,
            prefill_tok_s: if prompt_ms > 0.0 {
                new_tokens as f64 * 1e3 / prompt_ms
            } else {
                0.0
            },
            ..Timings::default()
        };
        Generation {
            sampler: Sampler::new(opts.sampling.clone()),
            top_logits: top_k_logits(&logits, 10),
            next: NextLogits::Full(logits),
            decoder: StreamDecoder::new(!opts.render_special),
            stop: StopMatcher::new(&opts.stop),
            prompt: prompt.to_vec(),
            tokens: Vec::new(),
            text: String::new(),
            finish: None,
            flushed: false,
            stopped_by_string: false,
            cancel: None,
            started,
            first_token: None,
            timings,
            opts,
            session,
            _session: PhantomData,
        }
    }

    /// Validates the options.
    fn check(session: &mut Session, opts: &GenerateOptions) -> Result<()> {
        let n_vocab = session.model().config().n_vocab;
        opts.sampling.validate(n_vocab)?;
        if opts.max_tokens == 0 {
            return Err(Error::InvalidOption {
                option: "max_tokens",
                message: "must be at least 1".into(),
            });
        }
        Ok(())
    }

    /// Ends the generation and returns its session (the KV cache holds the
    /// prompt and the tokens generated so far).
    pub fn into_session(self) -> S {
        self.session
    }

    /// The session being generated in.
    pub fn session(&self) -> &Session {
        self.session.borrow()
    }

    /// Cancels the generation between tokens when `flag` becomes true.
    pub fn with_cancel(mut self, flag: Arc<AtomicBool>) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Why the generation ended, once it has.
    pub fn finish_reason(&self) -> Option<FinishReason> {
        self.finish
    }

    /// Runs to the end and returns the result.
    pub fn run(mut self) -> Result<GenerationResult> {
        for ev in self.by_ref() {
            ev?;
        }
        Ok(self.result())
    }

    /// The result so far (complete once the iterator is exhausted).
    pub fn result(&self) -> GenerationResult {
        let mut timings = self.timings.clone();
        timings.generated_tokens = self.tokens.len();
        timings.kv_cache_bytes = self.session.borrow().kv_cache_bytes();
        GenerationResult {
            text: self.text.clone(),
            tokens: self.tokens.clone(),
            prompt_tokens: self.prompt.clone(),
            finish_reason: self.finish.unwrap_or(FinishReason::Cancelled),
            top_logits: self.top_logits.clone(),
            timings,
        }
    }

    fn end(&mut self, reason: FinishReason) -> Option<Result<TokenEvent>> {
        self.finish = Some(reason);
        self.flush()
    }

    fn flush(&mut self) -> Option<Result<TokenEvent>> {
        if self.flushed {
            return None;
        }
        self.flushed = true;
        if self.stopped_by_string {
            return None;
        }
        // Held-back bytes and text that never became a stop string are real output.
        let tail = self.decoder.finish();
        let rest = match self.stop.push(&tail) {
            StopOutcome::Stop(t) => t,
            StopOutcome::Continue(t) => t + &self.stop.flush(),
        };
        if rest.is_empty() {
            return None;
        }
        self.text.push_str(&rest);
        Some(Ok(TokenEvent {
            token: None,
            text: rest,
        }))
    }

    /// Samples the next token and streams its text; `Eval(tok)` when the forward pass of
    /// `tok` must run before the next step (the caller runs it, blocking or awaited).
    fn sample(&mut self) -> Result<Sampled> {
        let model = self.session.borrow().model().clone();
        let tok = match std::mem::replace(&mut self.next, NextLogits::Full(Vec::new())) {
            NextLogits::Full(mut logits) => self
                .sampler
                .sample(&mut logits, self.session.borrow().history()),
            NextLogits::Argmax(tok) => tok,
            NextLogits::TopK { top, extra } => self
                .sampler
                .sample_top_k(&top, &extra, self.session.borrow().history())
                .ok_or_else(|| Error::InvalidOption {
                    option: "top_k",
                    message: "no finite logit to sample from".into(),
                })?,
        };
        if !self.opts.ignore_eos && model.tokenizer().is_eog(tok) {
            self.finish = Some(FinishReason::Stop);
            return Ok(Sampled::End);
        }
        let first = self.first_token.is_none();
        if first {
            self.timings.ttft_ms = self.started.ms();
            self.first_token = Some(Timer::start());
        }
        self.tokens.push(tok);
        let piece = self.decoder.push(model.tokenizer(), tok)?;
        let text = match self.stop.push(&piece) {
            StopOutcome::Continue(t) => t,
            StopOutcome::Stop(t) => {
                self.finish = Some(FinishReason::Stop);
                self.stopped_by_string = true;
                self.text.push_str(&t);
                return Ok(Sampled::Last(TokenEvent {
                    token: Some(tok),
                    text: t,
                }));
            }
        };
        self.text.push_str(&text);
        let event = TokenEvent {
            token: Some(tok),
            text,
        };
        if self.tokens.len() >= self.opts.max_tokens {
            self.finish = Some(FinishReason::Length);
        } else if self.session.borrow().history().len() >= self.session.borrow().n_ctx() {
            self.finish = Some(FinishReason::ContextFull);
        } else {
            return Ok(Sampled::Eval(event, tok));
        }
        Ok(Sampled::Last(event))
    }

    /// What the sampler will need of the logits after `tok` (the history then ends with it).
    fn needs_after(&self, tok: u32) -> crate::sampling::Needs {
        let history = self.session.borrow().history();
        let from = history
            .len()
            .saturating_sub(self.opts.sampling.penalty_last_n);
        let mut recent = history[from..].to_vec();
        recent.push(tok);
        self.sampler.needs(&recent)
    }

    /// Takes the output of the token just evaluated and updates the decode timings.
    fn evaluated(&mut self, next: NextLogits) {
        self.next = next;
        if let Some(t) = self.first_token.filter(|_| self.tokens.len() > 1) {
            self.timings.decode_ms = t.ms();
            let n = (self.tokens.len() - 1) as f64;
            self.timings.decode_tok_s = if self.timings.decode_ms > 0.0 {
                n * 1e3 / self.timings.decode_ms
            } else {
                0.0
            };
        }
    }

    fn step(&mut self) -> Result<Option<TokenEvent>> {
        match self.sample()? {
            Sampled::End => Ok(None),
            Sampled::Last(ev) => Ok(Some(ev)),
            Sampled::Eval(ev, tok) => {
                let needs = self.needs_after(tok);
                let next = self.session.borrow_mut().eval_for(&[tok], needs)?;
                self.evaluated(next);
                Ok(Some(ev))
            }
        }
    }

    /// What `next` answers before sampling: the flush after the end, or the cancel.
    fn before_step(&mut self) -> Option<Option<Result<TokenEvent>>> {
        if self.finish.is_some() {
            return Some(self.flush());
        }
        if self
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
        {
            return Some(self.end(FinishReason::Cancelled));
        }
        None
    }

    /// What `next` answers for a step's outcome.
    fn after_step(&mut self, step: Result<Option<TokenEvent>>) -> Option<Result<TokenEvent>> {
        match step {
            Ok(Some(ev)) => Some(Ok(ev)),
            Ok(None) => self.flush(),
            Err(e) => {
                self.finish = Some(FinishReason::Cancelled);
                self.flushed = true;
                Some(Err(e))
            }
        }
    }

    /// The iterator's `next` for generations begun with [`Generation::start_async`]: the
    /// same events, with the forward pass awaited.
    pub async fn next_async(&mut self) -> Option<Result<TokenEvent>> {
        if let Some(answer) = self.before_step() {
            return answer;
        }
        let step = match self.sample() {
            Ok(Sampled::End) => Ok(None),
            Ok(Sampled::Last(ev)) => Ok(Some(ev)),
            Ok(Sampled::Eval(ev, tok)) => {
                let needs = self.needs_after(tok);
                match self
                    .session
                    .borrow_mut()
                    .eval_for_async(&[tok], needs)
                    .await
                {
                    Ok(next) => {
                        self.evaluated(next);
                        Ok(Some(ev))
                    }
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        self.after_step(step)
    }
}

/// The outcome of sampling one token.
enum Sampled {
    /// End of generation (EOS): nothing to stream.
    End,
    /// The last token: stream it, evaluate nothing.
    Last(TokenEvent),
    /// Stream the event, then evaluate the token.
    Eval(TokenEvent, u32),
}

impl<S: BorrowMut<Session>> Iterator for Generation<'_, S> {
    type Item = Result<TokenEvent>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(answer) = self.before_step() {
            return answer;
        }
        let step = self.step();
        self.after_step(step)
    }
}
