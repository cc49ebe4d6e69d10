//! HumanEval as PostTrainBench evaluated it (inspect_evals `humaneval`, scorers.md §5): the
//! instruction followed by the record's prompt, the code extracted from the completion, and the
//! program `prompt + code + test + check(entry_point)` run with Python — here always inside the
//! bubblewrap sandbox of `ptb-sandbox`, never on the host (HE-9). pass@1.
//!
//! Each sample's metadata carries `prompt`, `test` and `entry_point`, so `ptb eval --responses`
//! re-scores recorded answers without the dataset.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use ptb_core::BenchmarkSpec;
use ptb_infer::{ChatMessage, ChatResponse};
use ptb_sandbox::{Bubblewrap, ExecOutcome, ExecSpec, Limits, Termination};
use ptb_score::humaneval::{self as he, Problem};
use ptb_score::{Profile, ScoreError, Scored, Verdict};

use crate::task::{BenchError, Sample, Scorer, ScoringInput, field};

/// The instruction before the record's prompt (§5.1): it starts with a newline and ends with a blank line.
pub const INSTRUCTION: &str = "\nRead the following function signature and docstring, and fully implement\nthe function described. Your response should only contain the code for\nthis function.\n\n";

/// The interpreter override: a path to a Python 3 that an unprivileged user can run.
pub const PYTHON_ENV: &str = "PTB_PYTHON";

/// Programs at least this long do not fit one command-line argument (Linux `MAX_ARG_STRLEN`, 128 KiB
/// with the terminating NUL), so they are run from a file instead of `python -c`.
const MAX_ARG_LEN: usize = 128 * 1024;

/// Loads the 164 problems (`task_id`, `prompt`, `canonical_solution`, `test`, `entry_point`).
pub fn load(spec: &BenchmarkSpec, data_dir: &Path) -> Result<Vec<Sample>, BenchError> {
    let path = ptb_data::locate(data_dir, "humaneval", spec, "test")?;
    let records = ptb_data::read_records(&path)?;
    records
        .iter()
        .enumerate()
        .map(|(i, record)| {
            let text = |key| field(record, key, &path, i);
            let prompt = text("prompt")?;
            Ok(Sample {
                id: text("task_id")?.to_string(),
                messages: vec![ChatMessage::new("user", format!("{INSTRUCTION}{prompt}"))],
                tools: Vec::new(),
                raw_prompt: None,
                // inspect_evals' target; the scorer ignores it.
                target: text("canonical_solution")?.to_string(),
                metadata: serde_json::json!({
                    "prompt": prompt,
                    "test": text("test")?,
                    "entry_point": text("entry_point")?,
                }),
            })
        })
        .collect()
}

/// HumanEval's scorer: extracts the code under the profile's rules and runs the program in a fresh
/// sandbox, one per verdict.
pub struct HumanEvalScorer {
    sandbox: Bubblewrap,
    /// The interpreter's path inside the sandbox (the same as on the host).
    python: PathBuf,
    /// Host paths the interpreter needs beside `/usr`, bound read-only.
    ro_binds: Vec<PathBuf>,
    /// The strict profile's per-run nonce (§7.3 step 5).
    nonce: String,
    limits: Limits,
}

impl HumanEvalScorer {
    /// Finds bubblewrap and Python. Fails (with what to install) when either is missing: HumanEval
    /// never runs model-written code outside the sandbox.
    pub fn new() -> Result<Self, BenchError> {
        let sandbox = Bubblewrap::find()?;
        let (python, ro_binds) = find_python()?;
        let nonce = format!("ptb-nonce-{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        Ok(Self { sandbox, python, ro_binds, nonce, limits: Limits::default() })
    }

    /// Runs `program` with `python -c` (as inspect_evals did) or, when `as_file`, as `main.py` in the
    /// work dir.
    fn run(&self, program: &str, as_file: bool) -> Result<ExecOutcome, ScoreError> {
        let mut spec = if as_file {
            ExecSpec::new([self.python.as_os_str(), "main.py".as_ref()]).file("main.py", program)
        } else {
            ExecSpec::new([self.python.as_os_str().to_owned(), OsString::from("-c"), OsString::from(program)])
        };
        spec.ro_binds = self.ro_binds.clone();
        spec.limits = self.limits.clone();
        self.sandbox.exec(&spec).map_err(|e| ScoreError::Execution { message: e.to_string() })
    }
}

impl Scorer for HumanEvalScorer {
    fn score(&self, profile: Profile, item: ScoringInput<'_>, response: &ChatResponse) -> Result<Scored, ScoreError> {
        let problem = problem(item.metadata)?;
        let (verdict, extracted, outcome) = match profile {
            Profile::PtbV1 => {
                let answer = he::find_code_v1(&response.content);
                let program = he::program_v1(&problem, &answer);
                // inspect_evals passed the program with `-c`; one that cannot be an argument (too
                // long, or holding a NUL byte, where inspect raised) runs from a file.
                let outcome = self.run(&program, program.len() >= MAX_ARG_LEN || program.contains('\0'))?;
                (if outcome.success() { Verdict::C } else { Verdict::I }, answer, outcome)
            }
            Profile::Strict => {
                let Some(code) = he::find_code_strict(&response.content, problem.entry_point) else {
                    return Ok(Scored { verdict: Verdict::N, extracted: None });
                };
                let outcome = self.run(&he::program_strict(&problem, &code, &self.nonce), true)?;
                (he::verdict_strict(outcome.success(), &outcome.stdout, &self.nonce), code.code, outcome)
            }
        };
        match outcome.termination {
            Termination::OutputLimit => {
                tracing::warn!(id = item.id, ?profile, "output exceeded 10 MiB: inspect raised an error here; scored I")
            }
            Termination::TimedOut => tracing::info!(id = item.id, ?profile, "timed out after 30 s; scored I"),
            _ => {}
        }
        Ok(Scored { verdict, extracted: Some(extracted) })
    }
}

/// The program parts recorded in a sample's metadata.
fn problem(metadata: &serde_json::Value) -> Result<Problem<'_>, ScoreError> {
    let text =
        |field: &'static str| metadata.get(field).and_then(|v| v.as_str()).ok_or(ScoreError::MissingMetadata { field });
    Ok(Problem { prompt: text("prompt")?, test: text("test")?, entry_point: text("entry_point")? })
}

/// The interpreter: `$PTB_PYTHON`, else `/usr/bin/python3`, else `python3` on `PATH`; resolved to
/// its real file. One outside `/usr` gets its installation prefix (the parent of its `bin`) bound
/// read-only into the sandbox.
fn find_python() -> Result<(PathBuf, Vec<PathBuf>), BenchError> {
    let chosen = match std::env::var_os(PYTHON_ENV).filter(|v| !v.is_empty()) {
        Some(path) => PathBuf::from(path),
        None if Path::new("/usr/bin/python3").exists() => PathBuf::from("/usr/bin/python3"),
        None => std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|dir| dir.join("python3"))
            .find(|p| p.is_file())
            .ok_or_else(|| {
                BenchError::Setup(format!(
                    "HumanEval runs its tests with Python 3, and none was found: install python3 or set {PYTHON_ENV}"
                ))
            })?,
    };
    let real = std::fs::canonicalize(&chosen).map_err(|e| {
        BenchError::Setup(format!("{}: {e}; set {PYTHON_ENV} to a Python 3 interpreter", chosen.display()))
    })?;
    let binds = match real.parent().and_then(Path::parent) {
        Some(prefix) if !real.starts_with("/usr/") && prefix != Path::new("/") => vec![prefix.to_path_buf()],
        _ => Vec::new(),
    };
    Ok((real, binds))
}
