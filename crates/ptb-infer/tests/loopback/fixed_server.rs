use ptb_infer::client::{ClientConfig, OpenAiClient};
use ptb_infer::fixed_server::{FixedServer, FixedServerConfig};
use ptb_infer::{ChatMessage, ChatRequest};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_1319_requests_at_concurrency_32() {
    let server = FixedServer::start(FixedServerConfig::new("#### 42")).await.unwrap();
    let client = std::sync::Arc::new(
        OpenAiClient::new(ClientConfig { max_concurrency: 32, ..ClientConfig::new(server.base_url(), "fixed") })
            .unwrap(),
    );
    let tasks: Vec<_> = (0..1319)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                let request = ChatRequest {
                    messages: vec![ChatMessage::new("user", format!("question {i}"))],
                    ..Default::default()
                };
                client.send(&request).await
            })
        })
        .collect();
    let mut completion_tokens = 0;
    for task in tasks {
        let answer = task.await.unwrap().unwrap();
        assert_eq!(answer.content, "#### 42");
        completion_tokens += answer.usage.completion_tokens;
    }
    assert_eq!(server.chat_requests(), 1319);
    assert!(server.max_in_flight() <= 32);
    let totals = client.totals();
    assert_eq!(totals.requests, 1319);
    assert_eq!(totals.completion_tokens, completion_tokens);
    server.shutdown().await;
}

#[tokio::test]
async fn serves_health_and_models_and_rejects_bad_json() {
    let server = FixedServer::start(FixedServerConfig::new("x").with_model("m1")).await.unwrap();
    let http = reqwest::Client::new();
    let health = http.get(format!("{}/health", server.base_url())).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let models: serde_json::Value =
        http.get(format!("{}/v1/models", server.base_url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(models["data"][0]["id"], "m1");
    let bad = http.post(format!("{}/v1/chat/completions", server.base_url())).body("{not json").send().await.unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(server.chat_requests(), 1);
}
