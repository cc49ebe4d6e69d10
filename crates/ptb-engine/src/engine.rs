//! [`EmbeddedEngine`]: the loaded model behind a batching worker thread, usable in-process (it
//! implements [`ptb_infer::Engine`]) and by the HTTP server.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use candle_core::Device;
use futures::future::BoxFuture;
use ptb_infer::{ChatRequest, ChatResponse, CompletionRequest, FunctionCall, InferError, Sampling, ToolCall, Usage};
use serde_json::{Map, Value};
use tokenizers::Tokenizer;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::batch::{Completion, Event, Job, SamplingParams, Worker};
use crate::error::{EngineError, Result};
use crate::loader::{self, SamplingDefaults};

/// ChatML, used when neither the model nor the caller supplies a chat template.
pub const CHATML_TEMPLATE: &str = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/// How to load an [`EmbeddedEngine`].
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// A Hugging Face model directory or a `.gguf` file.
    pub model: PathBuf,
    /// A `tokenizer.json` overriding the model's (or the one rebuilt from GGUF metadata).
    pub tokenizer: Option<PathBuf>,
    /// A Jinja chat template overriding the model's.
    pub chat_template: Option<PathBuf>,
    /// Most sequences decoded together in one step.
    pub max_batch: usize,
    /// Caps the context below the model's own limit.
    pub max_context: Option<usize>,
}

impl EngineOptions {
    /// Defaults for `model`: its own tokenizer and template, batches of up to 16.
    pub fn new(model: impl Into<PathBuf>) -> Self {
        Self { model: model.into(), tokenizer: None, chat_template: None, max_batch: 16, max_context: None }
    }
}

/// A generation request on token ids. `None` fields take the model's defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenerateRequest {
    pub prompt: Vec<u32>,
    /// Defaults to the rest of the context.
    pub max_tokens: Option<usize>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<usize>,
    pub seed: Option<u64>,
    pub stop: Vec<String>,
    /// Keep generating past EOS (for benchmarks).
    pub ignore_eos: bool,
}

impl GenerateRequest {
    /// `prompt` with an OpenAI request's sampling settings (no top-k; stops at EOS).
    pub fn new(prompt: Vec<u32>, s: Sampling) -> Self {
        Self {
            prompt,
            max_tokens: s.max_tokens.map(|m| m as usize),
            temperature: s.temperature,
            top_p: s.top_p,
            top_k: None,
            seed: s.seed,
            stop: s.stop,
            ignore_eos: false,
        }
    }
}

struct Inner {
    jobs: mpsc::Sender<Job>,
    tokenizer: Tokenizer,
    template: ptb_chat::ChatTemplate,
    special_tokens: Map<String, Value>,
    defaults: SamplingDefaults,
    name: String,
    max_context: usize,
    seeds: AtomicU64,
}

/// The in-process engine. Cloning is cheap; all clones share one model and one batching worker.
#[derive(Clone)]
pub struct EmbeddedEngine {
    inner: Arc<Inner>,
}

impl EmbeddedEngine {
    /// Loads the model (CPU, or CUDA when built with the `cuda` feature and a GPU is present) and
    /// starts its worker thread.
    pub fn load(opts: &EngineOptions) -> Result<Self> {
        let device = Device::cuda_if_available(0)?;
        let m = loader::load(&opts.model, opts.tokenizer.as_deref(), opts.chat_template.as_deref(), &device)?;
        let template = match m.chat_template {
            Some(t) => t,
            None => ptb_chat::ChatTemplate::new(CHATML_TEMPLATE, "ChatML (default)")
                .map_err(|e| EngineError::Template(e.to_string()))?,
        };
        let model_context = m.transformer.config().max_context;
        let max_context = opts.max_context.map_or(model_context, |c| c.min(model_context));
        let (tx, rx) = mpsc::channel();
        let worker = Worker {
            model: m.transformer,
            tokenizer: m.tokenizer.clone(),
            eos_ids: m.eos_ids,
            max_batch: opts.max_batch.max(1),
            max_context,
        };
        std::thread::Builder::new()
            .name("ptb-engine".into())
            .spawn(move || worker.run(rx))
            .map_err(|source| EngineError::Io { context: "cannot start the engine thread".into(), source })?;
        let seed0 =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        Ok(Self {
            inner: Arc::new(Inner {
                jobs: tx,
                tokenizer: m.tokenizer,
                template,
                special_tokens: m.special_tokens,
                defaults: m.defaults,
                name: m.name,
                max_context,
                seeds: AtomicU64::new(seed0),
            }),
        })
    }

    /// The model's name (its file or directory name).
    pub fn model_name(&self) -> &str {
        &self.inner.name
    }

    /// Longest prompt plus generation, in tokens.
    pub fn max_context(&self) -> usize {
        self.inner.max_context
    }

    /// Tokenizes text as the engine does for rendered chat prompts (no special tokens added).
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>> {
        crate::tokenizer::encode(&self.inner.tokenizer, text, false)
    }

    /// Tokenizes a raw completion prompt with the tokenizer's special tokens added (e.g. Gemma's
    /// `<bos>`), as vLLM's `/v1/completions` does.
    pub fn tokenize_raw(&self, text: &str) -> Result<Vec<u32>> {
        crate::tokenizer::encode(&self.inner.tokenizer, text, true)
    }

    /// Renders a conversation (OpenAI message objects) with the chat template, generation prompt added.
    pub fn render_chat(&self, messages: &[Value], tools: Option<&[Value]>) -> Result<String> {
        let ctx = ptb_chat::RenderContext {
            messages: messages.to_vec(),
            tools: tools.map(<[Value]>::to_vec),
            add_generation_prompt: true,
            special_tokens: self.inner.special_tokens.clone(),
            ..Default::default()
        };
        self.inner.template.render(&ctx).map_err(|e| EngineError::Template(e.to_string()))
    }

    /// Queues a request; events arrive on the returned channel. Fails at once, with
    /// [`EngineError::BadRequest`], when the prompt does not fit the context.
    pub fn submit(&self, req: GenerateRequest) -> Result<UnboundedReceiver<Event>> {
        let n = req.prompt.len();
        let ctx = self.inner.max_context;
        if n == 0 {
            return Err(EngineError::BadRequest("the prompt is empty".into()));
        }
        if n >= ctx {
            return Err(EngineError::BadRequest(format!(
                "the prompt has {n} tokens but the model's context is {ctx} tokens; shorten the prompt"
            )));
        }
        let d = self.inner.defaults;
        let sampling = SamplingParams {
            temperature: req.temperature.unwrap_or(d.temperature),
            top_p: req.top_p.unwrap_or(d.top_p),
            top_k: req.top_k.unwrap_or(d.top_k),
            seed: req.seed.unwrap_or_else(|| self.inner.seeds.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)),
        };
        let room = ctx - n;
        let max_tokens = req.max_tokens.map_or(room, |m| m.min(room)).max(1);
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let job =
            Job { prompt: req.prompt, max_tokens, sampling, stop: req.stop, ignore_eos: req.ignore_eos, events: tx };
        self.inner.jobs.send(job).map_err(|_| EngineError::Stopped)?;
        Ok(rx)
    }

    /// Runs a request to completion.
    pub async fn generate(&self, req: GenerateRequest) -> Result<Completion> {
        let mut rx = self.submit(req)?;
        while let Some(ev) = rx.recv().await {
            match ev {
                Event::Delta(_) => {}
                Event::Done(c) => return Ok(c),
                Event::Failed(m) => return Err(EngineError::BadRequest(m)),
            }
        }
        Err(EngineError::Stopped)
    }

    /// Prepares a chat request: renders its messages and tools and builds the generation request.
    pub fn chat_request(&self, request: &ChatRequest) -> Result<GenerateRequest> {
        let messages: Vec<Value> = request
            .messages
            .iter()
            .map(|m| normalise_message(serde_json::to_value(m).unwrap_or(Value::Null)))
            .collect();
        let tools = (!request.tools.is_empty()).then_some(request.tools.as_slice());
        let prompt = self.render_chat(&messages, tools)?;
        Ok(GenerateRequest::new(self.tokenize(&prompt)?, request.sampling.clone()))
    }
}

/// An OpenAI message as chat templates expect it: tool-call arguments as JSON objects when they parse.
pub(crate) fn normalise_message(mut v: Value) -> Value {
    if let Some(calls) = v.get_mut("tool_calls").and_then(Value::as_array_mut) {
        for c in calls {
            if let Some(f) = c.get_mut("function") {
                let parsed =
                    f.get("arguments").and_then(Value::as_str).and_then(|s| serde_json::from_str::<Value>(s).ok());
                if let Some(obj) = parsed {
                    f["arguments"] = obj;
                }
            }
        }
    }
    v
}

/// Splits Hermes-style output into text and tool calls: every `<tool_call>{"name": …, "arguments": …}</tool_call>`
/// block (the closing tag may be missing at the end) becomes a [`ToolCall`]; the rest is the content.
pub fn parse_tool_calls(text: &str) -> (String, Vec<ToolCall>) {
    const OPEN: &str = "<tool_call>";
    const CLOSE: &str = "</tool_call>";
    let mut content = String::new();
    let mut calls = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        let body_start = start + OPEN.len();
        let (body, block_end) = match rest[body_start..].find(CLOSE) {
            Some(end) => (&rest[body_start..body_start + end], body_start + end + CLOSE.len()),
            None => (&rest[body_start..], rest.len()),
        };
        let parsed = serde_json::from_str::<Value>(body.trim()).ok();
        match parsed.as_ref().and_then(|v| Some((v.get("name")?.as_str()?, v.get("arguments")))) {
            Some((name, args)) => {
                content.push_str(&rest[..start]);
                let arguments = match args {
                    Some(Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                    None => "{}".into(),
                };
                calls.push(ToolCall {
                    id: format!("call_{}", calls.len()),
                    kind: "function".into(),
                    function: FunctionCall { name: name.into(), arguments },
                });
            }
            None => content.push_str(&rest[..block_end]),
        }
        rest = &rest[block_end..];
    }
    content.push_str(rest);
    let content = if calls.is_empty() { content } else { content.trim().to_string() };
    (content, calls)
}

/// Turns a finished completion into the OpenAI-shaped answer, parsing tool calls when tools were offered.
pub(crate) fn chat_response(c: Completion, tools_offered: bool) -> ChatResponse {
    let (content, tool_calls) = if tools_offered { parse_tool_calls(&c.text) } else { (c.text, Vec::new()) };
    let finish = if tool_calls.is_empty() { c.finish_reason.as_str() } else { "tool_calls" };
    ChatResponse {
        content,
        tool_calls,
        finish_reason: Some(finish.into()),
        usage: Usage { prompt_tokens: c.prompt_tokens as u64, completion_tokens: c.tokens.len() as u64 },
    }
}

impl ptb_infer::Engine for EmbeddedEngine {
    fn describe(&self) -> String {
        format!("embedded candle engine: {}", self.inner.name)
    }

    fn chat(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatResponse, InferError>> {
        Box::pin(async move {
            let gen_req = self.chat_request(&request)?;
            let c = self.generate(gen_req).await?;
            Ok(chat_response(c, !request.tools.is_empty()))
        })
    }

    fn complete(&self, request: CompletionRequest) -> BoxFuture<'_, Result<ChatResponse, InferError>> {
        Box::pin(async move {
            let gen_req = GenerateRequest::new(self.tokenize_raw(&request.prompt)?, request.sampling);
            Ok(chat_response(self.generate(gen_req).await?, false))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::parse_tool_calls;

    #[test]
    fn parses_hermes_tool_calls() {
        let text = "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";
        let (content, calls) = parse_tool_calls(text);
        assert_eq!(content, "Let me check.");
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].function.name, "get_weather");
        assert_eq!(calls[0].function.arguments, r#"{"city":"Paris"}"#);
    }

    #[test]
    fn keeps_malformed_blocks_as_text() {
        let (content, calls) = parse_tool_calls("<tool_call>not json</tool_call> done");
        assert!(calls.is_empty());
        assert_eq!(content, "<tool_call>not json</tool_call> done");
    }

    #[test]
    fn accepts_unterminated_last_call() {
        let (_, calls) = parse_tool_calls("<tool_call>{\"name\": \"f\", \"arguments\": \"{}\"}");
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].function.arguments, "{}");
    }
}
