//! `ptb bench eval`: how fast the harness itself is, measured through the real `ptb eval` path
//! against a local OpenAI-compatible server that answers every request instantly.

use std::time::{Duration, Instant};

use ptb_infer::client::{ClientConfig, OpenAiClient};
use ptb_infer::fixed_server::{FixedServer, FixedServerConfig};

use crate::cli::{BenchCommand, EvalArgs};
use crate::output::print_table;

use super::Ctx;

/// The canned answer: a short reasoning and a final answer line, like a real completion.
const FIXED_COMPLETION: &str =
    "Natalia sold 48/2 = 24 clips in May.\nAltogether she sold 48+24 = 72 clips.\nANSWER: 72";

pub async fn run(ctx: &Ctx, command: BenchCommand) -> anyhow::Result<()> {
    let (concurrency, limit) = match command {
        BenchCommand::Eval { concurrency, limit } => (concurrency, limit),
        BenchCommand::Engine { model, prompt_tokens, gen_tokens, rounds } => {
            return super::embedded::bench(ctx, model, prompt_tokens, gen_tokens, rounds).await;
        }
    };
    let server = FixedServer::start(FixedServerConfig::new(FIXED_COMPLETION)).await?;
    let out = tempfile::tempdir()?;
    let mut args = EvalArgs::defaults("gsm8k");
    args.base_url = Some(server.base_url());
    args.served_model = Some("fixed".into());
    args.limit = limit;
    args.generation.concurrency = concurrency;
    let mut config = ClientConfig::new(server.base_url(), "fixed");
    config.max_concurrency = concurrency.max(1);
    config.request_timeout = Duration::from_secs(60);
    let client = OpenAiClient::new(config)?;
    let quiet_ctx = Ctx { config: ctx.config.clone(), json: ctx.json, quiet: true };
    let started = Instant::now();
    let metrics = super::eval::evaluate(&quiet_ctx, &args, &client, out.path()).await?;
    let wall = started.elapsed().as_secs_f64();
    server.shutdown().await;
    let items = metrics.ptb.facts.n_samples;
    let peak_rss_mb = peak_rss_bytes() as f64 / 1e6;
    let rows = vec![vec![
        items.to_string(),
        concurrency.to_string(),
        format!("{wall:.3}"),
        format!("{:.0}", items as f64 / wall),
        format!("{peak_rss_mb:.1}"),
    ]];
    print_table(ctx.json, &["items", "concurrency", "wall_s", "requests_per_s", "peak_rss_mb"], rows);
    Ok(())
}

/// Peak resident memory of this process (server, client, data and records together).
fn peak_rss_bytes() -> u64 {
    nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF)
        .map(|u| u.max_rss() as u64 * 1024)
        .unwrap_or(0)
}
