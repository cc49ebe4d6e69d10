//! Property tests: the judged benchmarks' extractors (ArenaHard's verdict label, HealthBench's grader
//! JSON, both answer cleaners) never panic on arbitrary judge or model output.

use proptest::prelude::*;
use ptb_bench::{arenahard, healthbench};

/// Text made of what the extractors look for, mixed with arbitrary Unicode.
fn judge_text() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "[[",
        "]]",
        "[",
        "]",
        "A",
        "B",
        ">",
        ">>",
        "<",
        "<<",
        "=",
        "<think>",
        "</think>",
        "```json",
        "```",
        "{",
        "}",
        "\"criteria_met\"",
        ":",
        "true",
        "false",
        " ",
        "\n",
        "\u{a0}",
        "\u{1c}",
        "ß",
        "ǅ",
        "İ",
    ]);
    let piece = prop_oneof![atoms.prop_map(str::to_string), any::<char>().prop_map(String::from)];
    let tricky = prop::collection::vec(piece, 0..40).prop_map(|v| v.concat());
    prop_oneof![tricky, any::<String>()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arena_label_extraction_never_panics(judgement in judge_text()) {
        if let Some(label) = arenahard::extract_label(&judgement) {
            let _ = arenahard::label_scores(&label);
        }
    }

    #[test]
    fn grader_json_parsing_never_panics(reply in judge_text()) {
        let _ = healthbench::parse_grader_json(&reply);
    }

    #[test]
    fn answer_cleaning_never_panics_or_grows(raw in judge_text()) {
        prop_assert!(arenahard::clean(&raw).len() <= raw.len());
        prop_assert!(healthbench::clean(&raw).len() <= raw.len());
    }
}
