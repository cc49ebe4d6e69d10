//! The registry: benchmarks (with pinned data sources), base models (with their chat-template family
//! and forbidden instruct counterparts), pinned chat templates and agents. Compiled-in defaults live in
//! `registry.toml`; a user file extends or overrides them table by table.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The compiled-in registry, as TOML.
pub const BUILTIN_TOML: &str = include_str!("registry.toml");

/// The agent prompt template of the original (`src/eval/general/prompt.txt`, spec §6.2), with
/// `{model}`, `{benchmark}`, `{num_hours}`, `{gpu_info}` and `{setup_other}` placeholders and
/// `./evaluate` for ptb's entrypoint. A config's `[run] prompt_file` replaces it.
pub const DEFAULT_PROMPT: &str = include_str!("prompts/posttrainbench.txt");

/// Errors from reading or querying the registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("invalid registry in {source_name}: {message}")]
    Invalid { source_name: String, message: String },
    #[error("unknown {what} '{id}'{}; `ptb list {list}` shows the known ones", hint(.suggestion))]
    Unknown { what: &'static str, list: &'static str, id: String, suggestion: Option<String> },
}

fn hint(suggestion: &Option<String>) -> String {
    suggestion.as_ref().map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default()
}

/// Where a data file comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    /// A file of a Hugging Face Hub dataset repository.
    Hub,
    /// A file at a fixed URL (e.g. a raw file of a pinned git commit).
    Url,
}

/// One pinned data file of a benchmark.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataFile {
    /// What the file holds for the benchmark: `test`, `train`, `answers`, `baseline`.
    pub role: String,
    pub kind: FileKind,
    /// Hub dataset repo id (`kind = "hub"`).
    #[serde(default)]
    pub repo: Option<String>,
    /// Hub revision: a commit sha, or a branch name when no commit is pinned yet.
    #[serde(default)]
    pub revision: Option<String>,
    /// Full URL (`kind = "url"`).
    #[serde(default)]
    pub url: Option<String>,
    /// Path inside the repo, and the path under `{data_dir}/{folder}/` where the file is stored.
    pub path: String,
    /// Other file names of the same content that the loaders accept in the benchmark folder.
    #[serde(default)]
    pub alternatives: Vec<String>,
    /// Expected sha256 (hex); empty when not known in advance.
    #[serde(default)]
    pub sha256: String,
}

impl DataFile {
    /// The download URL for this file given a Hub endpoint (e.g. `https://huggingface.co`).
    pub fn download_url(&self, hub_endpoint: &str) -> String {
        match self.kind {
            FileKind::Url => self.url.clone().unwrap_or_default(),
            FileKind::Hub => format!(
                "{}/datasets/{}/resolve/{}/{}",
                hub_endpoint.trim_end_matches('/'),
                self.repo.as_deref().unwrap_or_default(),
                self.revision.as_deref().unwrap_or("main"),
                self.path
            ),
        }
    }
}

/// A benchmark of the suite.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchmarkSpec {
    /// The name the agent prompt uses (the original's `benchmark.txt`).
    pub display_name: String,
    /// Folder of its files under the data dir.
    pub folder: String,
    /// Number of items in the full evaluation set.
    pub items: usize,
    /// Default `--limit` of the agent's evaluate entrypoint (-1 = all).
    pub agent_limit: i64,
    /// Max-token budgets of the final evaluation's retry ladder, one per phase.
    pub max_tokens_ladder: Vec<u32>,
    /// Leaderboard weight (PostTrainBench `factors.json`).
    pub weight: f64,
    /// Scorer kind: `numeric`, `choice`, `code`, `tool_call`, `judge`.
    pub scoring: String,
    /// True when the Hub dataset is gated and needs `HF_TOKEN`.
    #[serde(default)]
    pub gated: bool,
    pub files: Vec<DataFile>,
}

impl BenchmarkSpec {
    /// The pinned file with the given role, if any.
    pub fn file(&self, role: &str) -> Option<&DataFile> {
        self.files.iter().find(|f| f.role == role)
    }
}

/// A base model the agent may post-train.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Chat-template family (`qwen3`, `gemma3`, `smollm3`).
    pub family: String,
    /// Instruct checkpoints that must not be submitted in place of a fine-tune.
    pub forbidden: Vec<String>,
}

/// A chat template pinned by the final evaluation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateSpec {
    pub url: String,
    /// File name under `{data_dir}/templates/`.
    pub file: String,
    pub sha256: String,
}

/// An agent (scaffold) that can be run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSpec {
    /// `scaffold` (an agent CLI), `command` (any shell command) or `builtin`.
    pub kind: String,
    pub description: String,
}

/// The whole registry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    pub benchmarks: BTreeMap<String, BenchmarkSpec>,
    pub models: BTreeMap<String, ModelSpec>,
    pub templates: BTreeMap<String, TemplateSpec>,
    pub agents: BTreeMap<String, AgentSpec>,
}

impl Registry {
    /// The compiled-in registry.
    pub fn builtin() -> Self {
        Self::from_table(builtin_table(), "the built-in registry").expect("built-in registry is valid")
    }

    /// Builds a registry from the built-in defaults overridden by `overrides` (the registry tables of a
    /// user config: `benchmarks`, `models`, `templates`, `agents`).
    pub fn with_overrides(overrides: &toml::Table, source_name: &str) -> Result<Self, RegistryError> {
        let mut base = builtin_table();
        merge_tables(&mut base, overrides);
        Self::from_table(base, source_name)
    }

    fn from_table(table: toml::Table, source_name: &str) -> Result<Self, RegistryError> {
        let reg: Registry = toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| {
            RegistryError::Invalid { source_name: source_name.into(), message: e.message().to_string() }
        })?;
        for (id, b) in &reg.benchmarks {
            if b.max_tokens_ladder.is_empty() {
                return Err(RegistryError::Invalid {
                    source_name: source_name.into(),
                    message: format!("benchmark '{id}' has an empty max_tokens_ladder"),
                });
            }
        }
        for (id, m) in &reg.models {
            if !reg.templates.keys().any(|t| t == &m.family) {
                return Err(RegistryError::Invalid {
                    source_name: source_name.into(),
                    message: format!("model '{id}' has family '{}' with no [templates.{}]", m.family, m.family),
                });
            }
        }
        Ok(reg)
    }

    /// Looks a benchmark up by id.
    pub fn benchmark(&self, id: &str) -> Result<&BenchmarkSpec, RegistryError> {
        self.benchmarks.get(id).ok_or_else(|| unknown("benchmark", "benchmarks", id, self.benchmarks.keys()))
    }

    /// Looks a base model up by Hub id.
    pub fn model(&self, id: &str) -> Result<&ModelSpec, RegistryError> {
        self.models.get(id).ok_or_else(|| unknown("model", "models", id, self.models.keys()))
    }

    /// Looks an agent up by name.
    pub fn agent(&self, id: &str) -> Result<&AgentSpec, RegistryError> {
        self.agents.get(id).ok_or_else(|| unknown("agent", "agents", id, self.agents.keys()))
    }

    /// Sum of the leaderboard weights of all benchmarks.
    pub fn total_weight(&self) -> f64 {
        self.benchmarks.values().map(|b| b.weight).sum()
    }
}

fn unknown<'a>(
    what: &'static str,
    list: &'static str,
    id: &str,
    keys: impl Iterator<Item = &'a String>,
) -> RegistryError {
    let suggestion = crate::closest(id, keys.map(String::as_str)).map(str::to_string);
    RegistryError::Unknown { what, list, id: id.to_string(), suggestion }
}

fn builtin_table() -> toml::Table {
    BUILTIN_TOML.parse().expect("built-in registry parses")
}

/// Merges `over` into `base`: tables recursively, every other value (arrays included) replaced whole.
pub fn merge_tables(base: &mut toml::Table, over: &toml::Table) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge_tables(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_has_the_suite() {
        let r = Registry::builtin();
        let ids: Vec<_> = r.benchmarks.keys().map(String::as_str).collect();
        assert_eq!(ids, ["aime2025", "arenahardwriting", "bfcl", "gpqamain", "gsm8k", "healthbench", "humaneval"]);
        assert!((r.total_weight() - 1.0).abs() < 1e-9);
        assert_eq!(r.benchmark("gsm8k").unwrap().items, 1319);
        assert_eq!(r.benchmark("gsm8k").unwrap().max_tokens_ladder, [4000, 3000, 2000]);
        assert_eq!(r.model("Qwen/Qwen3-4B-Base").unwrap().forbidden, ["Qwen/Qwen3-4B", "Qwen/Qwen3-4B-Instruct-2507"]);
        assert_eq!(r.models.len(), 4);
        assert!(r.agent("reference").is_ok());
    }

    #[test]
    fn unknown_ids_suggest_the_closest() {
        let r = Registry::builtin();
        let e = r.benchmark("gsm8").unwrap_err().to_string();
        assert!(e.contains("did you mean 'gsm8k'"), "{e}");
        let e = r.model("Qwen/Qwen3-4B-base").unwrap_err().to_string();
        assert!(e.contains("Qwen/Qwen3-4B-Base"), "{e}");
    }

    #[test]
    fn overrides_change_fields_and_add_entries() {
        let over: toml::Table = r#"
            [benchmarks.gsm8k]
            agent_limit = 50
            [models."my-org/Tiny-Base"]
            family = "qwen3"
            forbidden = []
        "#
        .parse()
        .unwrap();
        let r = Registry::with_overrides(&over, "test").unwrap();
        let g = r.benchmark("gsm8k").unwrap();
        assert_eq!(g.agent_limit, 50);
        assert_eq!(g.items, 1319, "untouched fields keep their defaults");
        assert!(r.model("my-org/Tiny-Base").is_ok());
    }

    #[test]
    fn bad_overrides_are_reported() {
        let over: toml::Table = "[benchmarks.gsm8k]\nitems = \"many\"".parse().unwrap();
        let e = Registry::with_overrides(&over, "ptb.toml").unwrap_err().to_string();
        assert!(e.contains("ptb.toml"), "{e}");
        let over: toml::Table = "[models.\"x/y\"]\nfamily = \"llama9\"\nforbidden = []".parse().unwrap();
        assert!(Registry::with_overrides(&over, "ptb.toml").is_err());
    }

    #[test]
    fn hub_urls_follow_the_resolve_layout() {
        let r = Registry::builtin();
        let f = r.benchmark("aime2025").unwrap().file("test").unwrap();
        assert_eq!(
            f.download_url("http://127.0.0.1:9/"),
            "http://127.0.0.1:9/datasets/math-ai/aime25/resolve/main/test.jsonl"
        );
    }
}
