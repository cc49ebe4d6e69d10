//! The one error type of this crate: every variant renders as a single line that names the file, URL or
//! benchmark concerned and says what to do next.

use std::path::PathBuf;

/// Errors from fetching, verifying, locating or loading benchmark data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The HTTP client could not be built (TLS initialisation).
    #[error("cannot start the HTTP client: {message}")]
    Client { message: String },
    /// No connection could be made, or the request failed before any answer.
    #[error("cannot reach {url}: {message}; check the network connection and HF_ENDPOINT")]
    Unreachable { url: String, message: String },
    /// The server refused the request for lack of (valid) credentials: a gated dataset.
    #[error("{url} answered HTTP {status} (gated dataset): set HF_TOKEN and accept the dataset's terms at {page}")]
    Gated { url: String, status: u16, page: String },
    /// The server does not have the pinned file.
    #[error("{url} was not found (HTTP 404); check the repo, revision and path pinned for {what} in the registry")]
    NotFound { url: String, what: String },
    /// Any other unsuccessful HTTP status.
    #[error("{url} answered HTTP {status}; try again later, or check HF_ENDPOINT and the registry pin")]
    Http { url: String, status: u16 },
    /// The body stopped before it was complete; the `.part` file is kept for a resumed download.
    #[error("download of {url} stopped after {bytes} bytes ({message}); run the command again to resume")]
    Interrupted { url: String, bytes: u64, message: String },
    /// A downloaded file does not have the pinned sha256; the bad file has been removed.
    #[error("sha256 mismatch for {}: expected {expected}, got {got}; the file was removed, check the registry pin", path.display())]
    HashMismatch { path: PathBuf, expected: String, got: String },
    /// A file-system operation failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A registry entry cannot be fetched as written.
    #[error("invalid data pin for {what}: {message}; fix the entry in the registry or ptb.toml")]
    InvalidPin { what: String, message: String },
    /// The per-folder fetch record exists but cannot be parsed.
    #[error("fetch record {} is unreadable ({message}); delete it and run `ptb data fetch` again", path.display())]
    Record { path: PathBuf, message: String },
    /// No file for the benchmark's role was found in the data dir or the Hugging Face cache.
    #[error("no data for benchmark {benchmark} ({role}) in {}; run: ptb data fetch --benchmark {benchmark}", dir.display())]
    NoData { benchmark: String, role: String, dir: PathBuf },
    /// The benchmark has no pinned file with the requested role.
    #[error("benchmark {benchmark} has no data file with role '{role}'; its roles are: {roles}")]
    UnknownRole { benchmark: String, role: String, roles: String },
    /// A model repository is not in the local Hugging Face cache.
    #[error(
        "model {repo} (revision {revision}) is not in the Hugging Face cache {}; download it first (`hf download {repo}`) or give a local path",
        cache.display()
    )]
    ModelNotCached { repo: String, revision: String, cache: PathBuf },
    /// The file name does not end in a format the loaders read.
    #[error(
        "cannot read {}: unknown file type; ptb reads .jsonl, .json, .jsonl.gz, .json.gz, .parquet and .csv",
        path.display()
    )]
    UnsupportedFormat { path: PathBuf },
    /// A record of a text format (JSON, JSON lines, CSV) is malformed.
    #[error("malformed record in {} at line {line}: {message}", path.display())]
    Malformed { path: PathBuf, line: u64, message: String },
    /// A parquet file cannot be decoded.
    #[error("cannot read parquet file {}: {message}", path.display())]
    Parquet { path: PathBuf, message: String },
}

impl DataError {
    /// Wraps an I/O error with what was being done and to which path.
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| DataError::Io { action, path, source }
    }
}
