//! `import-original` on a synthetic tree in the original's layout, with its quirks.

mod common;

use common::write_run;
use ptb_core::Registry;
use ptb_report::aggregate::{AggregateConfig, Fallback, leaderboard};
use ptb_report::import::{ImportSummary, import_original};
use ptb_report::{Index, index_path};

#[test]
fn original_tree_imports_with_its_quirks() {
    let dir = tempfile::tempdir().unwrap();
    let orig = dir.path().join("orig");
    let m = "claude_claude-opus-4-6_10h_run2";
    write_run(&orig, "baseline_zeroshot", "gsm8k", "Qwen", "Qwen3-4B-Base", "11", Some(0.2), false);
    // Two cluster ids for one cell: the later (numerically: 100 > 99) wins.
    write_run(&orig, m, "gsm8k", "Qwen", "Qwen3-4B-Base", "99", Some(0.9), true);
    write_run(&orig, m, "gsm8k", "Qwen", "Qwen3-4B-Base", "100", Some(0.7), true);
    // Missing judgement files.
    write_run(&orig, m, "bfcl", "Qwen", "Qwen3-4B-Base", "5", Some(0.8), true);
    std::fs::remove_file(orig.join(m).join("bfcl_Qwen_Qwen3-4B-Base_5/contamination_judgement.txt")).unwrap();
    // `not stored`: no final_model, no metrics.
    write_run(&orig, m, "humaneval", "Qwen", "Qwen3-4B-Base", "6", None, true);
    std::fs::remove_dir(orig.join(m).join("humaneval_Qwen_Qwen3-4B-Base_6/final_model")).unwrap();
    // Stray files and non-run dirs are ignored.
    std::fs::write(orig.join("aggregated_x.csv"), "model,gsm8k\n").unwrap();
    std::fs::create_dir_all(orig.join(m).join("notes")).unwrap();

    let results = dir.path().join("results");
    let summary = import_original(&orig, &results).unwrap();
    assert_eq!(summary, ImportSummary { methods: 2, runs: 5, missing_judgement: 2, not_stored: 2, superseded: 1 });
    assert!(!results.join(m).join("gsm8k_Qwen_Qwen3-4B-Base_100/final_model").exists(), "checkpoints are not copied");
    // Idempotent.
    assert_eq!(import_original(&orig, &results).unwrap(), summary);

    let mut index = Index::open(&index_path(&results)).unwrap();
    assert_eq!(index.rebuild(&results).unwrap(), 5);
    let runs = index.runs().unwrap();
    assert!(runs.iter().all(|r| r.source == "original"));
    let mut config = AggregateConfig::from_registry(&Registry::builtin());
    config.base_models = vec!["Qwen3-4B-Base".into()];
    let lb = leaderboard(&runs, &config);
    let method = &lb.methods[0];
    assert_eq!(method.cells["gsm8k"]["Qwen3-4B-Base"].value, Some(0.7));
    assert_eq!(method.cells["bfcl"]["Qwen3-4B-Base"].fallback, Some(Fallback::JudgementMissing));
    assert_eq!(method.cells["humaneval"]["Qwen3-4B-Base"].fallback, Some(Fallback::NotStored));
    assert_eq!(method.budget_hours, 10.0);

    let err = import_original(&dir.path().join("results/claude_claude-opus-4-6_10h_run2"), &dir.path().join("x"))
        .unwrap_err();
    assert!(err.to_string().contains("pass the results root"), "{err}");
}
