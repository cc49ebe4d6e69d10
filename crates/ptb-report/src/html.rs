//! The static HTML report: works offline (inline CSS and JS, no external assets). Pages: the
//! leaderboard (`index.html`), one per agent, one per benchmark, one per run (spec, prompt, metrics,
//! integrity evidence, monitor charts, transcript with search and event-type filter) and `live.html`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::aggregate::{AggregateConfig, Leaderboard, RowKind, leaderboard};
use crate::error::ReportError;
use crate::store::{RunRecord, strip_timestamp};

const CSS: &str = "body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin:1em 0}\
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child,td.l{text-align:left}\
tr.ref{background:#f3f3f3;font-style:italic}pre{background:#f7f7f7;padding:8px;white-space:pre-wrap;max-height:30em;overflow:auto}\
.ev{border-left:4px solid #aac;margin:2px 0;padding:2px 6px;white-space:pre-wrap;font-family:monospace;font-size:12px}\
.ev[hidden]{display:none}.fb{color:#a40}nav a{margin-right:1em}";

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// A page file name for an agent, benchmark or run dir.
pub fn page_name(kind: &str, name: &str) -> String {
    let slug: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "-.".contains(c) { c } else { '_' }).collect();
    format!("{kind}-{slug}.html")
}

fn page(title: &str, body: &str, script: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title><style>{CSS}</style></head><body>\
<nav><a href=\"index.html\">Leaderboard</a><a href=\"live.html\">Live runs</a></nav><h1>{t}</h1>{body}\
<script>window.addEventListener('error',function(e){{document.body.setAttribute('data-js-error',String(e.message))}});\
{script}document.body.setAttribute('data-ready','1');</script></body></html>",
        t = esc(title)
    )
}

fn pct(v: f64) -> String {
    format!("{:.1}", v * 100.0)
}

fn leaderboard_page(lb: &Leaderboard, chart: &str) -> String {
    let mut t = String::from("<table id=\"leaderboard\"><tr>");
    for h in crate::table::header(lb) {
        t.push_str(&format!("<th>{}</th>", esc(&h)));
    }
    t.push_str("</tr>");
    for (row, cells) in lb.rows.iter().zip(crate::table::rows(lb)) {
        let class = if row.kind == RowKind::Reference { "ref" } else { "agent" };
        t.push_str(&format!("<tr class=\"{class}\">"));
        for (i, c) in cells.iter().enumerate() {
            if i == 1 && row.kind == RowKind::Agent {
                t.push_str(&format!("<td class=\"l\"><a href=\"{}\">{}</a></td>", page_name("agent", c), esc(c)));
            } else {
                t.push_str(&format!("<td>{}</td>", esc(c)));
            }
        }
        t.push_str("</tr>");
    }
    t.push_str("</table><p>Scores in %; ± = sample std over runs; * = incomplete grid.</p><h2>Benchmarks</h2><ul>");
    for b in &lb.benchmarks {
        t.push_str(&format!(
            "<li><a href=\"{}\">{}</a> (weight {:.4})</li>",
            page_name("bench", b),
            esc(b),
            lb.config.weights[b]
        ));
    }
    t.push_str("</ul>");
    page("PostTrainBench leaderboard", &format!("{t}<div class=\"chart\">{chart}</div>"), "")
}

fn agent_page(lb: &Leaderboard, agent: &str) -> String {
    let mut body = String::new();
    for m in lb.methods.iter().filter(|m| m.agent == agent) {
        body.push_str(&format!(
            "<h2>{} — {}%</h2><table class=\"cells\"><tr><th>benchmark</th>",
            esc(&m.method),
            pct(m.score)
        ));
        for model in &lb.config.base_models {
            body.push_str(&format!("<th>{}</th>", esc(model)));
        }
        body.push_str("<th>mean</th></tr>");
        for (bench, cells) in &m.cells {
            body.push_str(&format!("<tr><td>{}</td>", esc(bench)));
            for cell in cells.values() {
                let v = cell.value.map(pct).unwrap_or_else(|| "–".into());
                let mark = cell
                    .fallback
                    .as_ref()
                    .map(|f| format!(" <span class=\"fb\" title=\"base score: {f:?}\">({f:?})</span>"))
                    .unwrap_or_default();
                let link =
                    cell.runs.last().map(|r| format!("<a href=\"{}\">{v}</a>", page_name("run", r))).unwrap_or(v);
                body.push_str(&format!("<td>{link}{mark}</td>"));
            }
            body.push_str(&format!(
                "<td>{}</td></tr>",
                m.benchmark_means.get(bench).map(|v| pct(*v)).unwrap_or_default()
            ));
        }
        body.push_str("</table>");
    }
    page(&format!("Agent {agent}"), &body, "")
}

fn bench_page(lb: &Leaderboard, bench: &str) -> String {
    let mut body = String::from("<table><tr><th>agent</th>");
    for model in &lb.config.base_models {
        body.push_str(&format!("<th>{}</th>", esc(model)));
    }
    body.push_str("<th>mean</th></tr>");
    for row in &lb.rows {
        let class = if row.kind == RowKind::Reference { " class=\"ref\"" } else { "" };
        body.push_str(&format!("<tr{class}><td>{}</td>", esc(&row.name)));
        let cells = row.cells.get(bench);
        let models = if row.name.starts_with("Instruct") { &lb.config.instruct_models } else { &lb.config.base_models };
        for model in models {
            body.push_str(&format!(
                "<td>{}</td>",
                cells.and_then(|c| c.get(model)).map(|v| pct(*v)).unwrap_or_else(|| "–".into())
            ));
        }
        body.push_str(&format!(
            "<td>{}</td></tr>",
            row.benchmarks.get(bench).map(crate::table::pct).unwrap_or_default()
        ));
    }
    body.push_str("</table>");
    page(&format!("Benchmark {bench}"), &body, "")
}

fn read_text(dir: &Path, file: &str) -> Option<String> {
    std::fs::read(dir.join(file)).ok().map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// The event type of a transcript line: the `type` of a JSON event, else `text`.
fn event_type(line: &str) -> String {
    serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_string))
        .unwrap_or_else(|| "text".into())
}

/// Transcript lines kept on a page (the file link has the rest).
const MAX_EVENTS: usize = 20_000;

fn transcript(text: &str) -> String {
    let mut types = std::collections::BTreeSet::new();
    let mut events = String::new();
    let lines: Vec<&str> = text.lines().collect();
    for line in lines.iter().take(MAX_EVENTS) {
        let (ts, rest) = strip_timestamp(line);
        let ty = event_type(rest);
        events.push_str(&format!(
            "<div class=\"ev\" data-type=\"{}\"><b>{}</b> {}</div>",
            esc(&ty),
            esc(&format!("{} [{ty}]", ts.unwrap_or(""))),
            esc(rest)
        ));
        types.insert(ty);
    }
    let boxes: String = types
        .iter()
        .map(|t| format!("<label><input type=\"checkbox\" class=\"tf\" value=\"{0}\" checked> {0}</label> ", esc(t)))
        .collect();
    let cut = if lines.len() > MAX_EVENTS {
        format!("<p>first {MAX_EVENTS} of {} lines</p>", lines.len())
    } else {
        String::new()
    };
    format!(
        "<h2>Transcript</h2><input id=\"q\" type=\"search\" placeholder=\"search\"> {boxes}{cut}<div id=\"events\">{events}</div>"
    )
}

/// Filter script: search box + type checkboxes; `#q=…&types=a,b` in the URL presets them.
const FILTER_JS: &str = "function applyFilter(){var q=document.getElementById('q').value.toLowerCase();\
var on={};document.querySelectorAll('.tf').forEach(function(c){on[c.value]=c.checked});var n=0;\
document.querySelectorAll('.ev').forEach(function(e){var show=on[e.dataset.type]&&(!q||e.textContent.toLowerCase().indexOf(q)>=0);\
e.hidden=!show;if(show)n++});document.getElementById('events').setAttribute('data-shown',String(n))}\
if(document.getElementById('q')){var h=new URLSearchParams(location.hash.slice(1));if(h.has('q'))document.getElementById('q').value=h.get('q');\
if(h.has('types')){var ts=h.get('types').split(',');document.querySelectorAll('.tf').forEach(function(c){c.checked=ts.indexOf(c.value)>=0})}\
document.getElementById('q').addEventListener('input',applyFilter);document.querySelectorAll('.tf').forEach(function(c){c.addEventListener('change',applyFilter)});applyFilter()}";

/// One numeric series per key of `monitor.jsonl` (objects per line), drawn as inline SVG polylines.
fn monitor_charts(text: &str) -> String {
    let mut series: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for line in text.lines() {
        if let Ok(serde_json::Value::Object(obj)) = serde_json::from_str(line) {
            for (k, v) in obj {
                if let Some(x) = v.as_f64() {
                    series.entry(k).or_default().push(x);
                }
            }
        }
    }
    let mut out = String::from("<h2>Monitor</h2>");
    for (key, vals) in series.iter().filter(|(k, v)| v.len() > 1 && !["t", "time", "ts"].contains(&k.as_str())) {
        let (lo, hi) = vals.iter().fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
        let span = if hi > lo { hi - lo } else { 1.0 };
        let pts: Vec<String> = vals
            .iter()
            .enumerate()
            .map(|(i, v)| {
                format!("{:.1},{:.1}", i as f64 * 600.0 / (vals.len() - 1) as f64, 90.0 - (v - lo) / span * 80.0)
            })
            .collect();
        out.push_str(&format!(
            "<div class=\"mon\"><b>{}</b> ({lo:.1} – {hi:.1})<br><svg width=\"600\" height=\"100\" xmlns=\"http://www.w3.org/2000/svg\">\
<polyline fill=\"none\" stroke=\"#446ab4\" stroke-width=\"1.5\" points=\"{}\"/></svg></div>",
            esc(key),
            pts.join(" ")
        ));
    }
    out
}

fn run_page(results_dir: &Path, run: &RunRecord) -> String {
    let dir = results_dir.join(&run.dir);
    let mut body = format!(
        "<table><tr><th>method</th><td class=\"l\">{}</td></tr><tr><th>benchmark</th><td class=\"l\">{}</td></tr>\
<tr><th>model</th><td class=\"l\">{}/{}</td></tr><tr><th>run id</th><td class=\"l\">{}</td></tr><tr><th>accuracy</th><td class=\"l\">{}</td></tr>\
<tr><th>time</th><td class=\"l\">{}</td></tr><tr><th>final model</th><td class=\"l\">{}</td></tr><tr><th>phase</th><td class=\"l\">{}</td></tr></table>",
        esc(&run.method),
        esc(&run.benchmark),
        esc(&run.org),
        esc(&run.model),
        esc(&run.run_id),
        run.accuracy.map(pct).unwrap_or_else(|| esc(run.metrics_problem.as_deref().unwrap_or("–"))),
        run.time_seconds.map(crate::store::format_hms).unwrap_or_else(|| "–".into()),
        if run.final_model { "stored" } else { "not stored" },
        esc(run.phase.as_deref().unwrap_or("–")),
    );
    body.push_str(&format!(
        "<h2>Integrity</h2><p>contamination: <b>{:?}</b>; disallowed model: <b>{:?}</b></p>",
        run.contamination, run.disallowed
    ));
    for (title, file) in [
        ("Run spec", "run.json"),
        ("Metrics", "metrics.json"),
        ("Prompt", "prompt.txt"),
        ("Contamination judgement", "contamination_judgement.txt"),
        ("Disallowed-model judgement", "disallowed_model_judgement.txt"),
        ("Judge output", "judge_output.txt"),
    ] {
        if let Some(text) = read_text(&dir, file) {
            body.push_str(&format!("<h2>{title}</h2><pre>{}</pre>", esc(&text)));
        }
    }
    if let Some(text) = read_text(&dir, "monitor.jsonl") {
        body.push_str(&monitor_charts(&text));
    }
    if let Some(text) = read_text(&dir, "solve_out.txt") {
        body.push_str(&transcript(&text));
    }
    page(&format!("Run {}", run.dir), &body, FILTER_JS)
}

/// Runs in progress: a run.json phase that is not final; time left from `started_at` + budget.
pub fn live_rows(results_dir: &Path, runs: &[RunRecord]) -> Vec<serde_json::Value> {
    let now = chrono::Utc::now();
    runs.iter()
        .filter(|r| r.phase.as_deref().is_some_and(|p| !["done", "finished", "failed", "cancelled"].contains(&p)))
        .map(|r| {
            let left = r.started_at.as_deref().and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok()).map(|s| {
                let end = s + chrono::Duration::seconds((r.budget_hours.unwrap_or(10.0) * 3600.0) as i64);
                (end.with_timezone(&chrono::Utc) - now).num_seconds().max(0)
            });
            let last = read_text(&results_dir.join(&r.dir), "solve_out.txt").and_then(|t| {
                t.lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .map(|l| strip_timestamp(l).1.chars().take(200).collect::<String>())
            });
            serde_json::json!({"run": r.dir, "phase": r.phase, "seconds_left": left, "last_action": last})
        })
        .collect()
}

/// The live page; when served, its script polls `/api/live` every 5 s.
pub fn live_page(rows: &[serde_json::Value]) -> String {
    let mut t = String::from(
        "<table id=\"live\"><tr><th>run</th><th>phase</th><th>time left</th><th>last agent action</th></tr>",
    );
    for r in rows {
        let s = |k: &str| r.get(k).and_then(|v| v.as_str()).unwrap_or("–").to_string();
        let left =
            r.get("seconds_left").and_then(|v| v.as_u64()).map(crate::store::format_hms).unwrap_or_else(|| "–".into());
        t.push_str(&format!(
            "<tr><td class=\"l\">{}</td><td>{}</td><td>{left}</td><td class=\"l\">{}</td></tr>",
            esc(&s("run")),
            esc(&s("phase")),
            esc(&s("last_action"))
        ));
    }
    t.push_str("</table>");
    let js = "if(location.protocol.indexOf('http')===0){setInterval(function(){fetch('api/live').then(function(r){return r.json()})\
.then(function(rows){var t=document.getElementById('live');while(t.rows.length>1)t.deleteRow(1);rows.forEach(function(r){var tr=t.insertRow();\
[r.run,r.phase,r.seconds_left==null?'–':Math.floor(r.seconds_left/3600)+'h '+Math.floor(r.seconds_left%3600/60)+'m',r.last_action||'–']\
.forEach(function(v){tr.insertCell().textContent=v})})})},5000)}";
    page("Live runs", &t, js)
}

/// Every page of the site: file name → HTML.
pub fn site(
    results_dir: &Path,
    runs: &[RunRecord],
    config: &AggregateConfig,
) -> Result<BTreeMap<String, String>, ReportError> {
    let lb = leaderboard(runs, config);
    let chart = crate::plot::leaderboard_svg(&lb)?;
    let mut pages = BTreeMap::new();
    pages.insert("index.html".to_string(), leaderboard_page(&lb, &chart));
    for row in lb.rows.iter().filter(|r| r.kind == RowKind::Agent) {
        pages.insert(page_name("agent", &row.name), agent_page(&lb, &row.name));
    }
    for b in &lb.benchmarks {
        pages.insert(page_name("bench", b), bench_page(&lb, b));
    }
    for run in runs {
        pages.insert(page_name("run", &run.dir), run_page(results_dir, run));
    }
    pages.insert("live.html".into(), live_page(&live_rows(results_dir, runs)));
    Ok(pages)
}

/// Writes the site into `out`; returns the number of pages.
pub fn write_site(
    results_dir: &Path,
    runs: &[RunRecord],
    config: &AggregateConfig,
    out: &Path,
) -> Result<usize, ReportError> {
    let pages = site(results_dir, runs, config)?;
    std::fs::create_dir_all(out).map_err(|e| ReportError::io(out, e))?;
    for (name, html) in &pages {
        let path = out.join(name);
        std::fs::write(&path, html).map_err(|e| ReportError::io(&path, e))?;
    }
    Ok(pages.len())
}
