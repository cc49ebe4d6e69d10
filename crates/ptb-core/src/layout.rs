//! The results layout the original defined and every tool reads: `results/<method>/<run dir>/`, the run
//! dir named `<benchmark>_<org>_<model>_<run-id>` ([`RunName`]), the model id a local path is
//! recorded under ([`model_id_of_path`]) and the format of `time_taken.txt` ([`time_taken_text`]).

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The four fields of a run directory name (`gsm8k_Qwen_Qwen3-4B-Base_16775298`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunName {
    pub benchmark: String,
    pub org: String,
    /// The bare model name (`Qwen3-4B-Base`): everything between the org and the run id.
    pub model: String,
    pub run_id: String,
}

impl RunName {
    /// Splits a run directory name: benchmark = first field, run id = last, org = second, model = the
    /// rest (so a model name with `_` still parses). `None` for names with fewer than four fields.
    pub fn parse(name: &str) -> Option<Self> {
        let (benchmark, rest) = name.split_once('_')?;
        let (middle, run_id) = rest.rsplit_once('_')?;
        let (org, model) = middle.split_once('_')?;
        if [benchmark, org, model, run_id].iter().any(|s| s.is_empty()) {
            return None;
        }
        Some(Self { benchmark: benchmark.into(), org: org.into(), model: model.into(), run_id: run_id.into() })
    }

    /// The directory name for a benchmark, a Hub model id (`/ : [ ]` → `_`, as the original) and a run id.
    pub fn dir_name(benchmark: &str, model_id: &str, run_id: &str) -> String {
        let safe: String = model_id.chars().map(|c| if "/:[]".contains(c) { '_' } else { c }).collect();
        format!("{benchmark}_{safe}_{run_id}")
    }
}

/// The content of a run's `time_taken.txt`: `HH:MM:SS` and a newline, as the original writes it.
pub fn time_taken_text(seconds: u64) -> String {
    format!("{:02}:{:02}:{:02}\n", seconds / 3600, seconds / 60 % 60, seconds % 60)
}

/// The id a model path is recorded under: `org/name` inside a Hugging Face cache
/// (`…/models--org--name/snapshots/…`), else `local/<dir name or file stem>`.
pub fn model_id_of_path(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let in_cache = absolute.components().find_map(|c| {
        let repo = c.as_os_str().to_str()?.strip_prefix("models--")?;
        let (org, name) = repo.split_once("--")?;
        Some(format!("{org}/{name}"))
    });
    if let Some(id) = in_cache {
        return id;
    }
    let named = if absolute.is_file() { absolute.file_stem() } else { absolute.file_name() };
    let name = match named {
        Some(name) => name.to_string_lossy().into_owned(),
        None => std::fs::canonicalize(&absolute)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "model".into()),
    };
    format!("local/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_names_split_into_four_fields() {
        let n = RunName::parse("gsm8k_Qwen_Qwen3-4B-Base_16775298").unwrap();
        assert_eq!(
            (n.benchmark.as_str(), n.org.as_str(), n.model.as_str(), n.run_id.as_str()),
            ("gsm8k", "Qwen", "Qwen3-4B-Base", "16775298")
        );
        let n = RunName::parse("bfcl_my-org_tiny_model_v2_7").unwrap();
        assert_eq!(n.model, "tiny_model_v2");
        assert!(RunName::parse("gsm8k-20260101T000000Z").is_none());
        assert!(RunName::parse("a_b_c").is_none());
        assert_eq!(RunName::dir_name("gsm8k", "google/gemma-3-4b-pt", "5"), "gsm8k_google_gemma-3-4b-pt_5");
    }

    #[test]
    fn time_taken_is_zero_padded_hours_minutes_seconds() {
        assert_eq!(time_taken_text(5), "00:00:05\n");
        assert_eq!(time_taken_text(36 * 3600 + 61), "36:01:01\n");
    }

    #[test]
    fn local_paths_and_hub_cache_paths_get_ids() {
        assert_eq!(model_id_of_path(Path::new("/x/hub/models--Qwen--Qwen3-4B/snapshots/abc")), "Qwen/Qwen3-4B");
        assert_eq!(model_id_of_path(Path::new("/models/my_model")), "local/my_model");
    }
}
