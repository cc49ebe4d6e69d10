//! Charts as SVG and PNG (plotters; PNG text uses the bundled DejaVu Sans, never a system font):
//! the leaderboard with error bars and reference lines, time used per agent, and a benchmark × model
//! heatmap per agent.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::aggregate::{Leaderboard, Row, RowKind};
use crate::error::ReportError;

/// DejaVu Sans (Bitstream Vera license, see `assets/DejaVuSans-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";
const BAR: RGBColor = RGBColor(66, 110, 180);

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        assert!(plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok(), "the bundled font parses");
    });
}

type DrawResult = Result<(), String>;

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

fn agents(lb: &Leaderboard) -> Vec<&Row> {
    lb.rows.iter().filter(|r| r.kind == RowKind::Agent).collect()
}

/// Horizontal bars of the agents' weighted scores (%), ± sample std, with the reference rows as lines.
fn draw_leaderboard<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, lb: &Leaderboard) -> DrawResult {
    root.fill(&WHITE).map_err(err)?;
    let rows = agents(lb);
    let refs: Vec<&Row> = lb.rows.iter().filter(|r| r.kind == RowKind::Reference).collect();
    let max =
        rows.iter().chain(&refs).map(|r| (r.score.mean + r.score.std.unwrap_or(0.0)) * 100.0).fold(10.0, f64::max);
    let n = rows.len().max(1) as f64;
    let mut chart = ChartBuilder::on(root)
        .caption("PostTrainBench leaderboard (weighted score, %)", (FAMILY, 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(240)
        .build_cartesian_2d(0.0..max * 1.1, -0.5..n - 0.5)
        .map_err(err)?;
    let names: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(rows.len().max(1))
        .y_label_formatter(&|y| names.get(y.round() as usize).cloned().unwrap_or_default())
        .label_style((FAMILY, 13))
        .x_desc("score (%)")
        .draw()
        .map_err(err)?;
    for (i, r) in rows.iter().enumerate() {
        let y = i as f64;
        let v = r.score.mean * 100.0;
        chart.draw_series([Rectangle::new([(0.0, y - 0.35), (v, y + 0.35)], BAR.filled())]).map_err(err)?;
        if let Some(std) = r.score.std {
            let (lo, hi) = (v - std * 100.0, v + std * 100.0);
            let whisker = [(lo, y), (hi, y)];
            chart.draw_series([PathElement::new(whisker, BLACK.stroke_width(2))]).map_err(err)?;
            for x in [lo, hi] {
                chart
                    .draw_series([PathElement::new([(x, y - 0.15), (x, y + 0.15)], BLACK.stroke_width(2))])
                    .map_err(err)?;
            }
        }
        chart
            .draw_series([Text::new(
                format!("{v:.1}"),
                (v + r.score.std.unwrap_or(0.0) * 100.0 + max * 0.01, y + 0.1),
                (FAMILY, 12),
            )])
            .map_err(err)?;
    }
    for (r, color) in refs.iter().zip([RED, GREEN, MAGENTA]) {
        let x = r.score.mean * 100.0;
        chart
            .draw_series([PathElement::new([(x, -0.5), (x, n - 0.5)], color.stroke_width(2))])
            .map_err(err)?
            .label(format!("{} {x:.1}", r.name))
            .legend(move |(lx, ly)| PathElement::new([(lx, ly), (lx + 16, ly)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .label_font((FAMILY, 12))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

/// Mean solve time per agent (hours), with the budget as a line.
fn draw_time<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, lb: &Leaderboard) -> DrawResult {
    root.fill(&WHITE).map_err(err)?;
    let rows: Vec<&Row> = agents(lb).into_iter().filter(|r| r.time_hours.is_some()).collect();
    let budget = lb.methods.iter().map(|m| m.budget_hours).fold(lb.config.budget_hours, f64::max);
    let n = rows.len().max(1) as f64;
    let mut chart = ChartBuilder::on(root)
        .caption("Time used per agent (hours, mean over runs)", (FAMILY, 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(240)
        .build_cartesian_2d(0.0..budget * 1.05, -0.5..n - 0.5)
        .map_err(err)?;
    let names: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(rows.len().max(1))
        .y_label_formatter(&|y| names.get(y.round() as usize).cloned().unwrap_or_default())
        .label_style((FAMILY, 13))
        .x_desc("hours")
        .draw()
        .map_err(err)?;
    for (i, r) in rows.iter().enumerate() {
        let (y, t) = (i as f64, r.time_hours.expect("filtered").mean);
        chart.draw_series([Rectangle::new([(0.0, y - 0.35), (t, y + 0.35)], BAR.filled())]).map_err(err)?;
        let share = r.time_share.map(|s| format!(" ({:.0}%)", s * 100.0)).unwrap_or_default();
        chart
            .draw_series([Text::new(format!("{t:.2} h{share}"), (t + budget * 0.01, y + 0.1), (FAMILY, 12))])
            .map_err(err)?;
    }
    chart.draw_series([PathElement::new([(budget, -0.5), (budget, n - 0.5)], RED.stroke_width(2))]).map_err(err)?;
    root.present().map_err(err)
}

/// Benchmark (columns) × base model (rows) heatmap of one agent's mean cell scores.
fn draw_heatmap<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, lb: &Leaderboard, row: &Row) -> DrawResult {
    root.fill(&WHITE).map_err(err)?;
    let benches = &lb.benchmarks;
    let models = &lb.config.base_models;
    let mut chart = ChartBuilder::on(root)
        .caption(format!("{}: score per benchmark and base model (%)", row.name), (FAMILY, 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(150)
        .build_cartesian_2d(-0.5..benches.len() as f64 - 0.5, -0.5..models.len() as f64 - 0.5)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(benches.len())
        .y_labels(models.len())
        .x_label_formatter(&|x| benches.get(x.round() as usize).cloned().unwrap_or_default())
        .y_label_formatter(&|y| models.get(y.round() as usize).cloned().unwrap_or_default())
        .label_style((FAMILY, 12))
        .draw()
        .map_err(err)?;
    for (i, b) in benches.iter().enumerate() {
        for (j, m) in models.iter().enumerate() {
            let v = row.cells.get(b).and_then(|c| c.get(m)).copied();
            let (x, y) = (i as f64, j as f64);
            let color = match v {
                Some(v) => {
                    let t = v.clamp(0.0, 1.0);
                    RGBColor((255.0 - 200.0 * t) as u8, (255.0 - 140.0 * t) as u8, 255).filled()
                }
                None => RGBColor(220, 220, 220).filled(),
            };
            chart.draw_series([Rectangle::new([(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)], color)]).map_err(err)?;
            let label = v.map(|v| format!("{:.1}", v * 100.0)).unwrap_or_else(|| "–".into());
            chart.draw_series([Text::new(label, (x - 0.15, y + 0.05), (FAMILY, 13))]).map_err(err)?;
        }
    }
    root.present().map_err(err)
}

/// The leaderboard chart as an SVG string (embedded in the HTML report).
pub fn leaderboard_svg(lb: &Leaderboard) -> Result<String, ReportError> {
    register_font();
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, size_for(lb)).into_drawing_area();
        draw_leaderboard(&root, lb).map_err(|message| ReportError::Plot { path: "leaderboard.svg".into(), message })?;
    }
    Ok(s)
}

fn size_for(lb: &Leaderboard) -> (u32, u32) {
    (1000, 140 + 34 * agents(lb).len().max(1) as u32)
}

fn slug(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' }).collect()
}

macro_rules! both {
    ($files:ident, $out:expr, $stem:expr, $size:expr, $draw:ident ( $($arg:expr),* )) => {{
        let svg = $out.join(format!("{}.svg", $stem));
        let png = $out.join(format!("{}.png", $stem));
        let plot_err = |path: &Path| { let path = path.to_path_buf(); move |message| ReportError::Plot { path, message } };
        $draw(&SVGBackend::new(&svg, $size).into_drawing_area(), $($arg),*).map_err(plot_err(&svg))?;
        $draw(&BitMapBackend::new(&png, $size).into_drawing_area(), $($arg),*).map_err(plot_err(&png))?;
        $files.push(svg);
        $files.push(png);
    }};
}

/// Writes `leaderboard`, `time` and `heatmap_<agent>` as `.svg` and `.png` into `out`.
pub fn write_all(lb: &Leaderboard, out: &Path) -> Result<Vec<PathBuf>, ReportError> {
    register_font();
    std::fs::create_dir_all(out).map_err(|e| ReportError::io(out, e))?;
    let mut files = Vec::new();
    both!(files, out, "leaderboard", size_for(lb), draw_leaderboard(lb));
    both!(files, out, "time", size_for(lb), draw_time(lb));
    for row in agents(lb) {
        both!(files, out, format!("heatmap_{}", slug(&row.name)), (900, 420), draw_heatmap(lb, row));
    }
    Ok(files)
}
