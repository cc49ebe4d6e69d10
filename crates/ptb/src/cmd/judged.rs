//! `ptb eval` for LLM-judged benchmarks (arenahardwriting, healthbench): generation through the
//! evaluated engine, judgement through the judge endpoint of `--judge-*`, then `samples.jsonl` and
//! `metrics.json` in the benchmark's own shape.

use std::path::Path;
use std::time::Duration;

use anyhow::bail;
use ptb_bench::judged::{Judge, JudgedMetrics, JudgedTask, evaluate_judged};
use ptb_bench::record::{EvalFacts, write_outputs};
use ptb_bench::runner::partial_path;
use ptb_infer::Engine;
use ptb_infer::client::{ApiKey, ClientConfig, OpenAiClient};

use crate::cli::{EvalArgs, JudgeArgs};
use crate::output::progress_bar;

use super::Ctx;
use super::eval::{ModelEngine, load_options, log_line, prepare_out_dir, served_client};

/// Evaluates one judged benchmark with the engine the arguments name and reports the result.
pub async fn run(ctx: &Ctx, args: &EvalArgs, task: &dyn JudgedTask, out_dir: &Path) -> anyhow::Result<()> {
    let judge_client = judge_client(&args.judge)?;
    let metrics = if args.responses.is_some() {
        bail!(
            "{}: --responses is not supported for judged benchmarks yet; evaluate with --model or --base-url",
            args.benchmark
        )
    } else if let Some(base_url) = &args.base_url {
        let client = served_client(args, base_url)?;
        evaluate(ctx, args, task, &client, &judge_client, out_dir).await?
    } else if let Some(model) = &args.model {
        let engine = ModelEngine::start(ctx, args, model, out_dir).await?;
        let result = evaluate(ctx, args, task, engine.engine(), &judge_client, out_dir).await;
        engine.stop().await?;
        result?
    } else {
        bail!("nothing to evaluate: give --model DIR or --base-url URL --served-model NAME")
    };
    if ctx.quiet {
        return Ok(());
    }
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&metrics)?);
    } else {
        println!("{}", summary(&args.benchmark, &metrics));
        println!("samples: {}", out_dir.join("samples.jsonl").display());
        println!("metrics: {}", out_dir.join("metrics.json").display());
    }
    Ok(())
}

/// The judge's client: key from `--judge-api-key-env` (required), bounded by `--judge-concurrency`.
fn judge_client(judge: &JudgeArgs) -> anyhow::Result<OpenAiClient> {
    if !(0.0..=1.0).contains(&judge.judge_max_failure_rate) {
        bail!("--judge-max-failure-rate must be between 0 and 1, got {}", judge.judge_max_failure_rate);
    }
    let mut config = ClientConfig::new(judge.judge_base_url.clone(), judge.judge_model.clone());
    config.api_key = ApiKey::Env(judge.judge_api_key_env.clone());
    config.max_concurrency = judge.judge_concurrency.max(1);
    config.request_timeout = Duration::from_secs(judge.judge_timeout);
    config.max_attempts = judge.judge_max_attempts.max(1);
    Ok(OpenAiClient::new(config)?)
}

/// Generates, judges and records one judged evaluation.
async fn evaluate(
    ctx: &Ctx,
    args: &EvalArgs,
    task: &dyn JudgedTask,
    engine: &dyn Engine,
    judge_engine: &dyn Engine,
    out_dir: &Path,
) -> anyhow::Result<JudgedMetrics> {
    let registry = &ctx.config.registry;
    let spec = registry.benchmark(&args.benchmark)?;
    let benchmark =
        ptb_bench::load_benchmark_with(&args.benchmark, registry, &ctx.config.data_dir, &load_options(args))?;
    prepare_out_dir(out_dir)?;
    let samples = benchmark.selected(args.limit);
    let opts = super::eval::generation_options(args, spec);
    let judge = Judge::new(
        judge_engine,
        args.judge.judge_model.clone(),
        args.judge.judge_concurrency,
        args.judge.judge_max_failure_rate,
    );
    log_line(
        out_dir,
        &format!(
            "evaluating {} on {} items with {}; judge {}",
            args.benchmark,
            samples.len(),
            engine.describe(),
            judge_engine.describe()
        ),
    );
    let facts = EvalFacts {
        benchmark: args.benchmark.clone(),
        n_samples: samples.len(),
        limit: args.limit.filter(|&l| l < benchmark.samples.len()),
        max_tokens: opts.sampling.max_tokens,
        seed: args.generation.seed,
        temperature: opts.sampling.temperature,
        top_p: opts.sampling.top_p,
        engine: engine.describe(),
        prompt_tokens: 0,
        completion_tokens: 0,
        wall_seconds: 0.0,
        ptb_version: env!("CARGO_PKG_VERSION").into(),
    };
    let progress = progress_bar(ctx.quiet, &args.benchmark);
    let partial = partial_path(out_dir);
    let outcome =
        match evaluate_judged(&args.benchmark, task, samples, engine, &judge, &opts, Some(&partial), &progress, facts)
            .await
        {
            Ok(outcome) => outcome,
            Err(e) => {
                log_line(out_dir, &format!("failed: {e}"));
                return Err(e.into());
            }
        };
    write_outputs(out_dir, &outcome.records, &outcome.metrics)?;
    let _ = std::fs::remove_file(&partial);
    log_line(out_dir, &summary(&args.benchmark, &outcome.metrics));
    Ok(outcome.metrics)
}

fn summary(benchmark: &str, m: &JudgedMetrics) -> String {
    format!(
        "{benchmark}: accuracy {:.4} ± {:.4} ({} items scored, {} dropped; {} of {} judgements failed)",
        m.accuracy, m.stderr, m.ptb.items_scored, m.ptb.items_dropped, m.ptb.judge_failures, m.ptb.judge.judgements
    )
}
