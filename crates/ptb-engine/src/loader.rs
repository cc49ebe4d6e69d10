//! Loading a model from a Hugging Face directory or a GGUF file into a [`LoadedModel`].

use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::Value as GValue;
use candle_core::{DType, Device};
use serde_json::{Map, Value};
use tokenizers::Tokenizer;

use crate::config::{Family, LayerSpec, ModelConfig, RopeSpec, ids_of};
use crate::error::{EngineError, Result};
use crate::model::Transformer;
use crate::tokenizer;
use crate::weights::{GgufWeights, SafetensorsWeights};

/// Sampling defaults from `generation_config.json` (vLLM's defaults where it is silent).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplingDefaults {
    /// 0 means greedy.
    pub temperature: f64,
    pub top_p: f64,
    /// 0 means no top-k cut.
    pub top_k: usize,
}

impl Default for SamplingDefaults {
    fn default() -> Self {
        Self { temperature: 1.0, top_p: 1.0, top_k: 0 }
    }
}

/// A model ready to generate: weights, tokenizer, chat template source and defaults.
pub struct LoadedModel {
    pub transformer: Transformer,
    pub tokenizer: Tokenizer,
    /// The chat template (`None`: the caller falls back to ChatML).
    pub chat_template: Option<ptb_chat::ChatTemplate>,
    /// `bos_token`, `eos_token`, … for the chat template.
    pub special_tokens: Map<String, Value>,
    pub defaults: SamplingDefaults,
    /// Token ids that end generation.
    pub eos_ids: Vec<u32>,
    /// The model's name in `/v1/models` (the file or directory name).
    pub name: String,
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| EngineError::bad(path, e))?;
    serde_json::from_str(&text).map_err(|e| EngineError::bad(path, format!("invalid JSON: {e}")))
}

fn template_err(e: ptb_chat::ChatError) -> EngineError {
    EngineError::Template(e.to_string())
}

/// Loads `path` (a model directory or a `.gguf` file). `tokenizer` overrides the tokenizer file;
/// `template` overrides the chat template.
pub fn load(
    path: &Path,
    tokenizer_path: Option<&Path>,
    template: Option<&Path>,
    device: &Device,
) -> Result<LoadedModel> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
    let mut m = if path.is_file() {
        load_gguf(path, tokenizer_path, device, name)?
    } else if path.is_dir() {
        load_dir(path, tokenizer_path, device, name)?
    } else {
        return Err(EngineError::Missing { path: path.into(), hint: "pass a model directory or a .gguf file".into() });
    };
    if let Some(t) = template {
        m.chat_template = Some(ptb_chat::ChatTemplate::from_file(t).map_err(template_err)?);
    }
    Ok(m)
}

fn load_dir(dir: &Path, tokenizer_path: Option<&Path>, device: &Device, name: String) -> Result<LoadedModel> {
    let config_path = dir.join("config.json");
    if !config_path.exists() {
        return Err(EngineError::Missing {
            path: config_path,
            hint: "a Hugging Face model directory needs config.json".into(),
        });
    }
    let root = read_json(&config_path)?;
    let cfg = ModelConfig::from_hf(&config_path, &root)?;
    let dtype = if device.is_cpu() { DType::F32 } else { DType::BF16 };
    let weights = SafetensorsWeights::open(dir, device, dtype)?;
    let (prefix, lm_head) = ["model.", "language_model.model.", "model.language_model."]
        .into_iter()
        .find(|p| weights_contains(&weights, &format!("{p}embed_tokens.weight")))
        .map(|p| (p, if p == "language_model.model." { "language_model.lm_head.weight" } else { "lm_head.weight" }))
        .ok_or_else(|| EngineError::Tensor {
            path: dir.join("model.safetensors"),
            tensor: "model.embed_tokens.weight".into(),
            message: "missing (also under language_model.model. and model.language_model.); the weights do not match config.json".into(),
        })?;
    let tokenizer =
        tokenizer::from_file(&tokenizer_path.map(PathBuf::from).unwrap_or_else(|| dir.join("tokenizer.json")))?;
    let chat_template = ptb_chat::ChatTemplate::from_model_dir(dir).map_err(template_err)?;
    let special_tokens = ptb_chat::special_tokens_in_dir(dir).map_err(template_err)?;
    let mut eos_ids = cfg.eos_token_ids.clone();
    let mut defaults = SamplingDefaults::default();
    let gen_path = dir.join("generation_config.json");
    if gen_path.exists() {
        let g = read_json(&gen_path)?;
        eos_ids.extend(ids_of(g.get("eos_token_id")));
        if g.get("do_sample").and_then(Value::as_bool) == Some(false) {
            defaults.temperature = 0.0;
        } else if let Some(t) = g.get("temperature").and_then(Value::as_f64) {
            defaults.temperature = t;
        }
        defaults.top_p = g.get("top_p").and_then(Value::as_f64).unwrap_or(defaults.top_p);
        defaults.top_k = g.get("top_k").and_then(Value::as_u64).map_or(defaults.top_k, |k| k as usize);
    }
    if let Some(eos) = special_tokens.get("eos_token").and_then(Value::as_str).and_then(|t| tokenizer.token_to_id(t)) {
        eos_ids.push(eos);
    }
    eos_ids.sort_unstable();
    eos_ids.dedup();
    let transformer = Transformer::load(cfg, &weights, prefix, lm_head)?;
    Ok(LoadedModel { transformer, tokenizer, chat_template, special_tokens, defaults, eos_ids, name })
}

fn weights_contains(w: &SafetensorsWeights, name: &str) -> bool {
    use crate::weights::Weights;
    w.contains(name)
}

fn md_u(path: &Path, md: &std::collections::HashMap<String, GValue>, key: &str) -> Result<usize> {
    md.get(key)
        .and_then(|v| v.to_u32().ok().or_else(|| v.to_u64().ok().map(|x| x as u32)))
        .map(|x| x as usize)
        .ok_or_else(|| EngineError::bad(path, format!("GGUF metadata lacks {key}; is the file complete?")))
}

fn load_gguf(path: &Path, tokenizer_path: Option<&Path>, device: &Device, name: String) -> Result<LoadedModel> {
    let weights = GgufWeights::open(path, device)?;
    let md = weights.metadata();
    let arch = md.get("general.architecture").and_then(|v| v.to_string().ok()).cloned().unwrap_or_default();
    if arch != "llama" {
        return Err(EngineError::UnsupportedArchitecture { path: path.into(), architecture: format!("GGUF {arch}") });
    }
    let hidden_size = md_u(path, md, "llama.embedding_length")?;
    let num_heads = md_u(path, md, "llama.attention.head_count")?;
    let num_kv_heads = md_u(path, md, "llama.attention.head_count_kv").unwrap_or(num_heads);
    let num_layers = md_u(path, md, "llama.block_count")?;
    let head_dim = md_u(path, md, "llama.rope.dimension_count").unwrap_or(hidden_size / num_heads.max(1));
    let intermediate_size = md_u(path, md, "llama.feed_forward_length")?;
    let tokens_len = md.get("tokenizer.ggml.tokens").and_then(|v| v.to_vec().ok()).map(Vec::len);
    let vocab_size = md_u(path, md, "llama.vocab_size")
        .ok()
        .or(tokens_len)
        .ok_or_else(|| EngineError::bad(path, "GGUF metadata has no vocabulary size"))?;
    let theta = md.get("llama.rope.freq_base").and_then(|v| v.to_f32().ok()).map_or(10_000.0, f64::from);
    let eps = md.get("llama.attention.layer_norm_rms_epsilon").and_then(|v| v.to_f32().ok()).map_or(1e-5, f64::from);
    let eos = md_u(path, md, "tokenizer.ggml.eos_token_id").ok().map(|x| x as u32);
    let bos = md_u(path, md, "tokenizer.ggml.bos_token_id").ok().map(|x| x as u32);
    let cfg = ModelConfig {
        family: Family::Llama,
        vocab_size,
        hidden_size,
        intermediate_size,
        num_heads,
        num_kv_heads,
        head_dim,
        rms_norm_eps: eps,
        tie_word_embeddings: true,
        attention_bias: false,
        layers: vec![LayerSpec { rope: Some(RopeSpec { theta, linear_factor: 1.0 }), window: None }; num_layers],
        attn_scale: 1.0 / (head_dim as f64).sqrt(),
        rope_interleaved: true,
        max_context: md_u(path, md, "llama.context_length").unwrap_or(2048),
        eos_token_ids: eos.into_iter().collect(),
        bos_token_id: bos,
    };
    let tokenizer = match tokenizer_path {
        Some(p) => tokenizer::from_file(p)?,
        None => tokenizer::from_gguf(path, md)?,
    };
    let chat_template = md
        .get("tokenizer.chat_template")
        .and_then(|v| v.to_string().ok())
        .map(|src| ptb_chat::ChatTemplate::new(src, &format!("{} (tokenizer.chat_template)", path.display())))
        .transpose()
        .map_err(template_err)?;
    let mut special_tokens = Map::new();
    for (key, id) in [("bos_token", bos), ("eos_token", eos)] {
        if let Some(t) = id.and_then(|i| tokenizer.id_to_token(i)) {
            special_tokens.insert(key.into(), Value::String(t));
        }
    }
    let eos_ids = cfg.eos_token_ids.clone();
    let transformer = Transformer::load(cfg, &weights, "model.", "lm_head.weight")?;
    Ok(LoadedModel {
        transformer,
        tokenizer,
        chat_template,
        special_tokens,
        defaults: SamplingDefaults::default(),
        eos_ids,
        name,
    })
}
