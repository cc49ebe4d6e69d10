//! Exact-match scoring for GSM8K, AIME, GPQA and HumanEval: pure functions, no I/O.
//!
//! Two profiles (see `shared/reference/scorers.md`): [`Profile::PtbV1`] reproduces inspect-ai's
//! published `match(numeric=True)` verdicts, quirks included; [`Profile::Strict`] applies the
//! corrections of §7.1. Where the Python scorer raised an exception, the v1 port returns a
//! [`ScoreError`] (a sample error), never a verdict.

use serde::{Deserialize, Serialize};

pub mod aime;
pub mod bfcl;
pub mod gpqa;
pub mod gsm8k;
pub mod humaneval;
pub mod metrics;
pub mod numeric;
pub mod py;
mod strict;
mod v1;

/// Per-sample verdict: correct, incorrect, or no extractable answer (strict only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// Correct (counts 1).
    C,
    /// Incorrect (counts 0).
    I,
    /// No answer could be extracted (counts 0; reported separately by `strict`).
    N,
}

impl Verdict {
    /// The metric value: 1.0 for `C`, 0.0 for `I` and `N`.
    pub fn value(self) -> f64 {
        match self {
            Verdict::C => 1.0,
            Verdict::I | Verdict::N => 0.0,
        }
    }
}

/// Scoring profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Profile {
    /// Bit-for-bit the published inspect-ai scorer (scorers.md §1.4).
    #[serde(rename = "ptb-v1")]
    PtbV1,
    /// The corrected profile of scorers.md §7.1.
    #[serde(rename = "strict")]
    Strict,
}

/// A verdict plus the answer that was compared, for `samples.jsonl`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scored {
    /// The verdict.
    pub verdict: Verdict,
    /// What was compared against the target (v1: inspect's `answer`; strict: the picked literal).
    pub extracted: Option<String>,
}

/// A sample that could not be scored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScoreError {
    /// ptb-v1: inspect's number parsing raised on this token, so the published run had a sample error.
    #[error("ptb-v1 number parsing raised on {token:?}: {reason}")]
    V1Parse {
        /// The token (or target) being parsed.
        token: String,
        /// What Python raised.
        reason: &'static str,
    },
    /// BFCL: the ground truth or the sample's metadata cannot be used.
    #[error(transparent)]
    Bfcl(#[from] bfcl::BfclError),
    /// The sample's metadata lacks a field the scorer needs (HumanEval's `prompt`, `test`, `entry_point`).
    #[error("the sample's metadata has no string field '{field}' (samples.jsonl written by `ptb eval` records it)")]
    MissingMetadata {
        /// The missing field.
        field: &'static str,
    },
    /// The answer could not be executed (the sandbox failed): an infrastructure error, never a verdict.
    #[error("could not execute the answer: {message}")]
    Execution {
        /// What failed.
        message: String,
    },
    /// strict: the target is not a single number literal.
    #[error("target {target:?} is not a number")]
    InvalidTarget {
        /// The offending target.
        target: String,
    },
}
