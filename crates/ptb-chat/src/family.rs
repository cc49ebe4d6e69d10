//! Model families, detected from a model's `config.json` (never from its path), and the chat
//! template the final evaluation pins for each.

use std::path::Path;

use serde_json::Value;

use crate::ChatError;

/// A base-model family with its own chat format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// Qwen3 (dense and MoE).
    Qwen3,
    /// Gemma 3 (text-only `Gemma3ForCausalLM` and multimodal `Gemma3ForConditionalGeneration`).
    Gemma3,
    /// SmolLM3.
    SmolLM3,
    /// Llama (no pinned template in the original evaluation).
    Llama,
}

impl Family {
    /// The family name used by `family = "…"` in ptb-core's `registry.toml`
    /// (`"qwen3"`, `"gemma3"`, `"smollm3"`, `"llama"`).
    pub fn registry_key(self) -> &'static str {
        match self {
            Family::Qwen3 => "qwen3",
            Family::Gemma3 => "gemma3",
            Family::SmolLM3 => "smollm3",
            Family::Llama => "llama",
        }
    }

    /// The family of a `config.json` `architectures` entry.
    fn from_architecture(arch: &str) -> Option<Self> {
        match arch {
            "Qwen3ForCausalLM" | "Qwen3MoeForCausalLM" => Some(Family::Qwen3),
            "Gemma3ForCausalLM" | "Gemma3ForConditionalGeneration" => Some(Family::Gemma3),
            "SmolLM3ForCausalLM" => Some(Family::SmolLM3),
            "LlamaForCausalLM" => Some(Family::Llama),
            _ => None,
        }
    }

    /// The family of a `config.json` `model_type` (top level or in `text_config`).
    fn from_model_type(model_type: &str) -> Option<Self> {
        match model_type {
            "qwen3" | "qwen3_moe" => Some(Family::Qwen3),
            "gemma3" | "gemma3_text" => Some(Family::Gemma3),
            "smollm3" => Some(Family::SmolLM3),
            "llama" => Some(Family::Llama),
            _ => None,
        }
    }
}

/// The family named by a parsed `config.json`.
///
/// Every signal is read: each `architectures` entry, `model_type` and `text_config.model_type`
/// (set for `Gemma3ForConditionalGeneration`). Unrecognised entries are ignored; the recognised
/// ones must agree, so a config whose `architectures` was edited to claim another family while
/// `model_type` still names the real one is refused rather than silently trusted.
pub fn detect_family(config: &Value) -> Result<Family, ChatError> {
    detect(config, "config.json")
}

/// [`detect_family`] on `dir/config.json`; errors name that file.
pub fn detect_family_in_dir(dir: &Path) -> Result<Family, ChatError> {
    let path = dir.join("config.json");
    let config = crate::read_json(&path)?;
    detect(&config, &path.display().to_string())
}

fn detect(config: &Value, source: &str) -> Result<Family, ChatError> {
    let architectures: Vec<String> = config
        .get("architectures")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    let model_types: Vec<String> = [config.get("model_type"), config.pointer("/text_config/model_type")]
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();

    let found: Vec<(String, Family)> = architectures
        .iter()
        .filter_map(|a| Family::from_architecture(a).map(|f| (a.clone(), f)))
        .chain(model_types.iter().filter_map(|m| Family::from_model_type(m).map(|f| (format!("model_type {m}"), f))))
        .collect();
    let Some((first, family)) = found.first() else {
        return Err(ChatError::UnknownFamily { source_name: source.to_owned(), architectures, model_types });
    };
    match found.iter().find(|(_, f)| f != family) {
        None => Ok(*family),
        Some((second, _)) => Err(ChatError::ConflictingFamily {
            source_name: source.to_owned(),
            first: first.clone(),
            second: second.clone(),
        }),
    }
}

/// The template file (in PostTrainBench's `src/eval/templates/`, pinned in ptb-core's registry) the
/// final evaluation renders prompts with: `qwen3.jinja`, `gemma3.jinja` (or
/// `gemma3_tool_calling.jinja` when the benchmark calls tools, i.e. BFCL), `smollm.jinja`.
/// `None` for Llama, which the original has no template for (use the model's own).
pub fn pinned_template_file(family: Family, tool_calling: bool) -> Option<&'static str> {
    match family {
        Family::Qwen3 => Some("qwen3.jinja"),
        Family::Gemma3 if tool_calling => Some("gemma3_tool_calling.jinja"),
        Family::Gemma3 => Some("gemma3.jinja"),
        Family::SmolLM3 => Some("smollm.jinja"),
        Family::Llama => None,
    }
}
