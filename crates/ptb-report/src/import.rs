//! `ptb import-original DIR`: brings a results tree of the original system into the store. The small
//! record files of each run are copied (never `final_model/` or `task/`), and a `run.json` notes the
//! origin and whether a final model existed, so `not stored` cells keep their meaning.

use std::path::Path;

use serde::Serialize;

use crate::error::ReportError;
use crate::store::{self, RunName};

/// The files of an original run dir that the reports read.
const COPIED: [&str; 11] = [
    "metrics.json",
    "time_taken.txt",
    "contamination_judgement.txt",
    "disallowed_model_judgement.txt",
    "judge_result.json",
    "prompt.txt",
    "solve_out.txt",
    "solve_parsed.txt",
    "judge_output.txt",
    "system_monitor.log",
    "error.log",
];

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportSummary {
    pub methods: usize,
    pub runs: usize,
    /// Runs without one or both judgement files.
    pub missing_judgement: usize,
    /// Runs without a `final_model/` (`not stored`).
    pub not_stored: usize,
    /// Runs superseded by a later run id of the same (method, benchmark, model) cell.
    pub superseded: usize,
}

/// Copies every run of the original tree `src` into `results_dir` (re-importing overwrites).
pub fn import_original(src: &Path, results_dir: &Path) -> Result<ImportSummary, ReportError> {
    let runs = store::run_dirs(src)?;
    if runs.is_empty() {
        return Err(ReportError::NotAResultsTree {
            path: src.to_path_buf(),
            message: "no <method>/<benchmark>_<org>_<model>_<id>/ directories found; pass the results root".into(),
        });
    }
    let mut summary = ImportSummary::default();
    let mut methods = std::collections::BTreeSet::new();
    let mut latest: std::collections::BTreeMap<(String, String, String), usize> = Default::default();
    for (method, path, name) in &runs {
        let dest = results_dir.join(method).join(path.file_name().expect("run dirs have names"));
        std::fs::create_dir_all(&dest).map_err(|e| ReportError::io(&dest, e))?;
        for file in COPIED {
            let from = path.join(file);
            if from.is_file() {
                std::fs::copy(&from, dest.join(file)).map_err(|e| ReportError::io(&from, e))?;
            }
        }
        let final_model = path.join("final_model").is_dir();
        let run_json = serde_json::json!({
            "source": "original",
            "imported_from": path.display().to_string(),
            "final_model_stored": final_model,
            "spec": { "benchmark": name.benchmark, "hours": store::hours_in_method(method) },
        });
        ptb_core::fsutil::atomic_write_json(&dest.join("run.json"), &run_json)
            .map_err(|e| ReportError::io(dest.join("run.json"), e))?;
        methods.insert(method.clone());
        summary.runs += 1;
        summary.not_stored += usize::from(!final_model);
        let judged =
            ["contamination_judgement.txt", "disallowed_model_judgement.txt"].iter().all(|f| path.join(f).is_file())
                || path.join("judge_result.json").is_file();
        summary.missing_judgement += usize::from(!judged);
        *latest.entry(cell_key(method, name)).or_default() += 1;
    }
    summary.methods = methods.len();
    summary.superseded = latest.values().map(|n| n - 1).sum();
    Ok(summary)
}

fn cell_key(method: &str, name: &RunName) -> (String, String, String) {
    (method.to_string(), name.benchmark.clone(), name.model.clone())
}
