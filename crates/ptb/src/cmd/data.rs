//! `ptb data fetch|verify`.

use anyhow::bail;
use ptb_data::{Fetcher, FileCheck, FileStatus, Progress};

use crate::cli::DataCommand;
use crate::output::print_table;

use super::Ctx;

pub async fn run(ctx: &Ctx, command: DataCommand) -> anyhow::Result<()> {
    let config = &ctx.config;
    match command {
        DataCommand::Fetch { benchmarks, templates_only } => {
            let progress = if ctx.quiet { Progress::Quiet } else { Progress::Auto };
            let fetcher = Fetcher::from_env(&config.hf_endpoint)?.with_progress(progress);
            let ids: Vec<String> = if templates_only {
                Vec::new()
            } else if benchmarks.is_empty() {
                config.registry.benchmarks.keys().cloned().collect()
            } else {
                benchmarks
            };
            let mut rows = Vec::new();
            for id in &ids {
                let spec = config.registry.benchmark(id)?;
                for f in fetcher.fetch_benchmark(&config.data_dir, id, spec).await? {
                    rows.push(fetched_row(id, &f));
                }
            }
            if templates_only || ids.len() == config.registry.benchmarks.len() {
                for f in fetcher.fetch_templates(&config.data_dir, &config.registry.templates).await? {
                    rows.push(fetched_row("templates", &f));
                }
            }
            print_table(ctx.json, &["what", "file", "sha256", "status"], rows);
            Ok(())
        }
        DataCommand::Verify => {
            let mut checks: Vec<FileCheck> = Vec::new();
            for (id, spec) in &config.registry.benchmarks {
                checks.extend(ptb_data::verify_benchmark(&config.data_dir, id, spec)?);
            }
            checks.extend(ptb_data::verify_templates(&config.data_dir, &config.registry.templates)?);
            let bad = checks.iter().filter(|c| matches!(c.status, FileStatus::Mismatch { .. })).count();
            if ctx.json {
                println!("{}", serde_json::to_string_pretty(&checks)?);
            } else {
                let rows = checks.iter().map(check_row).collect();
                print_table(false, &["what", "file", "status", "sha256"], rows);
            }
            if bad > 0 {
                bail!("{bad} file(s) do not match their pinned sha256; delete them and run `ptb data fetch` again");
            }
            Ok(())
        }
    }
}

fn fetched_row(what: &str, f: &ptb_data::FetchedFile) -> Vec<String> {
    vec![
        what.to_string(),
        f.path.display().to_string(),
        f.record.sha256.clone(),
        if f.downloaded { "downloaded".into() } else { "present".into() },
    ]
}

fn check_row(c: &FileCheck) -> Vec<String> {
    let (status, sha) = match &c.status {
        FileStatus::Ok { sha256 } => ("ok", sha256.clone()),
        FileStatus::Unpinned { sha256 } => ("unpinned", sha256.clone()),
        FileStatus::Missing => ("missing", String::new()),
        FileStatus::Mismatch { expected, got } => ("MISMATCH", format!("expected {expected}, got {got}")),
    };
    vec![c.what.clone(), c.path.display().to_string(), status.into(), sha]
}
