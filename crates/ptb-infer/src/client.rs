//! The OpenAI-compatible HTTP client: one [`OpenAiClient`] per engine or provider, shared by every task
//! of a run. It bounds its own concurrency, retries transient failures with jittered exponential
//! backoff and keeps running token totals.
//!
//! **Base URLs.** A base URL may be given as the server root (`http://127.0.0.1:8000`) or with the
//! API prefix (`http://127.0.0.1:8000/v1`, with or without a trailing `/`); both mean the same server,
//! and the client calls `<root>/v1/chat/completions`, `<root>/v1/completions` and `<root>/v1/models`.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::{ChatRequest, ChatResponse, CompletionRequest, Engine, FunctionCall, InferError, ToolCall, Usage};

/// Where the client gets its API key. The key itself is never logged or shown by `Debug`.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum ApiKey {
    /// Send no `Authorization` header.
    #[default]
    None,
    /// Read the key from the environment variable of this name when the client is built.
    Env(String),
    /// Use this key (e.g. the per-launch key of a [`crate::launcher::EngineProcess`]).
    Value(String),
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiKey::None => f.write_str("None"),
            ApiKey::Env(name) => write!(f, "Env({name:?})"),
            ApiKey::Value(_) => f.write_str("Value(<redacted>)"),
        }
    }
}

impl ApiKey {
    /// The key to send, resolving [`ApiKey::Env`] now. An unset or empty variable is an error that
    /// names the variable (never its value).
    pub fn resolve(&self) -> Result<Option<String>, InferError> {
        match self {
            ApiKey::None => Ok(None),
            ApiKey::Value(key) => Ok(Some(key.clone())),
            ApiKey::Env(name) => match std::env::var(name) {
                Ok(key) if !key.trim().is_empty() => Ok(Some(key.trim().to_string())),
                _ => Err(InferError::Config(format!(
                    "the API key variable {name} is unset or empty; export it or configure another variable"
                ))),
            },
        }
    }
}

/// Settings of an [`OpenAiClient`]. [`ClientConfig::new`] fills in the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// Server root or `…/v1` URL (see the module docs).
    pub base_url: String,
    /// The served model name sent as `model`.
    pub model: String,
    /// Where the API key comes from.
    pub api_key: ApiKey,
    /// Most requests in flight at once through this client (at least 1).
    pub max_concurrency: usize,
    /// Limit for one attempt, from sending the request to the end of the response body.
    pub request_timeout: Duration,
    /// Limit for opening a TCP connection.
    pub connect_timeout: Duration,
    /// Attempts per request, the first included (at least 1).
    pub max_attempts: u32,
    /// Backoff before the second attempt; it doubles per attempt up to `backoff_max`, with jitter.
    pub backoff_base: Duration,
    /// Cap of one backoff (also caps a server's `Retry-After`).
    pub backoff_max: Duration,
}

impl ClientConfig {
    /// Defaults: no key, 32 in flight, 600 s per attempt, 10 s to connect, 5 attempts, backoff 0.5 s
    /// doubling up to 30 s.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            model: model.into(),
            api_key: ApiKey::None,
            max_concurrency: 32,
            request_timeout: Duration::from_secs(600),
            connect_timeout: Duration::from_secs(10),
            max_attempts: 5,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
        }
    }
}

/// A snapshot of an [`OpenAiClient`]'s running totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageTotals {
    /// Requests answered successfully.
    pub requests: u64,
    /// Requests that failed after their last attempt.
    pub failures: u64,
    /// Extra attempts made because of transient failures.
    pub retries: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    failures: AtomicU64,
    retries: AtomicU64,
    prompt_tokens: AtomicU64,
    completion_tokens: AtomicU64,
}

/// An OpenAI-compatible chat-completions (and text-completions) client. Cheap to share (`Arc`); one connection pool serves all
/// requests.
pub struct OpenAiClient {
    http: reqwest::Client,
    root: String,
    chat_url: String,
    completions_url: String,
    model: String,
    auth: Option<String>,
    config: ClientConfig,
    permits: Arc<Semaphore>,
    counters: Counters,
}

impl fmt::Debug for OpenAiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiClient").field("config", &self.config).finish_non_exhaustive()
    }
}

/// The server root of a base URL given with or without `/v1` (see the module docs).
pub fn server_root(base_url: &str) -> String {
    let trimmed = base_url.trim().trim_end_matches('/');
    trimmed.strip_suffix("/v1").unwrap_or(trimmed).to_string()
}

fn http_client(config: &ClientConfig) -> Result<reqwest::Client, InferError> {
    reqwest::Client::builder()
        .connect_timeout(config.connect_timeout)
        .pool_max_idle_per_host(config.max_concurrency.max(1))
        .tcp_nodelay(true)
        .build()
        .map_err(|e| InferError::Config(format!("cannot build the HTTP client: {}", error_chain(&e))))
}

impl OpenAiClient {
    /// Builds a client; resolves the API key now (an unset key variable is an error) and checks the URL.
    pub fn new(config: ClientConfig) -> Result<Self, InferError> {
        let root = server_root(&config.base_url);
        if !(root.starts_with("http://") || root.starts_with("https://")) {
            return Err(InferError::Config(format!(
                "base URL {:?} must start with http:// or https://",
                config.base_url
            )));
        }
        let auth = config.api_key.resolve()?.map(|key| format!("Bearer {key}"));
        let config = ClientConfig {
            max_concurrency: config.max_concurrency.max(1),
            max_attempts: config.max_attempts.max(1),
            ..config
        };
        Ok(Self {
            http: http_client(&config)?,
            chat_url: format!("{root}/v1/chat/completions"),
            completions_url: format!("{root}/v1/completions"),
            root,
            model: config.model.clone(),
            auth,
            permits: Arc::new(Semaphore::new(config.max_concurrency)),
            config,
            counters: Counters::default(),
        })
    }

    /// The settings this client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The server root URL (no `/v1`).
    pub fn root_url(&self) -> &str {
        &self.root
    }

    /// The running totals so far.
    pub fn totals(&self) -> UsageTotals {
        let c = &self.counters;
        UsageTotals {
            requests: c.requests.load(Ordering::Relaxed),
            failures: c.failures.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            prompt_tokens: c.prompt_tokens.load(Ordering::Relaxed),
            completion_tokens: c.completion_tokens.load(Ordering::Relaxed),
        }
    }

    /// The model names the server lists at `GET /v1/models` (one attempt, this client's key and pool).
    pub async fn list_models(&self) -> Result<Vec<String>, InferError> {
        fetch_models(&self.http, &self.root, self.auth.as_deref(), self.config.request_timeout).await
    }

    /// Sends one chat request, retrying transient failures (429, 5xx, timeouts, connection errors).
    pub async fn send(&self, request: &ChatRequest) -> Result<ChatResponse, InferError> {
        self.post(&self.chat_url, &WireRequest { model: &self.model, request }, parse_chat_response).await
    }

    /// Sends one raw text-completion request to `/v1/completions`, with the same retries as [`Self::send`].
    pub async fn send_completion(&self, request: &CompletionRequest) -> Result<ChatResponse, InferError> {
        self.post(&self.completions_url, &WireRequest { model: &self.model, request }, parse_completion_response).await
    }

    /// Posts `request` to `url` until an attempt succeeds, fails for good or the attempts run out.
    async fn post(&self, url: &str, request: &impl Serialize, parse: ParseFn) -> Result<ChatResponse, InferError> {
        let body = serde_json::to_vec(request)
            .map_err(|e| InferError::BadRequest(format!("cannot encode the request for {url}: {e}")))?;
        let mut attempt = 1;
        loop {
            let result = {
                let _permit = self.permits.acquire().await.expect("the client's semaphore is never closed");
                self.attempt(url, body.clone(), parse).await
            };
            match result {
                Ok(response) => {
                    let c = &self.counters;
                    c.requests.fetch_add(1, Ordering::Relaxed);
                    c.prompt_tokens.fetch_add(response.usage.prompt_tokens, Ordering::Relaxed);
                    c.completion_tokens.fetch_add(response.usage.completion_tokens, Ordering::Relaxed);
                    return Ok(response);
                }
                Err(failure) if failure.retryable && attempt < self.config.max_attempts => {
                    let delay = self.backoff(attempt, failure.retry_after);
                    tracing::debug!(url, attempt, ?delay, error = %failure.error, "retrying");
                    self.counters.retries.fetch_add(1, Ordering::Relaxed);
                    attempt += 1;
                    tokio::time::sleep(delay).await;
                }
                Err(failure) => {
                    self.counters.failures.fetch_add(1, Ordering::Relaxed);
                    return Err(failure.error);
                }
            }
        }
    }

    /// Jittered exponential backoff before attempt `attempt + 1`: `base · 2^(attempt-1)` capped at
    /// `backoff_max`, scaled by a random factor in [0.5, 1]; a server's `Retry-After` is a floor.
    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self.config.backoff_base.saturating_mul(1u32 << (attempt - 1).min(20));
        let capped = exp.min(self.config.backoff_max);
        let jittered = capped.mul_f64(0.5 + 0.5 * fastrand::f64());
        match retry_after {
            Some(floor) => jittered.max(floor.min(self.config.backoff_max)),
            None => jittered,
        }
    }

    async fn attempt(&self, url: &str, body: Vec<u8>, parse: ParseFn) -> Result<ChatResponse, Failure> {
        let mut builder = self
            .http
            .post(url)
            .timeout(self.config.request_timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(auth) = &self.auth {
            builder = builder.header(reqwest::header::AUTHORIZATION, auth);
        }
        let response = builder.send().await.map_err(|e| Failure::transport(url, &e, self.config.request_timeout))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = response.bytes().await.map_err(|e| Failure::transport(url, &e, self.config.request_timeout))?;
        if !status.is_success() {
            let code = status.as_u16();
            return Err(Failure {
                retryable: code == 429 || status.is_server_error(),
                retry_after,
                error: InferError::Status { url: url.to_string(), status: code, body: one_line(&bytes) },
            });
        }
        parse(url, &bytes).map_err(|error| Failure { retryable: false, retry_after: None, error })
    }
}

impl Engine for OpenAiClient {
    fn describe(&self) -> String {
        format!("{} (model {})", self.root, self.model)
    }

    fn chat(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatResponse, InferError>> {
        Box::pin(async move { self.send(&request).await })
    }

    fn complete(&self, request: CompletionRequest) -> BoxFuture<'_, Result<ChatResponse, InferError>> {
        Box::pin(async move { self.send_completion(&request).await })
    }
}

/// The model names the server at `base_url` lists at `GET /v1/models`, sent with `key` as a Bearer
/// token when given. One attempt with a 30 s limit.
pub async fn list_models(base_url: &str, key: Option<&str>) -> Result<Vec<String>, InferError> {
    let config = ClientConfig::new(base_url, "");
    let auth = key.map(|k| format!("Bearer {k}"));
    fetch_models(&http_client(&config)?, &server_root(base_url), auth.as_deref(), Duration::from_secs(30)).await
}

pub(crate) async fn fetch_models(
    http: &reqwest::Client,
    root: &str,
    auth: Option<&str>,
    timeout: Duration,
) -> Result<Vec<String>, InferError> {
    let url = format!("{root}/v1/models");
    let mut builder = http.get(&url).timeout(timeout);
    if let Some(auth) = auth {
        builder = builder.header(reqwest::header::AUTHORIZATION, auth);
    }
    let response = builder.send().await.map_err(|e| Failure::transport(&url, &e, timeout).error)?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| Failure::transport(&url, &e, timeout).error)?;
    if !status.is_success() {
        return Err(InferError::Status { url, status: status.as_u16(), body: one_line(&bytes) });
    }
    #[derive(Deserialize)]
    struct Models {
        data: Vec<Model>,
    }
    #[derive(Deserialize)]
    struct Model {
        id: String,
    }
    let models: Models = serde_json::from_slice(&bytes)
        .map_err(|e| InferError::Malformed { url: url.clone(), message: format!("{e}; body: {}", one_line(&bytes)) })?;
    Ok(models.data.into_iter().map(|m| m.id).collect())
}

/// One failed attempt and whether another may follow.
struct Failure {
    retryable: bool,
    retry_after: Option<Duration>,
    error: InferError,
}

impl Failure {
    /// Classifies a transport error: timeouts and connection failures are retryable.
    fn transport(url: &str, e: &reqwest::Error, timeout: Duration) -> Self {
        let error = if e.is_timeout() {
            let seconds = timeout.as_secs_f64().ceil() as u64;
            InferError::Timeout { url: url.to_string(), seconds }
        } else {
            InferError::Unreachable { url: url.to_string(), message: error_chain(e) }
        };
        Self { retryable: true, retry_after: None, error }
    }
}

/// An error and its sources on one line, without repeating the URL reqwest puts in its own message.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = e.source();
    while let Some(source) = current {
        let text = source.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = source.source();
    }
    if parts.is_empty() { e.to_string() } else { parts.join(": ") }
}

/// A response body as one trimmed line of at most 300 characters.
fn one_line(bytes: &[u8]) -> String {
    const LIMIT: usize = 300;
    let text = String::from_utf8_lossy(bytes);
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.is_empty() {
        return "(empty body)".into();
    }
    match joined.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}…", &joined[..cut]),
        None => joined,
    }
}

/// Turns a successful response body into the answer (chat or text completion).
type ParseFn = fn(&str, &[u8]) -> Result<ChatResponse, InferError>;

#[derive(Serialize)]
struct WireRequest<'a, R> {
    model: &'a str,
    #[serde(flatten)]
    request: &'a R,
}

#[derive(Deserialize)]
struct WireResponse<C> {
    #[serde(default = "Vec::new")]
    choices: Vec<C>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

/// A choice of a text-completion response.
#[derive(Deserialize)]
struct WireTextChoice {
    #[serde(default)]
    text: String,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireChoice {
    message: WireMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
}

#[derive(Deserialize)]
struct WireToolCall {
    #[serde(default)]
    id: Option<String>,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    function: WireFunction,
}

#[derive(Deserialize)]
struct WireFunction {
    name: String,
    /// A JSON string per the API; some servers send an object, which is re-encoded as a string.
    #[serde(default)]
    arguments: serde_json::Value,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
}

/// The usage and first choice of a response body of either kind.
fn first_choice<C: serde::de::DeserializeOwned>(url: &str, bytes: &[u8]) -> Result<(C, Usage), InferError> {
    let malformed = |message: String| InferError::Malformed { url: url.to_string(), message };
    let wire: WireResponse<C> =
        serde_json::from_slice(bytes).map_err(|e| malformed(format!("{e}; body: {}", one_line(bytes))))?;
    let usage = wire.usage.map_or(Usage::default(), |u| Usage {
        prompt_tokens: u.prompt_tokens.unwrap_or(0),
        completion_tokens: u.completion_tokens.unwrap_or(0),
    });
    let choice = wire
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| malformed(format!("no choices in the response; body: {}", one_line(bytes))))?;
    Ok((choice, usage))
}

fn parse_completion_response(url: &str, bytes: &[u8]) -> Result<ChatResponse, InferError> {
    let (choice, usage) = first_choice::<WireTextChoice>(url, bytes)?;
    Ok(ChatResponse { content: choice.text, tool_calls: Vec::new(), finish_reason: choice.finish_reason, usage })
}

fn parse_chat_response(url: &str, bytes: &[u8]) -> Result<ChatResponse, InferError> {
    let (choice, usage) = first_choice::<WireChoice>(url, bytes)?;
    let tool_calls = choice
        .message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .map(|call| ToolCall {
            id: call.id.unwrap_or_default(),
            kind: call.kind.unwrap_or_else(|| "function".into()),
            function: FunctionCall {
                name: call.function.name,
                arguments: match call.function.arguments {
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Null => String::new(),
                    other => other.to_string(),
                },
            },
        })
        .collect();
    Ok(ChatResponse {
        content: choice.message.content.unwrap_or_default(),
        tool_calls,
        finish_reason: choice.finish_reason,
        usage,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_with_or_without_v1_means_the_same_root() {
        for url in ["http://h:1", "http://h:1/", "http://h:1/v1", "http://h:1/v1/", " http://h:1/v1 "] {
            assert_eq!(server_root(url), "http://h:1", "{url}");
        }
        assert_eq!(server_root("https://api.example/openai/v1"), "https://api.example/openai");
    }

    #[test]
    fn null_content_and_object_arguments_are_accepted() {
        let body = br#"{"choices":[{"message":{"content":null,"tool_calls":[{"id":"c1","function":{"name":"f","arguments":{"x":1}}}]},"finish_reason":"tool_calls"}]}"#;
        let r = parse_chat_response("u", body).unwrap();
        assert_eq!(r.content, "");
        assert_eq!(r.tool_calls[0].function.arguments, r#"{"x":1}"#);
        assert_eq!(r.tool_calls[0].kind, "function");
        assert_eq!(r.finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(r.usage, Usage::default());
    }

    #[test]
    fn text_completions_parse_into_content() {
        let body = br#"{"choices":[{"index":0,"text":" 42","finish_reason":"stop"}],"usage":{"prompt_tokens":7,"completion_tokens":2}}"#;
        let r = parse_completion_response("u", body).unwrap();
        assert_eq!((r.content.as_str(), r.finish_reason.as_deref()), (" 42", Some("stop")));
        assert_eq!(r.usage, Usage { prompt_tokens: 7, completion_tokens: 2 });
        assert!(r.tool_calls.is_empty());
        let err = parse_completion_response("http://x/v1/completions", br#"{"choices":[]}"#).unwrap_err();
        assert!(err.to_string().contains("http://x/v1/completions"), "{err}");
    }

    #[test]
    fn empty_choices_is_malformed_and_names_the_url() {
        let err = parse_chat_response("http://x/v1/chat/completions", br#"{"choices":[]}"#).unwrap_err();
        assert!(matches!(err, InferError::Malformed { .. }));
        assert!(err.to_string().contains("http://x/v1/chat/completions"), "{err}");
    }

    #[test]
    fn bodies_become_one_bounded_line() {
        assert_eq!(one_line(b"  bad\n  request\t here \n"), "bad request here");
        assert_eq!(one_line(b""), "(empty body)");
        let long = "x".repeat(1000);
        assert_eq!(one_line(long.as_bytes()).chars().count(), 301);
    }

    #[test]
    fn debug_never_shows_the_key() {
        let shown = format!("{:?}", ApiKey::Value("sk-secret".into()));
        assert!(!shown.contains("sk-secret"));
    }

    #[test]
    fn unset_key_variable_is_a_config_error_naming_it() {
        let err = ApiKey::Env("PTB_TEST_SURELY_UNSET_KEY".into()).resolve().unwrap_err();
        assert!(matches!(err, InferError::Config(_)));
        assert!(err.to_string().contains("PTB_TEST_SURELY_UNSET_KEY"));
    }
}
