//! ptb-infer: one interface to every inference engine. The harness speaks OpenAI-compatible chat
//! completions (and raw text completions, for base models prompted without a chat template);
//! [`Engine`] is that contract, implemented by the HTTP client ([`client`]) for vLLM, a `ptb serve`
//! process or any provider, and by in-process engines.

pub mod client;
pub mod fixed_server;
pub mod launcher;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

/// One chat message in OpenAI form. `content` is text; tool calls and tool results use the optional
/// fields exactly as the OpenAI API names them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    #[serde(default)]
    pub content: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    /// A message with a role and text content.
    pub fn new(role: &str, content: impl Into<String>) -> Self {
        Self { role: role.into(), content: content.into(), tool_calls: Vec::new(), tool_call_id: None }
    }
}

/// A tool call as the OpenAI API returns it: a function name and its arguments as a JSON string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    #[serde(default)]
    pub id: String,
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    pub function: FunctionCall,
}

fn function_type() -> String {
    "function".into()
}

/// The function part of a [`ToolCall`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    pub name: String,
    /// The arguments as the model wrote them (normally a JSON object, but not guaranteed).
    pub arguments: String,
}

/// A chat-completion request. Sampling fields left `None` take the engine's defaults (for vLLM, the
/// checkpoint's `generation_config.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub messages: Vec<ChatMessage>,
    /// OpenAI-style tool definitions (`{"type": "function", "function": {...}}`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<serde_json::Value>,
    #[serde(flatten)]
    pub sampling: Sampling,
    /// Output limit including reasoning tokens (OpenAI reasoning models; replaces `max_tokens` there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u32>,
    /// `minimal`/`low`/`medium`/`high` for OpenAI reasoning models; other servers may reject it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
}

/// A raw text-completion request (OpenAI `/v1/completions`): the prompt reaches the model as is, with
/// no chat template. Sampling fields left `None` take the engine's defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CompletionRequest {
    pub prompt: String,
    #[serde(flatten)]
    pub sampling: Sampling,
}

/// The generation settings chat and text-completion requests share, sent as top-level fields of
/// either; a field left `None` (or empty) takes the engine's default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
}

/// Token counts of one request, as the engine reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// The answer to a [`ChatRequest`] or a [`CompletionRequest`] (whose text is `content`, without tool
/// calls).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// The assistant message's text content, exactly as returned.
    pub content: String,
    /// Tool calls, when the engine parsed them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// `stop`, `length`, `tool_calls`, … as returned.
    #[serde(default)]
    pub finish_reason: Option<String>,
    pub usage: Usage,
}

/// Errors of an inference request.
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    #[error("cannot reach {url}: {message}; check that the server is running and the URL is right")]
    Unreachable { url: String, message: String },
    #[error("{url} answered HTTP {status}: {body}")]
    Status { url: String, status: u16, body: String },
    #[error("{url} timed out after {seconds} s; raise the request timeout or lower the concurrency")]
    Timeout { url: String, seconds: u64 },
    #[error("{url} returned a malformed response: {message}")]
    Malformed { url: String, message: String },
    #[error("request rejected: {0}")]
    BadRequest(String),
    #[error("engine failed: {0}")]
    Engine(String),
    /// The client's own settings are unusable (bad URL, unset API key variable, …).
    #[error("invalid inference settings: {0}")]
    Config(String),
}

/// An inference engine: anything that answers chat-completion requests. Implementations must allow
/// many requests in flight at once; the caller bounds concurrency.
pub trait Engine: Send + Sync {
    /// A short description for logs and records (e.g. the base URL and model name).
    fn describe(&self) -> String;
    /// Answers one chat request.
    fn chat(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatResponse, InferError>>;
    /// Continues one raw prompt, without a chat template.
    fn complete(&self, request: CompletionRequest) -> BoxFuture<'_, Result<ChatResponse, InferError>>;
}
