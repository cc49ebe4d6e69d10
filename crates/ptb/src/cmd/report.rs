//! Results commands: `ptb index`, `ptb import-original`, `ptb leaderboard`, `ptb weights`, `ptb plot`,
//! `ptb report`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Subcommand, ValueEnum};
use ptb_report::{AggregateConfig, Index, Leaderboard, index_path};

use super::Ctx;
use crate::output::print_table;

#[derive(Debug, Subcommand)]
pub enum ResultsCommand {
    /// Rebuild the SQLite index (<results>/index.sqlite) from the run directories.
    Index,
    /// Import a results tree of the original PostTrainBench (method dirs with run dirs) into the store.
    ImportOriginal {
        /// The original's results root (POST_TRAIN_BENCH_RESULTS_DIR).
        dir: PathBuf,
    },
    /// Print the leaderboard with the instruct and base reference rows.
    Leaderboard {
        #[command(flatten)]
        agg: AggArgs,
        /// Output format [default: a terminal table; `--json` also selects json].
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Benchmark weights 1/(instruct − base), normalised, from the baseline runs, beside the registry's.
    Weights {
        #[command(flatten)]
        agg: AggArgs,
    },
    /// Write the leaderboard, time and per-agent heatmap charts as SVG and PNG.
    Plot {
        #[command(flatten)]
        agg: AggArgs,
        /// Output directory.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Write the static HTML report, or serve it with live status of runs in progress.
    Report {
        #[command(flatten)]
        agg: AggArgs,
        /// Output directory of the static site.
        #[arg(long, value_name = "DIR", required_unless_present = "serve")]
        out: Option<PathBuf>,
        /// Serve the report over HTTP on 127.0.0.1 instead of writing files.
        #[arg(long, conflicts_with = "out")]
        serve: bool,
        /// Port for --serve.
        #[arg(long, default_value_t = 8765)]
        port: u16,
    },
}

/// Flags of the commands that aggregate.
#[derive(Debug, clap::Args)]
pub struct AggArgs {
    /// Aggregation rules (TOML: selection = "latest"|"mean", baseline_method, base_models,
    /// instruct_models, weights, budget_hours, missing_judgement_is_flagged, agents, exclude).
    #[arg(long, value_name = "FILE")]
    pub aggregation: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Table,
    Md,
    Csv,
    Json,
}

pub fn run(ctx: &Ctx, command: ResultsCommand) -> anyhow::Result<()> {
    let results = &ctx.config.results_dir;
    match command {
        ResultsCommand::Index => {
            let started = std::time::Instant::now();
            let n = Index::open(&index_path(results))?.rebuild(results)?;
            if !ctx.quiet {
                eprintln!("indexed {n} runs of {} in {:.2} s", results.display(), started.elapsed().as_secs_f64());
            }
            Ok(())
        }
        ResultsCommand::ImportOriginal { dir } => {
            let summary = ptb_report::import::import_original(&dir, results)?;
            let n = Index::open(&index_path(results))?.rebuild(results)?;
            if ctx.json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else if !ctx.quiet {
                println!(
                    "imported {} runs of {} methods ({} without a judgement, {} not stored, {} superseded by a later run id); the index holds {n} runs",
                    summary.runs, summary.methods, summary.missing_judgement, summary.not_stored, summary.superseded
                );
            }
            Ok(())
        }
        ResultsCommand::Leaderboard { agg, format } => {
            let lb = leaderboard(ctx, &agg)?;
            match format.unwrap_or(if ctx.json { Format::Json } else { Format::Table }) {
                Format::Json => println!("{}", serde_json::to_string_pretty(&lb)?),
                Format::Md => print!("{}", ptb_report::table::markdown(&lb)),
                Format::Csv => print!("{}", ptb_report::table::csv(&lb)),
                Format::Table => {
                    let header = ptb_report::table::header(&lb);
                    print_table(
                        false,
                        &header.iter().map(String::as_str).collect::<Vec<_>>(),
                        ptb_report::table::rows(&lb),
                    );
                }
            }
            Ok(())
        }
        ResultsCommand::Weights { agg } => {
            let lb = leaderboard(ctx, &agg)?;
            let derived = lb.derived_weights();
            if derived.is_empty() {
                anyhow::bail!(
                    "no baseline runs of both instruct and base models under {}/{}; run `ptb baseline --kind base` and `--kind instruct`",
                    results.display(),
                    lb.config.baseline_method
                );
            }
            let rows = ctx
                .config
                .registry
                .benchmarks
                .iter()
                .map(|(id, b)| {
                    let d = derived.get(id).map(|w| format!("{w:.4}")).unwrap_or_else(|| "–".into());
                    vec![id.clone(), d, format!("{:.4}", b.weight)]
                })
                .collect();
            print_table(ctx.json, &["benchmark", "derived", "registry"], rows);
            Ok(())
        }
        ResultsCommand::Plot { agg, out } => {
            let lb = leaderboard(ctx, &agg)?;
            let files = ptb_report::plot::write_all(&lb, &out)?;
            report_files(ctx, &files);
            Ok(())
        }
        ResultsCommand::Report { agg, out, serve, port } => {
            let config = aggregation(ctx, &agg)?;
            if serve {
                let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
                return Ok(rt.block_on(ptb_report::serve::serve(results.clone(), config, port))?);
            }
            let out = out.expect("clap requires --out without --serve");
            let runs = ptb_report::load_runs(results)?;
            let files = ptb_report::html::write_site(results, &runs, &config, &out)?;
            if !ctx.quiet {
                println!("wrote {} pages; open {}", files, out.join("index.html").display());
            }
            Ok(())
        }
    }
}

fn aggregation(ctx: &Ctx, agg: &AggArgs) -> anyhow::Result<AggregateConfig> {
    Ok(match &agg.aggregation {
        Some(path) => AggregateConfig::load(path, &ctx.config.registry)?,
        None => AggregateConfig::from_registry(&ctx.config.registry),
    })
}

fn leaderboard(ctx: &Ctx, agg: &AggArgs) -> anyhow::Result<Leaderboard> {
    let config = aggregation(ctx, agg)?;
    let runs = ptb_report::load_runs(&ctx.config.results_dir)?;
    if runs.is_empty() {
        return Err(ptb_report::ReportError::Empty { path: ctx.config.results_dir.clone() }.into());
    }
    Ok(ptb_report::leaderboard(&runs, &config))
}

fn report_files(ctx: &Ctx, files: &[PathBuf]) {
    if !ctx.quiet {
        for f in files {
            println!("{}", Path::new(f).display());
        }
    }
}
