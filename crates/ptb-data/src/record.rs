//! The fetch record: a small JSON file per data folder (`ptb-data.json`) that says where each file came
//! from and which sha256 it had when it was fetched. Files without a registry hash are checked against it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::DataError;

/// File name of the fetch record inside a benchmark folder (and inside `templates/`).
pub const RECORD_FILE: &str = "ptb-data.json";

/// What was fetched into one folder, keyed by the file's path relative to that folder.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FetchRecord {
    /// One entry per fetched file.
    pub files: BTreeMap<String, FileRecord>,
}

/// Where one file came from and what it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRecord {
    /// The URL it was downloaded from.
    pub url: String,
    /// The Hub revision it was pinned to (`None` for plain URLs).
    pub revision: Option<String>,
    /// Size in bytes.
    pub size: u64,
    /// sha256 of the content (hex).
    pub sha256: String,
    /// When the download finished (RFC 3339, UTC).
    pub fetched_at: String,
}

impl FetchRecord {
    /// The record's path for a folder.
    pub fn path_in(folder: &Path) -> PathBuf {
        folder.join(RECORD_FILE)
    }

    /// Reads the record of `folder`; an absent record is an empty one.
    pub fn load(folder: &Path) -> Result<Self, DataError> {
        let path = Self::path_in(folder);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| DataError::Record { path: path.clone(), message: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(DataError::io("read", path)(e)),
        }
    }

    /// Writes the record of `folder` atomically.
    pub fn save(&self, folder: &Path) -> Result<(), DataError> {
        let path = Self::path_in(folder);
        ptb_core::fsutil::atomic_write_json(&path, self).map_err(DataError::io("write", path))
    }
}
