//! BFCL exec_simple as PostTrainBench evaluated it (inspect_evals `bfcl`, scorers.md §6): the question's
//! messages, the function converted into an OpenAI tool, the ground-truth call as the target, and the
//! tool-call scorer of the chosen profile.
//!
//! The response's calls are the engine's parsed `tool_calls` when it returned any (vLLM with
//! `--tool-call-parser hermes`, as PTB ran it); otherwise the Hermes `<tool_call>{…}</tool_call>`
//! blocks of the text content, parsed as vLLM's hermes parser does. Both profiles use these calls.

use std::collections::HashMap;
use std::path::Path;

use ptb_core::BenchmarkSpec;
use ptb_infer::{ChatMessage, ChatResponse};
use ptb_score::bfcl::RawCall;
use ptb_score::{Profile, ScoreError, Scored};
use serde_json::{Map, Value};

use crate::task::{BenchError, Sample, Scorer, ScoringInput, field};

/// Loads the questions (role `test`) joined on `id` with their ground truths (role `answers`).
pub fn load(spec: &BenchmarkSpec, data_dir: &Path) -> Result<Vec<Sample>, BenchError> {
    let test_path = ptb_data::locate(data_dir, "bfcl", spec, "test")?;
    let answers_path = ptb_data::locate(data_dir, "bfcl", spec, "answers")?;
    let mut truths = HashMap::new();
    for (i, record) in ptb_data::read_records(&answers_path)?.iter().enumerate() {
        let id = field(record, "id", &answers_path, i)?.to_string();
        let truth = single(record, "ground_truth", &answers_path, i)?;
        let Value::String(truth) = truth else {
            return Err(bad(&answers_path, format!("record {} (`{id}`): ground_truth[0] is not a string", i + 1)));
        };
        truths.insert(id, truth.clone());
    }
    ptb_data::read_records(&test_path)?
        .iter()
        .enumerate()
        .map(|(i, record)| {
            let id = field(record, "id", &test_path, i)?;
            let context = |message: String| bad(&test_path, format!("record {} (`{id}`): {message}", i + 1));
            let target = truths
                .get(id)
                .ok_or_else(|| context(format!("no ground truth with this id in {}", answers_path.display())))?;
            ptb_score::bfcl::target(target).map_err(|e| context(e.to_string()))?;
            let Value::Array(turn) = single(record, "question", &test_path, i)? else {
                return Err(context("question[0] is not a list of messages".into()));
            };
            let messages = turn.iter().map(message).collect::<Option<Vec<_>>>();
            let messages = messages.ok_or_else(|| context("a message lacks a string role or content".into()))?;
            let Some(Value::Array(functions)) = record.get("function") else {
                return Err(context("no `function` list".into()));
            };
            let tools = functions
                .iter()
                .map(ptb_score::bfcl::to_openai_tool)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| context(e.to_string()))?;
            Ok(Sample {
                id: id.to_string(),
                messages,
                raw_prompt: None,
                tools,
                target: target.clone(),
                metadata: serde_json::json!({ "functions": functions }),
            })
        })
        .collect()
}

/// The only element of a one-element list field (the original asserts one question and one answer).
fn single<'a>(record: &'a Map<String, Value>, key: &str, file: &Path, index: usize) -> Result<&'a Value, BenchError> {
    match record.get(key) {
        Some(Value::Array(items)) if items.len() == 1 => Ok(&items[0]),
        _ => Err(bad(file, format!("record {}: `{key}` must be a list of exactly one element", index + 1))),
    }
}

fn bad(file: &Path, message: String) -> BenchError {
    BenchError::BadRecord { file: file.display().to_string(), message }
}

fn message(m: &Value) -> Option<ChatMessage> {
    Some(ChatMessage::new(m.get("role")?.as_str()?, m.get("content")?.as_str()?))
}

/// BFCL's scorer: the tool calls of the response against the ground-truth call.
pub struct BfclScorer;

impl Scorer for BfclScorer {
    fn score(&self, profile: Profile, item: ScoringInput<'_>, response: &ChatResponse) -> Result<Scored, ScoreError> {
        let engine_calls = response
            .tool_calls
            .iter()
            .map(|c| RawCall { name: c.function.name.clone(), arguments: c.function.arguments.clone() })
            .collect();
        let calls = ptb_score::bfcl::response_calls(engine_calls, &response.content);
        let functions = item.metadata.get("functions").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        Ok(ptb_score::bfcl::score(profile, item.target, functions, &calls, &response.content)?)
    }

    fn original_metrics(&self) -> &'static [&'static str] {
        // inspect_evals' `@scorer([accuracy()])`: no stderr (scorers.md §1.3, BFCL-5).
        &["accuracy"]
    }
}
