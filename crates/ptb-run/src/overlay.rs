//! A copy-on-write view of the shared Hugging Face cache (fuse-overlayfs, as the original mounts it):
//! the agent reads the shared cache and writes into an upper directory of its own run, so nothing it
//! downloads or edits ever changes the shared cache.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::RunError;

/// A mounted overlay; unmounted when dropped.
#[derive(Debug)]
pub struct Overlay {
    merged: PathBuf,
}

impl Overlay {
    /// The mount point of the overlay of a run's scratch dir.
    pub fn merged_dir(scratch: &Path) -> PathBuf {
        scratch.join("hf_merged")
    }

    /// Where the agent's writes to the overlay of a run's scratch dir land.
    pub fn upper_dir(scratch: &Path) -> PathBuf {
        scratch.join("hf_upper")
    }

    /// Mounts `lower` (read-only) with writes going to `scratch/hf_upper`, at `scratch/hf_merged`,
    /// every file shown as owned by `owner` (the run's uid) so the agent can write anywhere in it.
    pub fn mount(lower: &Path, scratch: &Path, owner: Option<u32>) -> Result<Self, RunError> {
        let (upper, work, merged) = (Self::upper_dir(scratch), scratch.join("hf_work"), Self::merged_dir(scratch));
        for dir in [&upper, &work, &merged] {
            std::fs::create_dir_all(dir).map_err(|e| RunError::io(dir, e))?;
        }
        let mut options =
            format!("lowerdir={},upperdir={},workdir={},allow_other", lower.display(), upper.display(), work.display());
        if let Some(uid) = owner {
            options.push_str(&format!(",squash_to_uid={uid},squash_to_gid={uid}"));
        }
        let out = Command::new("fuse-overlayfs")
            .arg("-o")
            .arg(&options)
            .arg(&merged)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                RunError::Setup(format!(
                    "fuse-overlayfs ({e}) is needed for the agent's copy-on-write view of the Hugging Face cache {}: install it (Debian/Ubuntu: apt-get install fuse-overlayfs)",
                    lower.display()
                ))
            })?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let last = err.lines().rev().find(|l| !l.contains("argument ignored")).unwrap_or("").trim();
            return Err(RunError::Setup(format!(
                "fuse-overlayfs could not mount the Hugging Face cache {} ({last}); /dev/fuse must be usable",
                lower.display()
            )));
        }
        Ok(Self { merged })
    }

    /// The merged view to show the agent.
    pub fn merged(&self) -> &Path {
        &self.merged
    }
}

impl Drop for Overlay {
    fn drop(&mut self) {
        unmount(&self.merged);
    }
}

/// Unmounts the overlay at `merged` if one is mounted there (also one left behind by a harness that
/// was killed while its agent ran).
pub fn unmount(merged: &Path) {
    let unmounted =
        Command::new("fusermount").arg("-u").arg(merged).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    if !unmounted {
        let _ = Command::new("umount").arg("-l").arg(merged).stderr(Stdio::null()).status();
    }
}
