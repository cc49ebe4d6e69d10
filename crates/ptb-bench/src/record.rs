//! The evaluation record: one [`SampleRecord`] per item in `samples.jsonl` and the aggregate
//! [`EvalMetrics`] in `metrics.json` (the original's flat `accuracy`/`stderr` keys for the `ptb-v1`
//! profile, plus both profiles and run facts under `ptb`).

use std::io::{BufRead, Write};
use std::path::Path;

use ptb_infer::{ChatMessage, ToolCall};
use ptb_score::{Profile, Verdict};
use serde::{Deserialize, Serialize};

use crate::task::{BenchError, RawPrompt};

/// The verdict of one profile for one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileVerdict {
    pub verdict: Verdict,
    pub score: f64,
    /// The answer the scorer extracted and compared, when there was one.
    pub extracted: Option<String>,
}

/// One scored item, as written to `samples.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleRecord {
    pub id: String,
    /// The messages sent (the prompt before the engine's chat template).
    #[serde(default)]
    pub messages: Vec<ChatMessage>,
    /// The raw completion prompt sent instead of messages, with no chat template (few-shot prompts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_prompt: Option<RawPrompt>,
    pub completion: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    pub target: String,
    /// Scoring context beyond the target (see [`crate::Sample::metadata`]).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub metadata: serde_json::Value,
    /// The `ptb-v1` verdict (the published scorer's).
    pub score: f64,
    pub verdict: Verdict,
    pub extracted: Option<String>,
    /// The `strict` profile's verdict.
    pub strict: ProfileVerdict,
    /// True when `ptb-v1` and `strict` disagree on this item.
    pub verdicts_differ: bool,
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub latency_ms: u64,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// Aggregate metrics of one profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileMetrics {
    pub accuracy: f64,
    pub stderr: f64,
    pub correct: usize,
    /// Items with no extractable answer (`N`; only `strict` emits it).
    pub no_answer: usize,
}

impl ProfileMetrics {
    /// Metrics over the verdicts of one profile.
    pub fn from_verdicts(verdicts: impl Iterator<Item = Verdict>) -> Self {
        let verdicts: Vec<Verdict> = verdicts.collect();
        let values: Vec<f64> = verdicts.iter().map(|v| v.value()).collect();
        Self {
            accuracy: ptb_score::metrics::accuracy(&values),
            stderr: ptb_score::metrics::stderr(&values),
            correct: verdicts.iter().filter(|v| **v == Verdict::C).count(),
            no_answer: verdicts.iter().filter(|v| **v == Verdict::N).count(),
        }
    }
}

/// Facts about the evaluation, recorded beside the scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalFacts {
    pub benchmark: String,
    pub n_samples: usize,
    /// `--limit`, when the evaluation did not cover the whole set.
    pub limit: Option<usize>,
    pub max_tokens: Option<u32>,
    pub seed: Option<u64>,
    /// Sampling temperature and top-p sent with every request (`None`: the model's own settings).
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub top_p: Option<f64>,
    /// The engine, or `responses:<file>` for a re-score.
    pub engine: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub wall_seconds: f64,
    pub ptb_version: String,
}

/// `metrics.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalMetrics {
    /// `ptb-v1` accuracy (the original's key).
    pub accuracy: f64,
    /// `ptb-v1` stderr (the original's key), absent where the original scorer declared no stderr.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<f64>,
    pub ptb: PtbSection,
}

/// The ptb-specific part of `metrics.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PtbSection {
    pub profiles: ProfilesMetrics,
    /// Items on which the two profiles disagree.
    pub verdicts_differ: usize,
    pub facts: EvalFacts,
}

/// Metrics of both profiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfilesMetrics {
    #[serde(rename = "ptb-v1")]
    pub ptb_v1: ProfileMetrics,
    pub strict: ProfileMetrics,
}

impl EvalMetrics {
    /// Aggregates scored records.
    pub fn from_records(records: &[SampleRecord], facts: EvalFacts) -> Self {
        let v1 = ProfileMetrics::from_verdicts(records.iter().map(|r| r.verdict));
        let strict = ProfileMetrics::from_verdicts(records.iter().map(|r| r.strict.verdict));
        Self {
            accuracy: v1.accuracy,
            stderr: Some(v1.stderr),
            ptb: PtbSection {
                profiles: ProfilesMetrics { ptb_v1: v1, strict },
                verdicts_differ: records.iter().filter(|r| r.verdicts_differ).count(),
                facts,
            },
        }
    }

    /// Keeps only the top-level metric keys the original scorer declared (see
    /// [`crate::Scorer::original_metrics`]); `accuracy` is declared by every benchmark.
    pub fn with_original_metrics(mut self, keys: &[&str]) -> Self {
        if !keys.contains(&"stderr") {
            self.stderr = None;
        }
        self
    }

    /// The metrics of one profile.
    pub fn profile(&self, profile: Profile) -> &ProfileMetrics {
        match profile {
            Profile::PtbV1 => &self.ptb.profiles.ptb_v1,
            Profile::Strict => &self.ptb.profiles.strict,
        }
    }
}

/// Reads recorded samples (`samples.jsonl` of an earlier evaluation) for re-scoring.
/// Only `id`, `completion`, `target` and (for tool-calling benchmarks) `tool_calls` are needed.
pub fn read_sample_records(path: &Path) -> Result<Vec<RecordedResponse>, BenchError> {
    let file = std::fs::File::open(path).map_err(|source| io_error(path, source))?;
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|source| io_error(path, source))?;
        if line.trim().is_empty() {
            continue;
        }
        let rec: RecordedResponse = serde_json::from_str(&line).map_err(|e| BenchError::BadRecord {
            file: format!("{}:{}", path.display(), i + 1),
            message: format!("not a recorded sample ({e}); each line needs id, completion and target"),
        })?;
        out.push(rec);
    }
    Ok(out)
}

/// The part of a recorded sample that re-scoring needs.
#[derive(Debug, Clone, Deserialize)]
pub struct RecordedResponse {
    pub id: String,
    pub completion: String,
    pub target: String,
    #[serde(default)]
    pub metadata: serde_json::Value,
    #[serde(default)]
    pub messages: Vec<ChatMessage>,
    #[serde(default)]
    pub raw_prompt: Option<RawPrompt>,
    #[serde(default)]
    pub tool_calls: Vec<ToolCall>,
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub latency_ms: u64,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// Writes `samples.jsonl` and then `metrics.json` into `out_dir`, each atomically; metrics last, so a
/// directory with `metrics.json` always has its complete samples.
pub fn write_outputs<R: Serialize, M: Serialize>(out_dir: &Path, records: &[R], metrics: &M) -> Result<(), BenchError> {
    let mut buf = Vec::new();
    for r in records {
        serde_json::to_writer(&mut buf, r).expect("records serialise");
        buf.write_all(b"\n").expect("vec write");
    }
    let samples = out_dir.join("samples.jsonl");
    ptb_core::fsutil::atomic_write(&samples, &buf).map_err(|source| io_error(&samples, source))?;
    let metrics_path = out_dir.join("metrics.json");
    ptb_core::fsutil::atomic_write_json(&metrics_path, metrics).map_err(|source| io_error(&metrics_path, source))
}

fn io_error(path: &Path, source: std::io::Error) -> BenchError {
    BenchError::Io { path: path.display().to_string(), source }
}
