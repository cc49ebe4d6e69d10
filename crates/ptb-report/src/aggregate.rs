//! Aggregation as the original defines it (spec §12), with every choice in [`AggregateConfig`]:
//! cell = latest run (or mean of all runs) of (method, benchmark, model); missing metrics or a flagged
//! verdict → the base model's zero-shot score from `baseline_method`, marked; mean over the base models
//! per benchmark; weighted sum with the benchmark weights; mean and sample std over an agent's methods.

use std::collections::BTreeMap;
use std::path::Path;

use ptb_core::Registry;
use serde::{Deserialize, Serialize};

use crate::error::ReportError;
use crate::store::{Judgement, RunRecord, run_id_cmp};

/// Which runs of a cell count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Selection {
    /// The highest run id (the original's rule).
    Latest,
    /// The mean over all runs of the cell (a seed set).
    Mean,
}

/// The aggregation rules. Defaults reproduce the original; a TOML file may override any key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregateConfig {
    pub selection: Selection,
    /// Method dir of the zero-shot evaluations of base and instruct models (the fallback scores).
    pub baseline_method: String,
    /// Method dir of the few-shot base-model evaluations (a reference row only).
    pub fewshot_method: String,
    /// Bare names of the base models a method is averaged over.
    pub base_models: Vec<String>,
    /// Bare names of the official instruct models (reference row).
    pub instruct_models: Vec<String>,
    /// Benchmark weights (sum 1).
    pub weights: BTreeMap<String, f64>,
    /// Budget used for "% of budget" when a run does not name its own.
    pub budget_hours: f64,
    /// A missing or unreadable judgement file counts as flagged (the original's behaviour).
    pub missing_judgement_is_flagged: bool,
    /// Agent display name → its method dirs (several = several runs). Unlisted methods form groups by
    /// their name without a trailing `_run<N>…`.
    pub agents: BTreeMap<String, Vec<String>>,
    /// Substrings of method names left out of the leaderboard.
    pub exclude: Vec<String>,
}

fn bare(id: &str) -> String {
    id.rsplit('/').next().unwrap_or(id).to_string()
}

impl AggregateConfig {
    /// The original's rules with the registry's base models, their instruct counterparts and weights.
    pub fn from_registry(registry: &Registry) -> Self {
        Self {
            selection: Selection::Latest,
            baseline_method: "baseline_zeroshot".into(),
            fewshot_method: "baseline_fewshot".into(),
            base_models: registry.models.keys().map(|m| bare(m)).collect(),
            instruct_models: registry.models.values().filter_map(|m| m.forbidden.first()).map(|m| bare(m)).collect(),
            weights: registry.benchmarks.iter().map(|(id, b)| (id.clone(), b.weight)).collect(),
            budget_hours: 10.0,
            missing_judgement_is_flagged: true,
            agents: BTreeMap::new(),
            exclude: vec!["testing".into()],
        }
    }

    /// The defaults overridden by the keys of a TOML file.
    pub fn load(path: &Path, registry: &Registry) -> Result<Self, ReportError> {
        let config_err = |message: String| ReportError::Config { path: path.to_path_buf(), message };
        let text = std::fs::read_to_string(path).map_err(|e| ReportError::io(path, e))?;
        let over: toml::Table = text.parse().map_err(|e: toml::de::Error| config_err(e.message().to_string()))?;
        let mut base = toml::Table::try_from(Self::from_registry(registry)).expect("config serialises");
        // Lists and maps given in the file replace the defaults whole.
        for (k, v) in over {
            base.insert(k, v);
        }
        toml::Value::Table(base).try_into().map_err(|e: toml::de::Error| config_err(e.message().to_string()))
    }

    fn agent_of(&self, method: &str) -> String {
        if let Some((name, _)) = self.agents.iter().find(|(_, ms)| ms.iter().any(|m| m == method)) {
            return name.clone();
        }
        match method.find("_run") {
            Some(i) if method[i + 4..].starts_with(|c: char| c.is_ascii_digit()) => method[..i].to_string(),
            _ => method.to_string(),
        }
    }

    fn is_reference(&self, method: &str) -> bool {
        method == self.baseline_method || method == self.fewshot_method || method.starts_with("baseline")
    }
}

/// Why a cell shows the base model's score instead of the run's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// No run of the cell.
    NoRun,
    /// The solve phase never finished (no `time_taken.txt`; the original's `not avl.`).
    NotAvailable,
    /// No `final_model/` (`not stored`).
    NotStored,
    /// Evaluation failed (`ERR`).
    EvalFailed,
    Contamination,
    DisallowedModel,
    JudgementMissing,
}

/// One (benchmark, model) cell of a method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Score as a fraction; `None` when neither the run nor a baseline has one.
    pub value: Option<f64>,
    /// Set when the value is the base model's zero-shot score.
    pub fallback: Option<Fallback>,
    /// Run dirs that fed the cell.
    pub runs: Vec<String>,
    pub time_seconds: Option<u64>,
}

/// The aggregate of one method dir (one run of an agent over the grid).
#[derive(Debug, Clone, Serialize)]
pub struct MethodResult {
    pub method: String,
    pub agent: String,
    /// benchmark → model → cell.
    pub cells: BTreeMap<String, BTreeMap<String, Cell>>,
    /// benchmark → mean over models (fraction).
    pub benchmark_means: BTreeMap<String, f64>,
    /// Weighted score (fraction) over the benchmarks present.
    pub score: f64,
    /// Every weighted benchmark has a value for every model.
    pub complete: bool,
    pub fallbacks: usize,
    /// Mean solve time over cells with a time.
    pub time_seconds: Option<f64>,
    pub budget_hours: f64,
    pub tokens: Option<u64>,
    pub cost_usd: Option<f64>,
}

/// Mean and sample standard deviation (n−1); no std for a single value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stat {
    pub mean: f64,
    pub std: Option<f64>,
    pub n: usize,
}

impl Stat {
    /// Statistics of `values`; `None` when empty.
    pub fn of(values: &[f64]) -> Option<Self> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let std = (n > 1).then(|| (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt());
        Some(Self { mean, std, n })
    }
}

/// Whether a leaderboard row is an agent or a reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RowKind {
    Agent,
    Reference,
}

/// One leaderboard row (values as fractions).
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub name: String,
    pub kind: RowKind,
    pub methods: Vec<String>,
    pub score: Stat,
    pub complete: bool,
    pub benchmarks: BTreeMap<String, Stat>,
    /// benchmark → model → mean cell value over the methods.
    pub cells: BTreeMap<String, BTreeMap<String, f64>>,
    pub fallbacks: usize,
    pub time_hours: Option<Stat>,
    /// Mean time as a share of the budget (0..1).
    pub time_share: Option<f64>,
    /// Mean over methods of the tokens / cost of a full grid, where known.
    pub tokens: Option<f64>,
    pub cost_usd: Option<f64>,
}

/// The leaderboard: agents by score (best first), then the reference rows.
#[derive(Debug, Clone, Serialize)]
pub struct Leaderboard {
    pub benchmarks: Vec<String>,
    pub rows: Vec<Row>,
    pub methods: Vec<MethodResult>,
    pub config: AggregateConfig,
}

type CellRuns<'a> = BTreeMap<(String, String), Vec<&'a RunRecord>>;

fn cells_of<'a>(runs: &'a [RunRecord], method: &str) -> CellRuns<'a> {
    let mut out: CellRuns<'a> = BTreeMap::new();
    for r in runs.iter().filter(|r| r.method == method) {
        out.entry((r.benchmark.clone(), r.model.clone())).or_default().push(r);
    }
    for v in out.values_mut() {
        v.sort_by(|a, b| run_id_cmp(&a.run_id, &b.run_id));
    }
    out
}

fn run_fallback(r: &RunRecord, config: &AggregateConfig) -> Option<Fallback> {
    let missing = |j: Judgement| matches!(j, Judgement::Missing | Judgement::Unexpected);
    if r.accuracy.is_none() {
        return Some(if r.time_seconds.is_none() {
            Fallback::NotAvailable
        } else if !r.final_model {
            Fallback::NotStored
        } else {
            Fallback::EvalFailed
        });
    }
    if r.contamination == Judgement::Flagged {
        return Some(Fallback::Contamination);
    }
    if r.disallowed == Judgement::Flagged {
        return Some(Fallback::DisallowedModel);
    }
    if config.missing_judgement_is_flagged && (missing(r.contamination) || missing(r.disallowed)) {
        return Some(Fallback::JudgementMissing);
    }
    None
}

/// Plain per-model means of a reference method (no fallback, latest or mean per cell).
fn reference_values(runs: &[RunRecord], method: &str, selection: Selection) -> BTreeMap<(String, String), f64> {
    cells_of(runs, method)
        .into_iter()
        .filter_map(|(key, rs)| {
            let vals: Vec<f64> = match selection {
                Selection::Latest => rs.last().and_then(|r| r.accuracy).into_iter().collect(),
                Selection::Mean => rs.iter().filter_map(|r| r.accuracy).collect(),
            };
            Stat::of(&vals).map(|s| (key, s.mean))
        })
        .collect()
}

/// Aggregates one method dir.
pub fn aggregate_method(
    runs: &[RunRecord],
    method: &str,
    baseline: &BTreeMap<(String, String), f64>,
    config: &AggregateConfig,
) -> MethodResult {
    let by_cell = cells_of(runs, method);
    let mut cells: BTreeMap<String, BTreeMap<String, Cell>> = BTreeMap::new();
    let (mut tokens, mut cost, mut budget) = (None::<u64>, None::<f64>, None::<f64>);
    for bench in config.weights.keys() {
        for model in &config.base_models {
            let key = (bench.clone(), model.clone());
            let chosen: Vec<&RunRecord> = match (by_cell.get(&key), config.selection) {
                (None, _) => Vec::new(),
                (Some(rs), Selection::Latest) => rs.last().copied().into_iter().collect(),
                (Some(rs), Selection::Mean) => rs.clone(),
            };
            let base = baseline.get(&key).copied();
            let mut values = Vec::new();
            let mut fallback = chosen.is_empty().then_some(Fallback::NoRun);
            for r in &chosen {
                match run_fallback(r, config) {
                    None => values.push(r.accuracy.expect("checked by run_fallback")),
                    Some(f) => {
                        values.extend(base);
                        fallback.get_or_insert(f);
                    }
                }
                tokens = r.tokens.map(|t| tokens.unwrap_or(0) + t).or(tokens);
                cost = r.cost_usd.map(|c| cost.unwrap_or(0.0) + c).or(cost);
                budget = budget.or(r.budget_hours);
            }
            if chosen.is_empty() {
                values.extend(base);
            }
            let times: Vec<f64> = chosen.iter().filter_map(|r| r.time_seconds.map(|t| t as f64)).collect();
            let cell = Cell {
                value: Stat::of(&values).map(|s| s.mean),
                fallback,
                runs: chosen.iter().map(|r| r.dir.clone()).collect(),
                time_seconds: Stat::of(&times).map(|s| s.mean.round() as u64),
            };
            cells.entry(bench.clone()).or_default().insert(model.clone(), cell);
        }
    }
    let mut benchmark_means = BTreeMap::new();
    let mut complete = true;
    for (bench, models) in &cells {
        let vals: Vec<f64> = models.values().filter_map(|c| c.value).collect();
        complete &= vals.len() == config.base_models.len();
        if let Some(s) = Stat::of(&vals) {
            benchmark_means.insert(bench.clone(), s.mean);
        }
    }
    complete &= benchmark_means.len() == config.weights.len();
    let score = benchmark_means.iter().map(|(b, m)| config.weights[b] * m).sum();
    let times: Vec<f64> =
        cells.values().flat_map(|m| m.values()).filter_map(|c| c.time_seconds.map(|t| t as f64)).collect();
    MethodResult {
        method: method.to_string(),
        agent: config.agent_of(method),
        fallbacks: cells.values().flat_map(|m| m.values()).filter(|c| c.fallback.is_some()).count(),
        cells,
        benchmark_means,
        score,
        complete,
        time_seconds: Stat::of(&times).map(|s| s.mean),
        budget_hours: budget.unwrap_or(config.budget_hours),
        tokens,
        cost_usd: cost,
    }
}

fn reference_row(
    name: &str,
    values: &BTreeMap<(String, String), f64>,
    models: &[String],
    method: &str,
    config: &AggregateConfig,
) -> Option<Row> {
    let mut benchmarks = BTreeMap::new();
    let mut cells: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    let mut complete = true;
    for bench in config.weights.keys() {
        let vals: Vec<(String, f64)> =
            models.iter().filter_map(|m| values.get(&(bench.clone(), m.clone())).map(|v| (m.clone(), *v))).collect();
        complete &= vals.len() == models.len();
        let only: Vec<f64> = vals.iter().map(|(_, v)| *v).collect();
        if let Some(s) = Stat::of(&only) {
            benchmarks.insert(bench.clone(), Stat { std: None, n: 1, ..s });
        }
        cells.insert(bench.clone(), vals.into_iter().collect());
    }
    if benchmarks.is_empty() {
        return None;
    }
    let score = benchmarks.iter().map(|(b, s)| config.weights[b] * s.mean).sum();
    Some(Row {
        name: name.to_string(),
        kind: RowKind::Reference,
        methods: vec![method.to_string()],
        score: Stat { mean: score, std: None, n: 1 },
        complete: complete && benchmarks.len() == config.weights.len(),
        benchmarks,
        cells,
        fallbacks: 0,
        time_hours: None,
        time_share: None,
        tokens: None,
        cost_usd: None,
    })
}

fn agent_row(agent: &str, methods: &[&MethodResult]) -> Row {
    let scores: Vec<f64> = methods.iter().map(|m| m.score).collect();
    let mut benchmarks = BTreeMap::new();
    let mut cells: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for bench in methods[0].cells.keys() {
        let vals: Vec<f64> = methods.iter().filter_map(|m| m.benchmark_means.get(bench).copied()).collect();
        if let Some(s) = Stat::of(&vals) {
            benchmarks.insert(bench.clone(), s);
        }
        for model in methods[0].cells[bench].keys() {
            let vals: Vec<f64> = methods.iter().filter_map(|m| m.cells[bench][model].value).collect();
            if let Some(s) = Stat::of(&vals) {
                cells.entry(bench.clone()).or_default().insert(model.clone(), s.mean);
            }
        }
    }
    let hours: Vec<f64> = methods.iter().filter_map(|m| m.time_seconds.map(|t| t / 3600.0)).collect();
    let shares: Vec<f64> = methods.iter().filter_map(|m| m.time_seconds.map(|t| t / 3600.0 / m.budget_hours)).collect();
    let tokens: Vec<f64> = methods.iter().filter_map(|m| m.tokens.map(|t| t as f64)).collect();
    let costs: Vec<f64> = methods.iter().filter_map(|m| m.cost_usd).collect();
    Row {
        name: agent.to_string(),
        kind: RowKind::Agent,
        methods: methods.iter().map(|m| m.method.clone()).collect(),
        score: Stat::of(&scores).expect("an agent has at least one method"),
        complete: methods.iter().all(|m| m.complete),
        benchmarks,
        cells,
        fallbacks: methods.iter().map(|m| m.fallbacks).sum(),
        time_hours: Stat::of(&hours),
        time_share: Stat::of(&shares).map(|s| s.mean),
        tokens: Stat::of(&tokens).map(|s| s.mean),
        cost_usd: Stat::of(&costs).map(|s| s.mean),
    }
}

/// Builds the leaderboard from the runs of a store.
pub fn leaderboard(runs: &[RunRecord], config: &AggregateConfig) -> Leaderboard {
    let baseline = reference_values(runs, &config.baseline_method, config.selection);
    let mut method_names: Vec<&str> = runs.iter().map(|r| r.method.as_str()).collect();
    method_names.sort();
    method_names.dedup();
    let methods: Vec<MethodResult> = method_names
        .into_iter()
        .filter(|m| !config.is_reference(m) && !config.exclude.iter().any(|x| m.contains(x.as_str())))
        .map(|m| aggregate_method(runs, m, &baseline, config))
        .collect();
    let mut groups: BTreeMap<&str, Vec<&MethodResult>> = BTreeMap::new();
    for m in &methods {
        groups.entry(m.agent.as_str()).or_default().push(m);
    }
    let mut rows: Vec<Row> = groups.iter().map(|(agent, ms)| agent_row(agent, ms)).collect();
    rows.sort_by(|a, b| b.score.mean.total_cmp(&a.score.mean));
    let fewshot = reference_values(runs, &config.fewshot_method, config.selection);
    rows.extend(
        [
            reference_row(
                "Instruct models (zero-shot)",
                &baseline,
                &config.instruct_models,
                &config.baseline_method,
                config,
            ),
            reference_row("Base models (few-shot)", &fewshot, &config.base_models, &config.fewshot_method, config),
            reference_row("Base models (zero-shot)", &baseline, &config.base_models, &config.baseline_method, config),
        ]
        .into_iter()
        .flatten(),
    );
    Leaderboard { benchmarks: config.weights.keys().cloned().collect(), rows, methods, config: config.clone() }
}

/// Benchmark weights `1/(instruct − base)` normalised to sum 1, from per-benchmark averages. Benchmarks
/// without both averages, or where instruct does not beat base, are left out.
pub fn derive_weights(instruct: &BTreeMap<String, f64>, base: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    let raw: BTreeMap<String, f64> = instruct
        .iter()
        .filter_map(|(b, i)| base.get(b).filter(|s| i - *s > 0.0).map(|s| (b.clone(), 1.0 / (i - s))))
        .collect();
    let total: f64 = raw.values().sum();
    raw.into_iter().map(|(b, w)| (b, w / total)).collect()
}

impl Leaderboard {
    /// The reference row with this exact name.
    pub fn row(&self, name: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.name == name)
    }

    /// Weights derived from the instruct and base zero-shot reference rows.
    pub fn derived_weights(&self) -> BTreeMap<String, f64> {
        let means = |name| {
            self.row(name).map(|r| r.benchmarks.iter().map(|(b, s)| (b.clone(), s.mean)).collect()).unwrap_or_default()
        };
        derive_weights(&means("Instruct models (zero-shot)"), &means("Base models (zero-shot)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_use_the_sample_std_and_survive_one_run() {
        let s = Stat::of(&[1.0, 2.0, 3.0]).unwrap();
        assert_eq!((s.mean, s.std, s.n), (2.0, Some(1.0), 3));
        let one = Stat::of(&[0.4]).unwrap();
        assert_eq!((one.mean, one.std), (0.4, None));
        assert!(Stat::of(&[]).is_none());
    }

    #[test]
    fn agents_group_by_method_without_run_suffix() {
        let c = AggregateConfig::from_registry(&Registry::builtin());
        assert_eq!(c.agent_of("claude_claude-opus-4-6_10h_run1_old_container"), "claude_claude-opus-4-6_10h");
        assert_eq!(c.agent_of("claude_claude-opus-4-6_10h_run2"), "claude_claude-opus-4-6_10h");
        assert_eq!(c.agent_of("codex_gpt-5.2_10h"), "codex_gpt-5.2_10h");
        assert_eq!(c.instruct_models.len(), 4);
        assert!(c.instruct_models.contains(&"gemma-3-4b-it".to_string()));
    }
}
