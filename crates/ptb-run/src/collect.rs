//! The collect phase: `task/final_model/` checked and copied out of the workspace, read-only, or
//! refused with a reason.
//!
//! Refused: no `final_model/`; a symlink leading outside the workspace; pickle files (`*.bin`, `*.pt`,
//! `*.pth`, `*.pkl`, `*.pickle`, `*.ckpt`: loading them runs code); Python files (remote code); a
//! LoRA adapter (`adapter_config.json`: merge it into the base weights first, e.g. peft's
//! `merge_and_unload()`); a directory without `config.json`, tokenizer or safetensors weights; an
//! architecture ptb has no pinned chat template for. A single `.gguf` file is accepted as it is.
//! `training_args.bin`, the trainer's pickled arguments (no weights), is left behind and noted.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::record::Collected;

const PICKLE_EXTENSIONS: [&str; 6] = ["bin", "pt", "pth", "pkl", "pickle", "ckpt"];

/// Copies `workspace/final_model` to `out` after checking it. `to_host` maps an absolute path inside
/// the agent's sandbox to the host (for absolute symlinks the agent made).
pub fn collect(workspace: &Path, out: &Path, to_host: &dyn Fn(&Path) -> Option<PathBuf>) -> Collected {
    let _ = std::fs::remove_dir_all(out);
    let mut copied = Vec::new();
    let mut dropped = Vec::new();
    let result = copy_checked(workspace, out, to_host, &mut copied, &mut dropped).and_then(|()| check_model(out));
    match result {
        Ok(()) => {
            let _ = make_read_only(out);
            Collected { accepted: true, reason: None, files: copied, dropped }
        }
        Err(reason) => {
            let _ = std::fs::remove_dir_all(out);
            Collected { accepted: false, reason: Some(reason), files: Vec::new(), dropped }
        }
    }
}

fn copy_checked(
    workspace: &Path,
    out: &Path,
    to_host: &dyn Fn(&Path) -> Option<PathBuf>,
    copied: &mut Vec<String>,
    dropped: &mut Vec<String>,
) -> Result<(), String> {
    let root = workspace.canonicalize().map_err(|e| format!("workspace {}: {e}", workspace.display()))?;
    let source = workspace.join("final_model");
    if source.symlink_metadata().is_err() {
        return Err("no final_model/ in the workspace".into());
    }
    let mut stack = vec![(source, PathBuf::new())];
    while let Some((path, rel)) = stack.pop() {
        let shown = Path::new("final_model").join(&rel);
        let real = follow_inside(&path, &root, to_host).map_err(|why| format!("{}: {why}", shown.display()))?;
        let meta = std::fs::metadata(&real).map_err(|e| format!("{}: {e}", shown.display()))?;
        if meta.is_dir() {
            std::fs::create_dir_all(out.join(&rel)).map_err(|e| format!("cannot copy {}: {e}", shown.display()))?;
            let entries = std::fs::read_dir(&real).map_err(|e| format!("{}: {e}", shown.display()))?;
            for entry in entries.flatten() {
                stack.push((entry.path(), rel.join(entry.file_name())));
            }
            continue;
        }
        if !meta.is_file() {
            return Err(format!("{} is not a regular file", shown.display()));
        }
        let name = rel.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let extension = rel.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        if name == "training_args.bin" {
            dropped.push(format!("{}: the trainer's pickled arguments, not weights; not copied", shown.display()));
            continue;
        }
        if PICKLE_EXTENSIONS.contains(&extension.as_str()) {
            return Err(format!(
                "{} is a pickle file, and loading a pickle runs code; save the model as safetensors (save_pretrained(..., safe_serialization=True))",
                shown.display()
            ));
        }
        if extension == "py" {
            return Err(format!(
                "{} is Python code, and ptb never runs code from a model (no trust_remote_code); use an architecture transformers and vLLM support natively",
                shown.display()
            ));
        }
        std::fs::copy(&real, out.join(&rel)).map_err(|e| format!("cannot copy {}: {e}", shown.display()))?;
        copied.push(rel.to_string_lossy().into_owned());
    }
    copied.sort();
    Ok(())
}

/// Resolves `path` through any symlinks; each link must lead to a path inside `root` (absolute
/// targets are read as paths inside the sandbox and mapped to the host first).
fn follow_inside(path: &Path, root: &Path, to_host: &dyn Fn(&Path) -> Option<PathBuf>) -> Result<PathBuf, String> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        let Ok(meta) = current.symlink_metadata() else { return Err("a broken symlink".into()) };
        if !meta.file_type().is_symlink() {
            let real = current.canonicalize().map_err(|e| e.to_string())?;
            return if real.starts_with(root) {
                Ok(real)
            } else {
                Err(format!("leads to {}, outside the workspace", real.display()))
            };
        }
        let target = std::fs::read_link(&current).map_err(|e| e.to_string())?;
        current = if target.is_absolute() {
            to_host(&target).ok_or_else(|| format!("is a symlink to {}, outside the workspace", target.display()))?
        } else {
            current.parent().unwrap_or(Path::new("/")).join(target)
        };
        // Parents may be links too: resolve them, then check the prefix.
        if let (Some(parent), Some(name)) = (current.parent(), current.file_name()) {
            let parent = parent.canonicalize().map_err(|_| "a broken symlink".to_string())?;
            if !parent.starts_with(root) {
                return Err(format!("is a symlink to {}, outside the workspace", parent.join(name).display()));
            }
            current = parent.join(name);
        }
    }
    Err("too many levels of symlinks".into())
}

/// The copied directory must be a model ptb can evaluate.
fn check_model(dir: &Path) -> Result<(), String> {
    let has = |name: &str| dir.join(name).is_file();
    let files: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if let Some(gguf) = files.iter().find(|f| f.ends_with(".gguf")) {
        let mut magic = [0u8; 4];
        let ok = std::fs::File::open(dir.join(gguf)).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic));
        return if ok.is_ok() && &magic == b"GGUF" {
            Ok(())
        } else {
            Err(format!("final_model/{gguf} is not a GGUF file"))
        };
    }
    if has("adapter_config.json") {
        return Err("final_model/ is a LoRA adapter (adapter_config.json); merge it into the base weights (peft: model.merge_and_unload().save_pretrained(\"final_model\")) and save the tokenizer beside it".into());
    }
    if !has("config.json") {
        return Err("final_model/ has no config.json; save the model with save_pretrained(\"final_model\")".into());
    }
    let tokenizer = has("tokenizer.json") || has("tokenizer.model") || (has("vocab.json") && has("merges.txt"));
    if !tokenizer {
        return Err(
            "final_model/ has no tokenizer (tokenizer.json); save it with tokenizer.save_pretrained(\"final_model\")"
                .into(),
        );
    }
    if !files.iter().any(|f| f.ends_with(".safetensors")) {
        return Err("final_model/ has no *.safetensors weights".into());
    }
    match ptb_chat::detect_family_in_dir(dir) {
        Ok(family) if ptb_chat::pinned_template_file(family, false).is_some() => Ok(()),
        Ok(family) => Err(format!(
            "final_model/config.json: the {family:?} architecture has no pinned chat template in the evaluation"
        )),
        Err(e) => Err(format!("unknown architecture: {e}")),
    }
}

/// Files 0444 and directories 0555, so nothing downstream changes the copy by mistake.
fn make_read_only(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)?.flatten() {
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            make_read_only(&path)?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o555))?;
        } else {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444))?;
        }
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555))
}

/// Makes a read-only tree writable again (to remove or replace it).
pub fn make_writable(dir: &Path) {
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                make_writable(&entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_map(_: &Path) -> Option<PathBuf> {
        None
    }

    #[test]
    fn a_missing_final_model_or_a_link_outside_is_refused() {
        let ws = tempfile::tempdir().unwrap();
        let out = ws.path().join("out");
        let c = collect(ws.path(), &out, &no_map);
        assert!(!c.accepted && c.reason.unwrap().contains("no final_model"));
        std::os::unix::fs::symlink("/etc", ws.path().join("final_model")).unwrap();
        let c = collect(ws.path(), &out, &no_map);
        assert!(c.reason.unwrap().contains("outside the workspace"));
        assert!(!out.exists());
    }

    #[test]
    fn pickles_python_and_adapters_are_refused_with_the_fix() {
        for (file, expect) in [
            ("pytorch_model.bin", "pickle"),
            ("modeling_evil.py", "Python code"),
            ("adapter_config.json", "LoRA adapter"),
        ] {
            let ws = tempfile::tempdir().unwrap();
            let model = ws.path().join("final_model");
            std::fs::create_dir(&model).unwrap();
            std::fs::write(model.join(file), "{}").unwrap();
            let c = collect(ws.path(), &ws.path().join("out"), &no_map);
            assert!(c.reason.as_deref().unwrap_or_default().contains(expect), "{file}: {:?}", c.reason);
        }
    }
}
