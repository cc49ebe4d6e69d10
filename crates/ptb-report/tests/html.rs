//! The HTML report in headless Chromium: pages load without script errors, the leaderboard has the
//! expected rows, the transcript filter works; a screenshot is kept under the target tmp dir.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use ptb_core::Registry;
use ptb_report::aggregate::AggregateConfig;

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()))
}

fn headless(bin: &str, profile: &Path, extra: &[&str], url: &str) -> (String, String) {
    let out = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .unwrap();
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn fixture(root: &Path) {
    published_baselines(root);
    let m = "claude_claude-opus-4-6_10h_run1";
    for (i, b) in BENCHES.iter().enumerate() {
        for (org, model) in BASE {
            write_run(root, m, b, org, model, "3", Some(OPUS_AVG[i] / 100.0), true);
        }
    }
    let run = root.join(m).join("gsm8k_Qwen_Qwen3-4B-Base_3");
    std::fs::write(
        run.join("solve_out.txt"),
        "[2026-01-01T00:00:00Z] CUDA available\n\
[2026-01-01T00:00:05Z] {\"type\":\"assistant\",\"text\":\"I will train with SFT\"}\n\
[2026-01-01T00:00:09Z] {\"type\":\"tool_use\",\"name\":\"Bash\",\"input\":\"python train.py <script>\"}\n\
[2026-01-01T01:00:00Z] {\"type\":\"result\",\"total_cost_usd\":4.62}\n",
    )
    .unwrap();
    std::fs::write(
        run.join("monitor.jsonl"),
        "{\"t\":0,\"gpu_util\":10}\n{\"t\":60,\"gpu_util\":95}\n{\"t\":120,\"gpu_util\":80}\n",
    )
    .unwrap();
    std::fs::write(run.join("prompt.txt"), "Post-train Qwen3-4B-Base for GSM8K.").unwrap();
}

#[test]
fn report_pages_work_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("results");
    fixture(&root);
    let runs = ptb_report::scan(&root).unwrap();
    let out = dir.path().join("site");
    let config = AggregateConfig::from_registry(&Registry::builtin());
    let n = ptb_report::html::write_site(&root, &runs, &config, &out).unwrap();
    assert_eq!(n, 1 + 1 + 7 + runs.len() + 1, "index, agent, benchmarks, runs, live");
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    for external in ["<link", "src=\"http", "href=\"http", "@import", "url("] {
        assert!(!index.contains(external), "no external assets: found {external}");
    }

    let Some(bin) = chromium() else {
        eprintln!("NOTICE: chromium not found; skipping the browser part of this test (apt-get install chromium)");
        return;
    };
    let profile = dir.path().join("profile");
    let url = |page: &str| format!("file://{}", out.join(page).display());
    for page in ["index.html", "agent-claude_claude-opus-4-6_10h.html", "bench-gsm8k.html", "live.html"] {
        let (dom, stderr) = headless(bin, &profile, &["--dump-dom"], &url(page));
        assert!(dom.contains("data-ready=\"1\""), "{page}: scripts did not finish\n{stderr}");
        assert!(!dom.contains("data-js-error=\""), "{page}: script error\n{dom}");
        assert!(!stderr.contains("Uncaught"), "{page}: {stderr}");
    }
    let (dom, _) = headless(bin, &profile, &["--dump-dom"], &url("index.html"));
    let rows: Vec<&str> = dom.split("<tr class=\"").skip(1).map(|r| r.split('"').next().unwrap()).collect();
    assert_eq!(rows, ["agent", "ref", "ref"]);
    assert!(dom.contains("claude_claude-opus-4-6_10h</a>"));
    assert!(dom.contains("<td>51.1</td>") && dom.contains("<td>7.5</td>"), "reference scores shown");

    let run_page = url("run-claude_claude-opus-4-6_10h_run1_gsm8k_Qwen_Qwen3-4B-Base_3.html");
    let (dom, _) = headless(bin, &profile, &["--dump-dom"], &run_page);
    assert!(dom.contains("data-shown=\"4\""), "all four events shown unfiltered");
    assert!(dom.contains("<polyline"), "monitor chart");
    let (dom, _) = headless(bin, &profile, &["--dump-dom"], &format!("{run_page}#types=tool_use,assistant"));
    assert!(dom.contains("data-shown=\"2\""), "type filter keeps two events");
    let (dom, _) = headless(bin, &profile, &["--dump-dom"], &format!("{run_page}#q=train.py"));
    assert!(dom.contains("data-shown=\"1\""), "search keeps one event");
    assert!(dom.contains("python train.py &lt;script&gt;"), "transcript text is escaped");

    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-index.png");
    let _ = std::fs::remove_file(&shot);
    headless(
        bin,
        &profile,
        &[&format!("--screenshot={}", shot.display()), "--window-size=1280,1000"],
        &url("index.html"),
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert_eq!(&png[..4], b"\x89PNG");
    assert!(png.len() > 10_000);
}
