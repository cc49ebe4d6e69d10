//! ptb-engine: ptb's embedded inference engine, the offline default.
//!
//! It loads Hugging Face safetensors checkpoints of Llama (SmolLM2), Qwen3, Gemma-3 (also
//! `Gemma3ForConditionalGeneration`, both key layouts) and SmolLM3, single-file or sharded, in
//! bf16/f16/f32, and llama-architecture GGUF files (tokenizer rebuilt from GGUF metadata when no
//! `tokenizer.json` is given). It generates with per-sequence KV caches, greedy or seeded sampling,
//! and serves concurrent requests by continuous batching (see [`batch`]).
//!
//! Entry points: [`EmbeddedEngine`] (implements [`ptb_infer::Engine`] in-process), [`serve()`]
//! (OpenAI-compatible HTTP) and [`bench()`] (throughput measurement). Nothing from a model directory
//! is ever executed: no pickles, no remote code.

#[cfg(target_arch = "x86_64")]
mod amx;
pub mod batch;
mod bench;
pub mod config;
mod engine;
mod error;
mod kv;
mod loader;
pub mod model;
mod serve;
mod tokenizer;
mod weights;

pub use batch::{Completion, Event, FinishReason, SamplingParams};
pub use bench::{BenchOptions, BenchReport, BenchRow, bench};
pub use engine::{CHATML_TEMPLATE, EmbeddedEngine, EngineOptions, GenerateRequest, parse_tool_calls};
pub use error::{EngineError, Result};
pub use loader::{LoadedModel, SamplingDefaults, load};
pub use serve::{ServeOptions, router, serve};
