//! The real SmolLM2-135M-Instruct GGUF: loading, answers, determinism, batching and stop strings.

mod common;

use ptb_engine::{FinishReason, GenerateRequest};
use ptb_infer::{ChatMessage, ChatRequest, Engine, Sampling};

fn greedy(prompt: Vec<u32>, max_tokens: usize) -> GenerateRequest {
    GenerateRequest { prompt, max_tokens: Some(max_tokens), temperature: Some(0.0), ..Default::default() }
}

fn user_prompt(engine: &ptb_engine::EmbeddedEngine, text: &str) -> Vec<u32> {
    let p = engine.render_chat(&[serde_json::json!({"role": "user", "content": text})], None).unwrap();
    engine.tokenize(&p).unwrap()
}

#[tokio::test]
async fn answers_capital_of_france_with_paris() {
    let Some(engine) = common::smollm2_engine() else { return };
    let req = ChatRequest {
        messages: vec![ChatMessage::new("user", "What is the capital of France?")],
        sampling: Sampling { max_tokens: Some(32), temperature: Some(0.0), ..Default::default() },
        ..Default::default()
    };
    let r = engine.chat(req).await.unwrap();
    assert!(r.content.contains("Paris"), "answer was {:?}", r.content);
    assert!(r.usage.prompt_tokens > 5 && r.usage.completion_tokens > 0);
    assert!(engine.describe().contains("SmolLM2"));
}

#[tokio::test]
async fn greedy_is_deterministic_and_independent_of_batching() {
    // A private engine, so that "alone" runs really are alone.
    let Some(opts) = common::smollm2_options() else { return };
    let engine = ptb_engine::EmbeddedEngine::load(&opts).unwrap();
    let prompts: Vec<Vec<u32>> =
        ["What is 2+2?", "Name a color.", "Write a haiku about the sea.", "What is the capital of France?"]
            .iter()
            .map(|t| user_prompt(&engine, t))
            .collect();
    let mut alone = Vec::new();
    for p in &prompts {
        let c = engine.generate(greedy(p.clone(), 20)).await.unwrap();
        assert_eq!(c.peak_batch, 1);
        alone.push(c.tokens);
    }
    let again = engine.generate(greedy(prompts[0].clone(), 20)).await.unwrap();
    assert_eq!(again.tokens, alone[0], "two greedy runs differ");
    let rxs: Vec<_> = prompts.iter().map(|p| engine.submit(greedy(p.clone(), 20)).unwrap()).collect();
    let mut peak = 0;
    for (i, mut rx) in rxs.into_iter().enumerate() {
        let done = loop {
            match rx.recv().await.expect("engine answers") {
                ptb_engine::Event::Done(c) => break c,
                ptb_engine::Event::Failed(m) => panic!("{m}"),
                ptb_engine::Event::Delta(_) => {}
            }
        };
        peak = peak.max(done.peak_batch);
        assert_eq!(done.tokens, alone[i], "prompt {i}: batched tokens differ from the lone run");
    }
    assert!(peak >= 2, "the concurrent requests were never batched (peak batch {peak})");
}

#[tokio::test]
async fn seeded_sampling_is_reproducible() {
    let Some(engine) = common::smollm2_engine() else { return };
    let p = user_prompt(&engine, "Tell me a story.");
    let req = GenerateRequest {
        prompt: p,
        max_tokens: Some(16),
        temperature: Some(0.9),
        top_p: Some(0.95),
        top_k: Some(40),
        seed: Some(7),
        ..Default::default()
    };
    let a = engine.generate(req.clone()).await.unwrap();
    let b = engine.generate(req).await.unwrap();
    assert_eq!(a.tokens, b.tokens);
    assert!(!a.tokens.is_empty());
}

#[tokio::test]
async fn stops_on_stop_string_and_max_tokens() {
    let Some(engine) = common::smollm2_engine() else { return };
    let p = user_prompt(&engine, "What is the capital of France?");
    let full = engine.generate(greedy(p.clone(), 32)).await.unwrap();
    assert!(full.text.contains("Paris"), "{:?}", full.text);
    let stopped =
        engine.generate(GenerateRequest { stop: vec!["Paris".into()], ..greedy(p.clone(), 32) }).await.unwrap();
    assert_eq!(stopped.finish_reason, FinishReason::Stop);
    assert!(!stopped.text.contains("Paris"));
    assert!(full.text.starts_with(&stopped.text));
    let short = engine.generate(greedy(p, 3)).await.unwrap();
    assert_eq!(short.finish_reason, FinishReason::Length);
    assert_eq!(short.tokens.len(), 3);
}

#[tokio::test]
async fn rejects_prompt_longer_than_context() {
    let Some(engine) = common::smollm2_engine() else { return };
    let prompt = vec![42u32; engine.max_context() + 10];
    let err = engine.generate(greedy(prompt, 4)).await.unwrap_err();
    assert!(matches!(err, ptb_engine::EngineError::BadRequest(_)));
    assert!(err.to_string().contains("context"), "{err}");
}

#[test]
fn tokenizer_rebuilt_from_gguf_metadata_knows_chatml_tokens() {
    let Some(engine) = common::smollm2_engine() else { return };
    assert_eq!(engine.tokenize("<|im_start|>").unwrap(), vec![1]);
    assert_eq!(engine.tokenize("<|im_end|>").unwrap(), vec![2]);
    let ids = engine.tokenize("Hello world").unwrap();
    assert!(!ids.is_empty() && ids.len() <= 3);
}

#[test]
fn uses_the_chat_template_from_gguf_metadata() {
    let Some(path) = common::smollm2_gguf() else { return };
    let engine = ptb_engine::EmbeddedEngine::load(&ptb_engine::EngineOptions::new(path)).unwrap();
    let p = engine.render_chat(&[serde_json::json!({"role": "user", "content": "Hi"})], None).unwrap();
    assert!(p.starts_with("<|im_start|>system\nYou are a helpful AI assistant named SmolLM"), "{p}");
    assert!(p.ends_with("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"), "{p}");
}
