//! Plots: every chart is written as SVG and PNG; the SVG parses and names the agents.

mod common;

use common::*;
use ptb_core::Registry;
use ptb_report::aggregate::{AggregateConfig, leaderboard};

#[test]
fn charts_are_written_and_parse() {
    let dir = tempfile::tempdir().unwrap();
    published_baselines(dir.path());
    for run in 1..=2 {
        let method = format!("claude_claude-opus-4-6_10h_run{run}");
        for (i, b) in BENCHES.iter().enumerate() {
            for (org, m) in BASE {
                write_run(dir.path(), &method, b, org, m, "9", Some(OPUS_AVG[i] / 100.0 + 0.01 * run as f64), true);
            }
        }
    }
    let runs = ptb_report::scan(dir.path()).unwrap();
    let lb = leaderboard(&runs, &AggregateConfig::from_registry(&Registry::builtin()));
    let out = dir.path().join("plots");
    let files = ptb_report::plot::write_all(&lb, &out).unwrap();
    let names: Vec<String> = files.iter().map(|f| f.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(
        names,
        [
            "leaderboard.svg",
            "leaderboard.png",
            "time.svg",
            "time.png",
            "heatmap_claude_claude-opus-4-6_10h.svg",
            "heatmap_claude_claude-opus-4-6_10h.png"
        ]
    );
    for f in &files {
        let len = std::fs::metadata(f).unwrap().len();
        assert!(len > 5_000, "{} has only {len} bytes", f.display());
    }
    let png = std::fs::read(out.join("leaderboard.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let svg = std::fs::read_to_string(out.join("leaderboard.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let texts: Vec<&str> =
        doc.descendants().filter(|n| n.has_tag_name("text")).filter_map(|n| n.text()).map(str::trim).collect();
    assert!(texts.contains(&"claude_claude-opus-4-6_10h"), "{texts:?}");
    assert!(texts.iter().any(|t| t.starts_with("Instruct models (zero-shot) 51.1")), "{texts:?}");
    // The error bar: two runs → a whisker path besides the bars.
    assert!(doc.descendants().filter(|n| n.has_tag_name("polyline")).count() >= 3);
    let heat = std::fs::read_to_string(out.join("heatmap_claude_claude-opus-4-6_10h.svg")).unwrap();
    let doc = roxmltree::Document::parse(&heat).unwrap();
    let cells = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .filter(|t| t.trim().parse::<f64>().is_ok())
        .count();
    assert!(cells >= 28, "a value label per cell, found {cells}");
    // Kept as a test artifact.
    let artifacts = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("plots");
    std::fs::create_dir_all(&artifacts).unwrap();
    for f in &files {
        std::fs::copy(f, artifacts.join(f.file_name().unwrap())).unwrap();
    }
}
