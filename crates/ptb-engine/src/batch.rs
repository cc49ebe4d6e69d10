//! The batching scheduler.
//!
//! **Scheme: continuous batching on one worker thread.** The model lives on a dedicated OS thread;
//! requests reach it through a channel. The worker keeps a list of *active* sequences, each with its
//! own KV cache, sampler and stop-string state, and loops:
//!
//! 1. **Admit.** Waiting requests join while fewer than `max_batch` sequences are active. Each
//!    newcomer is prefilled on its own, in chunks of [`PREFILL_CHUNK`] tokens, and samples its first
//!    token.
//! 2. **Decode.** One forward pass runs the last token of *every* active sequence together: the
//!    embedding, all linear layers (Q/K/V/O, MLP, LM head) and norms see a `[B, 1, hidden]` batch, so
//!    each weight matrix is read once per step for all `B` sequences; attention runs per sequence
//!    against that sequence's own cache at its own position, so no padding is needed and sequences
//!    of any length share a step.
//! 3. **Retire.** Each sequence samples its next token; it leaves the batch on an EOS id, a stop
//!    string, `max_tokens`, the context limit, or when its caller has gone away. Its slot is free for
//!    a waiting request at the next step.
//!
//! Rows of a batched matmul are reduced independently of the other rows, so a sequence's greedy
//! tokens do not depend on which other sequences share its steps (asserted by the test
//! `greedy_is_deterministic_and_independent_of_batching` on the SmolLM2 GGUF). Small GGUF models keep
//! an int8 form of each weight (see `weights::LinearWeight`) for decode steps, which are
//! memory-bound; a decode step uses it whatever its batch.

use std::sync::mpsc;

use candle_transformers::generation::{LogitsProcessor, Sampling};
use tokenizers::Tokenizer;
use tokio::sync::mpsc::UnboundedSender;

use crate::error::{EngineError, Result};
use crate::model::{SeqCache, Transformer};
use crate::tokenizer::decode;

/// Prompt tokens per prefill forward pass.
pub const PREFILL_CHUNK: usize = 512;

/// Sampling settings of one request, defaults already applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplingParams {
    /// 0 (or below) means greedy.
    pub temperature: f64,
    pub top_p: f64,
    /// 0 means no top-k cut.
    pub top_k: usize,
    pub seed: u64,
}

impl SamplingParams {
    fn processor(&self) -> LogitsProcessor {
        let t = self.temperature;
        let sampling = if t <= 1e-6 {
            Sampling::ArgMax
        } else {
            match (self.top_k, self.top_p < 1.0) {
                (0, false) => Sampling::All { temperature: t },
                (0, true) => Sampling::TopP { p: self.top_p, temperature: t },
                (k, false) => Sampling::TopK { k, temperature: t },
                (k, true) => Sampling::TopKThenTopP { k, p: self.top_p, temperature: t },
            }
        };
        LogitsProcessor::from_sampling(self.seed, sampling)
    }
}

/// Why generation ended (`stop` covers EOS and stop strings; `length` covers `max_tokens` and the
/// context limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    Stop,
    Length,
}

impl FinishReason {
    /// The OpenAI spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stop => "stop",
            Self::Length => "length",
        }
    }
}

/// The finished output of one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// Generated text, stop string excluded.
    pub text: String,
    /// Generated token ids (EOS excluded).
    pub tokens: Vec<u32>,
    pub finish_reason: FinishReason,
    pub prompt_tokens: usize,
    /// The most sequences this one shared a decode step with (itself included).
    pub peak_batch: usize,
}

/// What the worker sends back while a request runs.
#[derive(Debug)]
pub enum Event {
    /// New text (never part of a stop string).
    Delta(String),
    /// The request is finished.
    Done(Completion),
    /// The request failed.
    Failed(String),
}

/// One request as the worker sees it.
pub(crate) struct Job {
    pub prompt: Vec<u32>,
    pub max_tokens: usize,
    pub sampling: SamplingParams,
    pub stop: Vec<String>,
    pub ignore_eos: bool,
    pub events: UnboundedSender<Event>,
}

struct Active {
    job: Job,
    cache: SeqCache,
    sampler: LogitsProcessor,
    tokens: Vec<u32>,
    /// Incremental detokenisation offsets (text is decoded from `prefix..` and diffed).
    prefix: usize,
    read: usize,
    text: String,
    emitted: usize,
    peak_batch: usize,
}

pub(crate) struct Worker {
    pub model: Transformer,
    pub tokenizer: Tokenizer,
    pub eos_ids: Vec<u32>,
    pub max_batch: usize,
    pub max_context: usize,
}

impl Worker {
    /// Serves jobs until every sender is dropped.
    pub(crate) fn run(self, rx: mpsc::Receiver<Job>) {
        let mut waiting: std::collections::VecDeque<Job> = Default::default();
        let mut active: Vec<Active> = Vec::new();
        loop {
            if active.is_empty() && waiting.is_empty() {
                match rx.recv() {
                    Ok(job) => waiting.push_back(job),
                    Err(_) => return,
                }
            }
            while let Ok(job) = rx.try_recv() {
                waiting.push_back(job);
            }
            while active.len() < self.max_batch {
                let Some(job) = waiting.pop_front() else { break };
                if job.events.is_closed() {
                    continue;
                }
                match self.prefill(job) {
                    Ok(Some(a)) => active.push(a),
                    Ok(None) => {}
                    Err((events, e)) => {
                        let _ = events.send(Event::Failed(e.to_string()));
                    }
                }
            }
            if active.is_empty() {
                continue;
            }
            if let Err(e) = self.decode_step(&mut active) {
                for a in active.drain(..) {
                    let _ = a.job.events.send(Event::Failed(e.to_string()));
                }
            }
        }
    }

    /// Prefills a new request and samples its first token; `None` when it already finished.
    #[allow(clippy::result_large_err)]
    fn prefill(&self, job: Job) -> std::result::Result<Option<Active>, (UnboundedSender<Event>, EngineError)> {
        let mut cache = self.model.new_cache();
        // In chunks: each chunk attends only to the keys before its end (half the attention work
        // of one causal pass over the whole prompt) and the attention scores stay small.
        let mut logits = None;
        for chunk in job.prompt.chunks(PREFILL_CHUNK) {
            match self.model.forward(&[chunk], &mut [&mut cache], false) {
                Ok(l) => logits = Some(l),
                Err(e) => return Err((job.events, e)),
            }
        }
        let Some(logits) = logits else {
            return Err((job.events, EngineError::BadRequest("the prompt is empty".into())));
        };
        let sampler = job.sampling.processor();
        let mut a = Active {
            job,
            cache,
            sampler,
            tokens: Vec::new(),
            prefix: 0,
            read: 0,
            text: String::new(),
            emitted: 0,
            peak_batch: 1,
        };
        match self.accept(&mut a, &logits, 0) {
            Ok(true) => Ok(None),
            Ok(false) => Ok(Some(a)),
            Err(e) => Err((a.job.events, e)),
        }
    }

    fn decode_step(&self, active: &mut Vec<Active>) -> Result<()> {
        let last: Vec<[u32; 1]> = active.iter().map(|a| [*a.tokens.last().expect("prefill sampled a token")]).collect();
        let inputs: Vec<&[u32]> = last.iter().map(|t| &t[..]).collect();
        let logits = {
            let mut caches: Vec<&mut SeqCache> = active.iter_mut().map(|a| &mut a.cache).collect();
            self.model.forward(&inputs, &mut caches, false)?
        };
        let batch = active.len();
        for a in active.iter_mut() {
            a.peak_batch = a.peak_batch.max(batch);
        }
        let mut i = 0;
        let mut row = 0;
        while i < active.len() {
            if self.accept(&mut active[i], &logits, row)? {
                active.remove(i);
            } else {
                i += 1;
            }
            row += 1;
        }
        Ok(())
    }

    /// Samples from row `row` of `logits` for `a`, streams new text and reports whether `a` is done
    /// (in which case its final event has been sent).
    fn accept(&self, a: &mut Active, logits: &candle_core::Tensor, row: usize) -> Result<bool> {
        if a.job.events.is_closed() {
            return Ok(true);
        }
        let tok = a.sampler.sample(&logits.get(row)?)?;
        let finish = if !a.job.ignore_eos && self.eos_ids.contains(&tok) {
            Some(FinishReason::Stop)
        } else {
            a.tokens.push(tok);
            self.extend_text(a)?;
            if let Some(cut) = a.job.stop.iter().filter_map(|s| a.text.find(s.as_str())).min() {
                a.text.truncate(cut);
                Some(FinishReason::Stop)
            } else if a.tokens.len() >= a.job.max_tokens || a.cache.len() + 1 >= self.max_context {
                Some(FinishReason::Length)
            } else {
                None
            }
        };
        // Hold back a tail that could still grow into a stop string.
        let safe = if finish.is_some() { a.text.len() } else { a.text.len() - held_back(&a.text, &a.job.stop) };
        if safe > a.emitted {
            let _ = a.job.events.send(Event::Delta(a.text[a.emitted..safe].to_string()));
            a.emitted = safe;
        }
        if let Some(reason) = finish {
            let done = Completion {
                text: std::mem::take(&mut a.text),
                tokens: std::mem::take(&mut a.tokens),
                finish_reason: reason,
                prompt_tokens: a.job.prompt.len(),
                peak_batch: a.peak_batch,
            };
            let _ = a.job.events.send(Event::Done(done));
            return Ok(true);
        }
        Ok(false)
    }

    /// Appends the text of newly generated tokens, waiting while a multi-byte character is incomplete.
    fn extend_text(&self, a: &mut Active) -> Result<()> {
        let before = decode(&self.tokenizer, &a.tokens[a.prefix..a.read])?;
        let now = decode(&self.tokenizer, &a.tokens[a.prefix..])?;
        if now.len() > before.len() && !now.ends_with('\u{FFFD}') && now.is_char_boundary(before.len()) {
            a.text.push_str(&now[before.len()..]);
            a.prefix = a.read;
            a.read = a.tokens.len();
        }
        Ok(())
    }
}

/// Length of the longest suffix of `text` that is a proper prefix of some stop string.
fn held_back(text: &str, stops: &[String]) -> usize {
    let mut best = 0;
    for s in stops {
        for (i, _) in s.char_indices().skip(1) {
            if i > best && text.ends_with(&s[..i]) {
                best = i;
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::held_back;

    #[test]
    fn holds_back_partial_stop_strings() {
        let stops = vec!["</end>".to_string(), "STOP".to_string()];
        assert_eq!(held_back("abc </e", &stops), 3);
        assert_eq!(held_back("abc S", &stops), 1);
        assert_eq!(held_back("abc", &stops), 0);
    }
}
