//! A tiny OpenAI-compatible server on loopback that answers every chat completion at once with a fixed
//! completion. It measures the harness without a model (`ptb bench eval`) and stands in for an engine in
//! tests: scripted failures, a delay, an API-key check and counters make client behaviour observable.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use ptb_infer::fixed_server::{FixedServer, FixedServerConfig};
//! let server = FixedServer::start(FixedServerConfig::new("42").fail_first(2, 429)).await?;
//! let url = server.base_url(); // http://127.0.0.1:PORT
//! # let _ = url;
//! assert_eq!(server.chat_requests(), 0);
//! server.shutdown().await;
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::ToolCall;

/// What the [`FixedServer`] answers. Build with [`FixedServerConfig::new`] and the `with_*`/`fail_*`
/// methods.
#[derive(Debug, Clone, PartialEq)]
pub struct FixedServerConfig {
    /// The assistant content of every successful answer.
    pub content: String,
    /// Tool calls returned with every successful answer (then `finish_reason` is `tool_calls`).
    pub tool_calls: Vec<ToolCall>,
    /// The model name listed at `/v1/models` and echoed in answers.
    pub model: String,
    /// When set, requests to `/v1/*` without `Authorization: Bearer <key>` get 401.
    pub api_key: Option<String>,
    /// Scripted failures: the chat request with arrival index `i` (from 0) gets HTTP status
    /// `failures[i]` when `i < failures.len()`.
    pub failures: Vec<u16>,
    /// A wait before every chat answer (successful or not).
    pub delay: Duration,
}

impl FixedServerConfig {
    /// Answers `content`, model `fixed`, no key, no failures, no delay.
    pub fn new(content: impl Into<String>) -> Self {
        Self {
            content: content.into(),
            tool_calls: Vec::new(),
            model: "fixed".into(),
            api_key: None,
            failures: Vec::new(),
            delay: Duration::ZERO,
        }
    }

    /// The first `n` chat requests get HTTP `status` with an OpenAI-style error body.
    pub fn fail_first(mut self, n: usize, status: u16) -> Self {
        self.failures = vec![status; n];
        self
    }

    /// Waits `delay` before every chat answer.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Requires `Authorization: Bearer <key>` on `/v1/*`.
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Returns these tool calls with every successful answer.
    pub fn with_tool_calls(mut self, calls: Vec<ToolCall>) -> Self {
        self.tool_calls = calls;
        self
    }

    /// Lists and echoes this model name.
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }
}

struct Shared {
    config: FixedServerConfig,
    chat_requests: AtomicU64,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    last_request: Mutex<Option<Value>>,
}

/// A running fixed server. Dropping it asks it to stop; [`FixedServer::shutdown`] also waits.
pub struct FixedServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl FixedServer {
    /// Binds `127.0.0.1` on a free port and serves in the current tokio runtime.
    pub async fn start(config: FixedServerConfig) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            config,
            chat_requests: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
            last_request: Mutex::new(None),
        });
        let app = axum::Router::new()
            .route("/v1/chat/completions", post(chat))
            .route("/v1/models", get(models))
            .route("/health", get(|| async { "ok" }))
            .with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(Self { addr, shared, stop: Some(stop), task: Some(task) })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, usable as a client base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Chat requests received so far (scripted failures and rejected keys included).
    pub fn chat_requests(&self) -> u64 {
        self.shared.chat_requests.load(Ordering::SeqCst)
    }

    /// The most chat requests that were being answered at the same moment.
    pub fn max_in_flight(&self) -> u64 {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// The JSON body of the latest well-formed chat request.
    pub fn last_request(&self) -> Option<Value> {
        self.shared.last_request.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Stops accepting, lets answers in progress finish (at most 5 s) and returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut task).await.is_err()
        {
            task.abort();
        }
    }
}

impl Drop for FixedServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Counts a chat request as in flight until dropped.
struct InFlight<'a>(&'a Shared);

impl<'a> InFlight<'a> {
    fn enter(shared: &'a Shared) -> Self {
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
        Self(shared)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    match &shared.config.api_key {
        None => true,
        Some(key) => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| given == key),
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({"error": {"message": message, "type": "fixed_server", "code": status.as_u16()}});
    (status, Json(body)).into_response()
}

async fn models(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if !authorized(&shared, &headers) {
        return error(StatusCode::UNAUTHORIZED, "missing or wrong API key");
    }
    Json(json!({"object": "list", "data": [{"id": shared.config.model, "object": "model", "owned_by": "ptb"}]}))
        .into_response()
}

#[derive(Deserialize)]
struct Incoming {
    #[serde(default)]
    messages: Vec<IncomingMessage>,
}

#[derive(Deserialize)]
struct IncomingMessage {
    #[serde(default)]
    content: Value,
}

/// A rough token count (4 characters a token), enough for plausible `usage` numbers.
fn approx_tokens(chars: usize) -> u64 {
    chars.div_ceil(4).max(1) as u64
}

async fn chat(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let index = shared.chat_requests.fetch_add(1, Ordering::SeqCst) as usize;
    let _in_flight = InFlight::enter(&shared);
    if !shared.config.delay.is_zero() {
        tokio::time::sleep(shared.config.delay).await;
    }
    if !authorized(&shared, &headers) {
        return error(StatusCode::UNAUTHORIZED, "missing or wrong API key");
    }
    if let Some(&code) = shared.config.failures.get(index) {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return error(status, &format!("scripted failure {code} for request {index}"));
    }
    let request: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("the body is not JSON: {e}")),
    };
    let prompt_chars: usize = match Incoming::deserialize(&request) {
        Ok(incoming) => incoming
            .messages
            .iter()
            .map(|m| match &m.content {
                Value::String(s) => s.len() + 4,
                other => other.to_string().len() + 4,
            })
            .sum(),
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("malformed chat request: {e}")),
    };
    *shared.last_request.lock().unwrap_or_else(|e| e.into_inner()) = Some(request);
    let config = &shared.config;
    let prompt_tokens = approx_tokens(prompt_chars);
    let completion_tokens = approx_tokens(config.content.len());
    let (tool_calls, finish_reason) =
        if config.tool_calls.is_empty() { (Value::Null, "stop") } else { (json!(config.tool_calls), "tool_calls") };
    let mut message = json!({"role": "assistant", "content": config.content});
    if !tool_calls.is_null() {
        message["tool_calls"] = tool_calls;
    }
    Json(json!({
        "id": format!("chatcmpl-fixed-{index}"),
        "object": "chat.completion",
        "created": 0,
        "model": config.model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }))
    .into_response()
}
