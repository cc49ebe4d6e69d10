//! The errors of ptb-report: each names the file and what to do.

use std::path::PathBuf;

/// Errors from reading the store, indexing, aggregating and writing reports.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot access {path}: {source}; check that it exists and is readable/writable")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("results index {path}: {source}; delete the file and run `ptb index` to rebuild it")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error("{path} is not a results tree of the original PostTrainBench: {message}")]
    NotAResultsTree { path: PathBuf, message: String },
    #[error("aggregation config {path}: {message}; see `ptb leaderboard --help` for its keys")]
    Config { path: PathBuf, message: String },
    #[error("cannot draw {path}: {message}")]
    Plot { path: PathBuf, message: String },
    #[error("no runs under {path}; run `ptb index`, `ptb baseline` or `ptb import-original DIR` first")]
    Empty { path: PathBuf },
}

impl ReportError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }
}
