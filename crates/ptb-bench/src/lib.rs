//! ptb-bench: every benchmark as dataset → prompts → scorer, the evaluation runner that sends the
//! prompts to an [`ptb_infer::Engine`] with bounded concurrency, and the evaluation record
//! (`samples.jsonl`, `metrics.json`, `eval.log`) that lets any result be audited and re-scored.

pub mod aime;
pub mod arenahard;
pub mod bfcl;
pub mod gpqa;
pub mod gsm8k;
pub mod healthbench;
pub mod humaneval;
pub mod judged;
pub mod pyrandom;
pub mod record;
pub mod repetition;
pub mod runner;
pub mod task;

pub use record::{EvalMetrics, ProfileMetrics, SampleRecord};
pub use runner::{EvalOptions, Progress};
pub use task::{
    BenchError, Benchmark, FEW_SHOT_BENCHMARKS, FEW_SHOT_TEMPERATURE, FEW_SHOT_TOP_P, LoadOptions, RawPrompt, Sample,
    Scorer, ScoringInput, check_few_shot, load_benchmark, load_benchmark_with, scorer,
};
