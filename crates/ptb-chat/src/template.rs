//! A compiled chat template and its renderer, configured like transformers' `apply_chat_template`.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::LazyLock;

use chrono::NaiveDateTime;
use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Kwargs, Rest, Serde};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, Value, escape_formatter};
use regex::Regex;
use serde_json::{Map, Value as Json};

use crate::pyfmt::{JsonOptions, json_dumps, needs_python_text, py_str};
use crate::{ChatError, read_json};

/// The named special tokens transformers passes to every template (its
/// `SPECIAL_TOKENS_ATTRIBUTES`, through `tokenizer.special_tokens_map`).
pub const SPECIAL_TOKEN_NAMES: [&str; 7] =
    ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"];

/// Variables transformers passes itself; `extra` and `special_tokens` may not set them.
const RESERVED: [&str; 4] = ["messages", "tools", "documents", "add_generation_prompt"];

/// Message keys a reasoning trace may come under; transformers copies the first present one to
/// `thinking` and `reasoning_content`.
const REASONING_FIELDS: [&str; 3] = ["reasoning_content", "thinking", "reasoning"];

/// What one render of a chat template sees.
#[derive(Debug, Clone, Default)]
pub struct RenderContext {
    /// The conversation: objects with `role`, `content` and any other keys (`tool_calls`,
    /// `reasoning_content`, …). Content may be a string or a list of parts.
    pub messages: Vec<Json>,
    /// Tool JSON schemas (`tools` is `none` in the template when this is `None`).
    pub tools: Option<Vec<Json>>,
    /// RAG documents (`documents` is `none` in the template when this is `None`).
    pub documents: Option<Vec<Json>>,
    /// Append the header that starts an assistant turn.
    pub add_generation_prompt: bool,
    /// `bos_token`, `eos_token`, … as transformers passes them (see [`special_tokens_in_dir`]).
    pub special_tokens: Map<String, Json>,
    /// Further template variables (`enable_thinking`, `xml_tools`, …); they override
    /// `special_tokens` of the same name.
    pub extra: Map<String, Json>,
}

/// A chat template compiled once with transformers' Jinja settings, rendered many times.
#[derive(Debug)]
pub struct ChatTemplate {
    name: String,
    env: Environment<'static>,
}

/// Marks an error raised by the template's own `raise_exception(...)`.
#[derive(Debug)]
struct Raised(String);

impl std::fmt::Display for Raised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Raised {}

/// `{% generation %}` / `{% endgeneration %}` (SmolLM3's assistant-mask markers).
static GENERATION_TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{%([-+]?)\s*(end)?generation\s*([-+]?)%\}").expect("static regex is valid"));

/// Rewrites transformers' `generation` extension tag into a `with` block: like transformers'
/// `CallBlock` it renders its body unchanged in a scope of its own, and keeps the tag's
/// whitespace control (`-`, `+`, trim_blocks, lstrip_blocks).
fn rewrite_generation_tags(source: &str) -> String {
    GENERATION_TAG.replace_all(source, "{%${1} ${2}with ${3}%}").into_owned()
}

fn raise_exception(message: String) -> Result<Value, Error> {
    Err(Error::new(ErrorKind::InvalidOperation, message.clone()).with_source(Raised(message)))
}

/// transformers' `tojson`: `json.dumps(x, ensure_ascii=False, indent=None, separators=None,
/// sort_keys=False)`, arguments positional or by keyword.
fn tojson(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const PARAMS: [&str; 4] = ["ensure_ascii", "indent", "separators", "sort_keys"];
    let bad = |msg: String| Error::new(ErrorKind::InvalidOperation, format!("tojson: {msg}"));
    if args.len() > PARAMS.len() {
        return Err(bad(format!("takes at most 4 arguments, got {}", args.len())));
    }
    let mut slots: [Option<Value>; 4] = Default::default();
    for (slot, arg) in slots.iter_mut().zip(args.0) {
        *slot = Some(arg);
    }
    for (slot, param) in slots.iter_mut().zip(PARAMS) {
        if let Some(v) = kwargs.get::<Option<Value>>(param)? {
            if slot.is_some() {
                return Err(bad(format!("got multiple values for argument '{param}'")));
            }
            *slot = Some(v);
        }
    }
    kwargs.assert_all_used()?;
    let [ensure_ascii, indent, separators, sort_keys] = slots.map(|s| s.filter(|v| !v.is_none()));
    let indent = match indent {
        None => None,
        Some(v) => Some(match v.as_str() {
            Some(s) => s.to_owned(),
            None => {
                let n =
                    i64::try_from(v.clone()).map_err(|_| bad(format!("indent must be an int or a string, not {v}")))?;
                " ".repeat(usize::try_from(n).unwrap_or(0))
            }
        }),
    };
    let mut opts = JsonOptions::new(indent);
    opts.ensure_ascii = ensure_ascii.is_some_and(|v| v.is_true());
    opts.sort_keys = sort_keys.is_some_and(|v| v.is_true());
    if let Some(seps) = separators {
        let parts: Vec<String> = seps
            .try_iter()
            .map_err(|_| bad("separators must be a pair of strings".into()))?
            .map(|p| p.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .filter(|p: &Vec<String>| p.len() == 2)
            .ok_or_else(|| bad("separators must be a pair of strings".into()))?;
        let [item, key]: [String; 2] =
            parts.try_into().map_err(|_| bad("separators must be a pair of strings".into()))?;
        opts.item_sep = item;
        opts.key_sep = key;
    }
    json_dumps(value, &opts).map(Value::from)
}

/// `strftime_now(format)` answering with the given (local, naive) time.
fn strftime_at(now: NaiveDateTime) -> impl Fn(&str) -> Result<String, Error> + Send + Sync {
    move |format: &str| {
        let mut out = String::new();
        write!(out, "{}", now.format(format)).map_err(|_| {
            Error::new(ErrorKind::InvalidOperation, format!("strftime_now: unsupported format {format:?}"))
        })?;
        Ok(out)
    }
}

impl ChatTemplate {
    /// Compiles `source` (errors name it `name`) with transformers' settings: trim_blocks,
    /// lstrip_blocks, loop controls, Python string/dict methods, `raise_exception`,
    /// `strftime_now` (the system clock; see [`ChatTemplate::with_clock`]), a Python `tojson`,
    /// Python text for `{{ value }}` and `| string`, and `{% generation %}` blocks as no-ops.
    pub fn new(source: &str, name: &str) -> Result<Self, ChatError> {
        let mut env = Environment::new();
        let syntax = SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(|e| ChatError::Compile { name: name.to_owned(), detail: e.to_string() })?;
        env.set_syntax(syntax);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.set_formatter(|out, state, value| {
            if needs_python_text(value) {
                Ok(out.write_str(&py_str(value))?)
            } else {
                escape_formatter(out, state, value)
            }
        });
        env.add_filter("tojson", tojson);
        env.add_filter("string", |value: &Value| py_str(value));
        env.add_function("raise_exception", raise_exception);
        env.add_function("strftime_now", |format: &str| strftime_at(chrono::Local::now().naive_local())(format));
        env.add_template_owned(name.to_owned(), rewrite_generation_tags(source))
            .map_err(|e| ChatError::Compile { name: name.to_owned(), detail: e.to_string() })?;
        Ok(Self { name: name.to_owned(), env })
    }

    /// Reads and compiles a template file; errors name the file.
    pub fn from_file(path: &Path) -> Result<Self, ChatError> {
        let source =
            std::fs::read_to_string(path).map_err(|source| ChatError::Read { path: path.to_owned(), source })?;
        Self::new(&source, &path.display().to_string())
    }

    /// The template of a model directory: `chat_template.jinja`, else `tokenizer_config.json`'s
    /// `chat_template` (a string, or a list of `{name, template}` of which `default` is taken).
    /// `Ok(None)` when the directory has neither.
    pub fn from_model_dir(dir: &Path) -> Result<Option<Self>, ChatError> {
        let jinja = dir.join("chat_template.jinja");
        if jinja.is_file() {
            return Self::from_file(&jinja).map(Some);
        }
        let config_path = dir.join("tokenizer_config.json");
        if !config_path.is_file() {
            return Ok(None);
        }
        let config = read_json(&config_path)?;
        let name = config_path.display().to_string();
        let field_error =
            |problem: &str| ChatError::TemplateField { path: config_path.clone(), problem: problem.to_owned() };
        match config.get("chat_template") {
            None | Some(Json::Null) => Ok(None),
            Some(Json::String(source)) => Self::new(source, &name).map(Some),
            Some(Json::Array(entries)) => {
                let source = entries
                    .iter()
                    .find(|e| e.get("name").and_then(Json::as_str) == Some("default"))
                    .ok_or_else(|| field_error("is a list without a \"default\" entry"))?
                    .get("template")
                    .and_then(Json::as_str)
                    .ok_or_else(|| field_error("has a \"default\" entry without a string \"template\""))?;
                Self::new(source, &name).map(Some)
            }
            Some(_) => Err(field_error("is neither a string nor a list")),
        }
    }

    /// Pins what `strftime_now` sees (Python's `datetime.now()`: local wall-clock time), for
    /// reproducible prompts and tests.
    pub fn with_clock(mut self, now: NaiveDateTime) -> Self {
        self.env.add_function("strftime_now", strftime_at(now));
        self
    }

    /// The name errors use for this template (its file path, or the name given to [`ChatTemplate::new`]).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Renders a conversation as transformers' `apply_chat_template(..., tokenize=False)` does:
    /// message keys holding `null` are dropped, reasoning is aliased to `thinking` and
    /// `reasoning_content`, and the template sees `messages`, `tools`, `documents`,
    /// `add_generation_prompt`, the special tokens and the extra variables.
    pub fn render(&self, ctx: &RenderContext) -> Result<String, ChatError> {
        let input_error = |problem: String| ChatError::Input { name: self.name.clone(), problem };
        if ctx.messages.is_empty() {
            return Err(input_error("the conversation is empty; pass at least one message".into()));
        }
        let messages = ctx
            .messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                m.as_object()
                    .map(normalize_message)
                    .ok_or_else(|| input_error(format!("message {i} is not a JSON object: {m}")))
            })
            .collect::<Result<Vec<_>, _>>()?;

        let mut vars = Map::new();
        vars.insert("messages".into(), Json::Array(messages));
        vars.insert("tools".into(), ctx.tools.clone().map_or(Json::Null, Json::Array));
        vars.insert("documents".into(), ctx.documents.clone().map_or(Json::Null, Json::Array));
        vars.insert("add_generation_prompt".into(), Json::Bool(ctx.add_generation_prompt));
        for (key, value) in ctx.special_tokens.iter().chain(&ctx.extra) {
            if RESERVED.contains(&key.as_str()) {
                return Err(input_error(format!(
                    "`{key}` is set by the renderer itself; drop it from the extra variables"
                )));
            }
            vars.insert(key.clone(), value.clone());
        }

        let template = self.env.get_template(&self.name).map_err(|e| self.render_error(&e))?;
        template.render(Value::from(Serde(&vars))).map_err(|e| self.render_error(&e))
    }

    fn render_error(&self, error: &Error) -> ChatError {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(e) = source {
            if let Some(Raised(message)) = e.downcast_ref::<Raised>() {
                return ChatError::Raised { name: self.name.clone(), message: message.clone() };
            }
            source = e.source();
        }
        ChatError::Render { name: self.name.clone(), detail: error.to_string() }
    }
}

/// transformers' message preparation: drop keys whose value is `null`
/// (`_normalize_chat_messages`), then, if a reasoning trace is present, build
/// `{"thinking": r, **message, "reasoning_content": r}` (`_alias_reasoning_fields`).
fn normalize_message(message: &Map<String, Json>) -> Json {
    let kept = message.iter().filter(|(_, v)| !v.is_null());
    let reasoning = REASONING_FIELDS.iter().find_map(|field| message.get(*field).filter(|v| !v.is_null()));
    let mut out = Map::new();
    if let Some(r) = reasoning {
        out.insert("thinking".into(), r.clone());
    }
    out.extend(kept.map(|(k, v)| (k.clone(), v.clone())));
    if let Some(r) = reasoning {
        out.insert("reasoning_content".into(), r.clone());
    }
    Json::Object(out)
}

/// The special tokens transformers would pass for a model directory: each of
/// [`SPECIAL_TOKEN_NAMES`] found in `tokenizer_config.json` (or, failing that,
/// `special_tokens_map.json`), as a string (`AddedToken` objects give their `content`).
/// Missing files give an empty map.
pub fn special_tokens_in_dir(dir: &Path) -> Result<Map<String, Json>, ChatError> {
    let mut sources = Vec::new();
    for file in ["tokenizer_config.json", "special_tokens_map.json"] {
        let path = dir.join(file);
        if path.is_file() {
            sources.push(read_json(&path)?);
        }
    }
    let mut tokens = Map::new();
    for name in SPECIAL_TOKEN_NAMES {
        let token = sources.iter().find_map(|s| match s.get(name)? {
            Json::String(t) => Some(t.clone()),
            Json::Object(o) => o.get("content")?.as_str().map(str::to_owned),
            _ => None,
        });
        if let Some(token) = token {
            tokens.insert(name.into(), Json::String(token));
        }
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_tags_become_scoped_blocks() {
        assert_eq!(
            rewrite_generation_tags("a{% generation %}b{%- endgeneration -%}c{%+generation%}"),
            "a{% with %}b{%- endwith -%}c{%+ with %}"
        );
    }

    #[test]
    fn reasoning_is_aliased_like_transformers() {
        let m = serde_json::json!({"role": "assistant", "content": "x", "reasoning": "r", "tool_calls": null});
        let out = normalize_message(m.as_object().unwrap());
        assert_eq!(
            serde_json::to_string(&out).unwrap(),
            r#"{"thinking":"r","role":"assistant","content":"x","reasoning":"r","reasoning_content":"r"}"#
        );
    }
}
