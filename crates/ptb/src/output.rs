//! Printing: tables on a terminal (comfy-table) or JSON with `--json`, and progress bars that hide
//! themselves when stderr is not a terminal or `-q` is given.

use comfy_table::{ContentArrangement, Table};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// Prints rows as a table, or as a JSON array of objects with `--json`.
pub fn print_table(json: bool, header: &[&str], rows: Vec<Vec<String>>) {
    if json {
        let objects: Vec<serde_json::Value> = rows
            .into_iter()
            .map(|row| {
                let map: serde_json::Map<String, serde_json::Value> =
                    header.iter().zip(row).map(|(h, v)| (h.to_string(), serde_json::Value::String(v))).collect();
                serde_json::Value::Object(map)
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&objects).expect("json"));
        return;
    }
    let mut table = Table::new();
    table.set_content_arrangement(ContentArrangement::Dynamic).set_header(header);
    for row in rows {
        table.add_row(row);
    }
    println!("{table}");
}

/// A progress bar for `total` items showing throughput, hidden unless stderr is a terminal.
pub fn progress_bar(quiet: bool, what: &str) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} items · {per_sec} · eta {eta}")
            .expect("template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

/// The error and its causes on one line; a cause whose text an outer message already includes
/// (library errors often embed their source) is not repeated.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !message.contains(&text) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&text);
        }
    }
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}
