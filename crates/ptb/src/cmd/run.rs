//! `ptb run`: one sandboxed agent run (ptb-run does the work; this wires the command line to it).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::ValueEnum as _;
use ptb_data::HubCache;
use ptb_run::{AgentSpec, Harness, RunRecord, RunSpec, spec};
use ptb_sandbox::Backend;

use crate::cli::{RunArgs, SandboxChoice};

use super::Ctx;

pub fn run(ctx: &Ctx, args: RunArgs) -> anyhow::Result<()> {
    let (run_dir, record) = execute(ctx, &args)?;
    report(ctx, &run_dir, &record)
}

/// Creates (or, with `--resume`, continues) the run and takes it through every phase left.
pub(super) fn execute(ctx: &Ctx, args: &RunArgs) -> anyhow::Result<(PathBuf, RunRecord)> {
    let harness = harness(ctx, args)?;
    let run_dir = match &args.resume {
        Some(dir) => {
            if !dir.join("run.json").is_file() {
                bail!("{} holds no run.json; give the run dir that `ptb run` printed", dir.display());
            }
            dir.clone()
        }
        None => {
            let spec = run_spec(ctx, args)?;
            let dir = ptb_run::create(&harness, spec)?;
            if !ctx.quiet {
                eprintln!("run dir: {}", dir.display());
            }
            dir
        }
    };
    let record = ptb_run::resume(&harness, &run_dir)?;
    Ok((run_dir, record))
}

fn harness(ctx: &Ctx, args: &RunArgs) -> anyhow::Result<Harness> {
    let exe = std::env::current_exe().context("cannot find the ptb binary itself")?;
    let judge = &args.judge;
    let engine = args.engine.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_else(|| "auto".into());
    let eval_args = vec![
        "--engine".into(),
        engine,
        "--judge-base-url".into(),
        judge.judge_base_url.clone(),
        "--judge-model".into(),
        judge.judge_model.clone(),
        "--judge-api-key-env".into(),
        judge.judge_api_key_env.clone(),
        "--judge-concurrency".into(),
        judge.judge_concurrency.to_string(),
        "--judge-timeout".into(),
        judge.judge_timeout.to_string(),
        "--judge-max-attempts".into(),
        judge.judge_max_attempts.to_string(),
        "--judge-max-failure-rate".into(),
        judge.judge_max_failure_rate.to_string(),
    ];
    let hf_home = std::env::var_os("HF_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| ptb_core::config::home_dir().map(|h| h.join(".cache/huggingface")));
    Ok(Harness {
        exe,
        config_file: ctx.config.source.clone(),
        data_dir: ctx.config.data_dir.clone(),
        results_dir: ctx.config.results_dir.clone(),
        settings: ctx.config.run.clone(),
        registry: ctx.config.registry.clone(),
        hf_home,
        eval_args,
        eval_env: vec![judge.judge_api_key_env.clone()],
    })
}

fn run_spec(ctx: &Ctx, args: &RunArgs) -> anyhow::Result<RunSpec> {
    let registry = &ctx.config.registry;
    let (Some(agent_name), Some(base_model), Some(benchmark)) = (&args.agent, &args.base_model, &args.benchmark) else {
        bail!("give --agent, --base-model and --benchmark, or --resume RUN_DIR");
    };
    registry.benchmark(benchmark)?;
    let Some(agent_entry) = registry.agents.get(agent_name) else {
        let hint = ptb_core::closest(agent_name, registry.agents.keys().map(String::as_str))
            .map(|c| format!(" (did you mean `{c}`?)"))
            .unwrap_or_default();
        bail!("unknown agent `{agent_name}`{hint}; see `ptb list agents`");
    };
    let agent = match (agent_entry.kind.as_str(), &args.agent_cmd) {
        ("command", Some(command)) => AgentSpec::Command { command: command.clone() },
        ("command", None) => {
            bail!("--agent {agent_name} needs --agent-cmd 'COMMAND' (the prompt arrives on its stdin)")
        }
        ("builtin", _) if agent_name == "reference" => AgentSpec::Reference,
        (kind, _) => bail!(
            "agent `{agent_name}` ({kind}) has no adapter in this version of ptb yet; run its CLI with --agent command --agent-cmd '...'"
        ),
    };
    let sandbox = match args.sandbox {
        SandboxChoice::Bwrap => Backend::Bwrap,
        SandboxChoice::Apptainer => Backend::Apptainer,
        SandboxChoice::None if args.unsafe_no_sandbox => Backend::None,
        SandboxChoice::None => bail!(
            "--sandbox none lets the agent read and change everything your user can; add --unsafe-no-sandbox if you mean it"
        ),
    };
    let time_limit_s = match (&args.time_limit, args.hours) {
        (Some(text), _) => spec::parse_duration(text)?,
        (None, Some(hours)) if hours > 0.0 && hours.is_finite() => (hours * 3600.0).round() as u64,
        (None, Some(hours)) => bail!("--hours {hours}: give a positive number of hours"),
        (None, None) => 10 * 3600,
    };
    let disk_cap = args.disk_cap.as_deref().map(spec::parse_size).transpose()?;
    let (base_model_path, from_hub) = resolve_base_model(base_model)?;
    Ok(RunSpec {
        agent_name: agent_name.clone(),
        agent,
        base_model: base_model.clone(),
        model_id: if from_hub { base_model.clone() } else { ptb_core::layout::model_id_of_path(&base_model_path) },
        base_model_path,
        base_model_from_hub: from_hub,
        benchmark: benchmark.clone(),
        time_limit_s,
        gpus: args.gpus,
        sandbox,
        eval_limit: args.eval_limit,
        eval_max_tokens: args.eval_max_tokens,
        disk_cap,
        seed: args.seed,
        method: args.method.clone().unwrap_or_else(|| {
            spec::default_method(agent_name, time_limit_s, args.gpus, args.eval_limit, args.eval_max_tokens)
        }),
        run_id: spec::new_run_id(),
    })
}

/// A local path as it is (absolute), or a Hub id from the Hugging Face cache, offline.
fn resolve_base_model(base_model: &str) -> anyhow::Result<(PathBuf, bool)> {
    let path = Path::new(base_model);
    if path.exists() {
        return Ok((path.canonicalize().with_context(|| format!("cannot resolve {base_model}"))?, false));
    }
    if base_model.starts_with(['/', '.']) || base_model.matches('/').count() != 1 {
        bail!(
            "base model {base_model}: no such file or directory; give a model dir, a .gguf file or a Hub id (Org/Name)"
        );
    }
    let cache = HubCache::from_env()
        .with_context(|| format!("base model {base_model}: no Hugging Face cache (set HF_HOME or HF_HUB_CACHE)"))?;
    Ok((cache.model_snapshot(base_model, None)?, true))
}

fn report(ctx: &Ctx, run_dir: &Path, record: &RunRecord) -> anyhow::Result<()> {
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(record)?);
        return Ok(());
    }
    let score = record.evaluation.as_ref().and_then(|e| e.accuracy);
    let source = record.evaluation.as_ref().map(|e| e.score_source.as_str()).unwrap_or("none");
    match score {
        Some(score) => println!("{}: score {:.4} ({source})", record.spec.benchmark, score),
        None => println!("{}: no score", record.spec.benchmark),
    }
    if let Some(reason) = &record.reason {
        println!("note: {reason}");
    }
    for warning in &record.warnings {
        println!("warning: {warning}");
    }
    println!("run record: {}", run_dir.display());
    Ok(())
}
