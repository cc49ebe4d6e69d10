//! The results commands as a user runs them on a small store: `ptb index`, `ptb leaderboard`,
//! `ptb weights`, `ptb plot`, `ptb report --out` and `ptb report --serve` over real HTTP.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

const BENCHES: [&str; 7] = ["aime2025", "arenahardwriting", "bfcl", "gpqamain", "gsm8k", "healthbench", "humaneval"];
const BASE: [(&str, &str); 4] = [
    ("Qwen", "Qwen3-1.7B-Base"),
    ("Qwen", "Qwen3-4B-Base"),
    ("HuggingFaceTB", "SmolLM3-3B-Base"),
    ("google", "gemma-3-4b-pt"),
];
const INSTRUCT: [(&str, &str); 4] =
    [("Qwen", "Qwen3-1.7B"), ("Qwen", "Qwen3-4B"), ("HuggingFaceTB", "SmolLM3-3B"), ("google", "gemma-3-4b-it")];

fn write_metrics(root: &Path, method: &str, bench: &str, (org, model): (&str, &str), accuracy: f64) {
    let dir = root.join(method).join(format!("{bench}_{org}_{model}_1"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("metrics.json"), format!("{{\"accuracy\": {accuracy}, \"stderr\": 0.01}}")).unwrap();
}

/// Base models at 10 %, instruct models at 60 %, one agent at 30 % on every benchmark and model.
fn store(root: &Path) {
    for bench in BENCHES {
        for model in BASE {
            write_metrics(root, "baseline_zeroshot", bench, model, 0.1);
            write_metrics(root, "claude_claude-opus-4-6_10h", bench, model, 0.3);
            let run = root.join("claude_claude-opus-4-6_10h").join(format!("{bench}_{}_{}_1", model.0, model.1));
            std::fs::write(run.join("time_taken.txt"), "05:00:00\n").unwrap();
            std::fs::write(run.join("contamination_judgement.txt"), "no contamination detected\n").unwrap();
            std::fs::write(run.join("disallowed_model_judgement.txt"), "only allowed use detected\n").unwrap();
        }
        for model in INSTRUCT {
            write_metrics(root, "baseline_zeroshot", bench, model, 0.6);
        }
    }
}

fn ptb(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("ptb").unwrap();
    cmd.current_dir(dir).env("HOME", dir).arg("--results-dir").arg(dir.join("results"));
    cmd
}

fn stdout(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn results_commands_index_rank_plot_and_report() {
    let dir = tempfile::tempdir().unwrap();
    store(&dir.path().join("results"));

    stdout(ptb(dir.path()).arg("index"));
    assert!(dir.path().join("results/index.sqlite").is_file());

    let lb: Value = serde_json::from_str(&stdout(ptb(dir.path()).args(["--json", "leaderboard"]))).unwrap();
    let rows = lb["rows"].as_array().unwrap();
    let score = |name: &str| {
        let row = rows.iter().find(|r| r["name"].as_str().is_some_and(|n| n.contains(name))).unwrap();
        row["score"]["mean"].as_f64().unwrap()
    };
    assert!((score("opus") - 0.3).abs() < 1e-9, "{lb}");
    assert!((score("Instruct") - 0.6).abs() < 1e-9, "{lb}");
    assert!((score("Base") - 0.1).abs() < 1e-9, "{lb}");

    let weights = stdout(ptb(dir.path()).args(["--json", "weights"]));
    assert!(weights.contains("gsm8k"), "{weights}");

    stdout(ptb(dir.path()).args(["plot", "--out", "plots"]));
    let svgs = std::fs::read_dir(dir.path().join("plots")).unwrap().filter_map(|e| e.ok()).count();
    assert!(svgs >= 3, "leaderboard, time and heatmap charts");

    stdout(ptb(dir.path()).args(["report", "--out", "site"]));
    let index = std::fs::read_to_string(dir.path().join("site/index.html")).unwrap();
    assert!(index.contains("claude-opus-4-6"), "the agent is on the leaderboard page");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `GET path` over HTTP/1.1; the status line and the body.
fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

#[test]
fn report_serve_answers_over_http() {
    let dir = tempfile::tempdir().unwrap();
    store(&dir.path().join("results"));
    let port = free_port();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ptb"))
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .arg("--results-dir")
        .arg(dir.path().join("results"))
        .args(["report", "--serve", "--port", &port.to_string()])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let page = loop {
        if let Some(page) = get(port, "/") {
            break page;
        }
        assert!(Instant::now() < deadline, "ptb report --serve did not answer on port {port}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let live = get(port, "/api/live").unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("claude-opus-4-6"), "the leaderboard page lists the agent");
    assert!(live.starts_with("HTTP/1.1 200"), "{live}");
}
