//! Verification of fetched files: every present file is re-hashed and compared with the registry's sha256,
//! or with the sha256 recorded at fetch time when the registry pins none.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use ptb_core::{BenchmarkSpec, TemplateSpec};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::DataError;
use crate::record::FetchRecord;

/// The state of one pinned file on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum FileStatus {
    /// Present, with the expected sha256.
    Ok { sha256: String },
    /// Present, with another sha256 than expected.
    Mismatch { expected: String, got: String },
    /// Not present.
    Missing,
    /// Present, but neither the registry nor the fetch record holds a sha256 to compare with.
    Unpinned { sha256: String },
}

/// The check of one pinned file.
#[derive(Debug, Clone, Serialize)]
pub struct FileCheck {
    /// `benchmark <id> (<role>)` or `template <name>`.
    pub what: String,
    /// Where the file is expected.
    pub path: PathBuf,
    /// What was found.
    #[serde(flatten)]
    pub status: FileStatus,
}

impl FileCheck {
    /// True for [`FileStatus::Ok`] and [`FileStatus::Unpinned`]: nothing is known to be wrong.
    pub fn is_ok(&self) -> bool {
        matches!(self.status, FileStatus::Ok { .. } | FileStatus::Unpinned { .. })
    }
}

/// Checks every pinned file of benchmark `bench_id` in `{data_dir}/{folder}/`.
pub fn verify_benchmark(data_dir: &Path, bench_id: &str, spec: &BenchmarkSpec) -> Result<Vec<FileCheck>, DataError> {
    let folder = data_dir.join(&spec.folder);
    let pins =
        spec.files.iter().map(|f| (format!("benchmark {bench_id} ({})", f.role), f.path.as_str(), f.sha256.as_str()));
    verify_folder(&folder, pins)
}

/// Checks the pinned chat templates in `{data_dir}/templates/`.
pub fn verify_templates(
    data_dir: &Path,
    templates: &BTreeMap<String, TemplateSpec>,
) -> Result<Vec<FileCheck>, DataError> {
    let pins = templates.iter().map(|(name, t)| (format!("template {name}"), t.file.as_str(), t.sha256.as_str()));
    verify_folder(&data_dir.join("templates"), pins)
}

fn verify_folder<'a>(
    folder: &Path,
    pins: impl Iterator<Item = (String, &'a str, &'a str)>,
) -> Result<Vec<FileCheck>, DataError> {
    let record = FetchRecord::load(folder)?;
    let mut checks = Vec::new();
    for (what, rel, pinned) in pins {
        let path = folder.join(rel);
        let expected = match pinned {
            "" => record.files.get(rel).map(|r| r.sha256.clone()),
            sha => Some(sha.to_string()),
        };
        let status = if !path.is_file() {
            FileStatus::Missing
        } else {
            let (_, got) = hash_file(&path)?;
            match expected {
                None => FileStatus::Unpinned { sha256: got },
                Some(e) if e.eq_ignore_ascii_case(&got) => FileStatus::Ok { sha256: got },
                Some(expected) => FileStatus::Mismatch { expected, got },
            }
        };
        checks.push(FileCheck { what, path, status });
    }
    Ok(checks)
}

/// The size and sha256 (lowercase hex) of a file.
pub fn hash_file(path: &Path) -> Result<(u64, String), DataError> {
    let (size, hasher) = hash_reader(path)?;
    Ok((size, hex::encode(hasher.finalize())))
}

/// The size of a file and a hasher fed with its content, so a resumed download can continue hashing.
pub(crate) fn hash_reader(path: &Path) -> Result<(u64, Sha256), DataError> {
    let mut file = std::fs::File::open(path).map_err(DataError::io("open", path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(DataError::io("read", path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, hasher))
}
