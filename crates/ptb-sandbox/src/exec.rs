//! Run one command under bubblewrap.
//!
//! The sandbox a command gets from [`Bubblewrap::exec`]:
//! - every namespace unshared (`--unshare-all`): no network but a loopback of its own, its own PIDs,
//!   IPC and hostname; no nested user namespaces where bwrap supports `--disable-userns`;
//! - `/usr` (and the `/bin`, `/lib*`, `/sbin` links or dirs) read-only, plus the dynamic-linker files
//!   of `/etc`; nothing else of the host (no `/etc/shadow`, `/root`, `/home`, repository or data);
//! - a fresh tmpfs [`WORK_DIR`] (the working directory) holding only the files of the spec, read-only,
//!   and a fresh tmpfs `/tmp`, both size-capped;
//! - a cleared environment; `--die-with-parent`, `--new-session`;
//! - limits set in the child before `exec` ([`Limits`]): CPU seconds, address space, processes, file
//!   size, open files, no core dumps. When ptb runs as root, the child first drops to a fresh unused
//!   uid/gid, because the kernel does not apply the process limit to root; each sandbox gets its own
//!   uid, so one sandbox's fork bomb cannot starve another's;
//! - a wall-clock limit, after which the whole process group is killed (the PID namespace takes every
//!   process of the sandbox with it), and stdout + stderr capped at [`Limits::output`] bytes.

use std::ffi::OsString;
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
use nix::sys::resource::{Resource, getrlimit, setrlimit};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// The sandbox's working directory (a private tmpfs).
pub const WORK_DIR: &str = "/sandbox";

/// Resource limits of one sandboxed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock limit; the process group is killed when it passes.
    pub wall: Duration,
    /// `RLIMIT_CPU` (seconds of CPU per process).
    pub cpu_seconds: u64,
    /// `RLIMIT_AS` (bytes of address space per process).
    pub address_space: u64,
    /// `RLIMIT_NPROC`: processes and threads the sandbox may hold at once (bwrap's own included).
    pub processes: u64,
    /// `RLIMIT_FSIZE` (bytes per file written).
    pub file_size: u64,
    /// `RLIMIT_NOFILE`.
    pub open_files: u64,
    /// Bytes of stdout plus stderr kept; more kills the command ([`Termination::OutputLimit`]).
    pub output: usize,
    /// Size of each tmpfs (the work dir and `/tmp`), where bwrap supports `--size`.
    pub tmpfs_size: u64,
}

impl Default for Limits {
    /// 30 s wall and CPU, 2 GiB address space, 64 processes, 16 MiB files, 256 open files,
    /// 10 MiB of output, 64 MiB tmpfs.
    fn default() -> Self {
        Self {
            wall: Duration::from_secs(30),
            cpu_seconds: 30,
            address_space: 2 << 30,
            processes: 64,
            file_size: 16 << 20,
            open_files: 256,
            output: 10 << 20,
            tmpfs_size: 64 << 20,
        }
    }
}

/// What to run: the command (inside the sandbox's view of the file system), the files placed in the
/// work dir, extra environment, extra read-only binds and the limits.
#[derive(Debug, Clone, Default)]
pub struct ExecSpec {
    /// The command and its arguments; `argv[0]` is looked up on the sandbox's `PATH`.
    pub argv: Vec<OsString>,
    /// `(name, contents)`: files created read-only in [`WORK_DIR`].
    pub files: Vec<(String, Vec<u8>)>,
    /// Environment variables beside the defaults (`PATH`, `HOME`, `TMPDIR`, `LANG`).
    pub env: Vec<(String, String)>,
    /// Host paths bound read-only at the same path (e.g. an interpreter installed outside `/usr`).
    pub ro_binds: Vec<PathBuf>,
    pub limits: Limits,
}

impl ExecSpec {
    /// A spec running `argv` with the default limits.
    pub fn new<I, S>(argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Self { argv: argv.into_iter().map(Into::into).collect(), ..Self::default() }
    }

    /// Adds a read-only file to the work dir.
    pub fn file(mut self, name: impl Into<String>, contents: impl Into<Vec<u8>>) -> Self {
        self.files.push((name.into(), contents.into()));
        self
    }

    /// Replaces the limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// How a sandboxed command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Termination {
    /// It exited with this status (a signal that killed the command inside shows as 128 + N).
    Exited(i32),
    /// bwrap itself was killed by this signal (e.g. `SIGXCPU` or `SIGKILL` from a limit).
    Signaled(i32),
    /// The wall-clock limit passed; the process group was killed.
    TimedOut,
    /// stdout + stderr exceeded [`Limits::output`]; the process group was killed.
    OutputLimit,
}

/// The result of one sandboxed command.
#[derive(Debug, Clone)]
pub struct ExecOutcome {
    pub termination: Termination,
    /// Captured stdout (the first bytes, up to the output limit).
    pub stdout: Vec<u8>,
    /// Captured stderr (the first bytes, up to the output limit).
    pub stderr: Vec<u8>,
    pub elapsed: Duration,
}

impl ExecOutcome {
    /// True when the command exited with status 0 within its limits.
    pub fn success(&self) -> bool {
        self.termination == Termination::Exited(0)
    }
}

/// Why a command could not be run in the sandbox (never the command's own failure).
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "bubblewrap (`bwrap`) was not found{0}; ptb runs model-written code only inside it: install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) and retry"
    )]
    BwrapMissing(String),
    #[error(
        "bubblewrap could not create the sandbox: {0} (user namespaces must be allowed; check `bwrap --unshare-all --ro-bind /usr /usr true`)"
    )]
    Setup(String),
    #[error("invalid sandbox spec: {0}")]
    Spec(String),
    #[error("sandbox: {what}: {source}")]
    Io { what: &'static str, source: std::io::Error },
}

fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> SandboxError {
    move |source| SandboxError::Io { what, source }
}

/// The bubblewrap backend: the `bwrap` binary and the options it supports.
#[derive(Debug, Clone)]
pub struct Bubblewrap {
    pub(crate) bwrap: PathBuf,
    pub(crate) has_size: bool,
    pub(crate) has_disable_userns: bool,
}

impl Bubblewrap {
    /// Finds `bwrap` on `PATH`.
    pub fn find() -> Result<Self, SandboxError> {
        find_program("bwrap").ok_or_else(|| SandboxError::BwrapMissing(" on PATH".into())).and_then(Self::at)
    }

    /// Uses the `bwrap` binary at `path`.
    pub fn at(path: impl Into<PathBuf>) -> Result<Self, SandboxError> {
        let bwrap = path.into();
        if !is_executable(&bwrap) {
            return Err(SandboxError::BwrapMissing(format!(" at {}", bwrap.display())));
        }
        let help = Command::new(&bwrap)
            .arg("--help")
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .map_err(|e| SandboxError::BwrapMissing(format!(" runnable at {} ({e})", bwrap.display())))?;
        let help = String::from_utf8_lossy(&help.stdout);
        Ok(Self { has_size: help.contains("--size"), has_disable_userns: help.contains("--disable-userns"), bwrap })
    }

    /// The `bwrap` binary in use.
    pub fn path(&self) -> &Path {
        &self.bwrap
    }

    /// Runs `spec` in a fresh sandbox and waits for it (at most the wall limit, plus the time to kill).
    pub fn exec(&self, spec: &ExecSpec) -> Result<ExecOutcome, SandboxError> {
        if spec.argv.is_empty() {
            return Err(SandboxError::Spec("no command".into()));
        }
        for (name, _) in &spec.files {
            if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
                return Err(SandboxError::Spec(format!("file name {name:?} is not a plain name")));
            }
        }
        // The files travel as open descriptors of unnamed temporary files, which bwrap copies in: no
        // host path is shared, and a dropped privilege cannot get in the way.
        let mut files = Vec::with_capacity(spec.files.len());
        for (_, contents) in &spec.files {
            let mut f = tempfile::tempfile().map_err(io("create a temporary file"))?;
            f.write_all(contents).map_err(io("write a temporary file"))?;
            f.rewind().map_err(io("rewind a temporary file"))?;
            files.push(f);
        }
        let (status_read, status_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)
            .map_err(|e| SandboxError::Io { what: "create a pipe", source: e.into() })?;

        let mut cmd = Command::new(&self.bwrap);
        self.add_args(&mut cmd, spec, &files, status_write.as_raw_fd());
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
        let limits = spec.limits.clone();
        let mut nproc = limits.processes;
        if nix::unistd::geteuid().is_root() {
            let id = fresh_id();
            cmd.uid(id).gid(id);
        } else {
            // The process limit counts every process of the uid, so leave room for those it has.
            nproc = nproc.saturating_add(tasks_of_uid(nix::unistd::getuid().as_raw()));
        }
        let inherit: Vec<RawFd> =
            files.iter().map(AsRawFd::as_raw_fd).chain([status_write.as_raw_fd()]).collect::<Vec<_>>();
        // SAFETY: between fork and exec the closure only makes async-signal-safe system calls
        // (setrlimit, fcntl) on values computed before the fork; it allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                // Never above the inherited hard limit, which an unprivileged process cannot raise.
                let set = |resource, value: u64| {
                    let (_, hard) = getrlimit(resource).map_err(std::io::Error::from)?;
                    let value = value.min(hard);
                    setrlimit(resource, value, value).map_err(std::io::Error::from)
                };
                set(Resource::RLIMIT_CPU, limits.cpu_seconds)?;
                set(Resource::RLIMIT_AS, limits.address_space)?;
                set(Resource::RLIMIT_NPROC, nproc)?;
                set(Resource::RLIMIT_FSIZE, limits.file_size)?;
                set(Resource::RLIMIT_NOFILE, limits.open_files)?;
                set(Resource::RLIMIT_CORE, 0)?;
                for &fd in &inherit {
                    let fd = std::os::fd::BorrowedFd::borrow_raw(fd);
                    fcntl(fd, FcntlArg::F_SETFD(FdFlag::empty())).map_err(std::io::Error::from)?;
                }
                Ok(())
            });
        }

        let started = Instant::now();
        let mut child = cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => SandboxError::BwrapMissing(format!(" at {}", self.bwrap.display())),
            _ => SandboxError::Io { what: "start bwrap", source: e },
        })?;
        drop(status_write);
        drop(cmd);
        drop(files);
        let pgid = Pid::from_raw(child.id() as i32);

        let used = Arc::new(AtomicUsize::new(0));
        let overflow = Arc::new(AtomicBool::new(false));
        let stdout = capture(child.stdout.take(), limits.output, &used, &overflow);
        let stderr = capture(child.stderr.take(), limits.output, &used, &overflow);
        let status_reader = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = File::from(status_read).read_to_string(&mut text);
            text
        });

        // The waiting thread is also the one that kills and reaps, so a kill never reaches a
        // recycled process group.
        let deadline = started + limits.wall;
        let mut killed: Option<Termination> = None;
        let mut pause = Duration::from_millis(1);
        let status = loop {
            if let Some(status) = child.try_wait().map_err(io("wait for bwrap"))? {
                break status;
            }
            if killed.is_none() {
                if overflow.load(Ordering::Relaxed) {
                    killed = Some(Termination::OutputLimit);
                } else if Instant::now() >= deadline {
                    killed = Some(Termination::TimedOut);
                }
                if killed.is_some() {
                    let _ = killpg(pgid, Signal::SIGKILL);
                }
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(10));
        };
        let elapsed = started.elapsed();
        let stdout = stdout.join().unwrap_or_default();
        let stderr = stderr.join().unwrap_or_default();
        let status_text = status_reader.join().unwrap_or_default();
        let termination = match killed {
            Some(t) => t,
            None if overflow.load(Ordering::Relaxed) => Termination::OutputLimit,
            None if !status_text.contains("\"exit-code\"") => {
                let message = String::from_utf8_lossy(&stderr);
                let message = message.trim();
                return Err(SandboxError::Setup(if message.is_empty() {
                    format!("bwrap ended ({status}) before starting the command")
                } else {
                    message.lines().last().unwrap_or(message).to_string()
                }));
            }
            None => match (status.code(), status.signal()) {
                (Some(code), _) => Termination::Exited(code),
                (None, Some(signal)) => Termination::Signaled(signal),
                (None, None) => Termination::Signaled(0),
            },
        };
        Ok(ExecOutcome { termination, stdout, stderr, elapsed })
    }

    fn add_args(&self, cmd: &mut Command, spec: &ExecSpec, files: &[File], status_fd: RawFd) {
        cmd.args(["--unshare-all", "--unshare-user"]);
        if self.has_disable_userns {
            cmd.arg("--disable-userns");
        }
        cmd.args(["--die-with-parent", "--new-session", "--hostname", "sandbox"]);
        cmd.args(system_ro_args(&[]));
        cmd.args(["--proc", "/proc", "--dev", "/dev"]);
        let size = spec.limits.tmpfs_size.to_string();
        for dir in ["/tmp", WORK_DIR] {
            if self.has_size {
                cmd.args(["--size", &size]);
            }
            cmd.args(["--tmpfs", dir]);
        }
        for ((name, _), file) in spec.files.iter().zip(files) {
            cmd.arg("--ro-bind-data").arg(file.as_raw_fd().to_string()).arg(format!("{WORK_DIR}/{name}"));
        }
        for path in &spec.ro_binds {
            cmd.arg("--ro-bind").arg(path).arg(path);
        }
        cmd.args(["--chdir", WORK_DIR, "--clearenv"]);
        let defaults =
            [("PATH", "/usr/local/bin:/usr/bin:/bin"), ("HOME", WORK_DIR), ("TMPDIR", "/tmp"), ("LANG", "C.UTF-8")];
        for (key, value) in defaults {
            if !spec.env.iter().any(|(k, _)| k == key) {
                cmd.args(["--setenv", key, value]);
            }
        }
        for (key, value) in &spec.env {
            cmd.args(["--setenv", key, value]);
        }
        cmd.arg("--json-status-fd").arg(status_fd.to_string());
        cmd.arg("--").args(&spec.argv);
    }
}

/// Reads a pipe to its end on a thread, keeping what fits in the shared output budget; past the
/// budget it raises `overflow` and drains the rest.
fn capture(
    pipe: Option<impl Read + Send + 'static>,
    limit: usize,
    used: &Arc<AtomicUsize>,
    overflow: &Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<u8>> {
    let (used, overflow) = (Arc::clone(used), Arc::clone(overflow));
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let Some(pipe) = pipe else { return kept };
        for_each_chunk(pipe, |chunk| {
            let before = used.fetch_add(chunk.len(), Ordering::Relaxed);
            let room = limit.saturating_sub(before);
            kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if chunk.len() > room {
                overflow.store(true, Ordering::Relaxed);
            }
        });
        kept
    })
}

/// The first executable file named `program` in a directory of `PATH`.
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|p| is_executable(p))
}

/// Calls `each` with every chunk read from `pipe` until its end (or a read error), retrying reads
/// interrupted by a signal.
pub(crate) fn for_each_chunk(mut pipe: impl Read, mut each: impl FnMut(&[u8])) {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match pipe.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => each(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// bwrap arguments that show the host's system read-only: `/usr`, the `/bin`, `/lib*`, `/sbin` links or
/// dirs, the dynamic-linker files of `/etc`, and the `extra_etc` entries of `/etc` that exist.
pub(crate) fn system_ro_args(extra_etc: &[&str]) -> Vec<OsString> {
    let mut args: Vec<OsString> = ["--ro-bind", "/usr", "/usr"].map(OsString::from).into();
    for dir in ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"] {
        let path = Path::new(dir);
        match std::fs::read_link(path) {
            Ok(target) => args.extend(["--symlink".into(), target.into_os_string(), dir.into()]),
            Err(_) if path.is_dir() => args.extend(["--ro-bind", dir, dir].map(OsString::from)),
            Err(_) => {}
        }
    }
    let etc = ["/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives"];
    for file in etc.iter().chain(extra_etc) {
        args.extend(["--ro-bind-try", file, file].map(OsString::from));
    }
    args
}

/// A uid/gid no account uses, different for every sandbox of this process and (through the pid)
/// from those of other ptb processes: 0x1000_0000 + (pid mod 2¹⁸) · 2¹² + (counter mod 2¹²).
pub fn fresh_id() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed) & 0xfff;
    0x1000_0000 + ((std::process::id() & 0x3_ffff) << 12) + n
}

/// Tasks (processes and threads) whose real uid is `uid`: what `RLIMIT_NPROC` already counts.
fn tasks_of_uid(uid: u32) -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0 };
    let mut total = 0;
    for entry in dir.flatten() {
        if !entry.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else { continue };
        let field =
            |name: &str| status.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.split_whitespace().next());
        if field("Uid:").and_then(|v| v.parse::<u32>().ok()) == Some(uid) {
            total += field("Threads:").and_then(|v| v.parse::<u64>().ok()).unwrap_or(1);
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_ids_are_unprivileged_and_distinct() {
        let a = fresh_id();
        let b = fresh_id();
        assert_ne!(a, b);
        assert!((0x1000_0000..u32::MAX - 1).contains(&a));
    }

    #[test]
    fn missing_bwrap_is_a_one_line_install_hint() {
        let err = Bubblewrap::at("/nonexistent/bwrap").unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, SandboxError::BwrapMissing(_)));
        assert!(text.contains("install bubblewrap"), "{text}");
        assert!(!text.contains('\n'));
    }

    #[test]
    fn bad_file_names_are_refused() {
        let bwrap = Bubblewrap::find().expect("bwrap is installed (scripts/setup.sh)");
        for name in ["", "..", "a/b"] {
            let spec = ExecSpec::new(["true"]).file(name, "x");
            assert!(matches!(bwrap.exec(&spec), Err(SandboxError::Spec(_))), "{name:?}");
        }
    }
}
