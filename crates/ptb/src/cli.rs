//! The command line: every subcommand and flag, documented for `--help`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// PostTrainBench in Rust: can an LLM agent automate LLM post-training?
///
/// ptb evaluates models on the PostTrainBench suite with the published scoring rules (profile
/// `ptb-v1`) and a corrected profile (`strict`), side by side.
#[derive(Debug, Parser)]
#[command(name = "ptb", version, propagate_version = true, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

const EXIT_CODES: &str =
    "Exit codes: 0 success, 1 failure (one line on stderr says what and how to fix it), 2 usage error.";

/// Flags every subcommand accepts.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Configuration file [default: ./ptb.toml, then ~/.config/ptb/ptb.toml].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Root of run and evaluation records [default: `results_dir` of the config, else ./results].
    #[arg(long, global = true, value_name = "DIR")]
    pub results_dir: Option<PathBuf>,
    /// Benchmark data and pinned templates [default: $PTB_DATA_DIR, then the config, then ~/.local/share/ptb].
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// More log output (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors; no progress bars.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print tables and results as JSON.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the registry: benchmarks, base models or agents.
    List {
        #[arg(value_enum)]
        what: ListWhat,
    },
    /// Report what this machine has for ptb, with a fix for each missing piece.
    Doctor,
    /// Download and verify benchmark data and the pinned chat templates.
    #[command(subcommand)]
    Data(DataCommand),
    /// Evaluate a model (or re-score recorded answers) on one benchmark.
    Eval(EvalArgs),
    /// Benchmarks of ptb itself.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListWhat {
    Benchmarks,
    Models,
    Agents,
}

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Download the pinned files (all benchmarks and templates unless --benchmark is given).
    /// Uses HF_ENDPOINT (default https://huggingface.co) and HF_TOKEN for gated sets; resumes partial
    /// downloads; checks and records sha256.
    Fetch {
        /// Benchmark id (repeatable).
        #[arg(long = "benchmark", value_name = "ID")]
        benchmarks: Vec<String>,
        /// Fetch only the pinned chat templates.
        #[arg(long, conflicts_with = "benchmarks")]
        templates_only: bool,
    },
    /// Re-hash every downloaded file and compare with the pinned or recorded sha256.
    Verify,
}

/// `ptb eval`: one benchmark, one model.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Benchmark id (see `ptb list benchmarks`).
    #[arg(long, value_name = "ID")]
    pub benchmark: String,
    /// A model directory, served by the engine command of the config (`[engine] command`).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["base_url", "responses"])]
    pub model: Option<PathBuf>,
    /// An OpenAI-compatible server that already runs (e.g. http://127.0.0.1:8000/v1).
    #[arg(long, value_name = "URL", requires = "served_model", conflicts_with = "responses")]
    pub base_url: Option<String>,
    /// The model name to request from --base-url.
    #[arg(long, value_name = "NAME")]
    pub served_model: Option<String>,
    /// Name of the environment variable that holds the server's API key (the value is never printed).
    #[arg(long, value_name = "VAR", default_value = "PTB_API_KEY")]
    pub api_key_env: String,
    /// Re-score a recorded samples.jsonl without any engine.
    #[arg(long, value_name = "FILE")]
    pub responses: Option<PathBuf>,
    /// Evaluate only the first N items.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Sampling seed sent with every request.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Max new tokens per answer [default: the first rung of the benchmark's ladder].
    #[arg(long, value_name = "T")]
    pub max_tokens: Option<u32>,
    /// Requests in flight at once.
    #[arg(long, value_name = "C", default_value_t = 32)]
    pub concurrency: usize,
    /// Per-request timeout in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 1800)]
    pub timeout: u64,
    /// Output directory [default: <results-dir>/evals/<benchmark>-<UTC time>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Harness speed: all GSM8K items through `ptb eval` against a local server that answers instantly.
    Eval {
        /// Requests in flight at once.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Items to run [default: all 1319].
        #[arg(long)]
        limit: Option<usize>,
    },
}
