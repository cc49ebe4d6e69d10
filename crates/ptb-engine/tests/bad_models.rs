//! Broken model directories give one-line errors naming the file; nothing is executed.

mod common;

use std::path::Path;

use candle_core::Device;

fn copy_fixture(name: &str, to: &Path) {
    for e in std::fs::read_dir(common::tiny(name)).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn load_err(dir: &Path) -> String {
    match ptb_engine::load(dir, None, None, &Device::Cpu) {
        Ok(_) => panic!("{} loaded but should not", dir.display()),
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.contains('\n'), "multi-line error: {msg}");
            msg
        }
    }
}

fn edit_config(dir: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let p = dir.join("config.json");
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(p, v.to_string()).unwrap();
}

#[test]
fn missing_config() {
    let d = tempfile::tempdir().unwrap();
    copy_fixture("qwen3", d.path());
    std::fs::remove_file(d.path().join("config.json")).unwrap();
    let msg = load_err(d.path());
    assert!(msg.contains("config.json") && msg.contains("not found"), "{msg}");
}

#[test]
fn unknown_architecture_even_with_remote_code() {
    let d = tempfile::tempdir().unwrap();
    copy_fixture("qwen3", d.path());
    std::fs::write(d.path().join("modeling_evil.py"), "raise SystemExit('executed')").unwrap();
    edit_config(d.path(), |v| {
        v["architectures"] = serde_json::json!(["EvilForCausalLM"]);
        v["auto_map"] = serde_json::json!({"AutoModelForCausalLM": "modeling_evil.EvilForCausalLM"});
    });
    let msg = load_err(d.path());
    assert!(msg.contains("config.json") && msg.contains("EvilForCausalLM") && msg.contains("not supported"), "{msg}");
}

#[test]
fn truncated_safetensors() {
    let d = tempfile::tempdir().unwrap();
    copy_fixture("qwen3", d.path());
    let p = d.path().join("model.safetensors");
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    let msg = load_err(d.path());
    assert!(msg.contains("model.safetensors") && msg.contains("truncated"), "{msg}");
}

#[test]
fn shape_mismatch() {
    let d = tempfile::tempdir().unwrap();
    copy_fixture("llama", d.path());
    edit_config(d.path(), |v| v["intermediate_size"] = serde_json::json!(48));
    let msg = load_err(d.path());
    assert!(msg.contains(".safetensors") && msg.contains("mlp") && msg.contains("shape"), "{msg}");
}

#[test]
fn missing_shard() {
    let d = tempfile::tempdir().unwrap();
    copy_fixture("llama", d.path());
    std::fs::remove_file(d.path().join("model-00002-of-00002.safetensors")).unwrap();
    let msg = load_err(d.path());
    assert!(msg.contains("model-00002-of-00002.safetensors"), "{msg}");
}

#[test]
fn pickle_only_is_refused() {
    let d = tempfile::tempdir().unwrap();
    copy_fixture("llama", d.path());
    for e in std::fs::read_dir(d.path()).unwrap() {
        let p = e.unwrap().path();
        if p.to_string_lossy().contains("safetensors") {
            std::fs::remove_file(p).unwrap();
        }
    }
    // A pickle that would run a command if it were ever unpickled.
    std::fs::write(d.path().join("pytorch_model.bin"), b"cos\nsystem\n(S'touch /tmp/ptb-pwned'\ntR.").unwrap();
    let msg = load_err(d.path());
    assert!(msg.contains("pytorch_model.bin") && msg.contains("pickle"), "{msg}");
    assert!(!Path::new("/tmp/ptb-pwned").exists());
}

#[test]
fn garbage_gguf() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("model.gguf");
    std::fs::write(&p, b"GGUF\x03\x00\x00\x00garbage").unwrap();
    let msg = load_err(&p);
    assert!(msg.contains("model.gguf"), "{msg}");
}
