//! `ptb eval --final`: the full set with the original's retry ladder (spec §4.11). Each rung of the
//! benchmark's `max_tokens_ladder` gets a number of attempts; the first attempt that finishes gives the
//! score. A smaller budget rescues models whose context is shorter than the default budget, and
//! repeated attempts ride out transient engine failures. `--limit` and `--max-tokens` make a quick,
//! limited final evaluation (the limit is recorded in the metrics' facts).

use std::path::Path;

use anyhow::{Context as _, bail};
use serde::Serialize;

use crate::cli::EvalArgs;

use super::Ctx;

/// Attempts per rung of the ladder, as the original's final evaluation (4, 3, 2); rungs past the third
/// get one attempt.
const ATTEMPTS_PER_RUNG: [u32; 3] = [4, 3, 2];

/// The files of a successful attempt that become the evaluation's own.
const RESULT_FILES: [&str; 3] = ["samples.jsonl", "metrics.json", "eval.log"];

#[derive(Serialize)]
struct AttemptOutcome {
    attempt: u32,
    rung: usize,
    max_tokens: u32,
    /// `None` when the attempt produced the score.
    error: Option<String>,
}

#[derive(Serialize)]
struct FinalEval<'a> {
    /// The attempt whose results are in this directory.
    scored_attempt: u32,
    max_tokens: u32,
    attempts: &'a [AttemptOutcome],
}

pub async fn run(ctx: &Ctx, args: &EvalArgs, out_dir: &Path) -> anyhow::Result<()> {
    let spec = ctx.config.registry.benchmark(&args.benchmark)?;
    super::eval::prepare_out_dir(out_dir)?;
    let mut outcomes: Vec<AttemptOutcome> = Vec::new();
    for (rung, &rung_tokens) in spec.max_tokens_ladder.iter().enumerate() {
        // `--max-tokens` caps every rung (quick final evaluations, e.g. `ptb run --eval-max-tokens`).
        let max_tokens = args.generation.max_tokens.map_or(rung_tokens, |cap| cap.min(rung_tokens));
        for _ in 0..ATTEMPTS_PER_RUNG.get(rung).copied().unwrap_or(1) {
            let attempt = outcomes.len() as u32 + 1;
            let attempt_dir = out_dir.join(format!("attempt-{attempt}"));
            let mut once = args.clone();
            once.final_eval = false;
            once.generation.max_tokens = Some(max_tokens);
            let quiet = Ctx { config: ctx.config.clone(), json: false, quiet: true };
            let result = Box::pin(super::eval::run_once(&quiet, &once, &attempt_dir)).await;
            let error = result.err().map(|e| crate::output::one_line(&e));
            let line = match &error {
                None => format!("attempt {attempt}: max_tokens {max_tokens}: scored\n"),
                Some(e) => format!("attempt {attempt}: max_tokens {max_tokens}: failed: {e}\n"),
            };
            let log = out_dir.join(format!("final_eval_{attempt}.txt"));
            ptb_core::fsutil::atomic_write(&log, line.as_bytes())
                .with_context(|| format!("cannot write {}", log.display()))?;
            let scored = error.is_none();
            outcomes.push(AttemptOutcome { attempt, rung, max_tokens, error });
            if scored {
                for file in RESULT_FILES {
                    let from = attempt_dir.join(file);
                    if from.exists() {
                        std::fs::rename(&from, out_dir.join(file))
                            .with_context(|| format!("cannot move {} into {}", from.display(), out_dir.display()))?;
                    }
                }
                let _ = std::fs::remove_dir_all(&attempt_dir);
                let record = FinalEval { scored_attempt: attempt, max_tokens, attempts: &outcomes };
                ptb_core::fsutil::atomic_write_json(&out_dir.join("final_eval.json"), &record)?;
                return report(ctx, out_dir, attempt, max_tokens);
            }
            tracing::info!("{}", line.trim_end());
        }
    }
    ptb_core::fsutil::atomic_write_json(
        &out_dir.join("final_eval.json"),
        &serde_json::json!({ "scored_attempt": null, "attempts": outcomes }),
    )?;
    bail!("all {} final-evaluation attempts failed; see final_eval_*.txt in {}", outcomes.len(), out_dir.display())
}

/// Prints the final result from the moved `metrics.json`.
fn report(ctx: &Ctx, out_dir: &Path, attempt: u32, max_tokens: u32) -> anyhow::Result<()> {
    let path = out_dir.join("metrics.json");
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?)?;
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&metrics)?);
    } else if !ctx.quiet {
        let accuracy = metrics["accuracy"].as_f64().unwrap_or(f64::NAN);
        println!("final evaluation: accuracy {accuracy:.4} (attempt {attempt}, max_tokens {max_tokens})");
        println!("metrics: {}", path.display());
        println!("samples: {}", out_dir.join("samples.jsonl").display());
    }
    Ok(())
}
