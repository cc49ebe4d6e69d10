//! ptb-data: the benchmark data layer.
//!
//! - [`Fetcher`] downloads the pinned files of a benchmark (Hugging Face Hub or plain URL) and the pinned
//!   chat templates into the data dir: resumable, hashed while streaming, checked against the registry
//!   and recorded in a per-folder [`FetchRecord`] (`ptb-data.json`).
//! - [`verify_benchmark`] / [`verify_templates`] re-hash what is on disk.
//! - [`locate`] finds a benchmark file offline (data dir, then the Hugging Face hub cache), and
//!   [`HubCache::model_snapshot`] resolves a cached base model.
//! - [`read_records`] loads `.jsonl`, `.json`, `.jsonl.gz`, `.json.gz`, `.parquet` and `.csv` files as JSON
//!   objects in file order.

mod error;
mod fetch;
mod hub;
mod load;
mod record;
mod verify;

pub use error::DataError;
pub use fetch::{FetchedFile, Fetcher, Progress};
pub use hub::{HubCache, RepoType, locate, locate_with};
pub use load::{Format, Record, read_records};
pub use record::{FetchRecord, FileRecord, RECORD_FILE};
pub use verify::{FileCheck, FileStatus, hash_file, verify_benchmark, verify_templates};
