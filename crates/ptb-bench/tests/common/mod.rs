//! Helpers shared by ptb-bench's integration tests.

use std::path::PathBuf;

/// The real benchmark files: `$PTB_SHARED_DIR/datasets`, else `../shared/datasets` beside the checkout.
pub fn datasets() -> PathBuf {
    match std::env::var_os("PTB_SHARED_DIR").filter(|d| !d.is_empty()) {
        Some(shared) => PathBuf::from(shared).join("datasets"),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/datasets")),
    }
}
