//! The benchmark interface and the loader that picks an implementation by registry id.

use std::path::Path;

use ptb_core::Registry;
use ptb_infer::{ChatMessage, ChatResponse};
use ptb_score::{Profile, ScoreError, Scored};
use serde::{Deserialize, Serialize};

/// Errors while preparing or running an evaluation.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Registry(#[from] ptb_core::RegistryError),
    #[error(transparent)]
    Data(#[from] ptb_data::DataError),
    #[error("{file}: {message}")]
    BadRecord { file: String, message: String },
    #[error("benchmark '{0}' is in the registry but `ptb eval` does not implement it yet")]
    NotImplemented(String),
    /// Few-shot prompts were asked for a benchmark without a shot source outside its test set.
    #[error(
        "{0}: no few-shot prompts: ptb has no non-test split of {0} to draw shots from (few-shot prompts exist for: {shots})",
        shots = FEW_SHOT_BENCHMARKS.join(", ")
    )]
    NoFewShot(String),
    #[error("item {id}: {source}")]
    Inference { id: String, source: ptb_infer::InferError },
    #[error("item {id} could not be scored: {source}")]
    Score { id: String, source: ScoreError },
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    /// Too many judgements of an LLM-judged benchmark failed; nothing was scored.
    #[error(
        "{benchmark}: {failures} of {total} judgements failed after retries, more than --judge-max-failure-rate {max_rate} allows (e.g. {example}); check the judge endpoint, model and key, then rerun"
    )]
    JudgeFailures { benchmark: String, failures: usize, total: usize, max_rate: f64, example: String },
    /// The sandbox that runs model-written code is unavailable (e.g. no bubblewrap).
    #[error(transparent)]
    Sandbox(#[from] ptb_sandbox::SandboxError),
    /// Something a benchmark needs on this machine is missing; the message says what to do.
    #[error("{0}")]
    Setup(String),
}

/// One evaluation item: what is sent to the model and what the answer is scored against.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Stable id (the original's sample id where it had one).
    pub id: String,
    pub messages: Vec<ChatMessage>,
    /// A raw completion prompt sent instead of `messages`, with no chat template (few-shot prompts of
    /// base models); `None` for chat prompts.
    pub raw_prompt: Option<RawPrompt>,
    /// Tool definitions sent with the request (BFCL); empty otherwise.
    pub tools: Vec<serde_json::Value>,
    /// The reference answer, as text.
    pub target: String,
    /// What else the scorer needs (e.g. HumanEval's tests and entry point); `null` when nothing.
    /// Recorded in `samples.jsonl`, so recorded answers can be re-scored without the dataset.
    pub metadata: serde_json::Value,
}

/// A prompt continued as plain text by a completions endpoint, without any chat template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawPrompt {
    pub text: String,
    /// Where generation stops (e.g. where the next few-shot example would begin).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
}

/// Benchmarks with few-shot prompts ([`LoadOptions::few_shot`]): those whose shots come from a split
/// other than the evaluated one. GSM8K draws its ten fixed shots from the train split.
pub const FEW_SHOT_BENCHMARKS: &[&str] = &["gsm8k"];

/// `Ok` when every benchmark of `ids` has few-shot prompts, else [`BenchError::NoFewShot`] naming those
/// without: a check before any model is loaded.
pub fn check_few_shot(ids: &[&str]) -> Result<(), BenchError> {
    let without: Vec<&str> = ids.iter().copied().filter(|id| !FEW_SHOT_BENCHMARKS.contains(id)).collect();
    if without.is_empty() { Ok(()) } else { Err(BenchError::NoFewShot(without.join(", "))) }
}

/// Sampling temperature of few-shot prompting (the paper's base-model few-shot baseline, Table 6).
pub const FEW_SHOT_TEMPERATURE: f64 = 0.6;

/// Nucleus-sampling top-p of few-shot prompting (the paper's Table 6).
pub const FEW_SHOT_TOP_P: f64 = 0.95;

/// What a scorer is given about the item it scores.
#[derive(Debug, Clone, Copy)]
pub struct ScoringInput<'a> {
    pub id: &'a str,
    pub target: &'a str,
    pub metadata: &'a serde_json::Value,
}

/// A benchmark's scorer: turns a response and the target into a verdict under a profile.
pub trait Scorer: Send + Sync {
    /// Scores one response. An `Err` is a sample error, never a verdict.
    fn score(&self, profile: Profile, item: ScoringInput<'_>, response: &ChatResponse) -> Result<Scored, ScoreError>;

    /// The metrics the original scorer declared: the top-level keys of its `metrics.json` for the
    /// `ptb-v1` profile (scorers.md §1.3). Both profiles keep every metric under `ptb.profiles`.
    fn original_metrics(&self) -> &'static [&'static str] {
        &["accuracy", "stderr"]
    }
}

/// A benchmark's items, in dataset order (`--limit N` takes the first N).
#[derive(Debug, Clone)]
pub struct Benchmark {
    /// The registry id (`gsm8k`, …).
    pub id: String,
    pub samples: Vec<Sample>,
}

impl Benchmark {
    /// The first `limit` items (all when `None`).
    pub fn selected(&self, limit: Option<usize>) -> &[Sample] {
        &self.samples[..limit.unwrap_or(self.samples.len()).min(self.samples.len())]
    }
}

/// Choices that shape the items themselves (not which data is read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// Seed of GPQA's choice shuffle (Python `random.Random(seed)` walking the items in order).
    pub choice_seed: u64,
    /// Few-shot prompts for base models: each item as a [`RawPrompt`] (shots, then the item; no chat
    /// template). Only the [`FEW_SHOT_BENCHMARKS`] have them; others fail with
    /// [`BenchError::NoFewShot`] rather than fall back to zero-shot.
    pub few_shot: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self { choice_seed: crate::gpqa::DEFAULT_CHOICE_SEED, few_shot: false }
    }
}

/// Loads the items of benchmark `id` from the data dir, with the default [`LoadOptions`].
pub fn load_benchmark(id: &str, registry: &Registry, data_dir: &Path) -> Result<Benchmark, BenchError> {
    load_benchmark_with(id, registry, data_dir, &LoadOptions::default())
}

/// Loads the items of benchmark `id` from the data dir.
pub fn load_benchmark_with(
    id: &str,
    registry: &Registry,
    data_dir: &Path,
    options: &LoadOptions,
) -> Result<Benchmark, BenchError> {
    let spec = registry.benchmark(id)?;
    if options.few_shot {
        let samples = match id {
            "gsm8k" => crate::gsm8k::load_few_shot(spec, data_dir)?,
            _ => return Err(BenchError::NoFewShot(id.to_string())),
        };
        return Ok(Benchmark { id: id.to_string(), samples });
    }
    let samples = match id {
        "gsm8k" => crate::gsm8k::load(spec, data_dir)?,
        "bfcl" => crate::bfcl::load(spec, data_dir)?,
        "arenahardwriting" => crate::arenahard::load(spec, data_dir)?,
        "healthbench" => crate::healthbench::load(spec, data_dir)?,
        "aime2025" => crate::aime::load(spec, data_dir)?,
        "gpqamain" => crate::gpqa::load(spec, data_dir, options.choice_seed)?,
        "humaneval" => crate::humaneval::load(spec, data_dir)?,
        _ => return Err(BenchError::NotImplemented(id.to_string())),
    };
    Ok(Benchmark { id: id.to_string(), samples })
}

/// The scorer of benchmark `id` (no data needed: targets travel with the samples).
pub fn scorer(id: &str, registry: &Registry) -> Result<Box<dyn Scorer>, BenchError> {
    registry.benchmark(id)?;
    match id {
        "gsm8k" => Ok(Box::new(crate::gsm8k::Gsm8kScorer)),
        "bfcl" => Ok(Box::new(crate::bfcl::BfclScorer)),
        "aime2025" => Ok(Box::new(crate::aime::AimeScorer)),
        "gpqamain" => Ok(Box::new(crate::gpqa::GpqaScorer)),
        "humaneval" => Ok(Box::new(crate::humaneval::HumanEvalScorer::new()?)),
        _ => Err(BenchError::NotImplemented(id.to_string())),
    }
}

/// Reads a required string field of a dataset record.
pub(crate) fn field<'a>(
    record: &'a serde_json::Map<String, serde_json::Value>,
    key: &str,
    file: &Path,
    index: usize,
) -> Result<&'a str, BenchError> {
    record.get(key).and_then(|v| v.as_str()).ok_or_else(|| BenchError::BadRecord {
        file: file.display().to_string(),
        message: format!("record {} has no string field '{key}'", index + 1),
    })
}
