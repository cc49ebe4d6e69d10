use std::time::Duration;

use ptb_infer::client::{ApiKey, ClientConfig, OpenAiClient, list_models};
use ptb_infer::fixed_server::{FixedServer, FixedServerConfig};
use ptb_infer::{ChatMessage, ChatRequest, Engine, FunctionCall, InferError, Sampling, ToolCall};

fn request(text: &str) -> ChatRequest {
    let sampling = Sampling { max_tokens: Some(16), ..Default::default() };
    ChatRequest { messages: vec![ChatMessage::new("user", text)], sampling, ..Default::default() }
}

/// A client for `server` with fast retries.
fn config(server: &FixedServer) -> ClientConfig {
    ClientConfig {
        max_attempts: 3,
        backoff_base: Duration::from_millis(5),
        backoff_max: Duration::from_millis(20),
        ..ClientConfig::new(format!("{}/v1/", server.base_url()), "fixed")
    }
}

#[tokio::test]
async fn successful_chat_parses_content_tool_calls_and_usage() {
    let call = ToolCall {
        id: "call_1".into(),
        kind: "function".into(),
        function: FunctionCall { name: "add".into(), arguments: r#"{"a":1,"b":2}"#.into() },
    };
    let server = FixedServer::start(FixedServerConfig::new("The answer is 42.").with_tool_calls(vec![call.clone()]))
        .await
        .unwrap();
    let client = OpenAiClient::new(config(&server)).unwrap();
    let first = client.chat(request("What is 6 times 7?")).await.unwrap();
    assert_eq!(first.content, "The answer is 42.");
    assert_eq!(first.tool_calls, vec![call]);
    assert_eq!(first.finish_reason.as_deref(), Some("tool_calls"));
    assert!(first.usage.prompt_tokens > 0 && first.usage.completion_tokens > 0);
    let second = client.chat(request("again")).await.unwrap();

    let totals = client.totals();
    assert_eq!(totals.requests, 2);
    assert_eq!(totals.failures, 0);
    assert_eq!(totals.prompt_tokens, first.usage.prompt_tokens + second.usage.prompt_tokens);
    assert_eq!(totals.completion_tokens, first.usage.completion_tokens + second.usage.completion_tokens);

    let sent = server.last_request().unwrap();
    assert_eq!(sent["model"], "fixed");
    assert_eq!(sent["max_tokens"], 16);
    assert_eq!(sent["messages"][0]["content"], "again");
    assert!(client.describe().contains(&server.base_url()));
    assert_eq!(client.list_models().await.unwrap(), ["fixed"]);
    assert_eq!(list_models(&server.base_url(), None).await.unwrap(), ["fixed"]);
}

#[tokio::test]
async fn retries_429_then_succeeds() {
    let server = FixedServer::start(FixedServerConfig::new("ok").fail_first(2, 429)).await.unwrap();
    let client = OpenAiClient::new(config(&server)).unwrap();
    let answer = client.chat(request("hi")).await.unwrap();
    assert_eq!(answer.content, "ok");
    assert_eq!(server.chat_requests(), 3);
    let totals = client.totals();
    assert_eq!((totals.requests, totals.retries, totals.failures), (1, 2, 0));
}

#[tokio::test]
async fn server_errors_until_attempts_run_out_name_url_and_status() {
    let server = FixedServer::start(FixedServerConfig::new("ok").fail_first(10, 500)).await.unwrap();
    let client = OpenAiClient::new(config(&server)).unwrap();
    let err = client.chat(request("hi")).await.unwrap_err();
    assert!(matches!(err, InferError::Status { status: 500, .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&format!("{}/v1/chat/completions", server.base_url())), "{text}");
    assert!(text.contains("HTTP 500"), "{text}");
    assert_eq!(server.chat_requests(), 3);
    assert_eq!(client.totals().failures, 1);
}

#[tokio::test]
async fn client_errors_are_not_retried_and_show_the_body() {
    let server = FixedServer::start(FixedServerConfig::new("ok").fail_first(1, 400)).await.unwrap();
    let client = OpenAiClient::new(config(&server)).unwrap();
    let err = client.chat(request("hi")).await.unwrap_err();
    assert!(matches!(err, InferError::Status { status: 400, .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("scripted failure 400 for request 0"), "{text}");
    assert!(!text.contains('\n'), "{text}");
    assert_eq!(server.chat_requests(), 1);
}

#[tokio::test]
async fn slow_answers_time_out() {
    let server = FixedServer::start(FixedServerConfig::new("late").with_delay(Duration::from_secs(3))).await.unwrap();
    let client =
        OpenAiClient::new(ClientConfig { request_timeout: Duration::from_secs(1), max_attempts: 2, ..config(&server) })
            .unwrap();
    let err = client.chat(request("hi")).await.unwrap_err();
    assert!(matches!(err, InferError::Timeout { seconds: 1, .. }), "{err:?}");
    assert!(err.to_string().contains(&server.base_url()), "{err}");
    assert_eq!(server.chat_requests(), 2, "a timeout is retried");
}

#[tokio::test]
async fn unreachable_port_names_the_url() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = OpenAiClient::new(ClientConfig {
        max_attempts: 2,
        backoff_base: Duration::from_millis(1),
        ..ClientConfig::new(format!("http://127.0.0.1:{port}"), "m")
    })
    .unwrap();
    let err = client.chat(request("hi")).await.unwrap_err();
    assert!(matches!(err, InferError::Unreachable { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&format!("http://127.0.0.1:{port}/v1/chat/completions")), "{text}");
    assert_eq!(client.totals().retries, 1);
}

#[tokio::test]
async fn concurrency_is_bounded_by_the_client() {
    let server = FixedServer::start(FixedServerConfig::new("ok").with_delay(Duration::from_millis(200))).await.unwrap();
    let client = OpenAiClient::new(ClientConfig { max_concurrency: 4, ..config(&server) }).unwrap();
    let answers = futures::future::join_all((0..16).map(|i| client.chat(request(&format!("q{i}"))))).await;
    assert!(answers.iter().all(Result::is_ok));
    assert_eq!(server.chat_requests(), 16);
    assert_eq!(server.max_in_flight(), 4);
}

#[tokio::test]
async fn api_key_is_sent_as_bearer_from_the_named_variable() {
    // PATH is set in every test process, so its value serves as the key read from a named variable
    // without `set_var` (unsound while other test threads run).
    let key = std::env::var("PATH").expect("PATH is set");
    let key = key.as_str();
    let server = FixedServer::start(FixedServerConfig::new("ok").with_api_key(key)).await.unwrap();
    let client = OpenAiClient::new(ClientConfig { api_key: ApiKey::Env("PATH".into()), ..config(&server) }).unwrap();
    assert_eq!(client.chat(request("hi")).await.unwrap().content, "ok");
    assert_eq!(list_models(&server.base_url(), Some(key)).await.unwrap(), ["fixed"]);

    let wrong = OpenAiClient::new(ClientConfig { api_key: ApiKey::Value("sk-not-this-one".into()), ..config(&server) })
        .unwrap();
    let err = wrong.chat(request("hi")).await.unwrap_err();
    assert!(matches!(err, InferError::Status { status: 401, .. }), "{err:?}");
    assert!(!err.to_string().contains("sk-not-this-one"), "the key never appears in errors: {err}");
    assert!(matches!(list_models(&server.base_url(), None).await, Err(InferError::Status { status: 401, .. })));
    assert_eq!(server.chat_requests(), 2);
}
