//! `run.json`: the spec, the phases done so far, and what each phase found. Written atomically after
//! every change, so a harness killed at any point leaves a record `ptb run --resume` can continue.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ptb_sandbox::SupervisedOutcome;
use serde::{Deserialize, Serialize};

use crate::RunError;
use crate::spec::RunSpec;

/// The phases of a run, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Workspace, prompt and record written.
    Prepare,
    /// The agent ran (or the harness stopped while it ran).
    Solve,
    /// `final_model/` checked and copied out, or refused.
    Collect,
    /// The final evaluation wrote `metrics.json`.
    Evaluate,
    /// The scratch workspace removed; the run is complete.
    Finish,
}

impl Phase {
    /// All phases in order.
    pub const ALL: [Phase; 5] = [Phase::Prepare, Phase::Solve, Phase::Collect, Phase::Evaluate, Phase::Finish];

    /// The phase's name in records and failpoints.
    pub fn name(self) -> &'static str {
        match self {
            Self::Prepare => "prepare",
            Self::Solve => "solve",
            Self::Collect => "collect",
            Self::Evaluate => "evaluate",
            Self::Finish => "finish",
        }
    }
}

/// When a phase started and finished, and how many times it was started (1 unless the harness was
/// killed inside it).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PhaseTimes {
    pub started: Option<String>,
    pub finished: Option<String>,
    pub starts: u32,
}

/// What the collect phase decided about `final_model/`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Collected {
    /// True when `final_model/` was copied out and is evaluated.
    pub accepted: bool,
    /// Why it was refused (None when accepted).
    pub reason: Option<String>,
    /// Files copied out (relative paths).
    pub files: Vec<String>,
    /// Files left behind on purpose, with the reason.
    pub dropped: Vec<String>,
}

/// Whose score `metrics.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evaluated {
    /// `final_model`, or `base_model` when the agent's model could not be evaluated.
    pub score_source: String,
    /// Why the base model's score stands in (None for `final_model`).
    pub reason: Option<String>,
    pub accuracy: Option<f64>,
}

/// The whole `run.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub spec: RunSpec,
    /// The last completed phase (None right after creation).
    pub phase: Option<Phase>,
    pub phases: BTreeMap<String, PhaseTimes>,
    /// `ok` when the run finished, `running` before; with the reason of anything that went wrong.
    pub status: String,
    pub reason: Option<String>,
    /// How the agent's process ended.
    pub solve: Option<SupervisedOutcome>,
    pub collect: Option<Collected>,
    pub evaluation: Option<Evaluated>,
    /// The uid the agent and the final evaluation ran as (when the harness runs as root).
    pub uid: Option<u32>,
    /// The scratch directory holding the agent's home (removed in the finish phase).
    pub scratch: PathBuf,
    /// The sandbox the agent ran in, as given to the backend.
    pub sandbox: serde_json::Value,
    /// sha256 of the evaluation's own files: the ptb binary, the benchmark's data and the templates.
    pub eval_hashes: BTreeMap<String, String>,
    pub versions: BTreeMap<String, String>,
    /// Things a reader of the record must know (no sandbox, no HF cache overlay, …).
    pub warnings: Vec<String>,
}

impl RunRecord {
    /// The record of `run_dir`.
    pub fn load(run_dir: &Path) -> Result<Self, RunError> {
        let path = run_dir.join("run.json");
        let text = std::fs::read_to_string(&path).map_err(|e| RunError::io(&path, e))?;
        serde_json::from_str(&text)
            .map_err(|e| RunError::Record(format!("{}: {e}; the run record is damaged", path.display())))
    }

    /// Writes the record atomically.
    pub fn save(&self, run_dir: &Path) -> Result<(), RunError> {
        let path = run_dir.join("run.json");
        ptb_core::fsutil::atomic_write_json(&path, self).map_err(|e| RunError::io(&path, e))
    }

    /// True when `phase` is done.
    pub fn done(&self, phase: Phase) -> bool {
        self.phase.is_some_and(|p| p >= phase)
    }

    /// Notes the start of `phase`.
    pub fn start(&mut self, phase: Phase) {
        let times = self.phases.entry(phase.name().into()).or_default();
        times.started = Some(now());
        times.starts += 1;
    }

    /// True when `phase` was started but never finished (the harness died inside it).
    pub fn interrupted(&self, phase: Phase) -> bool {
        self.phases.get(phase.name()).is_some_and(|t| t.started.is_some() && t.finished.is_none())
    }

    /// Marks `phase` done.
    pub fn finish(&mut self, phase: Phase) {
        self.phases.entry(phase.name().into()).or_default().finished = Some(now());
        self.phase = Some(phase);
    }
}

/// The UTC time as RFC 3339 to the second.
pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
