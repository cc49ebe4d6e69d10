//! AIME 2025, GPQA main and HumanEval through the real binary.
//!
//! - A hand-written fixture per benchmark (`tests/fixtures/<id>_responses.jsonl`: each recorded
//!   completion with its expected `ptb-v1` and `strict` verdict and the rule of scorers.md it checks)
//!   is re-scored with `ptb eval --responses`, and every verdict in `samples.jsonl` is compared.
//! - HumanEval on the real problems (`shared/datasets/humaneval`): the 164 canonical solutions pass
//!   under both profiles, wrong ones fail, and hostile completions are contained by the sandbox, fail
//!   their own sample and leave the others alone.
//! - Each benchmark end to end against a real HTTP server on loopback (GPQA from synthetic items in
//!   the Hub CSV layout, with a chosen `--choice-seed`).

use std::path::{Path, PathBuf};

mod common;

use assert_cmd::Command;
use common::{read_jsonl, rescore, shared};
use ptb_infer::fixed_server::{FixedServer, FixedServerConfig};
use serde_json::{Value, json};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures")).join(name)
}

fn ptb(cwd: &Path) -> Command {
    let mut cmd = Command::cargo_bin("ptb").unwrap();
    cmd.current_dir(cwd).env_remove("PTB_DATA_DIR").env_remove("PTB_PYTHON").env("HOME", cwd);
    cmd
}

fn write_jsonl(path: &Path, rows: &[Value]) {
    std::fs::write(path, rows.iter().map(|r| format!("{r}\n")).collect::<String>()).unwrap();
}

/// `ptb eval --responses` of `responses`; returns the samples and metrics written.
fn rescored(dir: &Path, benchmark: &str, responses: &Path) -> (Vec<Value>, Value) {
    let out = rescore(dir, benchmark, responses);
    let metrics = serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap()).unwrap();
    (read_jsonl(&out.join("samples.jsonl")), metrics)
}

/// Re-scores `rows` (each with `expected` verdicts) and checks every verdict and the metrics.
fn check_expected(benchmark: &str, rows: &[Value], responses: &Path) -> Vec<Value> {
    let dir = responses.parent().unwrap();
    let (samples, metrics) = rescored(dir, benchmark, responses);
    assert_eq!(samples.len(), rows.len());
    let mut failures = Vec::new();
    for (want, got) in rows.iter().zip(&samples) {
        assert_eq!(got["id"], want["id"], "records keep the order of the responses");
        let why = want["why"].as_str().unwrap_or("");
        for (profile, verdict) in [("ptb-v1", &got["verdict"]), ("strict", &got["strict"]["verdict"])] {
            if *verdict != want["expected"][profile] {
                failures.push(format!(
                    "{} {profile}: want {}, got {verdict} ({why}); extracted {}",
                    want["id"], want["expected"][profile], got["extracted"]
                ));
            }
        }
        assert_eq!(got["metadata"], want.get("metadata").cloned().unwrap_or(Value::Null), "metadata is kept");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    let count = |profile: &str, v: &str| rows.iter().filter(|r| r["expected"][profile] == v).count();
    let n = rows.len() as f64;
    assert_eq!(metrics["accuracy"].as_f64().unwrap(), count("ptb-v1", "C") as f64 / n);
    assert!(metrics["stderr"].as_f64().unwrap() > 0.0, "{benchmark} reports stderr (scorers.md §1.3)");
    let strict = &metrics["ptb"]["profiles"]["strict"];
    assert_eq!(strict["accuracy"].as_f64().unwrap(), count("strict", "C") as f64 / n);
    assert_eq!(strict["no_answer"].as_u64().unwrap() as usize, count("strict", "N"));
    assert_eq!(metrics["ptb"]["profiles"]["ptb-v1"]["no_answer"], 0, "v1 never answers N (§1.2)");
    samples
}

fn check_fixture(benchmark: &str) {
    let dir = tempfile::tempdir().unwrap();
    let responses = dir.path().join("responses.jsonl");
    std::fs::copy(fixture(&format!("{benchmark}_responses.jsonl")), &responses).unwrap();
    check_expected(benchmark, &read_jsonl(&responses), &responses);
}

#[test]
fn aime2025_fixture_verdicts_match_under_both_profiles() {
    check_fixture("aime2025");
}

#[test]
fn gpqamain_fixture_verdicts_match_under_both_profiles() {
    check_fixture("gpqamain");
}

#[test]
fn humaneval_fixture_verdicts_match_under_both_profiles() {
    check_fixture("humaneval");
}

/// The real problems, keyed by task id.
fn humaneval_problems() -> Vec<serde_json::Map<String, Value>> {
    ptb_data::read_records(&shared().join("datasets/humaneval/HumanEval.jsonl.gz")).unwrap()
}

/// A recorded response to `problem` with the expected verdicts.
fn he_row(problem: &serde_json::Map<String, Value>, id: &str, completion: &str, v1: &str, strict: &str) -> Value {
    json!({
        "id": id,
        "completion": completion,
        "target": problem["canonical_solution"],
        "metadata": {"prompt": problem["prompt"], "test": problem["test"], "entry_point": problem["entry_point"]},
        "expected": {"ptb-v1": v1, "strict": strict},
    })
}

#[test]
fn humaneval_canonical_solutions_pass_and_wrong_ones_fail() {
    let problems = humaneval_problems();
    assert_eq!(problems.len(), 164);
    let mut rows: Vec<Value> = problems
        .iter()
        .map(|p| he_row(p, p["task_id"].as_str().unwrap(), p["canonical_solution"].as_str().unwrap(), "C", "C"))
        .collect();
    let by_id = |id: &str| problems.iter().find(|p| p["task_id"] == id).unwrap();
    for id in ["HumanEval/0", "HumanEval/23", "HumanEval/53", "HumanEval/100", "HumanEval/163"] {
        rows.push(he_row(by_id(id), &format!("{id}#none"), "    return None\n", "I", "I"));
    }
    for (id, canonical, off_by_one) in [
        ("HumanEval/23", "    return len(string)\n", "    return len(string) + 1\n"),
        ("HumanEval/53", "    return x + y\n", "    return x + y + 1\n"),
    ] {
        assert_eq!(by_id(id)["canonical_solution"], canonical);
        rows.push(he_row(by_id(id), &format!("{id}#off-by-one"), off_by_one, "I", "I"));
    }
    let dir = tempfile::tempdir().unwrap();
    let responses = dir.path().join("responses.jsonl");
    write_jsonl(&responses, &rows);
    let samples = check_expected("humaneval", &rows, &responses);
    assert!(samples.iter().take(164).all(|s| s["extracted"] == s["target"]), "unfenced code is taken as is");
}

#[test]
fn humaneval_hostile_completions_are_contained() {
    let problems = humaneval_problems();
    let add = problems.iter().find(|p| p["task_id"] == "HumanEval/53").unwrap();
    let first = problems.iter().find(|p| p["task_id"] == "HumanEval/0").unwrap();
    let repo = env!("CARGO_MANIFEST_DIR");
    let planted = PathBuf::from(repo).join(format!("ptb-sandbox-escape-{}", std::process::id()));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();

    let hostile = [
        ("read-shadow", "    open('/etc/shadow').read()\n    return x + y\n".to_string()),
        ("list-root", "    import os\n    os.listdir('/root')\n    return x + y\n".to_string()),
        ("read-repo", format!("    open({:?}).read()\n    return x + y\n", format!("{repo}/Cargo.toml"))),
        ("write-repo", format!("    open({:?}, 'w').write('x')\n    return x + y\n", planted.display().to_string())),
        (
            "socket",
            format!(
                "    import socket\n    socket.create_connection(('127.0.0.1', {port}), timeout=5).sendall(b'leak')\n    return x + y\n"
            ),
        ),
        ("fork-bomb", "    import os\n    while True:\n        os.fork()\n".to_string()),
        ("busy-loop", "    while True:\n        pass\n".to_string()),
        ("sleep-forever", "    import time\n    time.sleep(10 ** 6)\n".to_string()),
        (
            "huge-file",
            "    with open('big', 'wb') as f:\n        for _ in range(4096):\n            f.write(b'x' * (1 << 20))\n    return x + y\n"
                .to_string(),
        ),
        ("huge-output", "    import sys\n    while True:\n        sys.stdout.write('y' * 65536)\n".to_string()),
        ("memory", "    b = bytearray(8 << 30)\n    return x + y\n".to_string()),
    ];
    let mut rows = vec![he_row(first, "HumanEval/0", first["canonical_solution"].as_str().unwrap(), "C", "C")];
    for (name, body) in &hostile {
        rows.push(he_row(add, &format!("HumanEval/53#{name}"), body, "I", "I"));
    }
    // HE-8: an early `sys.exit(0)` passes the published scorer; strict's nonce catches it.
    rows.push(he_row(add, "HumanEval/53#exit-early", "    return None\nimport sys\nsys.exit(0)\n", "C", "I"));
    rows.push(he_row(add, "HumanEval/53", "    return x + y\n", "C", "C"));

    let dir = tempfile::tempdir().unwrap();
    let responses = dir.path().join("responses.jsonl");
    write_jsonl(&responses, &rows);
    check_expected("humaneval", &rows, &responses);
    assert!(!planted.exists(), "a write escaped the sandbox: {}", planted.display());
    assert!(listener.accept().is_err(), "the sandbox reached the host's loopback");
}

#[test]
fn humaneval_without_bubblewrap_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = ptb(dir.path())
        .env("PATH", dir.path().join("no-such-dir"))
        .args(["eval", "--benchmark", "humaneval", "--responses"])
        .arg(fixture("humaneval_responses.jsonl"))
        .args(["--out", "out"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("install bubblewrap"), "{stderr}");
    assert!(!dir.path().join("out/metrics.json").exists());
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap()
}

/// `ptb eval` of `benchmark` against `content` served on loopback; returns the samples.
fn eval_over_http(data_dir: &Path, benchmark: &str, content: &str, extra: &[&str]) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let server = rt.block_on(FixedServer::start(FixedServerConfig::new(content))).unwrap();
    let out = ptb(dir.path())
        .arg("--data-dir")
        .arg(data_dir)
        .args(["eval", "--benchmark", benchmark, "--base-url", &server.base_url(), "--served-model", "m"])
        .args(["--timeout", "10", "--out", "run"])
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    read_jsonl(&dir.path().join("run/samples.jsonl"))
}

#[test]
fn aime2025_and_humaneval_end_to_end_over_http() {
    let data = shared().join("datasets");
    let samples = eval_over_http(&data, "aime2025", "So the bases are 21 and 49.\nANSWER: 70", &["--limit", "3"]);
    assert_eq!(samples.len(), 3);
    assert_eq!(
        (&samples[0]["id"], &samples[0]["verdict"], &samples[0]["strict"]["verdict"]),
        (&json!("0"), &json!("C"), &json!("C"))
    );
    assert_eq!(samples[1]["verdict"], "I");
    assert_eq!(samples[0]["messages"].as_array().unwrap().len(), 1, "zero-shot: one user message");

    let problems = humaneval_problems();
    let p0 = &problems[0];
    let answer = format!(
        "Here is the implementation:\n```python\n{}{}```\n",
        p0["prompt"].as_str().unwrap(),
        p0["canonical_solution"].as_str().unwrap()
    );
    let samples = eval_over_http(&data, "humaneval", &answer, &["--limit", "2"]);
    assert_eq!(samples[0]["id"], "HumanEval/0");
    assert_eq!((&samples[0]["verdict"], &samples[0]["strict"]["verdict"]), (&json!("C"), &json!("C")));
    assert_eq!((&samples[1]["verdict"], &samples[1]["strict"]["verdict"]), (&json!("I"), &json!("I")));
    assert_eq!(samples[1]["metadata"]["entry_point"], problems[1]["entry_point"], "the program parts are recorded");
}

#[test]
fn gpqamain_end_to_end_over_http_with_a_recorded_choice_seed() {
    let dir = tempfile::tempdir().unwrap();
    common::write_synthetic_gpqa(dir.path(), 6);
    let samples = eval_over_http(dir.path(), "gpqamain", "Thinking.\nANSWER: A", &["--choice-seed", "7"]);
    // python3 -c "import random; r = random.Random(7)
    //   for _ in range(6): p = [0, 1, 2, 3]; r.shuffle(p); print(p)"
    let python_7 = [[3, 1, 0, 2], [1, 2, 3, 0], [1, 0, 3, 2], [3, 2, 0, 1], [2, 0, 1, 3], [2, 3, 0, 1]];
    assert_eq!(samples.len(), 6);
    for (i, (s, order)) in samples.iter().zip(python_7).enumerate() {
        assert_eq!(s["metadata"], json!({"choice_seed": 7, "choice_order": order}));
        let correct = ["A", "B", "C", "D"][order.iter().position(|&o| o == 0).unwrap()];
        assert_eq!(s["target"], correct);
        let want = if correct == "A" { "C" } else { "I" };
        assert_eq!((&s["verdict"], &s["strict"]["verdict"]), (&json!(want), &json!(want)), "{}", s["id"]);
        let prompt = s["messages"][0]["content"].as_str().unwrap();
        assert!(
            prompt.contains(&format!("\n{correct}) right {i}\n"))
                || prompt.ends_with(&format!("\n{correct}) right {i}")),
            "{prompt}"
        );
    }
}
