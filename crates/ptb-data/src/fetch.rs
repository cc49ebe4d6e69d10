//! Downloads of pinned benchmark files and chat templates: resumable (`<file>.part` continued with a
//! `Range` request), hashed while streaming, checked against the registry's sha256 and recorded in the
//! folder's [`FetchRecord`].

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ptb_core::{BenchmarkSpec, DataFile, FileKind, TemplateSpec};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_RANGE, RANGE};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::record::{FetchRecord, FileRecord};
use crate::{DataError, hash_file};

/// How a [`Fetcher`] reports progress on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Progress {
    /// A progress bar when stderr is a terminal, plain log lines otherwise.
    #[default]
    Auto,
    /// Plain log lines, one per event.
    Lines,
    /// Nothing.
    Quiet,
}

/// The outcome for one file of a fetch.
#[derive(Debug, Clone)]
pub struct FetchedFile {
    /// Where the file is now.
    pub path: PathBuf,
    /// Its entry in the folder's fetch record.
    pub record: FileRecord,
    /// False when a valid copy was already present and nothing was downloaded.
    pub downloaded: bool,
}

/// Downloads pinned files from the Hugging Face Hub or plain URLs.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    endpoint: String,
    token: Option<String>,
    progress: Progress,
    attempts: u32,
}

/// One file to download, from a benchmark pin or a template pin.
struct Target<'a> {
    what: String,
    url: String,
    revision: Option<String>,
    /// The dataset page to name when the Hub refuses access; `Some` only for Hub files, which alone get
    /// the token.
    gated_page: Option<String>,
    expected: &'a str,
    folder: PathBuf,
    rel: &'a str,
}

impl Fetcher {
    /// A fetcher for the Hub at `endpoint` (e.g. `https://huggingface.co`), sending `token` as a bearer
    /// token to Hub URLs only.
    pub fn new(endpoint: &str, token: Option<String>) -> Result<Self, DataError> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("ptb/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(30))
            .read_timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| DataError::Client { message: error_chain(&e) })?;
        Ok(Self {
            client,
            endpoint: endpoint.trim_end_matches('/').to_string(),
            token: token.filter(|t| !t.is_empty()),
            progress: Progress::Auto,
            attempts: 3,
        })
    }

    /// A fetcher for the Hub at `endpoint` with the token from `$HF_TOKEN`, if set.
    pub fn from_env(endpoint: &str) -> Result<Self, DataError> {
        Self::new(endpoint, std::env::var("HF_TOKEN").ok())
    }

    /// Sets how progress is reported (default [`Progress::Auto`]).
    pub fn with_progress(mut self, progress: Progress) -> Self {
        self.progress = progress;
        self
    }

    /// Sets how many times one file is tried when its download stops midway (default 3, at least 1);
    /// each retry resumes from the `.part` file.
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// Fetches every pinned file of benchmark `bench_id` into `{data_dir}/{folder}/`, skipping files
    /// already present with the expected hash, and updates the folder's fetch record after each file.
    pub async fn fetch_benchmark(
        &self,
        data_dir: &Path,
        bench_id: &str,
        spec: &BenchmarkSpec,
    ) -> Result<Vec<FetchedFile>, DataError> {
        let folder = data_dir.join(&spec.folder);
        let mut targets = Vec::with_capacity(spec.files.len());
        for file in &spec.files {
            targets.push(self.benchmark_target(bench_id, file, &folder)?);
        }
        self.fetch_all(&folder, targets).await
    }

    /// Fetches the pinned chat templates into `{data_dir}/templates/`, the same way as benchmark files.
    pub async fn fetch_templates(
        &self,
        data_dir: &Path,
        templates: &BTreeMap<String, TemplateSpec>,
    ) -> Result<Vec<FetchedFile>, DataError> {
        let folder = data_dir.join("templates");
        let targets = templates
            .iter()
            .map(|(name, t)| Target {
                what: format!("template {name}"),
                url: t.url.clone(),
                revision: None,
                gated_page: None,
                expected: &t.sha256,
                folder: folder.clone(),
                rel: &t.file,
            })
            .collect();
        self.fetch_all(&folder, targets).await
    }

    fn benchmark_target<'a>(&self, bench_id: &str, file: &'a DataFile, folder: &Path) -> Result<Target<'a>, DataError> {
        let what = format!("benchmark {bench_id} ({})", file.role);
        let (gated_page, revision) = match file.kind {
            FileKind::Hub => {
                let Some(repo) = file.repo.as_deref().filter(|r| !r.is_empty()) else {
                    return Err(DataError::InvalidPin { what, message: "kind = \"hub\" needs a repo".into() });
                };
                (
                    Some(format!("{}/datasets/{repo}", self.endpoint)),
                    Some(file.revision.clone().unwrap_or_else(|| "main".into())),
                )
            }
            FileKind::Url => {
                if file.url.as_deref().is_none_or(str::is_empty) {
                    return Err(DataError::InvalidPin { what, message: "kind = \"url\" needs a url".into() });
                }
                (None, None)
            }
        };
        Ok(Target {
            url: file.download_url(&self.endpoint),
            what,
            revision,
            gated_page,
            expected: &file.sha256,
            folder: folder.to_path_buf(),
            rel: &file.path,
        })
    }

    async fn fetch_all(&self, folder: &Path, targets: Vec<Target<'_>>) -> Result<Vec<FetchedFile>, DataError> {
        let mut record = FetchRecord::load(folder)?;
        let mut out = Vec::with_capacity(targets.len());
        for target in targets {
            let fetched = self.fetch_one(&target, record.files.get(target.rel)).await?;
            if record.files.get(target.rel) != Some(&fetched.record) {
                record.files.insert(target.rel.to_string(), fetched.record.clone());
                record.save(folder)?;
            }
            out.push(fetched);
        }
        Ok(out)
    }

    async fn fetch_one(&self, t: &Target<'_>, recorded: Option<&FileRecord>) -> Result<FetchedFile, DataError> {
        check_relative(&t.what, t.rel)?;
        let dest = t.folder.join(t.rel);
        let reporter = Reporter::new(self.progress);
        let known = if t.expected.is_empty() { recorded.map(|r| r.sha256.as_str()) } else { Some(t.expected) };
        if let Some(known) = known.filter(|_| dest.is_file()) {
            let (size, sha) = hash_file_blocking(dest.clone()).await?;
            if sha.eq_ignore_ascii_case(known) {
                reporter.line(format_args!("up to date: {}", dest.display()));
                let record = match recorded {
                    Some(r) if r.sha256 == sha && r.url == t.url => r.clone(),
                    _ => new_record(t, size, sha),
                };
                return Ok(FetchedFile { path: dest, record, downloaded: false });
            }
        }
        let part = part_path(&dest);
        if let Some(dir) = part.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(DataError::io("create directory", dir))?;
        }
        let mut attempt = 1;
        let (size, sha) = loop {
            match self.download(t, &part, &reporter).await {
                Ok(done) => break done,
                Err(e @ DataError::Interrupted { .. }) if attempt < self.attempts => {
                    reporter.line(format_args!("{e}; retrying ({}/{})", attempt + 1, self.attempts));
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        };
        if !t.expected.is_empty() && !sha.eq_ignore_ascii_case(t.expected) {
            let _ = std::fs::remove_file(&part);
            let _ = std::fs::remove_file(&dest);
            return Err(DataError::HashMismatch { path: dest, expected: t.expected.to_string(), got: sha });
        }
        tokio::fs::rename(&part, &dest).await.map_err(DataError::io("move into place", &dest))?;
        reporter.line(format_args!("fetched {} ({size} bytes, sha256 {sha})", dest.display()));
        Ok(FetchedFile { path: dest, record: new_record(t, size, sha), downloaded: true })
    }

    /// One download attempt into `part`, resuming from its current length. Returns size and sha256.
    async fn download(&self, t: &Target<'_>, part: &Path, reporter: &Reporter) -> Result<(u64, String), DataError> {
        let mut offset = tokio::fs::metadata(part).await.map(|m| m.len()).unwrap_or(0);
        let mut request = self.client.get(&t.url);
        if let (Some(token), Some(_)) = (&self.token, &t.gated_page) {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if offset > 0 {
            request = request.header(RANGE, format!("bytes={offset}-"));
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| DataError::Unreachable { url: t.url.clone(), message: error_chain(&e.without_url()) })?;
        let status = response.status();
        match status {
            StatusCode::PARTIAL_CONTENT if offset > 0 => {
                let range = response.headers().get(CONTENT_RANGE).and_then(|v| v.to_str().ok()).unwrap_or("");
                if !range.starts_with(&format!("bytes {offset}-")) {
                    remove_part(part)?;
                    return Err(interrupted(t, 0, format!("server resumed at the wrong offset ({range:?})")));
                }
            }
            StatusCode::RANGE_NOT_SATISFIABLE if offset > 0 => {
                remove_part(part)?;
                return Err(interrupted(t, 0, "server refused to resume the partial file".into()));
            }
            s if s.is_success() => offset = 0,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN if t.gated_page.is_some() => {
                let page = t.gated_page.clone().unwrap_or_default();
                return Err(DataError::Gated { url: t.url.clone(), status: status.as_u16(), page });
            }
            StatusCode::NOT_FOUND => return Err(DataError::NotFound { url: t.url.clone(), what: t.what.clone() }),
            _ => return Err(DataError::Http { url: t.url.clone(), status: status.as_u16() }),
        }

        let mut hasher = Sha256::new();
        let mut file = if offset > 0 {
            let (_, prefix_hasher) = hash_prefix(part.to_path_buf()).await?;
            hasher = prefix_hasher;
            tokio::fs::OpenOptions::new().append(true).open(part).await
        } else {
            tokio::fs::File::create(part).await
        }
        .map_err(DataError::io("open", part))?;

        let total = response.content_length().map(|n| n + offset);
        reporter.start(&t.what, &t.url, total, offset);
        let mut written = offset;
        loop {
            match response.chunk().await {
                Ok(Some(bytes)) => {
                    file.write_all(&bytes).await.map_err(DataError::io("write", part))?;
                    hasher.update(&bytes);
                    written += bytes.len() as u64;
                    reporter.advance(bytes.len() as u64);
                }
                Ok(None) => break,
                Err(e) => {
                    file.flush().await.map_err(DataError::io("write", part))?;
                    reporter.stop();
                    return Err(interrupted(t, written, error_chain(&e)));
                }
            }
        }
        file.flush().await.map_err(DataError::io("write", part))?;
        file.sync_all().await.map_err(DataError::io("write", part))?;
        reporter.stop();
        if let Some(total) = total.filter(|&n| n != written) {
            return Err(interrupted(t, written, format!("expected {total} bytes")));
        }
        Ok((written, hex::encode(hasher.finalize())))
    }
}

fn new_record(t: &Target<'_>, size: u64, sha256: String) -> FileRecord {
    FileRecord {
        url: t.url.clone(),
        revision: t.revision.clone(),
        size,
        sha256,
        fetched_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

fn interrupted(t: &Target<'_>, bytes: u64, message: String) -> DataError {
    DataError::Interrupted { url: t.url.clone(), bytes, message }
}

fn remove_part(part: &Path) -> Result<(), DataError> {
    match std::fs::remove_file(part) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(DataError::io("remove", part)(e)),
        _ => Ok(()),
    }
}

/// `<file>.part`, beside the destination.
fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    dest.with_file_name(name)
}

/// Refuses registry paths that would escape the data folder.
fn check_relative(what: &str, rel: &str) -> Result<(), DataError> {
    let ok = !rel.is_empty() && Path::new(rel).components().all(|c| matches!(c, Component::Normal(_)));
    if ok {
        Ok(())
    } else {
        Err(DataError::InvalidPin {
            what: what.into(),
            message: format!("path '{rel}' must be relative, without '..'"),
        })
    }
}

async fn hash_file_blocking(path: PathBuf) -> Result<(u64, String), DataError> {
    tokio::task::spawn_blocking(move || hash_file(&path))
        .await
        .map_err(|e| DataError::Client { message: format!("hashing task failed: {e}") })?
}

async fn hash_prefix(path: PathBuf) -> Result<(u64, Sha256), DataError> {
    tokio::task::spawn_blocking(move || crate::verify::hash_reader(&path))
        .await
        .map_err(|e| DataError::Client { message: format!("hashing task failed: {e}") })?
}

/// An error and its sources on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Progress output for one file.
enum Reporter {
    Bar(ProgressBar),
    Lines,
    Quiet,
}

impl Reporter {
    fn new(progress: Progress) -> Self {
        match progress {
            Progress::Auto if std::io::stderr().is_terminal() => {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                let style = ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> ");
                bar.set_style(style);
                Reporter::Bar(bar)
            }
            Progress::Auto | Progress::Lines => Reporter::Lines,
            Progress::Quiet => Reporter::Quiet,
        }
    }

    fn start(&self, what: &str, url: &str, total: Option<u64>, offset: u64) {
        match self {
            Reporter::Bar(bar) => {
                bar.reset();
                if let Some(total) = total {
                    bar.set_length(total);
                }
                bar.set_position(offset);
                bar.set_message(what.to_string());
            }
            Reporter::Lines if offset > 0 => eprintln!("fetching {what}: {url} (resuming at byte {offset})"),
            Reporter::Lines => eprintln!("fetching {what}: {url}"),
            Reporter::Quiet => {}
        }
    }

    fn advance(&self, n: u64) {
        if let Reporter::Bar(bar) = self {
            bar.inc(n);
        }
    }

    fn stop(&self) {
        if let Reporter::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }

    fn line(&self, args: std::fmt::Arguments<'_>) {
        match self {
            Reporter::Bar(bar) => bar.suspend(|| eprintln!("{args}")),
            Reporter::Lines => eprintln!("{args}"),
            Reporter::Quiet => {}
        }
    }
}
