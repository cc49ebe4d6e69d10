//! Byte-for-byte parity with transformers' `apply_chat_template` on the pinned evaluation
//! templates. Expected strings come from `fixtures/make_parity.py` (transformers' own renderer);
//! the templates are read from the shared folder, never copied into the repository.

use std::path::PathBuf;

use chrono::NaiveDateTime;
use ptb_chat::{ChatError, ChatTemplate, RenderContext};
use serde_json::{Map, Value};

/// `$PTB_SHARED_DIR/templates`, else the `shared/` folder beside the repository.
fn templates_dir() -> PathBuf {
    std::env::var_os("PTB_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
        .join("templates")
}

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/parity.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("read parity.json")).expect("parse parity.json")
}

fn list(v: &Value) -> Option<Vec<Value>> {
    v.as_array().cloned()
}

fn map(v: &Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn context(case: &Value) -> RenderContext {
    RenderContext {
        messages: list(&case["messages"]).expect("messages"),
        tools: list(&case["tools"]),
        documents: list(&case["documents"]),
        add_generation_prompt: case["add_generation_prompt"].as_bool().expect("flag"),
        special_tokens: map(&case["special_tokens"]),
        extra: map(&case["extra"]),
    }
}

/// Renders every case of one template, asserts each matches, and returns how many were checked.
fn check_template(file: &str) -> usize {
    let doc = fixture();
    let now = NaiveDateTime::parse_from_str(doc["now"].as_str().unwrap(), "%Y-%m-%dT%H:%M:%S").expect("fixture time");
    let template = ChatTemplate::from_file(&templates_dir().join(file))
        .unwrap_or_else(|e| panic!("{e} (set PTB_SHARED_DIR to the folder holding templates/)"))
        .with_clock(now);
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in doc["cases"].as_array().unwrap() {
        if case["template"] != file {
            continue;
        }
        checked += 1;
        let name = case["name"].as_str().unwrap();
        let got = template.render(&context(case));
        match (&got, case.get("expected"), case.get("error")) {
            (Ok(text), Some(Value::String(want)), _) if text == want => {}
            (Err(ChatError::Raised { message, .. }), _, Some(Value::String(want))) if message == want => {}
            _ => failures.push(format!(
                "{file} / {name}:\n  want {:?}\n  got  {:?}",
                case.get("expected").or(case.get("error")),
                got
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    checked
}

#[test]
fn qwen3_matches_transformers() {
    assert!(check_template("qwen3.jinja") >= 6);
}

#[test]
fn gemma3_matches_transformers() {
    assert!(check_template("gemma3.jinja") >= 6);
}

#[test]
fn gemma3_tool_calling_matches_transformers() {
    assert!(check_template("gemma3_tool_calling.jinja") >= 6);
}

#[test]
fn smollm3_matches_transformers() {
    assert!(check_template("smollm.jinja") >= 6);
}

#[test]
fn fixture_covers_gemma_alternation_errors() {
    let doc = fixture();
    let alternation = doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["template"] == "gemma3.jinja")
        .filter_map(|c| c.get("error")?.as_str())
        .filter(|e| e.starts_with("Conversation roles must alternate"))
        .count();
    assert!(alternation >= 2, "parity.json lost its Gemma alternation cases");
}
