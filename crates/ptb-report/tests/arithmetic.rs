//! The published numbers: the README leaderboard and factors.json, reproduced from fixture stores.

mod common;

use common::*;
use ptb_core::Registry;
use ptb_report::aggregate::{AggregateConfig, Fallback, leaderboard};
use ptb_report::{Index, index_path, load_runs};

fn config() -> AggregateConfig {
    AggregateConfig::from_registry(&Registry::builtin())
}

#[test]
fn reference_rows_reproduce_the_readme() {
    let dir = tempfile::tempdir().unwrap();
    published_baselines(dir.path());
    let lb = leaderboard(&load_runs(dir.path()).unwrap(), &config());
    let instruct = lb.row("Instruct models (zero-shot)").unwrap();
    let base = lb.row("Base models (zero-shot)").unwrap();
    assert_eq!(format!("{:.1}", instruct.score.mean * 100.0), "51.1");
    assert_eq!(format!("{:.1}", base.score.mean * 100.0), "7.5");
    assert!(instruct.complete && base.complete);
    assert!(lb.row("Base models (few-shot)").is_none(), "no few-shot runs, no row");
}

#[test]
fn weights_derive_from_the_published_baselines() {
    let dir = tempfile::tempdir().unwrap();
    published_baselines(dir.path());
    let lb = leaderboard(&load_runs(dir.path()).unwrap(), &config());
    let derived = lb.derived_weights();
    let registry = Registry::builtin();
    assert_eq!(derived.len(), 7);
    for (b, w) in &derived {
        let published = registry.benchmark(b).unwrap().weight;
        // Agreement to three decimals: the averages are published with one decimal, so the derived
        // weights may differ from factors.json in the fourth (AIME: 0.22644 vs 0.22654).
        assert!((w - published).abs() < 5e-4, "{b}: derived {w:.5}, published {published:.5}");
    }
    assert!((derived.values().sum::<f64>() - 1.0).abs() < 1e-12);
}

/// Opus 4.6: three runs whose per-benchmark model means are the published means ± a spread (the per-run
/// numbers are not published). The published per-benchmark means are rounded to one decimal, so their
/// weighted sum (23.149) can differ from the published 23.2 (a mean of unrounded run scores) by up to
/// 0.05 (input rounding, Σw = 1) + 0.05 (output rounding).
#[test]
fn opus_runs_reproduce_its_score_with_sample_std() {
    let dir = tempfile::tempdir().unwrap();
    published_baselines(dir.path());
    let offsets = [-0.02, 0.0, 0.02];
    for (k, off) in offsets.iter().enumerate() {
        let method = format!("claude_claude-opus-4-6_10h_run{}", k + 1);
        for (i, b) in BENCHES.iter().enumerate() {
            for (j, (org, m)) in BASE.iter().enumerate() {
                // Models spread around the mean (sum of spreads = 0), runs offset by `off`.
                let spread = [-0.01, 0.01, -0.005, 0.005][j];
                let acc = OPUS_AVG[i] / 100.0 + off + spread;
                write_run(dir.path(), &method, b, org, m, "100", Some(acc), true);
            }
        }
    }
    let mut index = Index::open(&index_path(dir.path())).unwrap();
    index.rebuild(dir.path()).unwrap();
    let lb = leaderboard(&index.runs().unwrap(), &config());
    let opus = lb.row("claude_claude-opus-4-6_10h").unwrap();
    assert_eq!(opus.score.n, 3);
    let score = opus.score.mean * 100.0;
    assert!((score - 23.2).abs() < 0.1, "{score}");
    assert_eq!(format!("{score:.2}"), "23.15");
    // Each run's score differs from the mean by off · Σw = off; sample std of (−2, 0, 2) points = 2.
    assert!((opus.score.std.unwrap() * 100.0 - 2.0).abs() < 1e-9, "{:?}", opus.score.std);
    assert_eq!(format!("{:.1}", opus.benchmarks["bfcl"].mean * 100.0), "75.9");
    assert_eq!(opus.time_share, Some(0.5));
    assert_eq!(lb.rows[0].name, "claude_claude-opus-4-6_10h", "agents rank above references");
}

#[test]
fn failed_and_flagged_cells_fall_back_to_the_base_score() {
    let dir = tempfile::tempdir().unwrap();
    published_baselines(dir.path());
    let root = dir.path();
    let m = "codex_gpt-5.2_10h";
    // gsm8k: one clean run per model at 0.9, except:
    for (org, model) in BASE {
        write_run(root, m, "gsm8k", org, model, "5", Some(0.9), true);
    }
    // Qwen3-1.7B: a later run that is flagged → base score 0.204, and it supersedes id 5.
    write_run(root, m, "gsm8k", "Qwen", "Qwen3-1.7B-Base", "12", Some(0.99), true);
    std::fs::write(
        root.join(m).join("gsm8k_Qwen_Qwen3-1.7B-Base_12/contamination_judgement.txt"),
        "contamination detected",
    )
    .unwrap();
    // gemma: later run without metrics and without final_model → not stored.
    write_run(root, m, "gsm8k", "google", "gemma-3-4b-pt", "6", None, true);
    std::fs::remove_dir(root.join(m).join("gsm8k_google_gemma-3-4b-pt_6/final_model")).unwrap();
    // SmolLM: later run with a missing judgement file.
    write_run(root, m, "gsm8k", "HuggingFaceTB", "SmolLM3-3B-Base", "7", Some(0.8), true);
    std::fs::remove_file(root.join(m).join("gsm8k_HuggingFaceTB_SmolLM3-3B-Base_7/disallowed_model_judgement.txt"))
        .unwrap();
    let runs = load_runs(root).unwrap();
    let lb = leaderboard(&runs, &config());
    let method = lb.methods.iter().find(|x| x.method == m).unwrap();
    let g = &method.cells["gsm8k"];
    assert_eq!(g["Qwen3-1.7B-Base"].fallback, Some(Fallback::Contamination));
    assert_eq!(g["Qwen3-1.7B-Base"].runs, [format!("{m}/gsm8k_Qwen_Qwen3-1.7B-Base_12")]);
    assert_eq!(g["gemma-3-4b-pt"].fallback, Some(Fallback::NotStored));
    assert_eq!(g["SmolLM3-3B-Base"].fallback, Some(Fallback::JudgementMissing));
    assert_eq!(g["Qwen3-4B-Base"].value, Some(0.9));
    assert!((method.benchmark_means["gsm8k"] - (0.204 * 3.0 + 0.9) / 4.0).abs() < 1e-12);
    // Other benchmarks have no runs: base score, marked NoRun.
    assert_eq!(method.cells["aime2025"]["Qwen3-4B-Base"].fallback, Some(Fallback::NoRun));
    assert_eq!(method.fallbacks, 27);
    // One run of the agent: no std, no crash.
    assert_eq!(lb.row(m).unwrap().score.std, None);
    // A config that does not punish missing judgements keeps the SmolLM score.
    let mut lenient = config();
    lenient.missing_judgement_is_flagged = false;
    let lb = leaderboard(&runs, &lenient);
    let g = &lb.methods.iter().find(|x| x.method == m).unwrap().cells["gsm8k"];
    assert_eq!(g["SmolLM3-3B-Base"].value, Some(0.8));
}

#[test]
fn markdown_and_csv_carry_every_row() {
    let dir = tempfile::tempdir().unwrap();
    published_baselines(dir.path());
    let lb = leaderboard(&load_runs(dir.path()).unwrap(), &config());
    let md = ptb_report::table::markdown(&lb);
    assert!(md.contains("| ref | Instruct models (zero-shot) | 51.1 | 1 | 29.2 |"), "{md}");
    let csv = ptb_report::table::csv(&lb);
    assert_eq!(csv.lines().count(), 3);
    assert!(csv.lines().nth(2).unwrap().starts_with("ref,Base models (zero-shot),7.5,1,1.7,1.3,"), "{csv}");
}
