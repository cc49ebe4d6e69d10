//! GSM8K as PostTrainBench evaluated it (inspect_evals `gsm8k`, scorers.md §2): ten fixed few-shot
//! train examples in the system message, the `ANSWER: $ANSWER` user template ending in "Reasoning:",
//! the target after `####`, and the numeric matcher of the chosen scoring profile. [`load_few_shot`]
//! gives the same shots to base models as one raw completion prompt (the few-shot baseline).

use std::path::Path;

use md5::{Digest, Md5};
use ptb_core::BenchmarkSpec;
use ptb_infer::{ChatMessage, ChatResponse};
use ptb_score::{Profile, ScoreError, Scored};

use crate::task::{BenchError, RawPrompt, Sample, Scorer, ScoringInput, field};

/// Row indices (0-based, in `train.jsonl` order) of the few-shot examples: the first ten rows of
/// `datasets.Dataset.shuffle(seed=42)` over the 7473 train rows (scorers.md §2.1).
pub const FEW_SHOT_TRAIN_ROWS: [usize; 10] = [3082, 2184, 5897, 2437, 6330, 819, 3812, 5878, 5302, 5876];

const USER_TEMPLATE: &str = "Solve the following math problem step by step. The last line of your response should be of the form \"ANSWER: $ANSWER\" (without quotes) where $ANSWER is the answer to the problem.\n\n{prompt}\n\nRemember to put your answer on its own line at the end in the form \"ANSWER: $ANSWER\" (without quotes) where $ANSWER is the answer to the problem, and you do not need to use a \\boxed command.\n\nReasoning:";

/// Opens every example of a few-shot prompt; a base model that has answered starts the next example
/// with it, so generation stops there.
const QUESTION: &str = "Question:";

/// Loads the test split with its prompts (few-shot rows from the train split) from the data dir.
pub fn load(spec: &BenchmarkSpec, data_dir: &Path) -> Result<Vec<Sample>, BenchError> {
    let Data { shots, items } = read(spec, data_dir)?;
    let system = shots.join("\n\n");
    Ok(items
        .into_iter()
        .map(|(question, target)| {
            let messages =
                vec![ChatMessage::new("system", system.clone()), ChatMessage::new("user", user_prompt(&question))];
            sample(&question, target, messages, None)
        })
        .collect())
}

/// Loads the test split as raw completion prompts for base models without a chat template: the ten
/// shots of [`load`], each as `Question: {question}\n\nReasoning:\n{reasoning}\n\nANSWER: {target}`,
/// then `Question: {question}\n\nReasoning:`; generation stops where a next `Question:` would begin.
pub fn load_few_shot(spec: &BenchmarkSpec, data_dir: &Path) -> Result<Vec<Sample>, BenchError> {
    let Data { shots, items } = read(spec, data_dir)?;
    let head: String = shots.iter().map(|shot| format!("{QUESTION} {shot}\n\n")).collect();
    Ok(items
        .into_iter()
        .map(|(question, target)| {
            let text = format!("{head}{QUESTION} {question}\n\nReasoning:");
            sample(&question, target, Vec::new(), Some(RawPrompt { text, stop: vec![QUESTION.into()] }))
        })
        .collect())
}

fn sample(question: &str, target: String, messages: Vec<ChatMessage>, raw_prompt: Option<RawPrompt>) -> Sample {
    Sample {
        id: sample_id(question),
        messages,
        raw_prompt,
        tools: Vec::new(),
        target,
        metadata: serde_json::Value::Null,
    }
}

/// What GSM8K's prompts are made of.
struct Data {
    /// The ten few-shot examples (train rows [`FEW_SHOT_TRAIN_ROWS`]), formatted.
    shots: Vec<String>,
    /// The test items as (question, target).
    items: Vec<(String, String)>,
}

fn read(spec: &BenchmarkSpec, data_dir: &Path) -> Result<Data, BenchError> {
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
    let test = ptb_data::read_records(&test_path)?;
    let items = test
        .iter()
        .enumerate()
        .map(|(i, record)| {
            let question = field(record, "question", &test_path, i)?;
            let answer = field(record, "answer", &test_path, i)?;
            Ok((question.to_string(), ptb_score::gsm8k::target_from_answer(answer)))
        })
        .collect::<Result<Vec<_>, BenchError>>()?;
    Ok(Data { shots, items })
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
