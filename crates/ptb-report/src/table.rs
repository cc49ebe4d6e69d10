//! The leaderboard as rows of text cells, rendered as Markdown or CSV (the terminal table and JSON are
//! the binary's: the same header and rows).

use crate::aggregate::{Leaderboard, Row, Stat};

/// A score as a percentage with one decimal, `±std` when there are several runs.
pub fn pct(stat: &Stat) -> String {
    match stat.std {
        Some(std) => format!("{:.1} ± {:.1}", stat.mean * 100.0, std * 100.0),
        None => format!("{:.1}", stat.mean * 100.0),
    }
}

/// Column names of [`rows`].
pub fn header(lb: &Leaderboard) -> Vec<String> {
    let mut h = vec!["rank".to_string(), "agent".into(), "score".into(), "runs".into()];
    h.extend(lb.benchmarks.iter().cloned());
    h.extend(["time (h)".into(), "time (% budget)".into(), "tokens".into(), "cost ($)".into(), "fallbacks".into()]);
    h
}

fn row_cells(rank: String, lb: &Leaderboard, r: &Row) -> Vec<String> {
    let mark = if r.complete { "" } else { " *" };
    let mut cells = vec![rank, r.name.clone(), format!("{}{mark}", pct(&r.score)), r.score.n.to_string()];
    cells.extend(lb.benchmarks.iter().map(|b| r.benchmarks.get(b).map(pct).unwrap_or_else(|| "–".into())));
    let opt = |v: Option<String>| v.unwrap_or_else(|| "–".into());
    cells.push(opt(r.time_hours.map(|t| format!("{:.2}", t.mean))));
    cells.push(opt(r.time_share.map(|s| format!("{:.0}%", s * 100.0))));
    cells.push(opt(r.tokens.map(|t| format!("{t:.0}"))));
    cells.push(opt(r.cost_usd.map(|c| format!("{c:.2}"))));
    cells.push(r.fallbacks.to_string());
    cells
}

/// One row of text per leaderboard row; agents are ranked, references are not.
pub fn rows(lb: &Leaderboard) -> Vec<Vec<String>> {
    let mut rank = 0;
    lb.rows
        .iter()
        .map(|r| {
            let label = match r.kind {
                crate::aggregate::RowKind::Agent => {
                    rank += 1;
                    rank.to_string()
                }
                crate::aggregate::RowKind::Reference => "ref".into(),
            };
            row_cells(label, lb, r)
        })
        .collect()
}

/// A GitHub-flavoured Markdown table, with a footnote for incomplete rows.
pub fn markdown(lb: &Leaderboard) -> String {
    let h = header(lb);
    let mut out = format!("| {} |\n|{}|\n", h.join(" | "), vec!["---"; h.len()].join("|"));
    for r in rows(lb) {
        out.push_str(&format!("| {} |\n", r.iter().map(|c| c.replace('|', "\\|")).collect::<Vec<_>>().join(" | ")));
    }
    out.push_str(
        "\nScores in %, weighted over benchmarks; ± is the sample std over runs; * = some cells have no value.\n",
    );
    out
}

/// CSV with a header line (RFC 4180 quoting).
pub fn csv(lb: &Leaderboard) -> String {
    let quote = |c: &str| {
        if c.contains([',', '"', '\n']) { format!("\"{}\"", c.replace('"', "\"\"")) } else { c.to_string() }
    };
    let line = |cells: &[String]| cells.iter().map(|c| quote(c)).collect::<Vec<_>>().join(",") + "\n";
    let mut out = line(&header(lb));
    for r in rows(lb) {
        out.push_str(&line(&r));
    }
    out
}
