//! Both judged pipelines end to end: model answers from `ptb_infer::fixed_server`, verdicts from a
//! stand-in judge on 127.0.0.1 that scripts good replies, malformed JSON, 429s and a timeout.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use common::datasets;
use ptb_bench::judged::{Judge, evaluate_judged};
use ptb_bench::record::EvalFacts;
use ptb_bench::{BenchError, EvalOptions, Sample};
use ptb_infer::ChatMessage;
use ptb_infer::client::{ClientConfig, OpenAiClient};
use ptb_infer::fixed_server::{FixedServer, FixedServerConfig};
use serde_json::{Value, json};

type Script = dyn Fn(usize, &str) -> Response + Send + Sync;

struct Judged {
    calls: AtomicUsize,
    script: Box<Script>,
}

/// Starts a judge whose reply to the n-th request (from 0) with user text `t` is `script(n, t)`.
async fn judge_server(script: impl Fn(usize, &str) -> Response + Send + Sync + 'static) -> (String, Arc<Judged>) {
    let state = Arc::new(Judged { calls: AtomicUsize::new(0), script: Box::new(script) });
    async fn chat(State(s): State<Arc<Judged>>, Json(body): Json<Value>) -> Response {
        let n = s.calls.fetch_add(1, Ordering::SeqCst);
        let user = body["messages"].as_array().and_then(|m| m.last()).and_then(|m| m["content"].as_str()).unwrap_or("");
        (s.script)(n, user)
    }
    let app = axum::Router::new().route("/v1/chat/completions", post(chat)).with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, state)
}

fn reply(text: &str) -> Response {
    Json(json!({"choices": [{"message": {"content": text}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 10, "completion_tokens": 2}})).into_response()
}

fn judge_client(url: &str) -> OpenAiClient {
    let mut config = ClientConfig::new(url, "gpt-5-mini");
    config.request_timeout = Duration::from_millis(800);
    config.max_attempts = 3;
    config.backoff_base = Duration::from_millis(10);
    config.backoff_max = Duration::from_millis(20);
    OpenAiClient::new(config).unwrap()
}

fn opts() -> EvalOptions {
    let sampling = ptb_infer::Sampling { max_tokens: Some(64), ..Default::default() };
    EvalOptions { limit: None, concurrency: 4, sampling }
}

fn facts(benchmark: &str) -> EvalFacts {
    EvalFacts {
        benchmark: benchmark.into(),
        n_samples: 0,
        limit: None,
        max_tokens: Some(64),
        seed: None,
        temperature: None,
        top_p: None,
        engine: String::new(),
        prompt_tokens: 0,
        completion_tokens: 0,
        wall_seconds: 0.0,
        ptb_version: "test".into(),
    }
}

fn arena_samples() -> Vec<Sample> {
    let registry = ptb_core::Registry::builtin();
    let bench = ptb_bench::load_benchmark("arenahardwriting", &registry, &datasets()).unwrap();
    assert_eq!(bench.samples.len(), 250);
    bench.selected(Some(2)).to_vec()
}

#[tokio::test]
async fn arena_hard_scores_two_swapped_games_per_question() {
    let model = FixedServer::start(FixedServerConfig::new("<think>plan</think>\nMy answer.")).await.unwrap();
    // Request 0 gets a 429 (retried by the client). Game 1 (baseline is A): B much better; game 2
    // (candidate is A): a tie.
    let (url, state) = judge_server(|n, user| {
        if n == 0 {
            return (StatusCode::TOO_MANY_REQUESTS, "slow down").into_response();
        }
        if user.contains("<|The Start of Assistant A's Answer|>\nMy answer.\n") {
            reply("Both fine. My final verdict is tie: [[A=B]]")
        } else {
            reply("Assistant B is better: [[B>>A]]")
        }
    })
    .await;
    let client = OpenAiClient::new(ClientConfig::new(model.base_url(), "fixed")).unwrap();
    let judge_engine = judge_client(&url);
    let judge = Judge::new(&judge_engine, "gpt-5-mini", 8, 0.05);
    let samples = arena_samples();
    let task = ptb_bench::judged::judged_task("arenahardwriting").unwrap();
    let progress = indicatif::ProgressBar::hidden();
    let out = evaluate_judged(
        "arenahardwriting",
        task.as_ref(),
        &samples,
        &client,
        &judge,
        &opts(),
        None,
        &progress,
        facts("arenahardwriting"),
    )
    .await
    .unwrap();
    // Per question: game 1 [[B>>A]] → 1 − [0,0,0] = [1,1,1]; game 2 [[A=B]] → [0.5]. Flattened over two
    // questions: six 1s and two 0.5s → mean 7/8; sum of squared deviations 6·0.125² + 2·0.375² = 0.375.
    assert_eq!(out.metrics.accuracy, 0.875);
    let stderr = (0.375f64 / 7.0).sqrt() / 8f64.sqrt();
    assert!((out.metrics.stderr - stderr).abs() < 1e-12, "{}", out.metrics.stderr);
    assert_eq!(out.metrics.ptb.judge.judgements, 4);
    assert_eq!(out.metrics.ptb.judge_failures, 0);
    assert_eq!(state.calls.load(Ordering::SeqCst), 5, "four judgements plus one retried 429");
    let r = &out.records[0];
    assert_eq!(r.completion, "My answer.");
    assert_eq!(r.raw_completion, "<think>plan</think>\nMy answer.");
    assert_eq!(r.judgements[0].verdict, Some(json!("B>>A")));
    assert_eq!(r.score["scores"], json!([1.0, 1.0, 1.0, 0.5]));
    assert!(r.metadata["baseline_answer"].as_str().is_some_and(|a| !a.is_empty()));
    model.shutdown().await;
}

#[tokio::test]
async fn arena_hard_past_the_failure_rate_is_an_error() {
    let model = FixedServer::start(FixedServerConfig::new("Answer")).await.unwrap();
    // Game 2 replies carry no label: half the judgements fail, far above 5 %.
    let (url, _) = judge_server(|_, user| {
        if user.contains("Assistant A's Answer|>\nAnswer\n") { reply("I cannot decide.") } else { reply("[[A>B]]") }
    })
    .await;
    let client = OpenAiClient::new(ClientConfig::new(model.base_url(), "fixed")).unwrap();
    let judge_engine = judge_client(&url);
    let judge = Judge::new(&judge_engine, "gpt-5-mini", 8, 0.05);
    let task = ptb_bench::judged::judged_task("arenahardwriting").unwrap();
    let progress = indicatif::ProgressBar::hidden();
    let err = evaluate_judged(
        "arenahardwriting",
        task.as_ref(),
        &arena_samples(),
        &client,
        &judge,
        &opts(),
        None,
        &progress,
        facts("x"),
    )
    .await
    .unwrap_err();
    match err {
        BenchError::JudgeFailures { failures, total, .. } => assert_eq!((failures, total), (2, 4)),
        other => panic!("expected JudgeFailures, got {other}"),
    }
    // Under a tolerant rate the failed games drop their questions instead of scoring them 0.
    let judge = Judge::new(&judge_engine, "gpt-5-mini", 8, 0.6);
    let out = evaluate_judged(
        "arenahardwriting",
        task.as_ref(),
        &arena_samples(),
        &client,
        &judge,
        &opts(),
        None,
        &progress,
        facts("x"),
    )
    .await
    .unwrap();
    assert_eq!(
        (out.metrics.ptb.items_scored, out.metrics.ptb.items_dropped, out.metrics.ptb.judge_failures),
        (0, 2, 2)
    );
    assert_eq!(out.records[0].score, json!({"dropped": "a judge game failed"}));
    assert_eq!(out.records[0].judgements[1].error.as_deref(), Some("no [[label]] verdict in the judgement"));
    model.shutdown().await;
}

fn health_sample(id: &str, theme: &str, rubrics: Value) -> Sample {
    Sample {
        id: id.into(),
        messages: vec![
            ChatMessage::new("user", "I have a headache."),
            ChatMessage::new("assistant", "Since when?"),
            ChatMessage::new("user", "Two days."),
        ],
        tools: Vec::new(),
        raw_prompt: None,
        target: String::new(),
        metadata: json!({"rubrics": rubrics, "example_tags": [format!("theme:{theme}")]}),
    }
}

// Multi-threaded: the scripted timeout blocks a server thread while the client's timer runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn healthbench_grades_every_rubric_item() {
    let model = FixedServer::start(FixedServerConfig::new("<think>hmm</think> Rest and drink water.")).await.unwrap();
    let samples = vec![
        health_sample(
            "e1",
            "hedging",
            json!([
                {"criterion": "MET advises rest", "points": 5, "tags": ["axis:completeness"]},
                {"criterion": "NOT mentions red flags", "points": 3, "tags": ["axis:completeness"]},
                {"criterion": "MET is vague", "points": -2, "tags": ["axis:accuracy"]},
            ]),
        ),
        health_sample(
            "e2",
            "communication",
            json!([
                {"criterion": "MET FLAKY hydration", "points": 4, "tags": ["axis:accuracy"]},
                {"criterion": "MET SLOW overly long", "points": -1, "tags": ["axis:communication_quality"]},
            ]),
        ),
    ];
    let slow_seen = Arc::new(AtomicUsize::new(0));
    let flaky_seen = Arc::new(AtomicUsize::new(0));
    let (slow, flaky) = (slow_seen.clone(), flaky_seen.clone());
    let (url, _) = judge_server(move |_, user| {
        assert!(user.contains("user: Two days.\n\nassistant: Rest and drink water.\n\n# Rubric item\n["), "{user}");
        let item = user.split("# Rubric item\n").nth(1).unwrap().lines().next().unwrap().to_string();
        if item.contains("SLOW") && slow.fetch_add(1, Ordering::SeqCst) == 0 {
            std::thread::sleep(Duration::from_millis(1200)); // past the 800 ms timeout: retried
        }
        if item.contains("FLAKY") && flaky.fetch_add(1, Ordering::SeqCst) == 0 {
            return reply("{\"explanation\": \"truncated"); // malformed JSON: re-asked
        }
        let met = item.contains("MET");
        reply(&format!("```json\n{{\"explanation\": \"ok\", \"criteria_met\": {met}}}\n```"))
    })
    .await;
    let client = OpenAiClient::new(ClientConfig::new(model.base_url(), "fixed")).unwrap();
    let judge_engine = judge_client(&url);
    let judge = Judge::new(&judge_engine, "gpt-5-mini", 8, 0.0);
    let task = ptb_bench::judged::judged_task("healthbench").unwrap();
    let progress = indicatif::ProgressBar::hidden();
    let out = evaluate_judged(
        "healthbench",
        task.as_ref(),
        &samples,
        &client,
        &judge,
        &opts(),
        None,
        &progress,
        facts("healthbench"),
    )
    .await
    .unwrap();
    // e1: met 5 and −2 of positive 5+3 → 3/8 = 0.375. e2: met 4 and −1 of positive 4 → 0.75.
    assert_eq!(out.records[0].score["score"], json!(0.375));
    assert_eq!(out.records[1].score["score"], json!(0.75));
    assert_eq!(out.metrics.accuracy, 0.5625);
    let m = &out.metrics.extra;
    assert_eq!(m["n_examples"], json!(2));
    assert_eq!(m["total_grader_calls"], json!(5));
    assert_eq!(m["by_theme"], json!({"communication": 0.75, "hedging": 0.375}));
    // completeness 5/8; accuracy (4 − 2)/4 = 0.5; communication_quality has no positive points.
    assert_eq!(m["by_axis"], json!({"accuracy": 0.5, "completeness": 0.625}));
    assert!(out.metrics.stderr > 0.0 && out.metrics.stderr < 0.2, "{}", out.metrics.stderr);
    assert_eq!(out.metrics.ptb.judge_failures, 0);
    let flaky_judgement = &out.records[1].judgements[0];
    assert_eq!(flaky_judgement.attempts, 2);
    assert_eq!(flaky_judgement.verdict.as_ref().unwrap()["criteria_met"], json!(true));
    assert_eq!(slow_seen.load(Ordering::SeqCst), 2, "the timed-out request was sent again");
    assert_eq!(flaky_seen.load(Ordering::SeqCst), 2);
    model.shutdown().await;
}
