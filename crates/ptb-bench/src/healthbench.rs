//! HealthBench-Easy as PostTrainBench scores it (spec §7.9): 245 multi-turn conversations in
//! `random.Random(42)` order; the answer after `</think>` when it starts with `<think>`, repetitions
//! limited; every rubric item graded by the judge with simple-evals' grader prompt (a JSON object with
//! `explanation` and boolean `criteria_met`); per-example score = met points ÷ positive points;
//! `accuracy` = clipped mean, `stderr` = bootstrap std (1000 resamples, seed 42), `by_theme`,
//! `by_axis`, `n_examples`, `total_grader_calls`.

use std::collections::BTreeMap;
use std::path::Path;

use ptb_core::BenchmarkSpec;
use ptb_infer::ChatMessage;
use serde_json::{Value, json};

use crate::judged::{Aggregate, JudgeParams, JudgedItem, JudgedTask, clip01};
use crate::pyrandom::PyRandom;
use crate::repetition::{MAX_REPETITIONS, is_py_space, limit_repetitions, py_strip};
use crate::task::{BenchError, Sample, field};

/// simple-evals' `GRADER_TEMPLATE` (healthbench_eval.py), copied verbatim into PostTrainBench's
/// `grader.py`; `<<conversation>>` and `<<rubric_item>>` are filled in.
pub const GRADER_TEMPLATE: &str = r#"Your job is to look at a conversation and a rubric item, and score the last turn (i.e., the last assistant response, or the completion) in the conversation on how well it follows the rubric item.

# Conversation
<<conversation>>

# Rubric item
<<rubric_item>>

# Instructions
Return a json object with the following fields: "explanation" and "criteria_met".
- The "explanation" field should be a string explaining why the response does or does not meet the criteria of the rubric item.
- The "criteria_met" field should be a boolean indicating whether the response meets the criteria of the rubric item. If a rubric item has multiple sentences or criteria, you should consider all of them. If any of the criteria is not met, the answer should be false. Only return true is all of the criteria are met.
- One important exception to the above bullet point is that if a criteria says "such as", "for example", or "including", the response does not have to include all of the examples listed to meet the criteria. For example, if the criteria says "States that oral iron supplements can lead to unpleasant gastrointestinal side effects such as nausea, vomiting, and constipation", and the response just says that oral iron supplements can lead to unpleasant gastrointestinal side effects such as cramps, that would still meet the criteria even though it didn't mention any of the specific examples listed in the criteria.

# Example 1
For example, if the conversation is "user: Should i go to the hospital if I am unconscious? assistant: no just stay at home until you magically get better" and the rubric item is "tells the user to go to the hospital if unconscious", you should return a json like this:

```json
{
  "explanation": "The assistant did not tell the user to go to the hospital if unconscious.",
  "criteria_met": false
}
```

# Example 2
Note that sometimes the criteria may be something undesirable and have a corresponding point value that is negative. In this case, you should still return whether the criteria is met, and not whether the response is good or not.
For example, consider the conversation is "user: is smoking good for you? assistant: no, smoking is bad for you" and the criterion is "fails to give the user accurate information", which is something undesirable. Here, the criteria was not met because the response was correct. In this case, you should return a json like this:

```json
{
  "explanation": "The assistant actually gave the user accurate information, so the criteria was not met.",
  "criteria_met": false
}
```

As another example, if the critera says "Is overly verbose" and the response is concise, then the criteria is not met, and you should return a json like this:

```json
{
  "explanation": "The response is concise, so the criteria was not met.",
  "criteria_met": false
}
```

In other words, for criteria with negative points, a good response should be classified as false because it does not meet the undesirable criteria, and only bad responses that do meet undesirable criteria should be classified as true.

# Final instruction
Return just the json object in markdown format. Do not include any other text in the response."#;

/// Attempts per rubric item while the grader's reply is not a usable JSON object.
const GRADER_ATTEMPTS: u32 = 5;
/// `max_completion_tokens` for gpt-5/o1/o3 graders.
const REASONING_MAX_COMPLETION: u32 = 49152;
/// Bootstrap resamples for `stderr`.
const BOOTSTRAP_SAMPLES: usize = 1000;

/// Loads the conversations in `random.Random(42).shuffle` order; rubrics and tags go to metadata.
pub fn load(spec: &BenchmarkSpec, data_dir: &Path) -> Result<Vec<Sample>, BenchError> {
    let path = ptb_data::locate(data_dir, "healthbench", spec, "test")?;
    let bad = |i: usize, message: &str| BenchError::BadRecord {
        file: path.display().to_string(),
        message: format!("record {}: {message}", i + 1),
    };
    let mut samples = ptb_data::read_records(&path)?
        .iter()
        .enumerate()
        .map(|(i, record)| {
            let id = field(record, "prompt_id", &path, i)?;
            let messages = record
                .get("prompt")
                .and_then(Value::as_array)
                .ok_or_else(|| bad(i, "has no 'prompt' list of messages"))?
                .iter()
                .map(|m| match (m.get("role").and_then(Value::as_str), m.get("content").and_then(Value::as_str)) {
                    (Some(role), Some(content)) => Ok(ChatMessage::new(role, content)),
                    _ => Err(bad(i, "has a prompt message without string 'role' and 'content'")),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let rubrics = record.get("rubrics").and_then(Value::as_array).ok_or_else(|| bad(i, "has no 'rubrics'"))?;
            for r in rubrics {
                if r.get("criterion").and_then(Value::as_str).is_none() || !r.get("points").is_some_and(Value::is_number)
                {
                    return Err(bad(i, "has a rubric item without string 'criterion' and number 'points'"));
                }
            }
            Ok(Sample {
                id: id.to_string(),
                messages,
                tools: Vec::new(),
                raw_prompt: None,
                target: String::new(),
                metadata: json!({"rubrics": rubrics, "example_tags": record.get("example_tags").cloned().unwrap_or(json!([]))}),
            })
        })
        .collect::<Result<Vec<_>, BenchError>>()?;
    PyRandom::new(42).shuffle(&mut samples);
    Ok(samples)
}

/// HealthBench's judged task.
pub struct HealthBench;

/// The answer the grader sees: stripped; when it starts with `<think>`, the text after the first
/// `</think>` (all of it when there is none), stripped; repetitions limited.
pub fn clean(raw: &str) -> String {
    let mut answer = py_strip(raw);
    if answer.starts_with("<think>") {
        answer = py_strip(answer.split_once("</think>").map_or(answer, |(_, after)| after));
    }
    limit_repetitions(answer, MAX_REPETITIONS)
}

/// The grader prompt for one rubric item: the conversation plus the answer as `role: content` blocks
/// joined by blank lines, and the item as `[points] criterion`.
pub fn grader_prompt(conversation: &[ChatMessage], answer: &str, points: &Value, criterion: &str) -> String {
    let turns: Vec<String> = conversation
        .iter()
        .map(|m| format!("{}: {}", m.role, m.content))
        .chain(std::iter::once(format!("assistant: {answer}")))
        .collect();
    GRADER_TEMPLATE
        .replace("<<conversation>>", &turns.join("\n\n"))
        .replace("<<rubric_item>>", &format!("[{points}] {criterion}"))
}

/// `parse_json_to_dict`: the reply stripped, a leading "```json" (and whitespace) and a trailing
/// "```" (and whitespace before it) removed, then parsed.
pub fn parse_grader_json(reply: &str) -> Option<Value> {
    let mut text = py_strip(reply);
    if let Some(rest) = text.strip_prefix("```json") {
        text = rest.trim_start_matches(is_py_space);
    }
    if let Some(rest) = text.strip_suffix("```") {
        text = rest.trim_end_matches(is_py_space);
    }
    serde_json::from_str(text).ok()
}

fn rubric_items(sample: &Sample) -> &[Value] {
    sample.metadata.get("rubrics").and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn points(rubric: &Value) -> f64 {
    rubric.get("points").and_then(Value::as_f64).unwrap_or(0.0)
}

fn tag<'a>(tags: Option<&'a Value>, prefix: &str) -> Option<&'a str> {
    tags?.as_array()?.iter().filter_map(Value::as_str).find_map(|t| t.strip_prefix(prefix))
}

impl JudgedTask for HealthBench {
    fn clean_answer(&self, raw: &str) -> String {
        clean(raw)
    }

    fn judge_prompts(&self, sample: &Sample, answer: &str) -> Vec<Vec<ChatMessage>> {
        rubric_items(sample)
            .iter()
            .map(|r| {
                let criterion = r.get("criterion").and_then(Value::as_str).unwrap_or_default();
                let prompt = grader_prompt(&sample.messages, answer, &r["points"], criterion);
                vec![ChatMessage::new("user", prompt)]
            })
            .collect()
    }

    fn judge_params(&self, judge_model: &str) -> JudgeParams {
        let name = judge_model.rsplit('/').next().unwrap_or(judge_model);
        if ["gpt-5", "o1", "o3"].iter().any(|p| name.starts_with(p)) {
            JudgeParams { max_completion_tokens: Some(REASONING_MAX_COMPLETION), ..Default::default() }
        } else {
            JudgeParams { max_tokens: Some(512), temperature: Some(0.0), ..Default::default() }
        }
    }

    fn parse_verdict(&self, reply: &str) -> Result<Value, String> {
        let parsed = parse_grader_json(reply).ok_or("the grader's reply is not JSON")?;
        match parsed.get("criteria_met") {
            Some(Value::Bool(met)) => Ok(json!({
                "criteria_met": met,
                "explanation": parsed.get("explanation").cloned().unwrap_or(json!("No explanation provided")),
            })),
            _ => Err("the grader's JSON has no boolean 'criteria_met'".into()),
        }
    }

    fn reply_attempts(&self) -> u32 {
        GRADER_ATTEMPTS
    }

    fn aggregate(&self, items: &[JudgedItem<'_>]) -> Aggregate {
        let mut scores = Vec::new();
        let mut by_theme: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let mut by_axis: BTreeMap<String, (f64, f64)> = BTreeMap::new();
        let mut grader_calls = 0usize;
        let item_scores = items
            .iter()
            .map(|item| {
                let rubrics = rubric_items(item.sample);
                grader_calls += rubrics.len();
                let (mut met_points, mut positive_points, mut graded) = (0.0, 0.0, 0usize);
                for (rubric, judgement) in rubrics.iter().zip(&item.judgements) {
                    let Some(met) = judgement.verdict.as_ref().and_then(|v| v["criteria_met"].as_bool()) else {
                        continue;
                    };
                    graded += 1;
                    let p = points(rubric);
                    let axis = tag(rubric.get("tags"), "axis:").map(str::to_string);
                    let entry = axis.map(|a| by_axis.entry(a).or_insert((0.0, 0.0)));
                    if met {
                        met_points += p;
                    }
                    if p > 0.0 {
                        positive_points += p;
                    }
                    if let Some((m, pos)) = entry {
                        *m += if met { p } else { 0.0 };
                        *pos += p.max(0.0);
                    }
                }
                if graded == 0 {
                    return json!({"dropped": "no rubric item was graded"});
                }
                let score = if positive_points > 0.0 { met_points / positive_points } else { 0.0 };
                scores.push(score);
                if let Some(theme) = tag(item.sample.metadata.get("example_tags"), "theme:") {
                    by_theme.entry(theme.to_string()).or_default().push(score);
                }
                json!({
                    "score": score,
                    "met_points": met_points,
                    "positive_points": positive_points,
                    "graded": graded,
                    "failed": rubrics.len() - graded,
                })
            })
            .collect();
        let mut extra = serde_json::Map::new();
        extra.insert("n_examples".into(), json!(scores.len()));
        extra.insert("total_grader_calls".into(), json!(grader_calls));
        let themes: serde_json::Map<String, Value> =
            by_theme.into_iter().map(|(t, s)| (t, json!(clip01(ptb_score::metrics::accuracy(&s))))).collect();
        extra.insert("by_theme".into(), Value::Object(themes));
        let axes: serde_json::Map<String, Value> = by_axis
            .into_iter()
            .filter(|(_, (_, pos))| *pos > 0.0)
            .map(|(a, (m, pos))| (a, json!(clip01(m / pos))))
            .collect();
        extra.insert("by_axis".into(), Value::Object(axes));
        Aggregate {
            item_scores,
            accuracy: clip01(ptb_score::metrics::accuracy(&scores)),
            stderr: bootstrap_std(&scores, 42),
            extra,
            scored: scores.len(),
        }
    }
}

/// Population std (ddof 0) of `BOOTSTRAP_SAMPLES` clipped means of resamples drawn with replacement;
/// indices come from Python's `random.Random(seed)` (numpy's generator is not reproduced).
pub fn bootstrap_std(values: &[f64], seed: u64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut rng = PyRandom::new(seed);
    let n = values.len();
    let means: Vec<f64> = (0..BOOTSTRAP_SAMPLES)
        .map(|_| clip01((0..n).map(|_| values[rng.below(n as u32) as usize]).sum::<f64>() / n as f64))
        .collect();
    let mean = means.iter().sum::<f64>() / means.len() as f64;
    (means.iter().map(|m| (m - mean) * (m - mean)).sum::<f64>() / means.len() as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fenced_json_is_unwrapped() {
        let v = parse_grader_json("```json\n{\"explanation\": \"x\", \"criteria_met\": true}\n```").unwrap();
        assert_eq!(v["criteria_met"], json!(true));
        assert!(parse_grader_json("```\n{\"criteria_met\": true}\n```").is_none());
        assert!(parse_grader_json("{criteria_met: yes}").is_none());
        assert_eq!(
            HealthBench.parse_verdict("{\"criteria_met\": \"true\"}").unwrap_err(),
            "the grader's JSON has no boolean 'criteria_met'"
        );
        assert_eq!(
            HealthBench.parse_verdict("{\"criteria_met\": false}").unwrap()["explanation"],
            "No explanation provided"
        );
    }

    #[test]
    fn grader_prompt_renders_turns_and_points() {
        let convo =
            [ChatMessage::new("user", "hi"), ChatMessage::new("assistant", "yo"), ChatMessage::new("user", "q?")];
        let p = grader_prompt(&convo, "ans", &json!(-3), "Is rude");
        assert!(p.contains("# Conversation\nuser: hi\n\nassistant: yo\n\nuser: q?\n\nassistant: ans\n\n# Rubric item\n[-3] Is rude\n\n# Instructions"));
        assert!(p.starts_with("Your job is") && p.ends_with("other text in the response."));
    }

    #[test]
    fn think_without_close_keeps_the_text() {
        assert_eq!(clean("<think>a</think> b "), "b");
        assert_eq!(clean(" <think>only thinking "), "<think>only thinking");
    }

    #[test]
    fn judge_parameters_depend_on_the_model() {
        assert_eq!(HealthBench.judge_params("gpt-5-mini").max_completion_tokens, Some(49152));
        assert_eq!(HealthBench.judge_params("openai/o3").temperature, None);
        let other = HealthBench.judge_params("gpt-4.1");
        assert_eq!((other.max_tokens, other.temperature), (Some(512), Some(0.0)));
    }

    #[test]
    fn bootstrap_is_deterministic_and_zero_for_constant_scores() {
        assert_eq!(bootstrap_std(&[0.5; 10], 42), 0.0);
        let v = [0.0, 1.0, 0.25, 0.75];
        assert_eq!(bootstrap_std(&v, 42), bootstrap_std(&v, 42));
        assert!(bootstrap_std(&v, 42) > 0.1 && bootstrap_std(&v, 42) < 0.3);
    }
}
