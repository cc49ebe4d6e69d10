//! Typed errors of the embedded engine. Every message is one line naming the file and the fix.

use std::path::PathBuf;

/// Errors raised while loading a model or running the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A file the model needs is absent.
    #[error("{path}: not found; {hint}")]
    Missing { path: PathBuf, hint: String },
    /// A file exists but cannot be read or parsed.
    #[error("{path}: {message}")]
    BadFile { path: PathBuf, message: String },
    /// The checkpoint's architecture is not one this engine implements.
    #[error(
        "{path}: architecture {architecture:?} is not supported; supported: LlamaForCausalLM, Qwen3ForCausalLM, Gemma3ForCausalLM, Gemma3ForConditionalGeneration, SmolLM3ForCausalLM and llama GGUF files"
    )]
    UnsupportedArchitecture { path: PathBuf, architecture: String },
    /// A tensor is absent or has a shape other than the config implies.
    #[error("{path}: tensor {tensor}: {message}")]
    Tensor { path: PathBuf, tensor: String, message: String },
    /// The model directory holds only pickle weights, which ptb never loads.
    #[error(
        "{path}: only pickle weights found; ptb never loads pickles (they can execute code): convert the checkpoint to safetensors"
    )]
    PickleOnly { path: PathBuf },
    /// The request cannot be served (e.g. the prompt is longer than the context).
    #[error("{0}")]
    BadRequest(String),
    /// The chat template failed to render.
    #[error("chat template: {0}")]
    Template(String),
    /// The tokenizer failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A tensor operation failed during inference.
    #[error("inference failed: {0}")]
    Compute(#[from] candle_core::Error),
    /// The engine's worker thread has stopped.
    #[error("the engine worker has stopped; restart the engine")]
    Stopped,
    /// An I/O error outside model loading (e.g. binding the server port).
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
}

impl EngineError {
    pub(crate) fn bad(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        Self::BadFile { path: path.into(), message: message.to_string() }
    }
}

impl From<EngineError> for ptb_infer::InferError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::BadRequest(m) => ptb_infer::InferError::BadRequest(m),
            other => ptb_infer::InferError::Engine(other.to_string()),
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
