//! Chat-template rendering that is byte-identical to transformers' `apply_chat_template`
//! (minijinja + Python-compatible filters), model-family detection from `config.json`, and the
//! template file the final evaluation pins per family.
//!
//! ```
//! use ptb_chat::{ChatTemplate, RenderContext};
//! let t = ChatTemplate::new(
//!     "{% for m in messages %}<{{ m.role }}>{{ m.content | trim }}\n{% endfor %}",
//!     "inline",
//! )?;
//! let ctx = RenderContext {
//!     messages: vec![serde_json::json!({"role": "user", "content": " hi "})],
//!     ..Default::default()
//! };
//! assert_eq!(t.render(&ctx)?, "<user>hi\n");
//! # Ok::<(), ptb_chat::ChatError>(())
//! ```

mod family;
mod pyfmt;
mod template;

use std::path::{Path, PathBuf};

pub use family::{Family, detect_family, detect_family_in_dir, pinned_template_file};
pub use template::{ChatTemplate, RenderContext, SPECIAL_TOKEN_NAMES, special_tokens_in_dir};

/// Everything that can go wrong loading or rendering a chat template or detecting a family.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// A JSON file (config, tokenizer config) does not parse.
    #[error("{path} is not valid JSON ({source}); fix or re-download it")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parse failure.
        source: serde_json::Error,
    },
    /// `tokenizer_config.json` has a `chat_template` of an unusable shape.
    #[error(
        "{path}: `chat_template` {problem}; give a string or a list holding a {{\"name\": \"default\", \"template\": ...}} entry"
    )]
    TemplateField {
        /// The tokenizer config.
        path: PathBuf,
        /// What is wrong with the field.
        problem: String,
    },
    /// The template source is not valid Jinja.
    #[error("chat template {name} does not compile: {detail}; fix its Jinja syntax")]
    Compile {
        /// The template's name or file.
        name: String,
        /// minijinja's message, with the line.
        detail: String,
    },
    /// The template called `raise_exception(message)` (e.g. Gemma's role-alternation check).
    #[error("chat template {name} rejected the conversation: {message}")]
    Raised {
        /// The template's name or file.
        name: String,
        /// The message the template raised.
        message: String,
    },
    /// Rendering failed for another reason (a missing attribute, a bad filter argument, …).
    #[error("chat template {name} failed to render: {detail}")]
    Render {
        /// The template's name or file.
        name: String,
        /// minijinja's message, with the line.
        detail: String,
    },
    /// The render input is unusable (empty conversation, a message that is not an object, …).
    #[error("cannot render chat template {name}: {problem}")]
    Input {
        /// The template's name or file.
        name: String,
        /// What is wrong and what to do.
        problem: String,
    },
    /// No recognised architecture or model type in a model config.
    #[error(
        "{source_name} names no supported model family (architectures {architectures:?}, model_type {model_types:?}); supported: Qwen3, Gemma3, SmolLM3, Llama"
    )]
    UnknownFamily {
        /// The config file (or `config.json` for an in-memory value).
        source_name: String,
        /// The `architectures` entries seen.
        architectures: Vec<String>,
        /// The `model_type` values seen (top level, then `text_config`).
        model_types: Vec<String>,
    },
    /// A model config whose architectures and model types name different families.
    #[error(
        "{source_name} names two model families ({first} vs {second}); restore the base model's original config.json"
    )]
    ConflictingFamily {
        /// The config file (or `config.json` for an in-memory value).
        source_name: String,
        /// The first signal seen.
        first: String,
        /// The first signal that disagrees with it.
        second: String,
    },
}

/// Reads and parses a JSON file; errors name it.
fn read_json(path: &Path) -> Result<serde_json::Value, ChatError> {
    let text = std::fs::read_to_string(path).map_err(|source| ChatError::Read { path: path.to_owned(), source })?;
    serde_json::from_str(&text).map_err(|source| ChatError::Json { path: path.to_owned(), source })
}
