//! Tiny random-weight checkpoints of every supported family (written by
//! `fixtures/make_reference_logits.py`): their logits must match transformers' to 1e-4.

mod common;

use candle_core::Device;

fn reference() -> serde_json::Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference_logits.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn check(name: &str) {
    let r = reference();
    let ids: Vec<u32> = r["input_ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
    let want: Vec<Vec<f64>> = serde_json::from_value(r["logits"][name].clone()).unwrap();
    let m = ptb_engine::load(&common::tiny(name), None, None, &Device::Cpu).unwrap();
    let mut cache = m.transformer.new_cache();
    let got = m.transformer.forward(&[&ids], &mut [&mut cache], true).unwrap();
    let got: Vec<Vec<f32>> = got.squeeze(0).unwrap().to_vec2().unwrap();
    assert_eq!(got.len(), want.len());
    let scale = want.iter().flatten().fold(0f64, |a, x| a.max(x.abs()));
    let mut worst = 0f64;
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.len(), w.len());
        for (a, b) in g.iter().zip(w) {
            worst = worst.max((*a as f64 - b).abs());
        }
    }
    let rel = worst / scale;
    assert!(rel < 1e-4, "{name}: max |diff| {worst:.3e}, relative {rel:.3e}");
    // Decoding token by token with the cache gives the same last-position logits.
    let mut cache = m.transformer.new_cache();
    let mut last = None;
    for id in &ids {
        last = Some(m.transformer.forward(&[&[*id]], &mut [&mut cache], false).unwrap());
    }
    let last: Vec<f32> = last.unwrap().squeeze(0).unwrap().to_vec1().unwrap();
    let w = want.last().unwrap();
    let inc = last.iter().zip(w).fold(0f64, |a, (x, y)| a.max((*x as f64 - y).abs()));
    assert!(inc / scale < 1e-4, "{name}: incremental decoding differs by {inc:.3e}");
}

#[test]
fn llama_sharded_f32_matches_transformers() {
    check("llama");
}

#[test]
fn qwen3_bf16_matches_transformers() {
    check("qwen3");
}

#[test]
fn smollm3_bf16_matches_transformers() {
    check("smollm3");
}

#[test]
fn gemma3_causal_lm_f16_matches_transformers() {
    check("gemma3");
}

#[test]
fn gemma3_conditional_generation_matches_transformers() {
    check("gemma3_cg");
}

#[test]
fn gemma3_conditional_generation_legacy_layout_matches_transformers() {
    check("gemma3_cg_legacy");
}
