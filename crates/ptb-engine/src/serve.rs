//! `ptb serve`: the embedded engine behind an OpenAI-compatible HTTP API (axum).
//!
//! Routes: `POST /v1/chat/completions` (optionally streamed as server-sent events: `data: {chunk}`
//! lines, then `data: [DONE]`), `POST /v1/completions`, `GET /v1/models`, `GET /health`. Chat prompts
//! are rendered with the model's chat template (or the override), completion prompts are tokenized as
//! they are, with the tokenizer's special tokens (as vLLM does); when `tools` are offered, Hermes
//! `<tool_call>{…}</tool_call>` blocks in the output come back as OpenAI `tool_calls`. A prompt that
//! does not fit the context is answered with HTTP 400.

use std::convert::Infallible;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::{Stream, StreamExt, stream};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::batch::Event;
use crate::engine::{EmbeddedEngine, EngineOptions, GenerateRequest, chat_response, normalise_message};
use crate::error::{EngineError, Result};

/// Where and what to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Model, tokenizer and chat-template override.
    pub engine: EngineOptions,
    pub host: String,
    pub port: u16,
}

/// Loads the model and serves it until Ctrl-C. Logs the listening address.
pub async fn serve(opts: ServeOptions) -> Result<()> {
    let engine_opts = opts.engine.clone();
    let model = opts.engine.model.clone();
    let engine = tokio::task::spawn_blocking(move || EmbeddedEngine::load(&engine_opts))
        .await
        .map_err(|e| EngineError::bad(&model, format!("loading panicked: {e}")))??;
    let addr = format!("{}:{}", opts.host, opts.port);
    let listener = tokio::net::TcpListener::bind(&addr).await.map_err(|source| EngineError::Io {
        context: format!("cannot listen on {addr} (is the port in use? pass another --port)"),
        source,
    })?;
    tracing::info!("serving {} on http://{addr}/v1", engine.model_name());
    axum::serve(listener, router(engine))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|source| EngineError::Io { context: format!("server on {addr} failed"), source })
}

/// The HTTP routes over an already loaded engine (tests bind it to a port of their own).
pub fn router(engine: EmbeddedEngine) -> Router {
    Router::new()
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/v1/models", get(models))
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/completions", post(completions))
        .with_state(engine)
}

fn error(status: StatusCode, message: String) -> Response {
    let kind = if status == StatusCode::BAD_REQUEST { "invalid_request_error" } else { "server_error" };
    (status, Json(json!({"error": {"message": message, "type": kind, "code": status.as_u16()}}))).into_response()
}

fn engine_error(e: EngineError) -> Response {
    match e {
        EngineError::BadRequest(m) | EngineError::Template(m) => error(StatusCode::BAD_REQUEST, m),
        other => error(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

async fn models(State(engine): State<EmbeddedEngine>) -> Json<Value> {
    Json(json!({"object": "list", "data": [{
        "id": engine.model_name(), "object": "model", "created": now(), "owned_by": "ptb",
        "max_model_len": engine.max_context(),
    }]}))
}

/// `stop` as OpenAI sends it: a string or a list.
#[derive(Debug, Default, Deserialize)]
#[serde(untagged)]
enum Stop {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

impl Stop {
    fn into_vec(self) -> Vec<String> {
        match self {
            Stop::None => Vec::new(),
            Stop::One(s) => vec![s],
            Stop::Many(v) => v,
        }
    }
}

#[derive(Debug, Deserialize)]
struct Sampling {
    max_tokens: Option<usize>,
    max_completion_tokens: Option<usize>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    top_k: Option<i64>,
    seed: Option<u64>,
    #[serde(default)]
    stop: Stop,
    #[serde(default)]
    stream: bool,
}

impl Sampling {
    fn request(self, prompt: Vec<u32>) -> (GenerateRequest, bool) {
        let req = GenerateRequest {
            prompt,
            max_tokens: self.max_completion_tokens.or(self.max_tokens),
            temperature: self.temperature,
            top_p: self.top_p,
            top_k: self.top_k.map(|k| k.max(0) as usize),
            seed: self.seed,
            stop: self.stop.into_vec(),
            ignore_eos: false,
        };
        (req, self.stream)
    }
}

#[derive(Debug, Deserialize)]
struct ChatBody {
    messages: Vec<Value>,
    #[serde(default)]
    tools: Vec<Value>,
    #[serde(flatten)]
    sampling: Sampling,
}

#[derive(Debug, Deserialize)]
struct CompletionBody {
    prompt: String,
    #[serde(flatten)]
    sampling: Sampling,
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> std::result::Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("invalid request body: {e}"))
}

fn sse(events: impl Stream<Item = SseEvent> + Send + 'static) -> Response {
    let done = stream::once(async { SseEvent::default().data("[DONE]") });
    Sse::new(events.chain(done).map(Ok::<_, Infallible>)).into_response()
}

async fn chat_completions(State(engine): State<EmbeddedEngine>, body: axum::body::Bytes) -> Response {
    let body: ChatBody = match parse(&body) {
        Ok(b) => b,
        Err(m) => return error(StatusCode::BAD_REQUEST, m),
    };
    let messages: Vec<Value> = body.messages.into_iter().map(normalise_message).collect();
    let tools_offered = !body.tools.is_empty();
    let prompt = match engine
        .render_chat(&messages, tools_offered.then_some(body.tools.as_slice()))
        .and_then(|p| engine.tokenize(&p))
    {
        Ok(p) => p,
        Err(e) => return engine_error(e),
    };
    let (req, stream_it) = body.sampling.request(prompt);
    let mut rx = match engine.submit(req) {
        Ok(rx) => rx,
        Err(e) => return engine_error(e),
    };
    let id = format!("chatcmpl-{}", now());
    let model = engine.model_name().to_string();
    if !stream_it {
        loop {
            match rx.recv().await {
                Some(Event::Delta(_)) => {}
                Some(Event::Done(c)) => {
                    let r = chat_response(c, tools_offered);
                    let mut message = json!({"role": "assistant", "content": r.content});
                    if !r.tool_calls.is_empty() {
                        message["tool_calls"] = json!(r.tool_calls);
                    }
                    return Json(json!({
                        "id": id, "object": "chat.completion", "created": now(), "model": model,
                        "choices": [{"index": 0, "message": message, "finish_reason": r.finish_reason}],
                        "usage": {"prompt_tokens": r.usage.prompt_tokens, "completion_tokens": r.usage.completion_tokens,
                                  "total_tokens": r.usage.prompt_tokens + r.usage.completion_tokens},
                    }))
                    .into_response();
                }
                Some(Event::Failed(m)) => return error(StatusCode::INTERNAL_SERVER_ERROR, m),
                None => return engine_error(EngineError::Stopped),
            }
        }
    }
    let chunk = move |delta: Value, finish: Option<&str>| {
        let v = json!({"id": id, "object": "chat.completion.chunk", "created": now(), "model": model,
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
        SseEvent::default().data(v.to_string())
    };
    let first = chunk(json!({"role": "assistant", "content": ""}), None);
    // With tools offered, text is held until the end so tool-call blocks can be parsed whole.
    let events = stream::unfold(Some(rx), move |state| {
        let chunk = chunk.clone();
        async move {
            let mut rx = state?;
            loop {
                match rx.recv().await {
                    Some(Event::Delta(d)) if !tools_offered => return Some((vec![chunk(json!({"content": d}), None)], Some(rx))),
                    Some(Event::Delta(_)) => {}
                    Some(Event::Done(c)) => {
                        let r = chat_response(c, tools_offered);
                        let mut out = Vec::new();
                        if tools_offered {
                            let calls: Vec<Value> = r
                                .tool_calls
                                .iter()
                                .enumerate()
                                .map(|(i, t)| json!({"index": i, "id": t.id, "type": "function", "function": t.function}))
                                .collect();
                            let mut delta = json!({"content": r.content});
                            if !calls.is_empty() {
                                delta["tool_calls"] = json!(calls);
                            }
                            out.push(chunk(delta, None));
                        }
                        out.push(chunk(json!({}), r.finish_reason.as_deref()));
                        return Some((out, None));
                    }
                    Some(Event::Failed(m)) => return Some((vec![SseEvent::default().data(json!({"error": {"message": m}}).to_string())], None)),
                    None => return None,
                }
            }
        }
    })
    .flat_map(stream::iter);
    sse(stream::once(async move { first }).chain(events))
}

async fn completions(State(engine): State<EmbeddedEngine>, body: axum::body::Bytes) -> Response {
    let body: CompletionBody = match parse(&body) {
        Ok(b) => b,
        Err(m) => return error(StatusCode::BAD_REQUEST, m),
    };
    let prompt = match engine.tokenize_raw(&body.prompt) {
        Ok(p) => p,
        Err(e) => return engine_error(e),
    };
    let (req, stream_it) = body.sampling.request(prompt);
    let mut rx = match engine.submit(req) {
        Ok(rx) => rx,
        Err(e) => return engine_error(e),
    };
    let id = format!("cmpl-{}", now());
    let model = engine.model_name().to_string();
    let chunk = move |text: &str, finish: Option<&str>, usage: Option<Value>| {
        let mut v = json!({"id": id, "object": "text_completion", "created": now(), "model": model,
                           "choices": [{"index": 0, "text": text, "logprobs": null, "finish_reason": finish}]});
        if let Some(u) = usage {
            v["usage"] = u;
        }
        v
    };
    let usage = |c: &crate::batch::Completion| json!({"prompt_tokens": c.prompt_tokens, "completion_tokens": c.tokens.len(), "total_tokens": c.prompt_tokens + c.tokens.len()});
    if !stream_it {
        loop {
            match rx.recv().await {
                Some(Event::Delta(_)) => {}
                Some(Event::Done(c)) => {
                    return Json(chunk(&c.text, Some(c.finish_reason.as_str()), Some(usage(&c)))).into_response();
                }
                Some(Event::Failed(m)) => return error(StatusCode::INTERNAL_SERVER_ERROR, m),
                None => return engine_error(EngineError::Stopped),
            }
        }
    }
    let events = stream::unfold(Some(rx), move |state| {
        let chunk = chunk.clone();
        async move {
            let mut rx = state?;
            match rx.recv().await {
                Some(Event::Delta(d)) => Some((SseEvent::default().data(chunk(&d, None, None).to_string()), Some(rx))),
                Some(Event::Done(c)) => Some((
                    SseEvent::default().data(chunk("", Some(c.finish_reason.as_str()), Some(usage(&c))).to_string()),
                    None,
                )),
                Some(Event::Failed(m)) => {
                    Some((SseEvent::default().data(json!({"error": {"message": m}}).to_string()), None))
                }
                None => None,
            }
        }
    });
    sse(events)
}
