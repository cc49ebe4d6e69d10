//! `ptb eval`: evaluate a model on one benchmark, or re-score recorded answers.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use ptb_bench::record::{EvalFacts, read_sample_records, write_outputs};
use ptb_bench::runner::{generate, partial_path, rescore, score_generated};
use ptb_bench::{EvalMetrics, EvalOptions, SampleRecord, Scorer};
use ptb_infer::client::{ApiKey, ClientConfig, OpenAiClient};
use ptb_infer::launcher::{self, LaunchConfig};
use ptb_infer::{Engine, Sampling};

use crate::cli::EvalArgs;
use crate::output::progress_bar;

use super::Ctx;

pub async fn run(ctx: &Ctx, args: EvalArgs) -> anyhow::Result<()> {
    let out_dir = args.out.clone().unwrap_or_else(|| default_out_dir(&ctx.config.results_dir, &args.benchmark));
    if args.final_eval {
        return super::final_eval::run(ctx, &args, &out_dir).await;
    }
    run_once(ctx, &args, &out_dir).await
}

/// One evaluation of `args` into `out_dir`, whatever the benchmark and the engine.
pub(super) async fn run_once(ctx: &Ctx, args: &EvalArgs, out_dir: &Path) -> anyhow::Result<()> {
    if args.few_shot {
        ptb_bench::check_few_shot(&[&args.benchmark])?;
    }
    if let Some(task) = ptb_bench::judged::judged_task(&args.benchmark) {
        return super::judged::run(ctx, args, task.as_ref(), out_dir).await;
    }
    let metrics = if let Some(responses) = &args.responses {
        rescore_file(ctx, args, responses, out_dir)?
    } else if let Some(base_url) = &args.base_url {
        let client = served_client(args, base_url)?;
        evaluate(ctx, args, &client, out_dir).await?
    } else if let Some(model) = &args.model {
        let engine = ModelEngine::start(ctx, args, model, out_dir).await?;
        let result = evaluate(ctx, args, engine.engine(), out_dir).await;
        engine.stop().await?;
        result?
    } else {
        bail!("nothing to evaluate: give --model DIR, --base-url URL --served-model NAME, or --responses FILE")
    };
    report(ctx, &args.benchmark, &metrics, out_dir)
}

/// The engine serving `--model` for one evaluation: in-process, or a launched server (`--engine`).
pub(super) enum ModelEngine {
    Embedded(ptb_engine::EmbeddedEngine),
    Launched(Box<(launcher::EngineProcess, OpenAiClient)>),
}

impl ModelEngine {
    /// Starts the engine `--engine` chooses for `model`, with the pinned chat template of its family.
    pub(super) async fn start(ctx: &Ctx, args: &EvalArgs, model: &Path, out_dir: &Path) -> anyhow::Result<Self> {
        if super::embedded::chosen(ctx, args.generation.engine) {
            return Ok(Self::Embedded(super::embedded::for_eval(ctx, args, model).await?));
        }
        let (process, client) = launch_engine(ctx, args, model, out_dir).await?;
        Ok(Self::Launched(Box::new((process, client))))
    }

    /// The engine to send requests to.
    pub(super) fn engine(&self) -> &dyn Engine {
        match self {
            Self::Embedded(engine) => engine,
            Self::Launched(launched) => &launched.1,
        }
    }

    /// Stops a launched engine's process group; the embedded engine just goes out of scope.
    pub(super) async fn stop(self) -> anyhow::Result<()> {
        if let Self::Launched(launched) = self {
            launched.0.stop().await?;
        }
        Ok(())
    }
}

/// The client of an already running server (`--base-url`, `--served-model`, `--api-key-env`).
pub(super) fn served_client(args: &EvalArgs, base_url: &str) -> anyhow::Result<OpenAiClient> {
    let model = args.served_model.clone().unwrap_or_default();
    let mut config = ClientConfig::new(base_url.to_string(), model);
    config.api_key = if std::env::var_os(&args.api_key_env).is_some() {
        ApiKey::Env(args.api_key_env.clone())
    } else {
        ApiKey::None
    };
    config.max_concurrency = args.generation.concurrency.max(1);
    config.request_timeout = Duration::from_secs(args.generation.timeout);
    Ok(OpenAiClient::new(config)?)
}

/// Starts the configured engine on `model_dir` with the pinned template of its family (never the
/// model dir's own template) and returns it with a client bounded by `--concurrency`/`--timeout`.
pub(super) async fn launch_engine(
    ctx: &Ctx,
    args: &EvalArgs,
    model_dir: &Path,
    out_dir: &Path,
) -> anyhow::Result<(launcher::EngineProcess, OpenAiClient)> {
    let template = pinned_template(ctx, &args.benchmark, model_dir)?;
    prepare_out_dir(out_dir)?;
    let mut launch = LaunchConfig::new(model_dir, "final_model", out_dir.join("engine.log"));
    if let Some(command) = &ctx.config.engine.command {
        launch.command = command.clone();
    }
    launch.chat_template = Some(template);
    launch.startup_timeout = Duration::from_secs(ctx.config.engine.startup_timeout_s);
    let engine = launcher::launch(launch).await?;
    let mut config = engine.client_config();
    config.max_concurrency = args.generation.concurrency.max(1);
    config.request_timeout = Duration::from_secs(args.generation.timeout);
    match OpenAiClient::new(config) {
        Ok(client) => Ok((engine, client)),
        Err(e) => {
            engine.stop().await?;
            Err(e.into())
        }
    }
}

/// The chat template the final evaluation pins for the family of `model_dir` (read from its
/// config.json, never from its path) and this benchmark.
pub(super) fn pinned_template(ctx: &Ctx, benchmark: &str, model_dir: &Path) -> anyhow::Result<PathBuf> {
    let family = ptb_chat::detect_family_in_dir(model_dir)?;
    let Some(file) = ptb_chat::pinned_template_file(family, benchmark == "bfcl") else {
        bail!("{}: the final evaluation pins no chat template for the {family:?} family", model_dir.display());
    };
    let template = ctx.config.data_dir.join("templates").join(file);
    if !template.is_file() {
        bail!("pinned chat template {} is missing; run: ptb data fetch --templates-only", template.display());
    }
    Ok(template)
}

/// Generates, scores and records one evaluation through `engine`.
pub async fn evaluate(ctx: &Ctx, args: &EvalArgs, engine: &dyn Engine, out_dir: &Path) -> anyhow::Result<EvalMetrics> {
    let registry = &ctx.config.registry;
    let spec = registry.benchmark(&args.benchmark)?;
    let scorer = ptb_bench::scorer(&args.benchmark, registry)?;
    let benchmark =
        ptb_bench::load_benchmark_with(&args.benchmark, registry, &ctx.config.data_dir, &load_options(args))?;
    prepare_out_dir(out_dir)?;
    let samples = benchmark.selected(args.limit);
    let opts = generation_options(args, spec);
    let started = Instant::now();
    log_line(out_dir, &format!("evaluating {} on {} items with {}", args.benchmark, samples.len(), engine.describe()));
    let progress = progress_bar(ctx.quiet, &args.benchmark);
    let partial = partial_path(out_dir);
    let generated = generate(engine, samples, &opts, Some(&partial), &progress).await?;
    let records = score_generated(scorer.as_ref(), samples, &generated)?;
    let facts = EvalFacts {
        benchmark: args.benchmark.clone(),
        n_samples: records.len(),
        limit: args.limit.filter(|&l| l < benchmark.samples.len()),
        max_tokens: opts.sampling.max_tokens,
        seed: args.generation.seed,
        temperature: opts.sampling.temperature,
        top_p: opts.sampling.top_p,
        engine: engine.describe(),
        prompt_tokens: records.iter().map(|r| r.prompt_tokens).sum(),
        completion_tokens: records.iter().map(|r| r.completion_tokens).sum(),
        wall_seconds: started.elapsed().as_secs_f64(),
        ptb_version: env!("CARGO_PKG_VERSION").into(),
    };
    let metrics = finish(scorer.as_ref(), &records, facts, out_dir)?;
    let _ = std::fs::remove_file(&partial);
    log_line(out_dir, &summary(&args.benchmark, &metrics));
    Ok(metrics)
}

/// How the items are built: GPQA's `--choice-seed`, and few-shot prompts with `--few-shot`.
pub(super) fn load_options(args: &EvalArgs) -> ptb_bench::LoadOptions {
    ptb_bench::LoadOptions { choice_seed: args.generation.choice_seed, few_shot: args.few_shot }
}

/// What `--limit`, `--concurrency`, `--max-tokens` (default: the ladder's first rung) and `--seed`
/// ask of generation; `--few-shot` samples at the paper's temperature and top-p, chat prompts with the
/// model's own settings.
pub(super) fn generation_options(args: &EvalArgs, spec: &ptb_core::BenchmarkSpec) -> EvalOptions {
    let generation = &args.generation;
    EvalOptions {
        limit: args.limit,
        concurrency: generation.concurrency.max(1),
        sampling: Sampling {
            max_tokens: Some(generation.max_tokens.unwrap_or(spec.max_tokens_ladder[0])),
            seed: generation.seed,
            temperature: args.few_shot.then_some(ptb_bench::FEW_SHOT_TEMPERATURE),
            top_p: args.few_shot.then_some(ptb_bench::FEW_SHOT_TOP_P),
            stop: Vec::new(),
        },
    }
}

/// The metrics of scored `records` (with the scorer's original metric keys), written with them.
fn finish(
    scorer: &dyn Scorer,
    records: &[SampleRecord],
    facts: EvalFacts,
    out_dir: &Path,
) -> anyhow::Result<EvalMetrics> {
    let metrics = EvalMetrics::from_records(records, facts).with_original_metrics(scorer.original_metrics());
    write_outputs(out_dir, records, &metrics)?;
    Ok(metrics)
}

fn rescore_file(ctx: &Ctx, args: &EvalArgs, responses: &Path, out_dir: &Path) -> anyhow::Result<EvalMetrics> {
    let scorer = ptb_bench::scorer(&args.benchmark, &ctx.config.registry)?;
    let started = Instant::now();
    let mut recorded = read_sample_records(responses)?;
    if let Some(limit) = args.limit {
        recorded.truncate(limit);
    }
    if recorded.is_empty() {
        bail!("{} holds no recorded samples", responses.display());
    }
    prepare_out_dir(out_dir)?;
    let records = rescore(scorer.as_ref(), recorded)?;
    let facts = EvalFacts {
        benchmark: args.benchmark.clone(),
        n_samples: records.len(),
        limit: args.limit,
        max_tokens: None,
        seed: None,
        temperature: None,
        top_p: None,
        engine: format!("responses:{}", responses.display()),
        prompt_tokens: records.iter().map(|r| r.prompt_tokens).sum(),
        completion_tokens: records.iter().map(|r| r.completion_tokens).sum(),
        wall_seconds: started.elapsed().as_secs_f64(),
        ptb_version: env!("CARGO_PKG_VERSION").into(),
    };
    let metrics = finish(scorer.as_ref(), &records, facts, out_dir)?;
    log_line(out_dir, &summary(&args.benchmark, &metrics));
    Ok(metrics)
}

/// `<results>/evals/<benchmark>-<UTC time>`.
pub(super) fn default_out_dir(results_dir: &Path, benchmark: &str) -> PathBuf {
    results_dir.join("evals").join(format!("{benchmark}-{}", chrono::Utc::now().format("%Y%m%dT%H%M%SZ")))
}

/// Creates the output dir; refuses one that already holds a finished evaluation.
pub(super) fn prepare_out_dir(out_dir: &Path) -> anyhow::Result<()> {
    if out_dir.join("metrics.json").exists() {
        bail!("{} already holds an evaluation (metrics.json); pass another --out", out_dir.display());
    }
    std::fs::create_dir_all(out_dir).with_context(|| format!("cannot create {}", out_dir.display()))
}

/// Appends a timestamped line to `eval.log` (best effort: the log never fails an evaluation).
pub(super) fn log_line(out_dir: &Path, line: &str) {
    use std::io::Write;
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(out_dir.join("eval.log")) {
        let _ = writeln!(f, "{} {line}", chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    }
}

fn summary(benchmark: &str, m: &EvalMetrics) -> String {
    let v1 = &m.ptb.profiles.ptb_v1;
    let strict = &m.ptb.profiles.strict;
    format!(
        "{benchmark}: accuracy {:.4} ± {:.4} (ptb-v1), {:.4} ± {:.4} (strict, {} without an answer); {} of {} verdicts differ",
        v1.accuracy,
        v1.stderr,
        strict.accuracy,
        strict.stderr,
        strict.no_answer,
        m.ptb.verdicts_differ,
        m.ptb.facts.n_samples
    )
}

/// Prints the result: JSON with `--json`, nothing with `-q`, else the summary and where the files are.
fn report(ctx: &Ctx, benchmark: &str, metrics: &EvalMetrics, out_dir: &Path) -> anyhow::Result<()> {
    if ctx.quiet {
        return Ok(());
    }
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(metrics)?);
    } else {
        println!("{}", summary(benchmark, metrics));
        println!("samples: {}", out_dir.join("samples.jsonl").display());
        println!("metrics: {}", out_dir.join("metrics.json").display());
    }
    Ok(())
}
