//! The `ptb` binary as a user runs it: help, registry listings, GSM8K evaluation against a real HTTP
//! server on loopback, re-scoring, and the one-line errors for bad input.

use std::path::Path;

mod common;

use assert_cmd::Command;
use common::shared;
use ptb_infer::fixed_server::{FixedServer, FixedServerConfig};

fn ptb(cwd: &Path) -> Command {
    let mut cmd = Command::cargo_bin("ptb").unwrap();
    cmd.current_dir(cwd).env_remove("PTB_DATA_DIR").env("HOME", cwd);
    cmd
}

fn one_line_error(output: &std::process::Output) -> String {
    assert_eq!(output.status.code(), Some(1), "exit code 1 expected");
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    stderr
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap()
}

#[test]
fn help_documents_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let out = ptb(dir.path()).arg("--help").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for cmd in ["list", "doctor", "data", "eval", "bench"] {
        assert!(text.contains(cmd), "{cmd} missing from --help");
    }
    for sub in
        [&["eval", "--help"][..], &["data", "fetch", "--help"], &["bench", "eval", "--help"], &["list", "--help"]]
    {
        ptb(dir.path()).args(sub).assert().success();
    }
}

#[test]
fn list_prints_the_registry_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = ptb(dir.path()).args(["list", "benchmarks", "--json"]).output().unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 7);
    assert_eq!(rows[4]["id"], "gsm8k");
    let out = ptb(dir.path()).args(["list", "models", "--json"]).output().unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 4);
}

#[test]
fn unknown_benchmark_suggests_the_closest() {
    let dir = tempfile::tempdir().unwrap();
    let out = ptb(dir.path()).args(["eval", "--benchmark", "gsm8", "--responses", "x.jsonl"]).output().unwrap();
    let err = one_line_error(&out);
    assert!(err.contains("did you mean 'gsm8k'"), "{err}");
}

#[test]
fn missing_data_says_how_to_fetch_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = ptb(dir.path())
        .args(["--data-dir", "nodata", "eval", "--benchmark", "gsm8k", "--base-url", "http://127.0.0.1:9"])
        .args(["--served-model", "m", "--out", "out"])
        .output()
        .unwrap();
    let err = one_line_error(&out);
    assert!(err.contains("ptb data fetch --benchmark gsm8k"), "{err}");
    assert!(!dir.path().join("out/metrics.json").exists());
}

#[test]
fn malformed_dataset_line_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data/gsm8k");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::copy(shared().join("datasets/gsm8k/train.jsonl"), data.join("train.jsonl")).unwrap();
    std::fs::write(data.join("test.jsonl"), "{\"question\": \"q\", \"answer\": \"#### 1\"}\n{not json\n").unwrap();
    let out = ptb(dir.path())
        .args(["--data-dir", "data", "eval", "--benchmark", "gsm8k", "--base-url", "http://127.0.0.1:9"])
        .args(["--served-model", "m", "--out", "out"])
        .output()
        .unwrap();
    let err = one_line_error(&out);
    assert!(err.contains("test.jsonl") && err.contains('2'), "{err}");
}

fn eval_against(server_url: &str, dir: &Path, out: &str, limit: &str) -> std::process::Output {
    ptb(dir)
        .args(["--data-dir"])
        .arg(shared().join("datasets"))
        .args(["eval", "--benchmark", "gsm8k", "--base-url", server_url, "--served-model", "m"])
        .args(["--limit", limit, "--concurrency", "8", "--timeout", "5", "--out", out])
        .output()
        .unwrap()
}

#[test]
fn unreachable_or_failing_servers_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let err = one_line_error(&eval_against(&url, dir.path(), "out1", "2"));
    assert!(err.contains(&url), "{err}");
    assert!(!dir.path().join("out1/metrics.json").exists());

    let rt = runtime();
    let server = rt.block_on(FixedServer::start(FixedServerConfig::new("ANSWER: 1").fail_first(1000, 400))).unwrap();
    let err = one_line_error(&eval_against(&server.base_url(), dir.path(), "out2", "2"));
    assert!(err.contains("400") && err.contains("127.0.0.1"), "{err}");
    assert!(!dir.path().join("out2/metrics.json").exists());
}

#[test]
fn gsm8k_end_to_end_over_http_and_rescored() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    // Test item 1 ("Janet's ducks…") has target 18; the fixed answer is right for it only.
    let server = rt.block_on(FixedServer::start(FixedServerConfig::new("She makes 9 * 2 = 18.\nANSWER: 18"))).unwrap();
    let out = eval_against(&server.base_url(), dir.path(), "run", "20");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(server.chat_requests(), 20);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("samples.jsonl"), "{stdout}");

    let run = dir.path().join("run");
    let metrics: serde_json::Value = serde_json::from_slice(&std::fs::read(run.join("metrics.json")).unwrap()).unwrap();
    let samples: Vec<serde_json::Value> = std::fs::read_to_string(run.join("samples.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(samples.len(), 20);
    let correct = samples.iter().filter(|s| s["verdict"] == "C").count();
    assert!(correct >= 1, "the ducks question is answered right");
    let accuracy = metrics["accuracy"].as_f64().unwrap();
    assert!((accuracy - correct as f64 / 20.0).abs() < 1e-12);
    assert!(metrics["stderr"].as_f64().unwrap() > 0.0);
    assert_eq!(metrics["ptb"]["facts"]["limit"], 20);
    assert!(metrics["ptb"]["profiles"]["strict"]["accuracy"].is_f64());
    assert_eq!(samples[0]["target"], "18");
    assert_eq!(samples[0]["messages"][0]["role"], "system");
    assert!(samples[0]["messages"][1]["content"].as_str().unwrap().ends_with("Reasoning:"));
    assert!(!run.join("samples.partial.jsonl").exists());

    // Re-scoring the recorded answers reproduces the metrics without any engine.
    let out = ptb(dir.path())
        .args(["eval", "--benchmark", "gsm8k", "--responses"])
        .arg(run.join("samples.jsonl"))
        .args(["--out", "rescored", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rescored: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rescored["accuracy"], metrics["accuracy"]);
    assert_eq!(rescored["ptb"]["profiles"], metrics["ptb"]["profiles"]);

    // A finished evaluation is never overwritten.
    let err = one_line_error(&eval_against(&server.base_url(), dir.path(), "run", "1"));
    assert!(err.contains("already holds an evaluation"), "{err}");
}

#[test]
fn bench_eval_runs_the_whole_test_set() {
    let dir = tempfile::tempdir().unwrap();
    let out = ptb(dir.path())
        .args(["--data-dir"])
        .arg(shared().join("datasets"))
        .args(["bench", "eval", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["items"], "1319");
}

#[test]
fn data_fetch_and_verify_against_a_hub_on_loopback() {
    use axum::{Router, routing::get};
    let dir = tempfile::tempdir().unwrap();
    let aime = std::fs::read(shared().join("datasets/aime2025/test.jsonl")).unwrap();
    let rt = runtime();
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new().route("/datasets/math-ai/aime25/resolve/main/test.jsonl", get(move || async move { aime }));
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });

    let out = ptb(dir.path())
        .env("HF_ENDPOINT", &endpoint)
        .args(["--data-dir", "data", "data", "fetch", "--benchmark", "aime2025", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["status"], "downloaded");
    assert!(dir.path().join("data/aime2025/test.jsonl").is_file());
    assert!(dir.path().join("data/aime2025/ptb-data.json").is_file());

    // A second fetch finds the file valid; a tampered file is caught by verify.
    let out = ptb(dir.path())
        .env("HF_ENDPOINT", &endpoint)
        .args(["--data-dir", "data", "data", "fetch", "--benchmark", "aime2025", "--json"])
        .output()
        .unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["status"], "present");
    std::fs::write(dir.path().join("data/aime2025/test.jsonl"), "{}\n").unwrap();
    let err = one_line_error(&ptb(dir.path()).args(["--data-dir", "data", "data", "verify"]).output().unwrap());
    assert!(err.contains("do not match"), "{err}");
}

fn final_eval(server_url: &str, dir: &Path, out: &str) -> std::process::Output {
    ptb(dir)
        .args(["--data-dir"])
        .arg(shared().join("datasets"))
        .args(["eval", "--final", "--benchmark", "gsm8k", "--base-url", server_url, "--served-model", "m"])
        .args(["--concurrency", "1", "--timeout", "5", "--out", out])
        .output()
        .unwrap()
}

#[test]
fn final_evaluation_walks_the_retry_ladder() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    // The first request is refused (400, not retried by the client): attempt 1 fails, attempt 2 scores.
    let server = rt.block_on(FixedServer::start(FixedServerConfig::new("ANSWER: 18").fail_first(1, 400))).unwrap();
    let out = final_eval(&server.base_url(), dir.path(), "final");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let run = dir.path().join("final");
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("final_eval.json")).unwrap()).unwrap();
    assert_eq!(record["scored_attempt"], 2);
    assert_eq!(record["max_tokens"], 4000);
    assert!(std::fs::read_to_string(run.join("final_eval_1.txt")).unwrap().contains("failed"));
    assert!(std::fs::read_to_string(run.join("final_eval_2.txt")).unwrap().contains("scored"));
    let metrics: serde_json::Value = serde_json::from_slice(&std::fs::read(run.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["ptb"]["facts"]["n_samples"], 1319, "the final evaluation covers the full set");
    assert_eq!(metrics["ptb"]["facts"]["max_tokens"], 4000);

    // Every attempt failing: nine attempts down the ladder, an error, and no metrics.json.
    let failing = rt.block_on(FixedServer::start(FixedServerConfig::new("x").fail_first(100_000, 400))).unwrap();
    let err = one_line_error(&final_eval(&failing.base_url(), dir.path(), "failed"));
    assert!(err.contains("all 9 final-evaluation attempts failed"), "{err}");
    let run = dir.path().join("failed");
    assert!(!run.join("metrics.json").exists());
    assert!(std::fs::read_to_string(run.join("final_eval_9.txt")).unwrap().contains("max_tokens 2000"));
}
