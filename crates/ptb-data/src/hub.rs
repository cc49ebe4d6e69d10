//! Offline lookup: a benchmark file in the data dir or in an existing Hugging Face hub cache, and a base
//! model's snapshot directory in that cache.
//!
//! Cache layout: `{root}/{datasets|models}--{org}--{name}/refs/{revision}` holds a commit sha, and
//! `snapshots/{sha}/{path}` the files (symlinks into `blobs/`). A revision may also be a sha directly.

use std::path::{Path, PathBuf};

use ptb_core::{BenchmarkSpec, FileKind};

use crate::DataError;

/// The kind of a Hub repository, which prefixes its folder in the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepoType {
    /// `datasets--{org}--{name}`.
    Dataset,
    /// `models--{org}--{name}`.
    Model,
}

/// A Hugging Face hub cache directory (read only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubCache {
    root: PathBuf,
}

impl HubCache {
    /// The cache at `root` (the folder holding `datasets--*` and `models--*`).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The cache named by the environment: `$HF_HUB_CACHE`, else `$HUGGINGFACE_HUB_CACHE`, else
    /// `$HF_HOME/hub`, else `~/.cache/huggingface/hub`. `None` when no variable is set and there is no home.
    pub fn from_env() -> Option<Self> {
        Self::root_from(|name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from)).map(Self::new)
    }

    /// The cache root given a variable lookup (`from_env` with `std::env::var_os`).
    pub fn root_from(var: impl Fn(&str) -> Option<PathBuf>) -> Option<PathBuf> {
        var("HF_HUB_CACHE")
            .or_else(|| var("HUGGINGFACE_HUB_CACHE"))
            .or_else(|| var("HF_HOME").map(|h| h.join("hub")))
            .or_else(|| var("HOME").map(|h| h.join(".cache/huggingface/hub")))
    }

    /// The cache's root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The snapshot folder of `repo_id` at `revision` (a ref such as `main`, or a commit sha), if cached.
    pub fn snapshot(&self, kind: RepoType, repo_id: &str, revision: &str) -> Option<PathBuf> {
        let prefix = match kind {
            RepoType::Dataset => "datasets",
            RepoType::Model => "models",
        };
        let repo_dir = self.root.join(format!("{prefix}--{}", repo_id.replace('/', "--")));
        let snapshots = repo_dir.join("snapshots");
        let by_ref = std::fs::read_to_string(repo_dir.join("refs").join(revision))
            .ok()
            .map(|sha| sha.trim().to_string())
            .filter(|sha| !sha.is_empty() && !sha.contains(['/', '\\']) && sha != "..")
            .map(|sha| snapshots.join(sha));
        by_ref.into_iter().chain(is_commit_sha(revision).then(|| snapshots.join(revision))).find(|dir| dir.is_dir())
    }

    /// A file of a cached dataset repository at `revision`, if present.
    pub fn dataset_file(&self, repo_id: &str, revision: &str, path: &str) -> Option<PathBuf> {
        let file = self.snapshot(RepoType::Dataset, repo_id, revision)?.join(path);
        file.is_file().then_some(file)
    }

    /// The snapshot folder of a cached model (`revision` defaults to `main`), to resolve a base model id
    /// offline.
    pub fn model_snapshot(&self, repo_id: &str, revision: Option<&str>) -> Result<PathBuf, DataError> {
        let revision = revision.unwrap_or("main");
        self.snapshot(RepoType::Model, repo_id, revision).ok_or_else(|| DataError::ModelNotCached {
            repo: repo_id.to_string(),
            revision: revision.to_string(),
            cache: self.root.clone(),
        })
    }
}

fn is_commit_sha(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Finds the file of benchmark `bench_id` with `role`: its path or an alternative name in
/// `{data_dir}/{folder}/`, else (Hub files) in the hub cache named by the environment.
pub fn locate(data_dir: &Path, bench_id: &str, spec: &BenchmarkSpec, role: &str) -> Result<PathBuf, DataError> {
    locate_with(data_dir, HubCache::from_env().as_ref(), bench_id, spec, role)
}

/// [`locate`] with an explicit hub cache (`None`: the data dir only).
pub fn locate_with(
    data_dir: &Path,
    cache: Option<&HubCache>,
    bench_id: &str,
    spec: &BenchmarkSpec,
    role: &str,
) -> Result<PathBuf, DataError> {
    let Some(file) = spec.file(role) else {
        let roles: Vec<_> = spec.files.iter().map(|f| f.role.as_str()).collect();
        return Err(DataError::UnknownRole {
            benchmark: bench_id.to_string(),
            role: role.to_string(),
            roles: roles.join(", "),
        });
    };
    let folder = data_dir.join(&spec.folder);
    let names = || std::iter::once(&file.path).chain(&file.alternatives);
    if let Some(found) = names().map(|n| folder.join(n)).find(|p| p.is_file()) {
        return Ok(found);
    }
    if let (FileKind::Hub, Some(cache), Some(repo)) = (file.kind, cache, file.repo.as_deref()) {
        let revision = file.revision.as_deref().unwrap_or("main");
        if let Some(found) = names().find_map(|n| cache.dataset_file(repo, revision, n)) {
            return Ok(found);
        }
    }
    Err(DataError::NoData { benchmark: bench_id.to_string(), role: role.to_string(), dir: folder })
}
