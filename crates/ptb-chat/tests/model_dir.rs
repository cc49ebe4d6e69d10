//! Loading templates and special tokens from model directories, and family detection from
//! `config.json` (never from the path).

use std::path::Path;

use chrono::NaiveDate;
use ptb_chat::{
    ChatError, ChatTemplate, Family, RenderContext, detect_family, detect_family_in_dir, pinned_template_file,
    special_tokens_in_dir,
};
use serde_json::{Value, json};

const SIMPLE: &str = "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}";

fn write(dir: &Path, file: &str, text: &str) {
    std::fs::write(dir.join(file), text).expect("write fixture file");
}

fn hello() -> RenderContext {
    let mut ctx = RenderContext { messages: vec![json!({"role": "user", "content": "hello"})], ..Default::default() };
    ctx.special_tokens.insert("bos_token".into(), json!("<s>"));
    ctx
}

#[test]
fn model_dir_prefers_chat_template_jinja() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "chat_template.jinja", SIMPLE);
    write(dir.path(), "tokenizer_config.json", r#"{"chat_template": "from tokenizer config"}"#);
    let t = ChatTemplate::from_model_dir(dir.path()).unwrap().expect("template");
    assert!(t.name().ends_with("chat_template.jinja"), "{}", t.name());
    assert_eq!(t.render(&hello()).unwrap(), "<s>[user] hello\n");
}

#[test]
fn model_dir_reads_tokenizer_config_string() {
    let dir = tempfile::tempdir().unwrap();
    let config = json!({"bos_token": "<s>", "chat_template": SIMPLE});
    write(dir.path(), "tokenizer_config.json", &config.to_string());
    let t = ChatTemplate::from_model_dir(dir.path()).unwrap().expect("template");
    assert_eq!(t.render(&hello()).unwrap(), "<s>[user] hello\n");
}

#[test]
fn model_dir_takes_default_from_template_list() {
    let dir = tempfile::tempdir().unwrap();
    let config = json!({"chat_template": [
        {"name": "tool_use", "template": "TOOLS"},
        {"name": "default", "template": SIMPLE},
    ]});
    write(dir.path(), "tokenizer_config.json", &config.to_string());
    let t = ChatTemplate::from_model_dir(dir.path()).unwrap().expect("template");
    assert_eq!(t.render(&hello()).unwrap(), "<s>[user] hello\n");

    let config = json!({"chat_template": [{"name": "tool_use", "template": "TOOLS"}]});
    write(dir.path(), "tokenizer_config.json", &config.to_string());
    let err = ChatTemplate::from_model_dir(dir.path()).unwrap_err();
    assert!(matches!(err, ChatError::TemplateField { .. }), "{err}");
    assert!(err.to_string().contains("tokenizer_config.json"), "{err}");
}

#[test]
fn model_dir_without_template_is_none() {
    let dir = tempfile::tempdir().unwrap();
    assert!(ChatTemplate::from_model_dir(dir.path()).unwrap().is_none());
    write(dir.path(), "tokenizer_config.json", r#"{"eos_token": "</s>"}"#);
    assert!(ChatTemplate::from_model_dir(dir.path()).unwrap().is_none());
    write(dir.path(), "tokenizer_config.json", "{not json");
    let err = ChatTemplate::from_model_dir(dir.path()).unwrap_err();
    assert!(matches!(err, ChatError::Json { .. }), "{err}");
}

#[test]
fn special_tokens_come_from_tokenizer_files() {
    let dir = tempfile::tempdir().unwrap();
    assert!(special_tokens_in_dir(dir.path()).unwrap().is_empty());
    write(
        dir.path(),
        "tokenizer_config.json",
        r#"{"bos_token": {"content": "<bos>", "special": true}, "eos_token": "<eos>", "pad_token": null,
            "additional_special_tokens": ["<x>"]}"#,
    );
    write(dir.path(), "special_tokens_map.json", r#"{"eos_token": "<other>", "unk_token": "<unk>"}"#);
    let tokens = special_tokens_in_dir(dir.path()).unwrap();
    assert_eq!(Value::Object(tokens), json!({"bos_token": "<bos>", "eos_token": "<eos>", "unk_token": "<unk>"}));
}

#[test]
fn compile_errors_name_the_template() {
    let err = ChatTemplate::new("{% if x %}unclosed", "broken.jinja").unwrap_err();
    assert!(matches!(err, ChatError::Compile { .. }), "{err}");
    assert!(err.to_string().contains("broken.jinja"), "{err}");
    assert!(!err.to_string().contains('\n'), "{err}");
    let err = ChatTemplate::from_file(Path::new("/nonexistent/x.jinja")).unwrap_err();
    assert!(matches!(err, ChatError::Read { .. }), "{err}");
}

#[test]
fn raise_exception_surfaces_its_message() {
    let t = ChatTemplate::new("{{ raise_exception('roles must alternate') }}", "r").unwrap();
    match t.render(&hello()) {
        Err(ChatError::Raised { name, message }) => {
            assert_eq!(name, "r");
            assert_eq!(message, "roles must alternate");
        }
        other => panic!("expected Raised, got {other:?}"),
    }
    let t = ChatTemplate::new("{{ messages[0].content.nope() }}", "m").unwrap();
    assert!(matches!(t.render(&hello()), Err(ChatError::Render { .. })));
}

#[test]
fn render_rejects_unusable_input() {
    let t = ChatTemplate::new(SIMPLE, "s").unwrap();
    let err = t.render(&RenderContext::default()).unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");
    let mut ctx = hello();
    ctx.messages.push(json!("not an object"));
    assert!(matches!(t.render(&ctx), Err(ChatError::Input { .. })));
    let mut ctx = hello();
    ctx.extra.insert("messages".into(), json!([]));
    assert!(t.render(&ctx).unwrap_err().to_string().contains("messages"));
}

#[test]
fn python_builtins_behave_like_transformers() {
    let source = concat!(
        "{{ x | tojson }}|{{ x | tojson(indent=2) }}|{{ x | tojson(sort_keys=true, separators=[',', ':']) }}",
        "|{{ x | string }}|{{ x }}|{{ none }}|{{ true }}|{{ 1e16 }}|{{ 'a-b'.split('-') }}",
        "|{{ 'xx'.startswith('x') }}|{{ strftime_now('%d %B %Y %H:%M') }}",
    );
    let t = ChatTemplate::new(source, "builtins")
        .unwrap()
        .with_clock(NaiveDate::from_ymd_opt(2025, 6, 7).unwrap().and_hms_opt(9, 5, 0).unwrap());
    let mut ctx = hello();
    ctx.extra.insert("x".into(), json!({"b": "<é>", "a": [1, null]}));
    assert_eq!(
        t.render(&ctx).unwrap(),
        concat!(
            r#"{"b": "<é>", "a": [1, null]}|{"#,
            "\n  \"b\": \"<é>\",\n  \"a\": [\n    1,\n    null\n  ]\n}",
            r#"|{"a":[1,null],"b":"<é>"}|{'b': '<é>', 'a': [1, None]}|{'b': '<é>', 'a': [1, None]}"#,
            "|None|True|1e+16|['a', 'b']|True|07 June 2025 09:05",
        )
    );
}

#[test]
fn generation_blocks_render_their_body() {
    let source = "{% for m in messages %}{% generation %}\n  <{{ m.content }}>\n{% endgeneration %}{% endfor %}";
    let t = ChatTemplate::new(source, "gen").unwrap();
    assert_eq!(t.render(&hello()).unwrap(), "  <hello>\n");
}

fn config(v: Value) -> Result<Family, ChatError> {
    detect_family(&v)
}

#[test]
fn family_from_architectures_and_model_type() {
    assert_eq!(config(json!({"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3"})).unwrap(), Family::Qwen3);
    assert_eq!(
        config(json!({"architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text"})).unwrap(),
        Family::Gemma3
    );
    assert_eq!(
        config(json!({"architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3",
                      "text_config": {"model_type": "gemma3_text", "hidden_size": 2560}}))
        .unwrap(),
        Family::Gemma3
    );
    assert_eq!(config(json!({"text_config": {"model_type": "gemma3_text"}})).unwrap(), Family::Gemma3);
    assert_eq!(
        config(json!({"architectures": ["SmolLM3ForCausalLM"], "model_type": "smollm3"})).unwrap(),
        Family::SmolLM3
    );
    assert_eq!(config(json!({"architectures": ["LlamaForCausalLM"], "model_type": "llama"})).unwrap(), Family::Llama);
}

#[test]
fn unknown_and_conflicting_families_are_errors() {
    let err = config(json!({"architectures": ["MistralForCausalLM"], "model_type": "mistral"})).unwrap_err();
    assert!(matches!(err, ChatError::UnknownFamily { .. }), "{err}");
    assert!(err.to_string().contains("MistralForCausalLM"), "{err}");

    // The tampering from the paper's Appendix D: architectures edited, model_type left alone.
    let err = config(json!({"architectures": ["Qwen3ForCausalLM"], "model_type": "smollm3"})).unwrap_err();
    assert!(matches!(err, ChatError::ConflictingFamily { .. }), "{err}");
    assert!(err.to_string().contains("smollm3"), "{err}");
}

#[test]
fn family_in_dir_ignores_the_path() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("Qwen3-4B-qwen-final_model");
    std::fs::create_dir(&dir).unwrap();
    write(&dir, "config.json", r#"{"architectures": ["SmolLM3ForCausalLM"], "model_type": "smollm3"}"#);
    assert_eq!(detect_family_in_dir(&dir).unwrap(), Family::SmolLM3);

    write(&dir, "config.json", r#"{"architectures": ["Qwen2ForCausalLM"]}"#);
    let err = detect_family_in_dir(&dir).unwrap_err();
    assert!(matches!(err, ChatError::UnknownFamily { .. }), "{err}");
    assert!(err.to_string().contains("config.json"), "{err}");

    let empty = root.path().join("qwen3");
    std::fs::create_dir(&empty).unwrap();
    let err = detect_family_in_dir(&empty).unwrap_err();
    assert!(matches!(err, ChatError::Read { .. }), "{err}");
}

#[test]
fn pinned_templates_per_family() {
    assert_eq!(pinned_template_file(Family::Qwen3, false), Some("qwen3.jinja"));
    assert_eq!(pinned_template_file(Family::Qwen3, true), Some("qwen3.jinja"));
    assert_eq!(pinned_template_file(Family::Gemma3, false), Some("gemma3.jinja"));
    assert_eq!(pinned_template_file(Family::Gemma3, true), Some("gemma3_tool_calling.jinja"));
    assert_eq!(pinned_template_file(Family::SmolLM3, true), Some("smollm.jinja"));
    assert_eq!(pinned_template_file(Family::Llama, false), None);
    let keys: Vec<_> = [Family::Qwen3, Family::Gemma3, Family::SmolLM3, Family::Llama].map(Family::registry_key).into();
    assert_eq!(keys, ["qwen3", "gemma3", "smollm3", "llama"]);
}

#[test]
fn templates_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    let t = ChatTemplate::new(SIMPLE, "s").unwrap();
    assert_send_sync(&t);
    let rendered = std::thread::scope(|s| s.spawn(|| t.render(&hello())).join().unwrap());
    assert_eq!(rendered.unwrap(), "<s>[user] hello\n");
}
