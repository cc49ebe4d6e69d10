//! `serve` over real HTTP on 127.0.0.1 with the real SmolLM2 GGUF.

mod common;

use serde_json::{Value, json};

/// Starts the router on a free loopback port; `None` when the GGUF is absent.
async fn start() -> Option<String> {
    let engine = common::smollm2_engine()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, ptb_engine::router(engine)).await.unwrap() });
    Some(format!("http://{addr}"))
}

async fn post(url: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new().post(url).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

fn question() -> Value {
    json!([{"role": "user", "content": "What is the capital of France?"}])
}

#[tokio::test]
async fn health_and_models() {
    let Some(base) = start().await else { return };
    let h: Value = reqwest::get(format!("{base}/health")).await.unwrap().json().await.unwrap();
    assert_eq!(h["status"], "ok");
    let m: Value = reqwest::get(format!("{base}/v1/models")).await.unwrap().json().await.unwrap();
    assert_eq!(m["object"], "list");
    assert!(m["data"][0]["id"].as_str().unwrap().contains("SmolLM2"));
}

#[tokio::test]
async fn chat_completion_and_stream_agree() {
    let Some(base) = start().await else { return };
    let url = format!("{base}/v1/chat/completions");
    let (status, body) =
        post(&url, json!({"model": "x", "messages": question(), "temperature": 0, "max_tokens": 24})).await;
    assert_eq!(status, 200, "{body}");
    let content = body["choices"][0]["message"]["content"].as_str().unwrap().to_string();
    assert!(content.contains("Paris"), "{content:?}");
    assert_eq!(body["object"], "chat.completion");
    assert!(body["usage"]["completion_tokens"].as_u64().unwrap() > 0);

    let text = reqwest::Client::new()
        .post(&url)
        .json(&json!({"messages": question(), "temperature": 0, "max_tokens": 24, "stream": true}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(*lines.last().unwrap(), "data: [DONE]");
    let mut streamed = String::new();
    let mut finish = None;
    for l in &lines[..lines.len() - 1] {
        let chunk: Value = serde_json::from_str(l.strip_prefix("data: ").expect("SSE data line")).unwrap();
        assert_eq!(chunk["object"], "chat.completion.chunk");
        if let Some(c) = chunk["choices"][0]["delta"]["content"].as_str() {
            streamed.push_str(c);
        }
        if let Some(f) = chunk["choices"][0]["finish_reason"].as_str() {
            finish = Some(f.to_string());
        }
    }
    assert_eq!(streamed, content);
    assert!(finish.is_some());
}

#[tokio::test]
async fn completions_endpoint_plain_and_streamed() {
    let Some(base) = start().await else { return };
    let url = format!("{base}/v1/completions");
    let (status, body) =
        post(&url, json!({"prompt": "The capital of France is", "temperature": 0, "max_tokens": 8})).await;
    assert_eq!(status, 200, "{body}");
    let text = body["choices"][0]["text"].as_str().unwrap().to_string();
    assert!(!text.is_empty());
    let sse = reqwest::Client::new()
        .post(&url)
        .json(&json!({"prompt": "The capital of France is", "temperature": 0, "max_tokens": 8, "stream": true}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut streamed = String::new();
    for l in sse.lines().filter(|l| l.starts_with("data: ") && *l != "data: [DONE]") {
        let v: Value = serde_json::from_str(&l[6..]).unwrap();
        streamed.push_str(v["choices"][0]["text"].as_str().unwrap());
    }
    assert!(sse.trim_end().ends_with("data: [DONE]"));
    assert_eq!(streamed, text);
}

/// The HTTP client's raw completion through `/v1/completions` and the in-process engine's agree (greedy),
/// and no chat template touches the prompt: the reply continues the text.
#[tokio::test]
async fn client_completion_matches_the_in_process_engine() {
    use ptb_infer::{CompletionRequest, Engine, Sampling};
    let Some(base) = start().await else { return };
    let engine = common::smollm2_engine().unwrap();
    let client = ptb_infer::client::OpenAiClient::new(ptb_infer::client::ClientConfig::new(base, "x")).unwrap();
    let request = CompletionRequest {
        prompt: "1, 2, 3, 4,".into(),
        sampling: Sampling {
            max_tokens: Some(6),
            temperature: Some(0.0),
            stop: vec!["\n".into()],
            ..Default::default()
        },
    };
    let over_http = client.complete(request.clone()).await.unwrap();
    let in_process = engine.complete(request).await.unwrap();
    assert_eq!(over_http.content, in_process.content);
    assert!(over_http.content.starts_with(" 5"), "{:?}", over_http.content);
    assert_eq!(over_http.usage, in_process.usage);
    assert!(over_http.usage.prompt_tokens > 0 && over_http.tool_calls.is_empty());
}

#[tokio::test]
async fn tools_round_trip() {
    let Some(base) = start().await else { return };
    let url = format!("{base}/v1/chat/completions");
    let tools = json!([{"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]);
    let call = r#"<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>"#;
    // After the same exchange four times, the 135M model repeats it under greedy decoding.
    let mut turns = Vec::new();
    for _ in 0..4 {
        turns.push(json!({"role": "user", "content": "What is the weather in Paris?"}));
        turns.push(json!({"role": "assistant", "content": call}));
    }
    turns.push(json!({"role": "user", "content": "What is the weather in Paris?"}));
    let messages = Value::Array(turns);
    let (status, body) =
        post(&url, json!({"messages": messages, "tools": tools, "temperature": 0, "max_tokens": 40})).await;
    assert_eq!(status, 200, "{body}");
    let msg = &body["choices"][0]["message"];
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls", "{body}");
    assert_eq!(msg["tool_calls"][0]["function"]["name"], "get_weather");
    let args: Value = serde_json::from_str(msg["tool_calls"][0]["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args["city"], "Paris");
    // Second turn: the assistant's tool call and the tool result go back in.
    let follow = json!([
        {"role": "user", "content": "What is the weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "call_0", "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
        {"role": "tool", "tool_call_id": "call_0", "content": "sunny, 21 C"}
    ]);
    let (status, body) =
        post(&url, json!({"messages": follow, "tools": tools, "temperature": 0, "max_tokens": 16})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["choices"][0]["message"]["content"].is_string());
}

#[tokio::test]
async fn concurrent_requests_match_sequential_ones() {
    let Some(base) = start().await else { return };
    let url = format!("{base}/v1/chat/completions");
    let questions = ["What is 2+2?", "Name a fruit.", "What is the capital of France?", "Say hello."];
    let body = |q: &str| json!({"messages": [{"role": "user", "content": q}], "temperature": 0, "max_tokens": 16});
    let mut sequential = Vec::new();
    for q in questions {
        let (s, b) = post(&url, body(q)).await;
        assert_eq!(s, 200);
        sequential.push(b["choices"][0]["message"]["content"].as_str().unwrap().to_string());
    }
    let futs = questions.iter().map(|q| post(&url, body(q)));
    let results = futures::future::join_all(futs).await;
    for (i, (s, b)) in results.into_iter().enumerate() {
        assert_eq!(s, 200);
        assert_eq!(b["choices"][0]["message"]["content"].as_str().unwrap(), sequential[i]);
    }
}

#[tokio::test]
async fn over_long_request_is_http_400() {
    let Some(base) = start().await else { return };
    let long = "tok ".repeat(10_000);
    let (status, body) =
        post(&format!("{base}/v1/chat/completions"), json!({"messages": [{"role": "user", "content": long}]})).await;
    assert_eq!(status, 400, "{body}");
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(msg.contains("context"), "{msg}");
    let (status, _) = post(&format!("{base}/v1/chat/completions"), json!({"messages": "not a list"})).await;
    assert_eq!(status, 400);
    // The server still answers afterwards.
    let (status, _) =
        post(&format!("{base}/v1/chat/completions"), json!({"messages": question(), "max_tokens": 2})).await;
    assert_eq!(status, 200);
}
