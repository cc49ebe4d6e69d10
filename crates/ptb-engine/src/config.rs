//! The architecture description the transformer needs, read from a Hugging Face `config.json` or from
//! GGUF metadata and normalised into one [`ModelConfig`].

use std::path::Path;

use serde_json::Value;

use crate::error::{EngineError, Result};

/// The model families the engine implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Llama (SmolLM2, Llama 2/3 without rope scaling) and llama GGUF files.
    Llama,
    /// Qwen3: per-head RMSNorm on queries and keys.
    Qwen3,
    /// Gemma-3 text: `(1 + w)` norms, four norms per layer, scaled embeddings, sliding-window layers.
    Gemma3,
    /// SmolLM3: Llama with RoPE switched off on some layers (NoPE).
    SmolLM3,
}

/// Rotary embedding of one layer kind: base frequency and linear position scaling.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RopeSpec {
    pub theta: f64,
    pub linear_factor: f64,
}

/// Per-layer attention settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerSpec {
    /// `None` for a NoPE layer.
    pub rope: Option<RopeSpec>,
    /// Sliding attention window (keys with `q - k < window`), `None` for full attention.
    pub window: Option<usize>,
}

/// Everything the transformer needs, whatever file it came from.
#[derive(Debug, Clone)]
pub struct ModelConfig {
    pub family: Family,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_heads: usize,
    pub num_kv_heads: usize,
    pub head_dim: usize,
    pub rms_norm_eps: f64,
    pub tie_word_embeddings: bool,
    pub attention_bias: bool,
    pub layers: Vec<LayerSpec>,
    /// Attention score scale (`1/sqrt(head_dim)`, or `1/sqrt(query_pre_attn_scalar)` for Gemma-3).
    pub attn_scale: f64,
    /// GGUF llama checkpoints store Q/K permuted for interleaved-pair RoPE.
    pub rope_interleaved: bool,
    /// Longest sequence (prompt plus generation) the engine accepts.
    pub max_context: usize,
    /// `config.json`'s `eos_token_id` (one or several).
    pub eos_token_ids: Vec<u32>,
    pub bos_token_id: Option<u32>,
}

fn usize_of(v: &Value, key: &str) -> Option<usize> {
    v.get(key).and_then(Value::as_u64).map(|x| x as usize)
}

fn f64_of(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

/// Token ids given as a number or a list of numbers.
pub(crate) fn ids_of(v: Option<&Value>) -> Vec<u32> {
    match v {
        Some(Value::Number(n)) => n.as_u64().map(|x| vec![x as u32]).unwrap_or_default(),
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_u64).map(|x| x as u32).collect(),
        _ => Vec::new(),
    }
}

/// Reads a rope spec from `rope_parameters` (transformers 5) or `rope_theta` + `rope_scaling`.
fn rope_spec(path: &Path, params: Option<&Value>, theta: f64, scaling: Option<&Value>) -> Result<RopeSpec> {
    let mut spec = RopeSpec { theta, linear_factor: 1.0 };
    let scaling = match params {
        Some(p) => {
            if let Some(t) = f64_of(p, "rope_theta") {
                spec.theta = t;
            }
            Some(p)
        }
        None => scaling.filter(|s| !s.is_null()),
    };
    if let Some(s) = scaling {
        let kind = s.get("rope_type").or_else(|| s.get("type")).and_then(Value::as_str).unwrap_or("default");
        match kind {
            "default" => {}
            "linear" => spec.linear_factor = f64_of(s, "factor").unwrap_or(1.0),
            other => {
                return Err(EngineError::bad(
                    path,
                    format!(
                        "rope scaling {other:?} is not supported (supported: default, linear); use a checkpoint without it"
                    ),
                ));
            }
        }
    }
    Ok(spec)
}

impl ModelConfig {
    /// Normalises a Hugging Face `config.json` (already parsed). `path` names the file in errors.
    pub fn from_hf(path: &Path, root: &Value) -> Result<Self> {
        let arch =
            root.get("architectures").and_then(|a| a.get(0)).and_then(Value::as_str).unwrap_or_default().to_string();
        let (family, cfg) = match arch.as_str() {
            "LlamaForCausalLM" => (Family::Llama, root),
            "Qwen3ForCausalLM" => (Family::Qwen3, root),
            "SmolLM3ForCausalLM" => (Family::SmolLM3, root),
            "Gemma3ForCausalLM" => (Family::Gemma3, root),
            "Gemma3ForConditionalGeneration" => (
                Family::Gemma3,
                root.get("text_config").ok_or_else(|| {
                    EngineError::bad(
                        path,
                        "Gemma3ForConditionalGeneration without text_config; re-save the checkpoint with transformers",
                    )
                })?,
            ),
            _ => return Err(EngineError::UnsupportedArchitecture { path: path.into(), architecture: arch }),
        };
        let gemma = family == Family::Gemma3;
        let need = |key: &str, default: Option<usize>| {
            usize_of(cfg, key)
                .or(default)
                .ok_or_else(|| EngineError::bad(path, format!("missing {key:?}; is this a complete config.json?")))
        };
        // Gemma3TextConfig's defaults apply to keys a nested text_config leaves out.
        let g = |v: usize| gemma.then_some(v);
        let hidden_size = need("hidden_size", g(2304))?;
        let num_heads = need("num_attention_heads", g(8))?;
        let num_layers = need("num_hidden_layers", g(26))?;
        let head_dim = usize_of(cfg, "head_dim").unwrap_or(if gemma { 256 } else { hidden_size / num_heads.max(1) });
        let num_kv_heads = usize_of(cfg, "num_key_value_heads").unwrap_or(if gemma { 4 } else { num_heads });
        let vocab_size = need("vocab_size", g(262_208))?;
        let intermediate_size = need("intermediate_size", g(9216))?;
        let max_context = need("max_position_embeddings", g(131_072).or(Some(4096)))?;
        let rms_norm_eps = f64_of(cfg, "rms_norm_eps").unwrap_or(1e-6);
        let rope_theta = f64_of(cfg, "rope_theta").unwrap_or(if gemma { 1_000_000.0 } else { 10_000.0 });
        let params = cfg.get("rope_parameters").filter(|p| !p.is_null());
        let tie_word_embeddings = cfg
            .get("tie_word_embeddings")
            .or_else(|| root.get("tie_word_embeddings"))
            .and_then(Value::as_bool)
            .unwrap_or(gemma);
        let act = cfg
            .get("hidden_activation")
            .or_else(|| cfg.get("hidden_act"))
            .and_then(Value::as_str)
            .unwrap_or(if gemma { "gelu_pytorch_tanh" } else { "silu" });
        let expected_act = if gemma { "gelu_pytorch_tanh" } else { "silu" };
        if act != expected_act {
            return Err(EngineError::bad(
                path,
                format!("activation {act:?} is not supported for {arch} (expected {expected_act:?})"),
            ));
        }
        if cfg.get("mlp_bias").and_then(Value::as_bool).unwrap_or(false) {
            return Err(EngineError::bad(
                path,
                "mlp_bias = true is not supported; use a checkpoint without MLP biases",
            ));
        }
        let mut layers = Vec::with_capacity(num_layers);
        match family {
            Family::Gemma3 => {
                let full =
                    rope_spec(path, params.and_then(|p| p.get("full_attention")), rope_theta, cfg.get("rope_scaling"))?;
                let local_theta = f64_of(cfg, "rope_local_base_freq").unwrap_or(10_000.0);
                let local = rope_spec(path, params.and_then(|p| p.get("sliding_attention")), local_theta, None)?;
                let window = usize_of(cfg, "sliding_window").unwrap_or(4096);
                let pattern = usize_of(cfg, "sliding_window_pattern").unwrap_or(6).max(1);
                let types: Option<Vec<&str>> = cfg
                    .get("layer_types")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect());
                for i in 0..num_layers {
                    let sliding = match &types {
                        Some(t) => t.get(i).is_some_and(|s| *s == "sliding_attention"),
                        None => (i + 1) % pattern != 0,
                    };
                    layers.push(if sliding {
                        LayerSpec { rope: Some(local), window: Some(window) }
                    } else {
                        LayerSpec { rope: Some(full), window: None }
                    });
                }
            }
            _ => {
                let rope = rope_spec(path, params, rope_theta, cfg.get("rope_scaling"))?;
                let no_rope: Option<Vec<u64>> = (family == Family::SmolLM3).then(|| {
                    let interval = usize_of(cfg, "no_rope_layer_interval").unwrap_or(4).max(1);
                    cfg.get("no_rope_layers")
                        .and_then(Value::as_array)
                        .map(|a| a.iter().filter_map(Value::as_u64).collect())
                        .unwrap_or_else(|| (0..num_layers).map(|i| ((i + 1) % interval != 0) as u64).collect())
                });
                let window = if cfg.get("use_sliding_window").and_then(Value::as_bool).unwrap_or(false) {
                    return Err(EngineError::bad(path, "use_sliding_window = true is not supported"));
                } else {
                    None
                };
                for i in 0..num_layers {
                    let uses_rope = no_rope.as_ref().is_none_or(|n| n.get(i).copied().unwrap_or(1) != 0);
                    layers.push(LayerSpec { rope: uses_rope.then_some(rope), window });
                }
            }
        }
        let attn_scale = if gemma {
            1.0 / f64_of(cfg, "query_pre_attn_scalar").unwrap_or(256.0).sqrt()
        } else {
            1.0 / (head_dim as f64).sqrt()
        };
        if num_kv_heads == 0 || num_heads % num_kv_heads != 0 {
            return Err(EngineError::bad(
                path,
                format!("num_attention_heads {num_heads} is not a multiple of num_key_value_heads {num_kv_heads}"),
            ));
        }
        let mut eos_token_ids = ids_of(cfg.get("eos_token_id"));
        if eos_token_ids.is_empty() {
            eos_token_ids = ids_of(root.get("eos_token_id"));
        }
        Ok(Self {
            family,
            vocab_size,
            hidden_size,
            intermediate_size,
            num_heads,
            num_kv_heads,
            head_dim,
            rms_norm_eps,
            tie_word_embeddings,
            attention_bias: cfg.get("attention_bias").and_then(Value::as_bool).unwrap_or(false),
            layers,
            attn_scale,
            rope_interleaved: false,
            max_context,
            eos_token_ids,
            bos_token_id: ids_of(cfg.get("bos_token_id").or_else(|| root.get("bos_token_id"))).first().copied(),
        })
    }
}
