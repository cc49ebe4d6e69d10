//! The agent's scratch home: `task/` with the `evaluate` entrypoint, the pinned chat templates, the
//! benchmark's task context and `timer.sh` — nothing else of the harness — and the prompt.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use ptb_core::{BenchmarkSpec, Registry};

use crate::RunError;
use crate::spec::RunSpec;

/// The paths of one run's scratch directory on the host.
#[derive(Debug, Clone)]
pub struct Scratch {
    /// `<scratch>/<run-id>`.
    pub root: PathBuf,
    /// The agent's home (`root/home`).
    pub home: PathBuf,
    /// The agent's working directory (`home/task`).
    pub task: PathBuf,
    /// The agent's `/tmp` (`root/tmp`).
    pub tmp: PathBuf,
}

impl Scratch {
    /// The layout under `root`.
    pub fn at(root: PathBuf) -> Self {
        let home = root.join("home");
        Self { task: home.join("task"), tmp: root.join("tmp"), home, root }
    }
}

/// Where the agent's `evaluate` finds ptb: the binary and the data dir, as paths inside its sandbox.
#[derive(Debug, Clone)]
pub struct EvaluateEntrypoint {
    pub ptb: PathBuf,
    pub data_dir: PathBuf,
}

fn write_file(path: &Path, text: &str, mode: u32) -> Result<(), RunError> {
    std::fs::write(path, text).map_err(|e| RunError::io(path, e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| RunError::io(path, e))
}

/// Makes the scratch dirs and fills `task/`. Returns warnings (pinned templates missing from the data
/// dir: the agent goes without them; the final evaluation names the fix if it needs one).
pub fn populate(
    scratch: &Scratch,
    spec: &RunSpec,
    bench: &BenchmarkSpec,
    registry: &Registry,
    data_dir: &Path,
    entry: &EvaluateEntrypoint,
) -> Result<Vec<String>, RunError> {
    for dir in [&scratch.task, &scratch.tmp, &scratch.task.join("templates")] {
        std::fs::create_dir_all(dir).map_err(|e| RunError::io(dir, e))?;
    }
    write_file(&scratch.task.join("evaluate"), &evaluate_script(spec, bench, entry), 0o755)?;
    write_file(&scratch.task.join("timer.sh"), &timer_script(None), 0o755)?;
    write_file(&scratch.task.join("benchmark.md"), &task_context(spec, bench), 0o644)?;
    let mut warnings = Vec::new();
    for template in registry.templates.values() {
        let from = data_dir.join("templates").join(&template.file);
        let to = scratch.task.join("templates").join(&template.file);
        if let Err(e) = std::fs::copy(&from, &to) {
            warnings.push(format!(
                "pinned chat template {} ({e}) not given to the agent; run: ptb data fetch --templates-only",
                from.display()
            ));
        }
    }
    Ok(warnings)
}

/// `task/evaluate`: ptb's own evaluation of this benchmark, `--model final_model` and the agent-side
/// item limit unless the caller gives its own.
fn evaluate_script(spec: &RunSpec, bench: &BenchmarkSpec, entry: &EvaluateEntrypoint) -> String {
    let limit = if bench.agent_limit > 0 { bench.agent_limit.to_string() } else { String::new() };
    format!(
        r#"#!/bin/sh
# Evaluates a model on {display} with ptb's evaluation (the code of the final evaluation).
# Usage: ./evaluate [--model DIR] [--limit N] [other options of `ptb eval`, see --help]
# Defaults: --model final_model{limit_doc}. Results go to ./eval_results/.
here=$(cd "$(dirname "$0")" && pwd)
model=; limit=
for arg in "$@"; do
  case "$arg" in
    --model|--model=*) model=1 ;;
    --limit|--limit=*) limit=1 ;;
    -h|--help) exec '{ptb}' eval --help ;;
  esac
done
[ -n "$model" ] || set -- --model "$here/final_model" "$@"
[ -n "$limit" ] || [ -z "{limit}" ] || set -- --limit {limit} "$@"
exec '{ptb}' --data-dir '{data}' --results-dir "$here/eval_results" eval --benchmark {benchmark} "$@"
"#,
        display = bench.display_name,
        limit_doc = if limit.is_empty() { String::new() } else { format!(" --limit {limit}") },
        ptb = entry.ptb.display(),
        data = entry.data_dir.display(),
        benchmark = spec.benchmark,
    )
}

/// `task/timer.sh`: the time left until `deadline` (Unix seconds) in the original's format
/// (`Remaining time (hours:minutes):` then `H:MM`, or `Timer expired!`). Written again with the real
/// deadline the moment the agent starts.
pub fn timer_script(deadline: Option<i64>) -> String {
    let deadline = deadline.map(|d| d.to_string()).unwrap_or_else(|| "$(($(date +%s) + 0))".into());
    format!(
        r#"#!/bin/sh
# Time left of this run; the clock started when the agent started.
deadline={deadline}
left=$((deadline - $(date +%s)))
if [ "$left" -le 0 ]; then
  echo "Timer expired!"
else
  echo "Remaining time (hours:minutes):"
  printf '%d:%02d\n' $((left / 3600)) $(((left % 3600) / 60))
fi
"#
    )
}

/// Writes `timer.sh` with the deadline of an agent starting now.
pub fn start_timer(scratch: &Scratch, spec: &RunSpec) -> Result<(), RunError> {
    let deadline = chrono::Utc::now().timestamp() + spec.time_limit_s as i64;
    write_file(&scratch.task.join("timer.sh"), &timer_script(Some(deadline)), 0o755)
}

/// `task/benchmark.md`: what the benchmark is and how it is scored.
fn task_context(spec: &RunSpec, bench: &BenchmarkSpec) -> String {
    format!(
        "# {display}\n\n- Items in the final evaluation: {items}\n- Scoring: {scoring}\n- `./evaluate` runs \
         ptb's evaluation of `{id}` on a model directory (default `final_model`), with the chat template \
         of the model's family from `templates/`; the final evaluation runs the same code on the full set \
         with the harness's own copies of it.\n- Time: `bash timer.sh` prints what is left.\n",
        display = bench.display_name,
        items = bench.items,
        scoring = bench.scoring,
        id = spec.benchmark,
    )
}

/// The prompt: the template with the run's values. `model_text` names the base model as the agent
/// should read it.
pub fn render_prompt(template: &str, spec: &RunSpec, bench: &BenchmarkSpec, model_text: &str) -> String {
    let gpu_info = match spec.gpus {
        0 => "- The machine has no GPU; everything runs on the CPU.".to_string(),
        1 => "- The machine is equipped with an Nvidia H100 GPU.".to_string(),
        n => format!("- The machine is equipped with {n} Nvidia H100 GPUs."),
    };
    template
        .replace("{model}", model_text)
        .replace("{benchmark}", &bench.display_name)
        .replace("{num_hours}", &spec.hours_text())
        .replace("{gpu_info}", &gpu_info)
        .replace("{setup_other}", "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_prints_the_original_format() {
        let dir = tempfile::tempdir().unwrap();
        let timer = dir.path().join("timer.sh");
        let deadline = chrono::Utc::now().timestamp() + 2 * 3600 + 5 * 60 + 30;
        write_file(&timer, &timer_script(Some(deadline)), 0o755).unwrap();
        let out = std::process::Command::new("sh").arg(&timer).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "Remaining time (hours:minutes):\n2:05\n");
        write_file(&timer, &timer_script(Some(1)), 0o755).unwrap();
        let out = std::process::Command::new("sh").arg(&timer).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "Timer expired!\n");
    }
}
