//! ptb-run: one agent run, from prompt to scored run record.
//!
//! A run goes through [`Phase`]s: *prepare* (scratch workspace with the `evaluate` entrypoint,
//! templates, task context, `timer.sh`; the prompt rendered to `prompt.txt`), *solve* (the agent in
//! its sandbox under outside limits, traced to `solve_out.txt`, monitored to `monitor.jsonl`),
//! *collect* (`final_model/` checked and copied out, or refused with a reason), *evaluate* (the
//! harness's own evaluation in a fresh sandbox on a read-only copy; the base model's score when there
//! is nothing valid to evaluate) and *finish* (scratch removed). `run.json` records every step
//! atomically; [`resume`] continues a run from its last completed phase and never repeats one.

pub mod collect;
mod overlay;
pub mod record;
pub mod run;
pub mod spec;
pub mod workspace;

pub use record::{Phase, RunRecord};
pub use run::{FAILPOINT_ENV, Harness, create, resume};
pub use spec::{AgentSpec, RunSpec};

use std::path::{Path, PathBuf};

/// Why a run could not go on (never the agent's own failure, which the record describes).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Spec(String),
    #[error("{0}")]
    Record(String),
    #[error("{0}")]
    Setup(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl RunError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io { path: path.to_path_buf(), source }
    }
}
