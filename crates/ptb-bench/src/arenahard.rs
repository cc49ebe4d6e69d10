//! Arena-Hard-v2.0 Writing as PostTrainBench scores it (spec §7.8): the 250 creative-writing prompts
//! in `random.Random(42)` order, one user message each; the answer after a closed think block, with
//! repetitions limited; two judge games per prompt against the Qwen3-1.7B baseline (baseline as A,
//! then as B) with the Arena-Hard creative-writing judge prompt; labels weighted 3 for
//! "significantly"; `accuracy` = mean of the flattened per-game scores, `stderr` = sample std / √n.

use std::collections::HashMap;
use std::path::Path;
use std::sync::LazyLock;

use ptb_core::BenchmarkSpec;
use ptb_infer::ChatMessage;
use regex::Regex;
use serde_json::{Value, json};

use crate::judged::{Aggregate, JudgeParams, JudgedItem, JudgedTask};
use crate::pyrandom::PyRandom;
use crate::repetition::{MAX_REPETITIONS, limit_repetitions, py_strip};
use crate::task::{BenchError, Sample, field};

/// The baseline model of the `creative_writing` category.
pub const BASELINE_MODEL: &str = "Qwen3-1.7B";

/// Arena-Hard-v2.0's judge system prompt for `creative_writing` (`GENERAL_ARENA_HARD_PROMPT` of
/// arena-hard-auto's `utils/judge_utils.py`).
pub const SYSTEM_PROMPT: &str = "Please act as an impartial judge and evaluate the quality of the responses provided by two AI assistants to the user prompt displayed below. You will be given assistant A's answer and assistant B's answer. Your job is to evaluate which assistant's answer is better.\n\nWhen evaluating the assistants' answers, compare both assistants' answers. You must identify and correct any mistakes or inaccurate information.\n\nThen consider if the assistant's answers are helpful, relevant, and concise. Helpful means the answer correctly responds to the prompt or follows the instructions. Note when user prompt has any ambiguity or more than one interpretation, it is more helpful and appropriate to ask for clarifications or more information from the user than providing an answer based on assumptions. Relevant means all parts of the response closely connect or are appropriate to what is being asked. Concise means the response is clear and not verbose or excessive.\n\nThen consider the creativity and novelty of the assistant's answers when needed. Finally, identify any missing important information in the assistants' answers that would be beneficial to include when responding to the user prompt.\n\nAfter providing your explanation, you must output only one of the following choices as your final verdict with a label:\n\n1. Assistant A is significantly better: [[A>>B]]\n2. Assistant A is slightly better: [[A>B]]\n3. Tie, relatively the same: [[A=B]]\n4. Assistant B is slightly better: [[B>A]]\n5. Assistant B is significantly better: [[B>>A]]\n\nExample output: \"My final verdict is tie: [[A=B]]\".";

/// The original's `JUDGE_MAX_COMPLETION` and `REASONING_EFFORT`.
const JUDGE_MAX_COMPLETION: u32 = 49152;
const REASONING_EFFORT: &str = "medium";

/// Weight of a "significantly better" label.
const WEIGHT: usize = 3;

static LABEL_PATTERNS: LazyLock<[Regex; 2]> = LazyLock::new(|| {
    [Regex::new(r"\[\[([AB<>=]+)\]\]").expect("valid regex"), Regex::new(r"\[([AB<>=]+)\]").expect("valid regex")]
});

/// Loads the questions in `random.Random(42).shuffle` order with their baseline answers in metadata.
pub fn load(spec: &BenchmarkSpec, data_dir: &Path) -> Result<Vec<Sample>, BenchError> {
    let questions_path = ptb_data::locate(data_dir, "arenahardwriting", spec, "test")?;
    let baseline_path = ptb_data::locate(data_dir, "arenahardwriting", spec, "baseline")?;
    let mut baseline: HashMap<String, String> = HashMap::new();
    for (i, record) in ptb_data::read_records(&baseline_path)?.iter().enumerate() {
        let uid = field(record, "uid", &baseline_path, i)?;
        let answer = record
            .get("messages")
            .and_then(Value::as_array)
            .and_then(|m| m.last())
            .and_then(|m| m.pointer("/content/answer"))
            .and_then(Value::as_str)
            .ok_or_else(|| BenchError::BadRecord {
                file: baseline_path.display().to_string(),
                message: format!("record {} has no messages[-1].content.answer string", i + 1),
            })?;
        baseline.insert(uid.to_string(), answer.to_string());
    }
    let mut samples = ptb_data::read_records(&questions_path)?
        .iter()
        .enumerate()
        .map(|(i, record)| {
            let uid = field(record, "uid", &questions_path, i)?;
            let prompt = field(record, "prompt", &questions_path, i)?;
            let category = field(record, "category", &questions_path, i)?;
            Ok(Sample {
                id: uid.to_string(),
                messages: vec![ChatMessage::new("user", prompt)],
                tools: Vec::new(),
                raw_prompt: None,
                target: String::new(),
                metadata: json!({
                    "category": category,
                    "baseline_model": BASELINE_MODEL,
                    "baseline_answer": baseline.get(uid),
                }),
            })
        })
        .collect::<Result<Vec<_>, BenchError>>()?;
    PyRandom::new(42).shuffle(&mut samples);
    Ok(samples)
}

/// ArenaHard-Writing's judged task.
pub struct ArenaHardWriting;

/// The judge's user message for one game: `prompt_template` of `config/arena-hard-v2.0.yaml`, filled
/// in one pass (as `str.format` does, so braces inside answers are never substituted).
pub fn judge_user_prompt(question: &str, answer_a: &str, answer_b: &str) -> String {
    format!(
        "<|User Prompt|>\n{question}\n\n<|The Start of Assistant A's Answer|>\n{answer_a}\n<|The End of Assistant A's Answer|>\n\n<|The Start of Assistant B's Answer|>\n{answer_b}\n<|The End of Assistant B's Answer|>"
    )
}

/// The last `[[label]]` (else `[label]`) in the upper-cased judgement, as `get_score` finds it.
pub fn extract_label(judgement: &str) -> Option<String> {
    let upper = judgement.to_uppercase();
    LABEL_PATTERNS.iter().find_map(|re| re.captures_iter(&upper).last().map(|c| c[1].to_string()))
}

/// The scores a label gives player A (weight 3 for "significantly"); `None` for an unknown label.
pub fn label_scores(label: &str) -> Option<Vec<f64>> {
    let (value, n) = match label {
        "A>B" | "B<A" => (1.0, 1),
        "A>>B" | "B<<A" => (1.0, WEIGHT),
        "A=B" | "B=A" => (0.5, 1),
        "A<B" | "B>A" => (0.0, 1),
        "A<<B" | "B>>A" => (0.0, WEIGHT),
        _ => return None,
    };
    Some(vec![value; n])
}

/// The answer the judge sees: stripped; after the first `</think>` when it starts with `<think>` and
/// closes it; repetitions limited.
pub fn clean(raw: &str) -> String {
    let mut answer = py_strip(raw);
    if answer.starts_with("<think>")
        && let Some((_, after)) = answer.split_once("</think>")
    {
        answer = py_strip(after);
    }
    limit_repetitions(answer, MAX_REPETITIONS)
}

impl JudgedTask for ArenaHardWriting {
    fn clean_answer(&self, raw: &str) -> String {
        clean(raw)
    }

    fn judge_prompts(&self, sample: &Sample, answer: &str) -> Vec<Vec<ChatMessage>> {
        let Some(baseline) = sample.metadata.get("baseline_answer").and_then(Value::as_str) else {
            return Vec::new();
        };
        let question = sample.messages.first().map_or("", |m| m.content.as_str());
        let game = |a: &str, b: &str| {
            vec![ChatMessage::new("system", SYSTEM_PROMPT), ChatMessage::new("user", judge_user_prompt(question, a, b))]
        };
        vec![game(baseline, answer), game(answer, baseline)]
    }

    fn judge_params(&self, _judge_model: &str) -> JudgeParams {
        JudgeParams {
            max_completion_tokens: Some(JUDGE_MAX_COMPLETION),
            reasoning_effort: Some(REASONING_EFFORT.into()),
            ..Default::default()
        }
    }

    fn parse_verdict(&self, reply: &str) -> Result<Value, String> {
        let label = extract_label(reply).ok_or("no [[label]] verdict in the judgement")?;
        if label_scores(&label).is_none() {
            return Err(format!("unknown verdict label [[{label}]]"));
        }
        Ok(Value::String(label))
    }

    fn reply_attempts(&self) -> u32 {
        1
    }

    fn aggregate(&self, items: &[JudgedItem<'_>]) -> Aggregate {
        let mut all = Vec::new();
        let mut scored = 0;
        let item_scores = items
            .iter()
            .map(|item| {
                let labels: Vec<Option<&str>> =
                    item.judgements.iter().map(|j| j.verdict.as_ref().and_then(Value::as_str)).collect();
                match labels[..] {
                    [Some(game1), Some(game2)] => {
                        let mut scores: Vec<f64> =
                            label_scores(game1).unwrap_or_default().into_iter().map(|s| 1.0 - s).collect();
                        scores.extend(label_scores(game2).unwrap_or_default());
                        all.extend_from_slice(&scores);
                        scored += 1;
                        json!({"games": [game1, game2], "scores": scores})
                    }
                    [] => json!({"dropped": "no baseline answer for this question"}),
                    _ => json!({"dropped": "a judge game failed"}),
                }
            })
            .collect();
        Aggregate {
            item_scores,
            accuracy: ptb_score::metrics::accuracy(&all),
            stderr: ptb_score::metrics::stderr(&all),
            extra: serde_json::Map::new(),
            scored,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_the_last_double_bracket_match_else_single() {
        assert_eq!(extract_label("first [[B>A]] then my final verdict: [[a>>b]]").as_deref(), Some("A>>B"));
        assert_eq!(extract_label("verdict [A=B]").as_deref(), Some("A=B"));
        assert_eq!(extract_label("[[A>B]] and later [B>A]").as_deref(), Some("A>B"));
        assert_eq!(extract_label("no verdict"), None);
        assert_eq!(label_scores("B>>A"), Some(vec![0.0; 3]));
        assert_eq!(label_scores("B<A"), Some(vec![1.0]));
        assert_eq!(label_scores("A>>>B"), None);
    }

    #[test]
    fn think_blocks_are_stripped_only_when_closed() {
        assert_eq!(clean("  <think>hmm</think>\n Answer "), "Answer");
        assert_eq!(clean("<think>never closed"), "<think>never closed");
        assert_eq!(clean("Before <think>x</think> after"), "Before <think>x</think> after");
    }

    #[test]
    fn user_prompt_follows_the_yaml_template() {
        assert_eq!(
            judge_user_prompt("Q", "a", "b"),
            "<|User Prompt|>\nQ\n\n<|The Start of Assistant A's Answer|>\na\n<|The End of Assistant A's Answer|>\n\n<|The Start of Assistant B's Answer|>\nb\n<|The End of Assistant B's Answer|>"
        );
    }
}
