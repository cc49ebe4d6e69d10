//! BFCL exec_simple through the real binary: a hand-written fixture of recorded responses covering
//! every rule and quirk of scorers.md §6 and §7.4 is re-scored with `ptb eval --responses`, and each
//! verdict in `samples.jsonl` is checked against the expectation written beside the response.

mod common;

use std::path::Path;

use assert_cmd::Command;
use common::{read_jsonl, rescore};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/bfcl_responses.jsonl");

#[test]
fn fixture_verdicts_match_under_both_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let out = rescore(dir.path(), "bfcl", Path::new(FIXTURE));
    let fixture = read_jsonl(Path::new(FIXTURE));
    let samples = read_jsonl(&out.join("samples.jsonl"));
    assert_eq!(samples.len(), fixture.len());
    for (want, got) in fixture.iter().zip(&samples) {
        assert_eq!(got["id"], want["id"]);
        let why = &want["why"];
        assert_eq!(got["verdict"], want["expected"]["ptb-v1"], "ptb-v1 {}: {why}", want["id"]);
        assert_eq!(got["strict"]["verdict"], want["expected"]["strict"], "strict {}: {why}", want["id"]);
    }

    let metrics: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap()).unwrap();
    let keys: Vec<&str> = metrics.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["accuracy", "ptb"], "BFCL's metrics.json has accuracy only at the top (BFCL-5)");
    let count = |profile: &str, verdict: &str| fixture.iter().filter(|r| r["expected"][profile] == verdict).count();
    let n = fixture.len() as f64;
    assert_eq!(metrics["accuracy"].as_f64().unwrap(), count("ptb-v1", "C") as f64 / n);
    let strict = &metrics["ptb"]["profiles"]["strict"];
    assert_eq!(strict["accuracy"].as_f64().unwrap(), count("strict", "C") as f64 / n);
    assert_eq!(strict["no_answer"].as_u64().unwrap() as usize, count("strict", "N"));
    assert!(strict["stderr"].as_f64().unwrap() > 0.0, "strict reports stderr");
}

#[test]
fn an_unparsable_ground_truth_is_a_one_line_sample_error() {
    let dir = tempfile::tempdir().unwrap();
    let responses = dir.path().join("r.jsonl");
    std::fs::write(
        &responses,
        "{\"id\": \"x\", \"completion\": \"\", \"target\": \"f(1)\", \"metadata\": {\"functions\": []}}\n",
    )
    .unwrap();
    let output = Command::cargo_bin("ptb")
        .unwrap()
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .args(["eval", "--benchmark", "bfcl", "--responses"])
        .arg(&responses)
        .args(["--out", "out"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("item x") && stderr.contains("positional"), "{stderr}");
    assert!(!dir.path().join("out/metrics.json").exists());
}
