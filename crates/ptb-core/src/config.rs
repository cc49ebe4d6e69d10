//! User configuration: `--config FILE`, else `ptb.toml` in the working directory, else
//! `~/.config/ptb/ptb.toml`, else built-in defaults. The file holds settings and any registry tables
//! (`[benchmarks.*]`, `[models.*]`, `[templates.*]`, `[agents.*]`) that extend the built-in registry.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::registry::{Registry, RegistryError};

/// Errors from loading a configuration file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}; pass --config with an existing file")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config {path} is not valid TOML: {message}")]
    Parse { path: PathBuf, message: String },
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// The engine launcher's settings (`[engine]` in the config).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSettings {
    /// Command template that serves `{model}` on `{port}` with `{template}`, `{key}` and
    /// `{served_name}`; `None` means the launcher's default (`vllm serve …`).
    #[serde(default)]
    pub command: Option<String>,
    /// Seconds to wait for the engine's `/v1/models` to answer.
    #[serde(default = "default_startup_timeout")]
    pub startup_timeout_s: u64,
}

fn default_startup_timeout() -> u64 {
    1200
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self { command: None, startup_timeout_s: default_startup_timeout() }
    }
}

/// Settings of `ptb run` (`[run]` in the config).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunSettings {
    /// Where each run's scratch workspace (the agent's home) is made; never inside the results dir.
    pub scratch_dir: PathBuf,
    /// A prompt template replacing the built-in one ([`crate::registry::DEFAULT_PROMPT`]).
    pub prompt_file: Option<PathBuf>,
    /// Seconds between SIGTERM and SIGKILL at the time limit.
    pub grace_s: u64,
    /// Seconds between two lines of `monitor.jsonl`.
    pub monitor_interval_s: u64,
    /// Seconds between two checks of the workspace's disk use against the cap.
    pub disk_check_s: u64,
    /// Processes (and threads) the agent may have at once.
    pub max_processes: u64,
    /// Host environment variables passed into the agent's sandbox by name (nothing else is).
    pub env_allow: Vec<String>,
    /// Host paths shown read-only in the agent's sandbox at the same path (a toolchain outside /usr).
    pub ro_binds: Vec<PathBuf>,
    /// The apptainer image of `--sandbox apptainer`.
    pub apptainer_image: Option<PathBuf>,
    /// Keep the scratch workspace after the run (it is removed by default).
    pub keep_scratch: bool,
    /// Wall-clock limit of the final evaluation, in seconds.
    pub eval_time_limit_s: u64,
}

impl Default for RunSettings {
    /// `/var/tmp/ptb-runs`, 30 s grace, a monitor line a minute, disk checked every 5 s, 4096
    /// processes, no variables passed, an 8-hour evaluation limit.
    fn default() -> Self {
        Self {
            scratch_dir: PathBuf::from("/var/tmp/ptb-runs"),
            prompt_file: None,
            grace_s: 30,
            monitor_interval_s: 60,
            disk_check_s: 5,
            max_processes: 4096,
            env_allow: Vec::new(),
            ro_binds: Vec::new(),
            apptainer_image: None,
            keep_scratch: false,
            eval_time_limit_s: 8 * 3600,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    results_dir: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    hf_endpoint: Option<String>,
    #[serde(default)]
    engine: EngineSettings,
    #[serde(default)]
    run: RunSettings,
}

/// The effective configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from, if any.
    pub source: Option<PathBuf>,
    /// Root of run and evaluation records (`results_dir` in the file, default `results`).
    pub results_dir: PathBuf,
    /// Benchmark files and pinned templates: `PTB_DATA_DIR`, else `data_dir` in the file, else
    /// [`default_data_dir`].
    pub data_dir: PathBuf,
    /// Hugging Face Hub endpoint (`HF_ENDPOINT` overrides the file).
    pub hf_endpoint: String,
    pub engine: EngineSettings,
    pub run: RunSettings,
    pub registry: Registry,
}

const REGISTRY_KEYS: [&str; 4] = ["benchmarks", "models", "templates", "agents"];

impl Config {
    /// Loads the configuration. `explicit` is `--config`; when absent, `ptb.toml` in `cwd` and then
    /// `~/.config/ptb/ptb.toml` are tried, and built-in defaults are used if neither exists.
    pub fn load(explicit: Option<&Path>, cwd: &Path) -> Result<Self, ConfigError> {
        let path = match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => {
                let local = cwd.join("ptb.toml");
                let user = home_dir().map(|h| h.join(".config/ptb/ptb.toml"));
                [Some(local), user].into_iter().flatten().find(|p| p.is_file())
            }
        };
        let Some(path) = path else { return Self::from_table(toml::Table::new(), None) };
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Parse { path: path.clone(), message: one_line(e.message()) })?;
        Self::from_table(table, Some(path))
    }

    fn from_table(mut table: toml::Table, source: Option<PathBuf>) -> Result<Self, ConfigError> {
        let name = source.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "defaults".into());
        let mut registry_tables = toml::Table::new();
        for key in REGISTRY_KEYS {
            if let Some(v) = table.remove(key) {
                registry_tables.insert(key.to_string(), v);
            }
        }
        let settings: Settings = toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| {
            ConfigError::Parse { path: source.clone().unwrap_or_default(), message: one_line(e.message()) }
        })?;
        let registry = Registry::with_overrides(&registry_tables, &name)?;
        let hf_endpoint = std::env::var("HF_ENDPOINT")
            .ok()
            .filter(|v| !v.is_empty())
            .or(settings.hf_endpoint)
            .unwrap_or_else(|| "https://huggingface.co".into());
        Ok(Self {
            source,
            results_dir: settings.results_dir.unwrap_or_else(|| PathBuf::from("results")),
            data_dir: env_path("PTB_DATA_DIR").or(settings.data_dir).unwrap_or_else(default_data_dir),
            hf_endpoint,
            engine: settings.engine,
            run: settings.run,
            registry,
        })
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The user's home directory, from `$HOME`.
pub fn home_dir() -> Option<PathBuf> {
    env_path("HOME")
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name).filter(|d| !d.is_empty()).map(PathBuf::from)
}

/// The data dir when neither `PTB_DATA_DIR` nor the config names one: `$XDG_DATA_HOME/ptb`, else
/// `~/.local/share/ptb`.
pub fn default_data_dir() -> PathBuf {
    if let Some(d) = env_path("XDG_DATA_HOME") {
        return d.join("ptb");
    }
    home_dir().unwrap_or_else(|| PathBuf::from(".")).join(".local/share/ptb")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_file_is_found_and_merged() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("ptb.toml"),
            "results_dir = \"/r\"\ndata_dir = \"/d\"\n[engine]\ncommand = \"x {model}\"\n[benchmarks.gsm8k]\nagent_limit = 7\n",
        )
        .unwrap();
        let c = Config::load(None, dir.path()).unwrap();
        assert_eq!(c.results_dir, PathBuf::from("/r"));
        assert_eq!(c.data_dir, PathBuf::from("/d"));
        assert_eq!(c.engine.command.as_deref(), Some("x {model}"));
        assert_eq!(c.registry.benchmark("gsm8k").unwrap().agent_limit, 7);
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.toml");
        std::fs::write(&p, "results_dir = [").unwrap();
        let e = Config::load(Some(&p), dir.path()).unwrap_err().to_string();
        assert!(e.contains("bad.toml"), "{e}");
        assert!(!e.contains('\n'), "one line: {e}");
        let e = Config::load(Some(&dir.path().join("missing.toml")), dir.path()).unwrap_err().to_string();
        assert!(e.contains("missing.toml"), "{e}");
        std::fs::write(&p, "colour = 1").unwrap();
        assert!(Config::load(Some(&p), dir.path()).is_err(), "unknown keys are refused");
    }
}
