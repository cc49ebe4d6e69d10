//! The results store: run directories `results/<method>/<benchmark>_<org>_<model>_<run-id>/` are the
//! source of truth. [`scan`] reads every run of a tree into a flat [`RunRecord`].

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ReportError;

pub use ptb_core::layout::RunName;

/// Orders run ids: numerically when both are numbers (cluster ids), else as strings (timestamps).
pub fn run_id_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<u128>(), b.parse::<u128>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

/// A one-line verdict file of the judge (`contamination_judgement.txt`, `disallowed_model_judgement.txt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Judgement {
    /// `no contamination detected` / `only allowed use detected`.
    Clean,
    /// `contamination detected` / `disallowed use detected`.
    Flagged,
    /// No verdict file (the judge did not run or failed).
    Missing,
    /// A file with other content (the original's `IMPORTANT ERR`).
    Unexpected,
}

impl Judgement {
    fn from_text(text: &str, clean: &str, flagged: &str) -> Self {
        let t = text.trim().to_lowercase();
        if t == clean {
            Self::Clean
        } else if t == flagged {
            Self::Flagged
        } else {
            Self::Unexpected
        }
    }

    fn from_bool(detected: bool) -> Self {
        if detected { Self::Flagged } else { Self::Clean }
    }
}

/// Everything the reports need about one run, read from its directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub method: String,
    /// `<method>/<run dir>`, relative to the results root.
    pub dir: String,
    pub benchmark: String,
    pub org: String,
    pub model: String,
    pub run_id: String,
    /// `ptb` for runs of ptb, `original` for runs imported from the original system.
    pub source: String,
    /// `metrics.json` `accuracy` (fraction), when the file exists and holds a number.
    pub accuracy: Option<f64>,
    pub stderr: Option<f64>,
    /// Why `accuracy` is absent: `metrics.json missing` or `metrics.json invalid: …`.
    pub metrics_problem: Option<String>,
    /// Solve-phase wall time from `time_taken.txt` (absent: the solve phase never finished).
    pub time_seconds: Option<u64>,
    /// A `final_model/` was stored.
    pub final_model: bool,
    pub contamination: Judgement,
    pub disallowed: Judgement,
    /// Time budget of the run (run.json spec, else the method name's `_<N>h`).
    pub budget_hours: Option<f64>,
    pub agent: Option<String>,
    pub agent_model: Option<String>,
    pub phase: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub exit_code: Option<i64>,
    pub exit_reason: Option<String>,
    pub tokens: Option<u64>,
    pub cost_usd: Option<f64>,
    /// Files that could not be read as expected (kept, never fatal).
    pub warnings: Vec<String>,
}

/// `run.json`, read tolerantly: any field may be missing or of another type; unknown fields are ignored.
#[derive(Debug, Clone, Default)]
pub struct RunJson(pub Value);

impl RunJson {
    /// Reads `run.json` of a run dir; a missing file gives an empty record, a broken one a warning.
    pub fn read(run_dir: &Path) -> (Self, Option<String>) {
        match std::fs::read(run_dir.join("run.json")) {
            Err(_) => (Self::default(), None),
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(v) => (Self(v), None),
                Err(e) => (Self::default(), Some(format!("run.json is not JSON ({e})"))),
            },
        }
    }

    fn at(&self, path: &[&str]) -> Option<&Value> {
        path.iter().try_fold(&self.0, |v, k| v.get(k))
    }

    /// A string field at a path of keys (`["spec", "agent"]`).
    pub fn str_at(&self, path: &[&str]) -> Option<String> {
        self.at(path).and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    }

    /// A number field at a path (numbers given as strings are accepted).
    pub fn f64_at(&self, path: &[&str]) -> Option<f64> {
        self.at(path).and_then(|v| v.as_f64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())))
    }

    /// A boolean field at a path.
    pub fn bool_at(&self, path: &[&str]) -> Option<bool> {
        self.at(path).and_then(Value::as_bool)
    }
}

/// Parses `HH:MM:SS` (hours may exceed 24) into seconds.
pub fn parse_hms(text: &str) -> Option<u64> {
    let parts: Vec<u64> = text.trim().split(':').map(|p| p.trim().parse().ok()).collect::<Option<_>>()?;
    match parts[..] {
        [h, m, s] if m < 60 && s < 60 => Some(h * 3600 + m * 60 + s),
        _ => None,
    }
}

/// Formats seconds as `H:MM:SS`.
pub fn format_hms(seconds: u64) -> String {
    format!("{}:{:02}:{:02}", seconds / 3600, seconds / 60 % 60, seconds % 60)
}

/// The time budget named in a method dir (`claude_claude-opus-4-6_10h_run2` → 10).
pub fn hours_in_method(method: &str) -> Option<f64> {
    method.split('_').find_map(|f| f.strip_suffix('h').and_then(|n| n.parse::<f64>().ok()))
}

/// Strips the `[YYYY-MM-DDTHH:MM:SSZ] ` prefix that the original's `timestamp_lines.py` adds.
pub fn strip_timestamp(line: &str) -> (Option<&str>, &str) {
    let b = line.as_bytes();
    if b.len() >= 23 && b[0] == b'[' && b[21] == b']' && b[22] == b' ' && b[11] == b'T' && b[20] == b'Z' {
        (Some(&line[1..21]), &line[23..])
    } else {
        (None, line)
    }
}

/// Cost and tokens from the Claude Code `{"type":"result",…}` line of `solve_out.txt`, if any.
fn usage_from_trace(run_dir: &Path) -> Option<(Option<u64>, Option<f64>)> {
    let text = std::fs::read_to_string(run_dir.join("solve_out.txt")).ok()?;
    text.lines().find_map(|line| {
        let (_, rest) = strip_timestamp(line);
        if !rest.starts_with("{\"type\":\"result\"") {
            return None;
        }
        let v: Value = serde_json::from_str(rest).ok()?;
        let usage = v.get("usage");
        let tokens = usage.map(|u| {
            ["input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"]
                .iter()
                .filter_map(|k| u.get(k).and_then(Value::as_u64))
                .sum()
        });
        Some((tokens, v.get("total_cost_usd").and_then(Value::as_f64)))
    })
}

fn judgement(run_dir: &Path, file: &str, json_key: &str, clean: &str, flagged: &str) -> Judgement {
    if let Ok(text) = std::fs::read_to_string(run_dir.join(file)) {
        return Judgement::from_text(&text, clean, flagged);
    }
    let from_json = std::fs::read(run_dir.join("judge_result.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v.get(json_key).and_then(Value::as_bool));
    from_json.map(Judgement::from_bool).unwrap_or(Judgement::Missing)
}

/// Reads one run directory. `method` is the name of its parent.
pub fn read_run(method: &str, run_dir: &Path, name: &RunName) -> RunRecord {
    let mut warnings = Vec::new();
    let (rj, warn) = RunJson::read(run_dir);
    warnings.extend(warn);
    let (accuracy, stderr, metrics_problem) = match std::fs::read(run_dir.join("metrics.json")) {
        Err(_) => (None, None, Some("metrics.json missing".to_string())),
        Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
            Ok(v) => match v.get("accuracy").and_then(Value::as_f64) {
                Some(a) => (Some(a), v.get("stderr").and_then(Value::as_f64), None),
                None => (None, None, Some("metrics.json invalid: no numeric accuracy".to_string())),
            },
            Err(e) => (None, None, Some(format!("metrics.json invalid: {e}"))),
        },
    };
    let time_seconds = match std::fs::read_to_string(run_dir.join("time_taken.txt")) {
        Err(_) => None,
        Ok(t) => {
            let s = parse_hms(&t);
            if s.is_none() {
                warnings.push(format!("time_taken.txt is not HH:MM:SS: {:?}", t.trim()));
            }
            s
        }
    };
    let final_model = run_dir.join("final_model").is_dir() || rj.bool_at(&["final_model_stored"]).unwrap_or(false);
    let (trace_tokens, trace_cost) = usage_from_trace(run_dir).unwrap_or((None, None));
    let tokens = rj.f64_at(&["usage", "total_tokens"]).map(|t| t as u64).or(trace_tokens);
    let cost_usd = rj.f64_at(&["usage", "cost_usd"]).or(trace_cost);
    RunRecord {
        method: method.to_string(),
        dir: format!("{method}/{}", run_dir.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()),
        benchmark: name.benchmark.clone(),
        org: name.org.clone(),
        model: name.model.clone(),
        run_id: name.run_id.clone(),
        source: rj.str_at(&["source"]).unwrap_or_else(|| "ptb".into()),
        accuracy,
        stderr,
        metrics_problem,
        time_seconds,
        final_model,
        contamination: judgement(
            run_dir,
            "contamination_judgement.txt",
            "contamination_detected",
            "no contamination detected",
            "contamination detected",
        ),
        disallowed: judgement(
            run_dir,
            "disallowed_model_judgement.txt",
            "disallowed_model_detected",
            "only allowed use detected",
            "disallowed use detected",
        ),
        budget_hours: rj.f64_at(&["spec", "hours"]).or_else(|| hours_in_method(method)),
        agent: rj.str_at(&["spec", "agent"]),
        agent_model: rj.str_at(&["spec", "agent_model"]),
        phase: rj.str_at(&["phase"]),
        started_at: rj.str_at(&["started_at"]),
        finished_at: rj.str_at(&["finished_at"]),
        exit_code: rj.f64_at(&["exit", "code"]).map(|c| c as i64),
        exit_reason: rj.str_at(&["exit", "reason"]).or_else(|| rj.str_at(&["exit", "status"])),
        tokens,
        cost_usd,
        warnings,
    }
}

/// The run directories of a results tree: `(method, path, parsed name)`, sorted. Directories whose
/// names do not split into four fields (e.g. `evals/`) are skipped.
pub fn run_dirs(results_dir: &Path) -> Result<Vec<(String, PathBuf, RunName)>, ReportError> {
    let mut out = Vec::new();
    for method in sorted_subdirs(results_dir)? {
        let method_name = method.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        for run in sorted_subdirs(&method)? {
            let name = run.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if let Some(parsed) = RunName::parse(&name) {
                out.push((method_name.clone(), run, parsed));
            }
        }
    }
    Ok(out)
}

fn sorted_subdirs(dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let entries = std::fs::read_dir(dir).map_err(|e| ReportError::io(dir, e))?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// Reads every run of a results tree.
pub fn scan(results_dir: &Path) -> Result<Vec<RunRecord>, ReportError> {
    Ok(run_dirs(results_dir)?.into_iter().map(|(method, path, name)| read_run(&method, &path, &name)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_order_numerically() {
        assert_eq!(run_id_cmp("9", "10"), std::cmp::Ordering::Less);
        assert_eq!(run_id_cmp("20260102T00", "20260101T00"), std::cmp::Ordering::Greater);
    }

    #[test]
    fn time_and_budget_parse() {
        assert_eq!(parse_hms("09:20:05\n"), Some(9 * 3600 + 20 * 60 + 5));
        assert_eq!(parse_hms("52:00:00"), Some(52 * 3600));
        assert_eq!(parse_hms("9:61:00"), None);
        assert_eq!(format_hms(33605), "9:20:05");
        assert_eq!(hours_in_method("claude_claude-opus-4-6_10h_run2"), Some(10.0));
        assert_eq!(hours_in_method("baseline_zeroshot"), None);
    }

    #[test]
    fn run_json_is_read_tolerantly() {
        let rj = RunJson(serde_json::json!({"spec": {"hours": "5", "agent": "claude"}, "exit": {"code": 124}}));
        assert_eq!(rj.f64_at(&["spec", "hours"]), Some(5.0));
        assert_eq!(rj.str_at(&["spec", "agent"]).as_deref(), Some("claude"));
        assert_eq!(rj.f64_at(&["exit", "code"]), Some(124.0));
        assert_eq!(rj.str_at(&["phase"]), None);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("run.json"), "{not json").unwrap();
        let (rj, warn) = RunJson::read(dir.path());
        assert!(warn.unwrap().contains("run.json"));
        assert_eq!(rj.str_at(&["phase"]), None);
    }

    #[test]
    fn a_run_dir_is_read_with_its_quirks() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("m_10h/gsm8k_Qwen_Qwen3-4B-Base_7");
        std::fs::create_dir_all(run.join("final_model")).unwrap();
        std::fs::write(run.join("metrics.json"), r#"{"accuracy": 0.5, "stderr": 0.01}"#).unwrap();
        std::fs::write(run.join("time_taken.txt"), "02:30:00\n").unwrap();
        std::fs::write(run.join("contamination_judgement.txt"), "contamination detected\n").unwrap();
        std::fs::write(
            run.join("solve_out.txt"),
            "[2026-01-01T00:00:00Z] hello\n[2026-01-01T00:00:01Z] {\"type\":\"result\",\"total_cost_usd\":4.62,\"usage\":{\"input_tokens\":10,\"output_tokens\":5}}\n",
        )
        .unwrap();
        let runs = scan(dir.path()).unwrap();
        assert_eq!(runs.len(), 1);
        let r = &runs[0];
        assert_eq!(r.accuracy, Some(0.5));
        assert_eq!(r.time_seconds, Some(9000));
        assert!(r.final_model);
        assert_eq!(r.contamination, Judgement::Flagged);
        assert_eq!(r.disallowed, Judgement::Missing);
        assert_eq!(r.budget_hours, Some(10.0));
        assert_eq!((r.tokens, r.cost_usd), (Some(15), Some(4.62)));
        assert_eq!(r.dir, "m_10h/gsm8k_Qwen_Qwen3-4B-Base_7");
    }
}
