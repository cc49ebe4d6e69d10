//! Fixture stores shared by the integration tests.
#![allow(dead_code)]

use std::path::Path;

/// Benchmarks in registry order: AIME, Arena, BFCL, GPQA, GSM8K, Health, HumanEval.
pub const BENCHES: [&str; 7] =
    ["aime2025", "arenahardwriting", "bfcl", "gpqamain", "gsm8k", "healthbench", "humaneval"];
pub const BASE: [(&str, &str); 4] = [
    ("Qwen", "Qwen3-1.7B-Base"),
    ("Qwen", "Qwen3-4B-Base"),
    ("HuggingFaceTB", "SmolLM3-3B-Base"),
    ("google", "gemma-3-4b-pt"),
];
pub const INSTRUCT: [(&str, &str); 4] =
    [("Qwen", "Qwen3-1.7B"), ("Qwen", "Qwen3-4B"), ("HuggingFaceTB", "SmolLM3-3B"), ("google", "gemma-3-4b-it")];
/// Published per-benchmark averages (spec §12.1), in %.
pub const INSTRUCT_AVG: [f64; 7] = [29.2, 70.2, 85.0, 36.2, 87.0, 43.3, 71.5];
pub const BASE_AVG: [f64; 7] = [1.7, 1.3, 1.5, 8.5, 20.4, 9.5, 12.8];
/// Claude Opus 4.6 (Claude Code), paper Table 1 (mean of 3 runs), in %.
pub const OPUS_AVG: [f64; 7] = [5.0, 7.8, 75.9, 25.5, 41.0, 18.8, 24.7];

/// Writes one run dir with a metrics.json (`acc` as a fraction) and, for agent runs, the usual files.
#[allow(clippy::too_many_arguments)] // one fixture call per run dir reads best flat
pub fn write_run(
    root: &Path,
    method: &str,
    bench: &str,
    org: &str,
    model: &str,
    id: &str,
    acc: Option<f64>,
    agent: bool,
) {
    let dir = root.join(method).join(format!("{bench}_{org}_{model}_{id}"));
    std::fs::create_dir_all(&dir).unwrap();
    if let Some(a) = acc {
        std::fs::write(dir.join("metrics.json"), format!("{{\n  \"accuracy\": {a},\n  \"stderr\": 0.01\n}}")).unwrap();
    }
    if agent {
        std::fs::create_dir_all(dir.join("final_model")).unwrap();
        std::fs::write(dir.join("time_taken.txt"), "05:00:00\n").unwrap();
        std::fs::write(dir.join("contamination_judgement.txt"), "no contamination detected\n").unwrap();
        std::fs::write(dir.join("disallowed_model_judgement.txt"), "only allowed use detected\n").unwrap();
    }
}

/// A store whose baseline has every model at the published per-benchmark average.
pub fn published_baselines(root: &Path) {
    for (i, b) in BENCHES.iter().enumerate() {
        for (org, m) in BASE {
            write_run(root, "baseline_zeroshot", b, org, m, "1", Some(BASE_AVG[i] / 100.0), false);
        }
        for (org, m) in INSTRUCT {
            write_run(root, "baseline_zeroshot", b, org, m, "1", Some(INSTRUCT_AVG[i] / 100.0), false);
        }
    }
}
