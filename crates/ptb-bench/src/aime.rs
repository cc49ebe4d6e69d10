//! AIME 2025 as PostTrainBench evaluated it (inspect_evals `aime2025`, scorers.md §3): one zero-shot
//! user message from the `aime2024` solver's template, target `str(answer)`, id the record's `id`, and
//! `ptb_score::aime` (v1 box removal, then the numeric matcher) under the chosen profile.

use std::path::Path;

use ptb_core::BenchmarkSpec;
use ptb_infer::{ChatMessage, ChatResponse};
use ptb_score::{Profile, ScoreError, Scored};
use serde_json::Value;

use crate::task::{BenchError, Sample, Scorer, ScoringInput, field};

/// The user template (§3.1): a line break after "step by step.", no "Reasoning:" suffix, a single
/// backslash before `boxed`, no trailing newline.
const USER_TEMPLATE: &str = "Solve the following math problem step by step.\nThe last line of your response should be of the form \"ANSWER: $ANSWER\" (without quotes) where $ANSWER is the answer to the problem.\n\n{prompt}\n\nRemember to put your answer on its own line at the end in the form \"ANSWER: $ANSWER\" (without quotes) where $ANSWER is the answer to the problem, and you do not need to use a \\boxed command.";

/// Loads the 30 problems (`problem`, `answer`, `id`) from the data dir.
pub fn load(spec: &BenchmarkSpec, data_dir: &Path) -> Result<Vec<Sample>, BenchError> {
    let path = ptb_data::locate(data_dir, "aime2025", spec, "test")?;
    let records = ptb_data::read_records(&path)?;
    records
        .iter()
        .enumerate()
        .map(|(i, record)| {
            let problem = field(record, "problem", &path, i)?;
            let scalar = |key: &str| {
                python_str(record.get(key)).ok_or_else(|| BenchError::BadRecord {
                    file: path.display().to_string(),
                    message: format!("record {} has no string or number field '{key}'", i + 1),
                })
            };
            Ok(Sample {
                id: scalar("id")?,
                messages: vec![ChatMessage::new("user", user_prompt(problem))],
                tools: Vec::new(),
                raw_prompt: None,
                target: scalar("answer")?,
                metadata: Value::Null,
            })
        })
        .collect()
}

/// The user message: the template with the problem inserted verbatim (its braces untouched).
pub fn user_prompt(problem: &str) -> String {
    USER_TEMPLATE.replace("{prompt}", problem)
}

/// Python's `str()` of a JSON string or number (`70` → `"70"`); `None` for anything else.
fn python_str(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// AIME's scorer: `ptb_score::aime::score` (§3.2 under `ptb-v1`, §7.1 under `strict`).
pub struct AimeScorer;

impl Scorer for AimeScorer {
    fn score(&self, profile: Profile, item: ScoringInput<'_>, response: &ChatResponse) -> Result<Scored, ScoreError> {
        ptb_score::aime::score(profile, &response.content, item.target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_prompt_matches_the_aime2024_solver_template() {
        let p = user_prompt("Find $x^{2}$.");
        assert!(p.starts_with("Solve the following math problem step by step.\nThe last line of your response"));
        assert!(p.contains("to the problem.\n\nFind $x^{2}$.\n\nRemember to put"));
        assert!(p.ends_with("you do not need to use a \\boxed command."));
        assert!(!p.contains("Reasoning:"));
    }

    #[test]
    fn targets_are_python_str_of_the_answer() {
        assert_eq!(python_str(Some(&serde_json::json!(70))).as_deref(), Some("70"));
        assert_eq!(python_str(Some(&serde_json::json!("070"))).as_deref(), Some("070"));
        assert_eq!(python_str(Some(&Value::Null)), None);
    }
}
