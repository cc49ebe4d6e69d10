//! Tokenizer loading: the model directory's `tokenizer.json`, or a byte-level BPE tokenizer rebuilt
//! from GGUF metadata (`tokenizer.ggml.*`) when a GGUF file comes without one.

use std::collections::HashMap;
use std::path::Path;

use candle_core::quantized::gguf_file::Value as GValue;
use serde_json::{Value, json};
use tokenizers::Tokenizer;

use crate::error::{EngineError, Result};

/// Loads a `tokenizer.json`.
pub(crate) fn from_file(path: &Path) -> Result<Tokenizer> {
    if !path.exists() {
        return Err(EngineError::Missing {
            path: path.into(),
            hint: "the model directory needs a tokenizer.json (save the tokenizer with transformers)".into(),
        });
    }
    Tokenizer::from_file(path).map_err(|e| EngineError::bad(path, format!("invalid tokenizer.json: {e}")))
}

fn strings(path: &Path, md: &HashMap<String, GValue>, key: &str) -> Result<Vec<String>> {
    let v = md
        .get(key)
        .ok_or_else(|| EngineError::bad(path, format!("no {key} in the GGUF metadata; pass a tokenizer.json")))?;
    let items = v.to_vec().map_err(|e| EngineError::bad(path, format!("{key}: {e}")))?;
    items.iter().map(|x| x.to_string().cloned().map_err(|e| EngineError::bad(path, format!("{key}: {e}")))).collect()
}

/// Rebuilds a Hugging Face tokenizer from GGUF metadata (`gpt2` byte-level BPE only).
pub(crate) fn from_gguf(path: &Path, md: &HashMap<String, GValue>) -> Result<Tokenizer> {
    let model = md.get("tokenizer.ggml.model").and_then(|v| v.to_string().ok()).cloned().unwrap_or_default();
    if model != "gpt2" {
        return Err(EngineError::bad(
            path,
            format!(
                "GGUF tokenizer model {model:?} cannot be rebuilt (only \"gpt2\" byte-level BPE); pass the model's tokenizer.json"
            ),
        ));
    }
    let tokens = strings(path, md, "tokenizer.ggml.tokens")?;
    let merges = strings(path, md, "tokenizer.ggml.merges")?;
    let types: Vec<i64> = md
        .get("tokenizer.ggml.token_type")
        .and_then(|v| v.to_vec().ok())
        .map(|a| a.iter().map(|x| x.to_i32().map(i64::from).unwrap_or(1)).collect())
        .unwrap_or_default();
    let vocab: serde_json::Map<String, Value> = tokens.iter().enumerate().map(|(i, t)| (t.clone(), json!(i))).collect();
    let added: Vec<Value> = tokens
        .iter()
        .enumerate()
        .filter(|(i, _)| types.get(*i) == Some(&3))
        .map(|(i, t)| json!({"id": i, "content": t, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}))
        .collect();
    let byte_level = json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true});
    let pre = md.get("tokenizer.ggml.pre").and_then(|v| v.to_string().ok()).cloned().unwrap_or_default();
    // SmolLM (and other "smollm"-pre GGUFs) split digits individually before the byte-level step.
    let pre_tokenizer = if pre == "smollm" {
        json!({"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": true}, byte_level]})
    } else {
        byte_level.clone()
    };
    let spec = json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": added,
        "normalizer": null, "pre_tokenizer": pre_tokenizer, "post_processor": null, "decoder": byte_level,
        "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                  "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                  "vocab": vocab, "merges": merges}
    });
    spec.to_string().parse::<Tokenizer>().map_err(|e| {
        EngineError::bad(path, format!("cannot rebuild the tokenizer from GGUF metadata ({e}); pass a tokenizer.json"))
    })
}

/// Encodes `text`; `add_special_tokens` applies the tokenizer's post-processor (e.g. Gemma's `<bos>`),
/// which raw completion prompts need and chat templates (which write them themselves) do not.
pub(crate) fn encode(tok: &Tokenizer, text: &str, add_special_tokens: bool) -> Result<Vec<u32>> {
    let encoding = tok.encode(text, add_special_tokens).map_err(|e| EngineError::Tokenizer(e.to_string()))?;
    Ok(encoding.get_ids().to_vec())
}

/// Decodes `ids`, dropping special tokens.
pub(crate) fn decode(tok: &Tokenizer, ids: &[u32]) -> Result<String> {
    tok.decode(ids, true).map_err(|e| EngineError::Tokenizer(e.to_string()))
}
