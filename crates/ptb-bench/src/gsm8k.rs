//! GSM8K as PostTrainBench evaluated it (inspect_evals `gsm8k`, scorers.md §2): ten fixed few-shot
//! train examples in the system message, the `ANSWER: $ANSWER` user template ending in "Reasoning:",
//! the target after `####`, and the numeric matcher of the chosen scoring profile.

use std::path::Path;

use md5::{Digest, Md5};
use ptb_core::BenchmarkSpec;
use ptb_infer::{ChatMessage, ChatResponse};
use ptb_score::{Profile, ScoreError, Scored};

use crate::task::{BenchError, Sample, Scorer, ScoringInput, field};

/// Row indices (0-based, in `train.jsonl` order) of the few-shot examples: the first ten rows of
/// `datasets.Dataset.shuffle(seed=42)` over the 7473 train rows (scorers.md §2.1).
pub const FEW_SHOT_TRAIN_ROWS: [usize; 10] = [3082, 2184, 5897, 2437, 6330, 819, 3812, 5878, 5302, 5876];

const USER_TEMPLATE: &str = "Solve the following math problem step by step. The last line of your response should be of the form \"ANSWER: $ANSWER\" (without quotes) where $ANSWER is the answer to the problem.\n\n{prompt}\n\nRemember to put your answer on its own line at the end in the form \"ANSWER: $ANSWER\" (without quotes) where $ANSWER is the answer to the problem, and you do not need to use a \\boxed command.\n\nReasoning:";

/// Loads the test split with its prompts (few-shot rows from the train split) from the data dir.
pub fn load(spec: &BenchmarkSpec, data_dir: &Path) -> Result<Vec<Sample>, BenchError> {
    let train_path = ptb_data::locate(data_dir, "gsm8k", spec, "train")?;
    let test_path = ptb_data::locate(data_dir, "gsm8k", spec, "test")?;
    let train = ptb_data::read_records(&train_path)?;
    let mut shots = Vec::with_capacity(FEW_SHOT_TRAIN_ROWS.len());
    for &row in &FEW_SHOT_TRAIN_ROWS {
        let record = train.get(row).ok_or_else(|| BenchError::BadRecord {
            file: train_path.display().to_string(),
            message: format!("has {} rows; the few-shot examples need row {}", train.len(), row + 1),
        })?;
        let question = field(record, "question", &train_path, row)?;
        let answer = field(record, "answer", &train_path, row)?;
        shots.push(few_shot_example(question, answer));
    }
    let system = shots.join("\n\n");
    let test = ptb_data::read_records(&test_path)?;
    test.iter()
        .enumerate()
        .map(|(i, record)| {
            let question = field(record, "question", &test_path, i)?;
            let answer = field(record, "answer", &test_path, i)?;
            Ok(Sample {
                id: sample_id(question),
                messages: vec![
                    ChatMessage::new("system", system.clone()),
                    ChatMessage::new("user", user_prompt(question)),
                ],
                tools: Vec::new(),
                target: ptb_score::gsm8k::target_from_answer(answer),
                metadata: serde_json::Value::Null,
            })
        })
        .collect::<Result<Vec<_>, BenchError>>()
}

/// GSM8K's scorer: the shared numeric matcher of the chosen profile.
pub struct Gsm8kScorer;

impl Scorer for Gsm8kScorer {
    fn score(&self, profile: Profile, item: ScoringInput<'_>, response: &ChatResponse) -> Result<Scored, ScoreError> {
        ptb_score::gsm8k::score(profile, &response.content, item.target)
    }
}

/// `{question}\n\nReasoning:\n{reasoning}\n\nANSWER: {target}`, reasoning being the answer before `####`.
fn few_shot_example(question: &str, answer: &str) -> String {
    let reasoning = answer.rsplit_once("####").map(|(r, _)| r).unwrap_or(answer).trim();
    let target = ptb_score::gsm8k::target_from_answer(answer);
    format!("{question}\n\nReasoning:\n{reasoning}\n\nANSWER: {target}")
}

/// The user message: the template with the question inserted verbatim.
pub fn user_prompt(question: &str) -> String {
    USER_TEMPLATE.replace("{prompt}", question)
}

/// `gsm8k_` + the first 8 hex digits of the MD5 of the question, as inspect_evals names samples.
fn sample_id(question: &str) -> String {
    let digest = Md5::digest(question.as_bytes());
    format!("gsm8k_{}", &hex::encode(digest)[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_shot_example_keeps_calculator_annotations() {
        let ex = few_shot_example("Q?", "Half is <<48/2=24>>24.\n#### 24");
        assert_eq!(ex, "Q?\n\nReasoning:\nHalf is <<48/2=24>>24.\n\nANSWER: 24");
    }

    #[test]
    fn user_prompt_ends_with_reasoning_and_single_backslash() {
        let p = user_prompt("What is 2+2?");
        assert!(p.ends_with("command.\n\nReasoning:"));
        assert!(p.contains("\n\nWhat is 2+2?\n\n"));
        assert!(p.contains(" \\boxed command"));
        assert!(!p.contains("\\\\boxed"));
    }

    #[test]
    fn sample_ids_are_md5_prefixes() {
        // md5("") = d41d8cd98f00b204e9800998ecf8427e
        assert_eq!(sample_id(""), "gsm8k_d41d8cd9");
    }
}
