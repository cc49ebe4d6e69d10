//! `ptb baseline`: the reference rows of the leaderboard. Every (model, benchmark) pair is one `ptb eval
//! --model` (the same code path: engine choice, pinned chat templates, scoring, `samples.jsonl` and
//! `metrics.json`) into a run dir of the original's layout,
//! `<results>/<method>/<benchmark>_<org>_<model>_<run-id>/`, beside the original's record files (spec
//! §11): `model.txt` (id, then path), `eval.txt` (benchmark, then prompting, items and engine),
//! `timestamp.txt` (UTC start), `final_eval.txt` (score or error, then `Time taken (seconds): N`) and,
//! after a success, `time_taken.txt` (`HH:MM:SS`).
//!
//! Base and instruct models zero-shot go to the aggregation's `baseline_method` (`baseline_zeroshot`),
//! base models few-shot to its `fewshot_method` (`baseline_fewshot`). The run id is the command's UTC
//! start time, shared by all its runs. A model that cannot be found or evaluated is reported on one
//! line and the others still run; the command then fails.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, anyhow, bail, ensure};
use clap::CommandFactory as _;
use ptb_core::layout::RunName;
use ptb_data::HubCache;
use serde::Serialize;

use crate::cli::{BaselineArgs, BaselineKind, EvalArgs};
use crate::output::one_line;

use super::Ctx;

/// One evaluation of the command, as `--json` prints it.
#[derive(Debug, Serialize)]
struct Outcome {
    model: String,
    benchmark: String,
    method: String,
    /// The run dir, when the model was found.
    dir: Option<PathBuf>,
    accuracy: Option<f64>,
    error: Option<String>,
}

pub async fn run(ctx: &Ctx, args: BaselineArgs) -> anyhow::Result<()> {
    if args.few_shot && args.kind == BaselineKind::Instruct {
        crate::cli::Cli::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                "--few-shot evaluates base models (the paper's few-shot baseline); use it with --kind base",
            )
            .exit();
    }
    let registry = &ctx.config.registry;
    let benchmarks: Vec<String> = if args.benchmarks.is_empty() {
        registry.benchmarks.keys().cloned().collect()
    } else {
        args.benchmarks.clone()
    };
    for id in &benchmarks {
        registry.benchmark(id)?;
    }
    if args.few_shot {
        ptb_bench::check_few_shot(&benchmarks.iter().map(String::as_str).collect::<Vec<_>>())?;
    }
    let aggregation = ptb_report::AggregateConfig::from_registry(registry);
    let method = if args.few_shot { aggregation.fewshot_method } else { aggregation.baseline_method };
    let models: Vec<String> = match (args.models.is_empty(), args.kind) {
        (false, _) => args.models.clone(),
        (true, BaselineKind::Base) => registry.models.keys().cloned().collect(),
        (true, BaselineKind::Instruct) => {
            registry.models.values().filter_map(|m| m.forbidden.first().cloned()).collect()
        }
    };
    let run_id = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let cache = HubCache::from_env();
    let mut outcomes = Vec::new();
    for spec in &models {
        let model = match resolve(spec, cache.as_ref()) {
            Ok(model) => model,
            Err(e) => {
                let error = one_line(&e);
                eprintln!("error: {error}");
                outcomes.extend(benchmarks.iter().map(|benchmark| Outcome {
                    model: spec.clone(),
                    benchmark: benchmark.clone(),
                    method: method.clone(),
                    dir: None,
                    accuracy: None,
                    error: Some(error.clone()),
                }));
                continue;
            }
        };
        for benchmark in &benchmarks {
            let dir = ctx.config.results_dir.join(&method).join(RunName::dir_name(benchmark, &model.id, &run_id));
            if !ctx.quiet && !ctx.json {
                println!("{method}: {} on {benchmark} -> {}", model.id, dir.display());
            }
            let result = evaluate(ctx, &args, &model, benchmark, &dir).await;
            if let Err(e) = &result {
                eprintln!("error: {} on {benchmark}: {}", model.id, one_line(e));
            }
            outcomes.push(Outcome {
                model: model.id.clone(),
                benchmark: benchmark.clone(),
                method: method.clone(),
                dir: Some(dir),
                accuracy: result.as_ref().ok().copied(),
                error: result.err().map(|e| one_line(&e)),
            });
        }
    }
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&outcomes)?);
    }
    let failed = outcomes.iter().filter(|o| o.error.is_some()).count();
    if failed > 0 {
        bail!("{failed} of {} baseline evaluations failed (each is named above)", outcomes.len());
    }
    Ok(())
}

/// Evaluates `model` on `benchmark` into the run dir `dir` and writes its record files; the accuracy.
async fn evaluate(ctx: &Ctx, args: &BaselineArgs, model: &Model, benchmark: &str, dir: &Path) -> anyhow::Result<f64> {
    super::eval::prepare_out_dir(dir)?;
    let started = Instant::now();
    let items = ctx.config.registry.benchmark(benchmark)?.items;
    let prompting = if args.few_shot {
        format!(
            "few-shot, raw completion prompt without a chat template, temperature {}, top-p {}",
            ptb_bench::FEW_SHOT_TEMPERATURE,
            ptb_bench::FEW_SHOT_TOP_P
        )
    } else {
        "zero-shot, pinned chat template of the model's family (a .gguf file keeps its own)".to_string()
    };
    let selected = match args.limit {
        Some(n) if n < items => format!("first {n} of {items} (--limit {n})"),
        _ => format!("all {items}"),
    };
    let engine = format!("{:?}", args.generation.engine).to_lowercase();
    record(dir, "model.txt", &format!("{}\n{}\n", model.id, model.path.display()))?;
    record(dir, "eval.txt", &format!("{benchmark}\nprompting: {prompting}\nitems: {selected}\nengine: {engine}\n"))?;
    record(
        dir,
        "timestamp.txt",
        &format!("{}\n", chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
    )?;
    let mut eval = EvalArgs::defaults(benchmark);
    eval.model = Some(model.path.clone());
    eval.limit = args.limit;
    eval.few_shot = args.few_shot;
    eval.generation = args.generation.clone();
    eval.judge = args.judge.clone();
    let inner = Ctx { config: ctx.config.clone(), json: false, quiet: ctx.quiet || ctx.json };
    let result = super::eval::run_once(&inner, &eval, dir).await.and_then(|()| accuracy(dir));
    let seconds = started.elapsed().as_secs();
    let outcome = match &result {
        Ok((accuracy, n)) => format!("{benchmark} {}: accuracy {accuracy:.4} on {n} items", model.id),
        Err(e) => format!("{benchmark} {}: failed: {}", model.id, one_line(e)),
    };
    record(dir, "final_eval.txt", &format!("{outcome}\nTime taken (seconds): {seconds}\n"))?;
    let (accuracy, _) = result?;
    record(dir, "time_taken.txt", &ptb_core::layout::time_taken_text(seconds))?;
    Ok(accuracy)
}

/// The `accuracy` and the number of items of a finished evaluation's `metrics.json`.
fn accuracy(dir: &Path) -> anyhow::Result<(f64, u64)> {
    let path = dir.join("metrics.json");
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let metrics: serde_json::Value = serde_json::from_slice(&bytes)?;
    let accuracy = metrics["accuracy"].as_f64().ok_or_else(|| anyhow!("{}: no numeric accuracy", path.display()))?;
    Ok((accuracy, metrics["ptb"]["facts"]["n_samples"].as_u64().unwrap_or(0)))
}

/// Writes one record file of a run dir atomically.
fn record(dir: &Path, name: &str, text: &str) -> anyhow::Result<()> {
    let path = dir.join(name);
    ptb_core::fsutil::atomic_write(&path, text.as_bytes()).with_context(|| format!("cannot write {}", path.display()))
}

/// A model to evaluate: the Hub-style `org/name` its run dirs are named after, and its files.
#[derive(Debug, PartialEq)]
struct Model {
    id: String,
    path: PathBuf,
}

/// Resolves one `--model` value (or registry id): `ID=PATH`; a path (one that exists, starts with `/`
/// or `.`, ends in `.gguf` or has more than one `/`); else a Hub id, found offline in `cache`.
fn resolve(spec: &str, cache: Option<&HubCache>) -> anyhow::Result<Model> {
    let existing = |path: &Path| {
        ensure!(path.exists(), "{}: no such model dir or file", path.display());
        Ok(path.to_path_buf())
    };
    if let Some((id, path)) = spec.split_once('=') {
        let id = if id.contains('/') { id.to_string() } else { format!("local/{id}") };
        return Ok(Model { id, path: existing(Path::new(path))? });
    }
    let path = Path::new(spec);
    if path.exists() || spec.starts_with(['/', '.']) || spec.ends_with(".gguf") || spec.matches('/').count() > 1 {
        let path = existing(path)?;
        return Ok(Model { id: ptb_core::layout::model_id_of_path(&path), path });
    }
    let Some(cache) = cache else {
        bail!("{spec}: no Hugging Face cache to find it in (set HF_HOME or HF_HUB_CACHE), or pass --model {spec}=DIR")
    };
    let path = cache.model_snapshot(spec, None).map_err(|e| anyhow!("{e} (--model {spec}=DIR)"))?;
    Ok(Model { id: spec.to_string(), path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_values_resolve_to_ids_and_paths() {
        let dir = tempfile::tempdir().unwrap();
        let snapshot = dir.path().join("hub/models--Qwen--Qwen3-1.7B/snapshots/abc");
        std::fs::create_dir_all(&snapshot).unwrap();
        std::fs::create_dir_all(dir.path().join("hub/models--Qwen--Qwen3-1.7B/refs")).unwrap();
        std::fs::write(dir.path().join("hub/models--Qwen--Qwen3-1.7B/refs/main"), "abc\n").unwrap();
        let gguf = dir.path().join("Tiny_Model.Q4.gguf");
        std::fs::write(&gguf, "").unwrap();
        let cache = HubCache::new(dir.path().join("hub"));

        let hub = resolve("Qwen/Qwen3-1.7B", Some(&cache)).unwrap();
        assert_eq!(hub, Model { id: "Qwen/Qwen3-1.7B".into(), path: snapshot.clone() });
        let by_path = resolve(snapshot.to_str().unwrap(), Some(&cache)).unwrap();
        assert_eq!(by_path.id, "Qwen/Qwen3-1.7B", "a path inside the cache keeps its Hub id");
        let file = resolve(gguf.to_str().unwrap(), None).unwrap();
        assert_eq!(file.id, "local/Tiny_Model.Q4");
        let named = resolve(&format!("google/gemma-3-4b-pt={}", gguf.display()), None).unwrap();
        assert_eq!(named, Model { id: "google/gemma-3-4b-pt".into(), path: gguf.clone() });

        let missing = resolve("Qwen/Qwen3-4B", Some(&cache)).unwrap_err().to_string();
        assert!(missing.contains("Qwen/Qwen3-4B") && missing.contains("--model Qwen/Qwen3-4B=DIR"), "{missing}");
        let typo = resolve("./no/such/dir", Some(&cache)).unwrap_err().to_string();
        assert!(typo.contains("no such model dir or file"), "{typo}");
    }
}
