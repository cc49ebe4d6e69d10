//! What one run is: agent, base model, benchmark, time limit, sandbox; and the names its record gets
//! (`<method>/<benchmark>_<org>_<model>_<run-id>`, the original's layout).

use std::path::PathBuf;
use std::time::Duration;

use ptb_core::layout::RunName;
use ptb_sandbox::Backend;
use serde::{Deserialize, Serialize};

use crate::RunError;

/// The agents this crate runs itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AgentSpec {
    /// A shell command run in the sandbox (tests, custom scaffolds); the prompt arrives on stdin.
    Command { command: String },
    /// Copies the base model unchanged into `final_model/`: the zero-shot baseline through the run
    /// pipeline. Trusted harness code, so it runs outside the sandbox.
    Reference,
}

/// One run, as asked for. Stored in `run.json`; `ptb run --resume` continues from it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSpec {
    /// The agent's registry name (`command`, `reference`, …).
    pub agent_name: String,
    pub agent: AgentSpec,
    /// The base model as given: a registry id (`Qwen/Qwen3-1.7B-Base`) or a local path.
    pub base_model: String,
    /// The id the run is recorded under: the Hub id, or `local/<name>` for a local path
    /// ([`ptb_core::layout::model_id_of_path`], as `ptb baseline` records it).
    pub model_id: String,
    /// Where the base model lies on the host (a directory, or a `.gguf` file).
    pub base_model_path: PathBuf,
    /// True when `base_model` was a Hub id found in the shared Hugging Face cache.
    pub base_model_from_hub: bool,
    pub benchmark: String,
    /// Wall-clock limit of the agent, in seconds.
    pub time_limit_s: u64,
    pub gpus: u32,
    pub sandbox: Backend,
    /// Items of the final evaluation (None: the full benchmark).
    pub eval_limit: Option<usize>,
    /// Cap on every rung of the final evaluation's max-token ladder (None: the benchmark's ladder).
    #[serde(default)]
    pub eval_max_tokens: Option<u32>,
    /// Bytes the workspace may hold.
    pub disk_cap: Option<u64>,
    /// Sampling seed of the final evaluation.
    pub seed: Option<u64>,
    /// The method directory (results/<method>/…).
    pub method: String,
    /// Unique id of this run (the last field of the run dir name).
    pub run_id: String,
}

impl RunSpec {
    /// The wall-clock limit.
    pub fn time_limit(&self) -> Duration {
        Duration::from_secs(self.time_limit_s)
    }

    /// The run dir's name: `<benchmark>_<org>_<model>_<run-id>` (the original's layout).
    pub fn run_dir_name(&self) -> String {
        RunName::dir_name(&self.benchmark, &self.model_id, &self.run_id)
    }

    /// The base model's name without its org (`Qwen3-1.7B-Base`, or a local file's stem).
    pub fn model_name(&self) -> &str {
        self.model_id.rsplit('/').next().unwrap_or(&self.model_id)
    }

    /// The time limit as the prompt says it: hours with up to two decimals (`10`, `0.5`, `0.01`).
    pub fn hours_text(&self) -> String {
        let hours = self.time_limit_s as f64 / 3600.0;
        let text = format!("{hours:.2}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        if text == "0" { "0.01".into() } else { text.into() }
    }
}

/// A new run id: UTC time to the second and four random hex digits (no `_`).
pub fn new_run_id() -> String {
    format!("{}-{:04x}", chrono::Utc::now().format("%Y%m%dT%H%M%S"), fastrand::u16(..))
}

/// The default method name: `<agent>_<limit>` (`reference_10h`, `command_15s`), `_<N>gpu` for several
/// GPUs, and `_limit<N>` when the final evaluation is limited, so that a leaderboard never mixes limited
/// and full evaluations in one row; `_max<T>` likewise for a capped token budget.
pub fn default_method(
    agent: &str,
    time_limit_s: u64,
    gpus: u32,
    eval_limit: Option<usize>,
    eval_max_tokens: Option<u32>,
) -> String {
    let mut method = format!("{}_{}", sanitize(agent), duration_label(time_limit_s));
    if gpus > 1 {
        method.push_str(&format!("_{gpus}gpu"));
    }
    if let Some(n) = eval_limit {
        method.push_str(&format!("_limit{n}"));
    }
    if let Some(t) = eval_max_tokens {
        method.push_str(&format!("_max{t}"));
    }
    method
}

/// `36000` → `10h`, `120` → `2m`, `15` → `15s`, `5400` → `90m`.
pub fn duration_label(seconds: u64) -> String {
    if seconds > 0 && seconds.is_multiple_of(3600) {
        format!("{}h", seconds / 3600)
    } else if seconds > 0 && seconds.is_multiple_of(60) {
        format!("{}m", seconds / 60)
    } else {
        format!("{seconds}s")
    }
}

/// Parses `--time-limit`: `15s`, `2m`, `1.5h`, `90` (seconds).
pub fn parse_duration(text: &str) -> Result<u64, RunError> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => text.split_at(i),
        None => (text, "s"),
    };
    let scale = match unit {
        "s" | "sec" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return Err(RunError::Spec(format!("time limit {text:?}: use a number with s, m or h (15s, 2m, 10h)"))),
    };
    match number.trim().parse::<f64>() {
        Ok(n) if n > 0.0 && n.is_finite() => Ok((n * scale).round().max(1.0) as u64),
        _ => Err(RunError::Spec(format!("time limit {text:?}: use a positive number with s, m or h (15s, 2m, 10h)"))),
    }
}

/// Parses `--disk-cap`: `500M`, `20G`, `1T`, or bytes.
pub fn parse_size(text: &str) -> Result<u64, RunError> {
    let text = text.trim();
    let (number, scale) = match text.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&text[..text.len() - 1], 1u64 << 10),
        Some('M') => (&text[..text.len() - 1], 1 << 20),
        Some('G') => (&text[..text.len() - 1], 1 << 30),
        Some('T') => (&text[..text.len() - 1], 1 << 40),
        _ => (text, 1),
    };
    match number.trim().parse::<f64>() {
        Ok(n) if n > 0.0 && n.is_finite() => Ok((n * scale as f64) as u64),
        _ => Err(RunError::Spec(format!("disk cap {text:?}: use a size such as 500M, 20G or 1T"))),
    }
}

fn sanitize(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '.') { c } else { '-' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes_parse_or_say_how() {
        assert_eq!(parse_duration("15s").unwrap(), 15);
        assert_eq!(parse_duration("2m").unwrap(), 120);
        assert_eq!(parse_duration("1.5h").unwrap(), 5400);
        assert_eq!(parse_duration("90").unwrap(), 90);
        assert!(parse_duration("soon").unwrap_err().to_string().contains("15s, 2m, 10h"));
        assert!(parse_duration("-3m").is_err());
        assert_eq!(parse_size("8M").unwrap(), 8 << 20);
        assert_eq!(parse_size("20G").unwrap(), 20 << 30);
        assert!(parse_size("lots").is_err());
        assert_eq!(duration_label(36000), "10h");
        assert_eq!(duration_label(120), "2m");
        assert_eq!(duration_label(15), "15s");
    }

    #[test]
    fn method_names_say_what_was_limited() {
        assert_eq!(default_method("reference", 36000, 1, None, None), "reference_10h");
        assert_eq!(default_method("command", 15, 2, Some(3), Some(64)), "command_15s_2gpu_limit3_max64");
        assert!(!new_run_id().contains('_'));
    }
}
