//! `ptb doctor`: what this machine has for ptb, with a fix for each missing piece. Key values are
//! never printed, only whether the variable is set.

use std::process::Command;

use crate::output::print_table;

use super::Ctx;

/// Provider and Hub keys ptb may use (names only).
const KEY_VARS: [(&str, &str); 5] = [
    ("HF_TOKEN", "needed for gated datasets (GPQA)"),
    ("OPENAI_API_KEY", "judge for ArenaHard/HealthBench; codex agent"),
    ("ANTHROPIC_API_KEY", "claude agent"),
    ("GEMINI_API_KEY", "gemini agent"),
    ("OPENCODE_API_KEY", "opencode agent"),
];

struct Check {
    name: String,
    ok: bool,
    detail: String,
    fix: String,
}

impl Check {
    fn row(self) -> Vec<String> {
        vec![
            self.name,
            if self.ok { "ok".into() } else { "missing".into() },
            self.detail,
            if self.ok { String::new() } else { self.fix },
        ]
    }
}

pub fn run(ctx: &Ctx) -> anyhow::Result<()> {
    let mut checks = vec![gpu()];
    checks.push(tool("bubblewrap", "bwrap", &["--version"], "apt-get install bubblewrap (the default agent sandbox)"));
    checks.push(tool(
        "apptainer",
        "apptainer",
        &["--version"],
        "only for HPC sites: install apptainer, or use --sandbox bwrap",
    ));
    checks.push(tool("python3", "python3", &["--version"], "apt-get install python3 (HumanEval executes Python)"));
    checks.push(tool(
        "vllm",
        "vllm",
        &["--version"],
        "pip install vllm on a GPU machine, or set [engine] command in ptb.toml",
    ));
    let data_dir = &ctx.config.data_dir;
    for (id, spec) in &ctx.config.registry.benchmarks {
        let found: Result<Vec<_>, _> =
            spec.files.iter().map(|f| ptb_data::locate(data_dir, id, spec, &f.role)).collect();
        checks.push(Check {
            name: format!("data {id}"),
            ok: found.is_ok(),
            detail: match &found {
                Ok(paths) => paths.first().map(|p| p.display().to_string()).unwrap_or_default(),
                Err(_) => format!("not in {}", data_dir.display()),
            },
            fix: format!("ptb data fetch --benchmark {id}{}", if spec.gated { " (with HF_TOKEN set)" } else { "" }),
        });
    }
    for (family, t) in &ctx.config.registry.templates {
        let path = data_dir.join("templates").join(&t.file);
        checks.push(Check {
            name: format!("template {family}"),
            ok: path.is_file(),
            detail: path.display().to_string(),
            fix: "ptb data fetch --templates-only".into(),
        });
    }
    for (var, why) in KEY_VARS {
        let set = std::env::var_os(var).is_some_and(|v| !v.is_empty());
        checks.push(Check {
            name: format!("key {var}"),
            ok: set,
            detail: if set { "set".into() } else { format!("not set ({why})") },
            fix: format!("export {var}=… if you need it"),
        });
    }
    print_table(ctx.json, &["check", "status", "detail", "fix"], checks.into_iter().map(Check::row).collect());
    Ok(())
}

fn gpu() -> Check {
    let out = Command::new("nvidia-smi").args(["--query-gpu=name,memory.total", "--format=csv,noheader"]).output();
    match out {
        Ok(o) if o.status.success() => {
            let gpus: Vec<String> = String::from_utf8_lossy(&o.stdout).lines().map(|l| l.trim().to_string()).collect();
            Check { name: "gpu".into(), ok: !gpus.is_empty(), detail: gpus.join("; "), fix: String::new() }
        }
        _ => Check {
            name: "gpu".into(),
            ok: false,
            detail: "no nvidia-smi".into(),
            fix: "evaluation runs on CPU engines only; install the NVIDIA driver for vLLM".into(),
        },
    }
}

fn tool(name: &str, program: &str, args: &[&str], fix: &str) -> Check {
    let out = Command::new(program).args(args).output();
    let (ok, detail) = match out {
        Ok(o) if o.status.success() => {
            let text = if o.stdout.is_empty() { o.stderr } else { o.stdout };
            (true, String::from_utf8_lossy(&text).lines().next().unwrap_or("").trim().to_string())
        }
        Ok(o) => (false, format!("{program} exited with {}", o.status)),
        Err(_) => (false, format!("{program} not on PATH")),
    };
    Check { name: name.into(), ok, detail, fix: fix.into() }
}
