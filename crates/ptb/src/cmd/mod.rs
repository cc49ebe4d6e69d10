//! One module per subcommand; [`run`] dispatches.

mod baseline;
mod bench;
mod data;
mod demo;
mod doctor;
mod embedded;
mod eval;
mod final_eval;
mod judged;
mod list;
pub(crate) mod report;
mod run;

use anyhow::Context as _;
use ptb_core::Config;

use crate::cli::{Cli, Command};

/// What every command needs: the effective configuration and the output flags.
pub struct Ctx {
    pub config: Config,
    pub json: bool,
    pub quiet: bool,
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let cwd = std::env::current_dir().context("cannot read the working directory")?;
    let mut config = Config::load(cli.global.config.as_deref(), &cwd)?;
    if let Some(dir) = cli.global.results_dir {
        config.results_dir = dir;
    }
    if let Some(dir) = cli.global.data_dir {
        config.data_dir = dir;
    }
    let ctx = Ctx { config, json: cli.global.json, quiet: cli.global.quiet };
    match cli.command {
        Command::List { what } => list::run(&ctx, what),
        Command::Doctor => doctor::run(&ctx),
        Command::Data(c) => runtime()?.block_on(data::run(&ctx, c)),
        Command::Eval(args) => runtime()?.block_on(eval::run(&ctx, *args)),
        Command::Baseline(args) => runtime()?.block_on(baseline::run(&ctx, *args)),
        Command::Bench(c) => runtime()?.block_on(bench::run(&ctx, c)),
        Command::Serve(args) => runtime()?.block_on(embedded::serve(args)),
        Command::Demo(args) => runtime()?.block_on(demo::run(&ctx, args)),
        Command::Run(args) => run::run(&ctx, *args),
        Command::Results(c) => report::run(&ctx, c),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")
}
