//! Runs a long untrusted process (a sandboxed agent) under limits applied from outside: a wall-clock
//! limit (SIGTERM to every process of the run, SIGKILL after a grace period, then the sandbox torn
//! down), a disk cap on a watched directory, a resource monitor, and a timestamped trace of everything
//! the process prints.
//!
//! When the harness runs as root the process runs as a fresh uid of its own ([`crate::fresh_id`]):
//! "every process of the run" is then every process of that uid, wherever it went (a new session, a
//! double fork), and the process limit applies (the kernel exempts root from it).

use std::ffi::OsString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::resource::{Resource, getrlimit, setrlimit};
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

/// What to run and the limits to hold it to.
#[derive(Debug, Clone)]
pub struct Supervised {
    /// Program and arguments (e.g. a bwrap command line from [`crate::SandboxSpec::bwrap_command`]).
    pub argv: Vec<OsString>,
    /// The whole environment of the program.
    pub env: Vec<(String, String)>,
    /// Working directory on the host.
    pub cwd: PathBuf,
    /// A file given to the program as its stdin (the agent's prompt), or nothing.
    pub stdin: Option<PathBuf>,
    /// Run as this uid/gid (requires root); `None` keeps the harness's own.
    pub uid: Option<u32>,
    /// The wall-clock limit, counted from the start of the program.
    pub time_limit: Duration,
    /// Between SIGTERM and SIGKILL.
    pub grace: Duration,
    /// Bytes the watched directories may hold together; more stops the run.
    pub disk_cap: Option<u64>,
    /// The directories whose size is watched and reported (the workspace, its `/tmp`, …).
    pub watch_dirs: Vec<PathBuf>,
    /// How often the disk cap is checked.
    pub disk_every: Duration,
    /// How often a line goes to the monitor file.
    pub monitor_every: Duration,
    /// Where the timestamped output goes (appended).
    pub trace: PathBuf,
    /// Where the monitor's JSON lines go (appended).
    pub monitor: PathBuf,
    /// `RLIMIT_NPROC` of the program's uid (only applied with `uid`).
    pub max_processes: u64,
}

/// How a supervised program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum End {
    /// It exited by itself with this status.
    Exited { code: i32 },
    /// It was killed by a signal not sent by the supervisor.
    Signaled { signal: i32 },
    /// The time limit passed; it was stopped.
    TimeLimit,
    /// The watched directories grew past the cap; it was stopped.
    DiskCap { bytes: u64 },
}

impl End {
    /// A sentence for run records and logs.
    pub fn describe(&self) -> String {
        match self {
            Self::Exited { code: 0 } => "exited normally".into(),
            Self::Exited { code } => format!("exited with status {code}"),
            Self::Signaled { signal } => format!("killed by signal {signal}"),
            Self::TimeLimit => "stopped at the time limit".into(),
            Self::DiskCap { bytes } => format!("stopped: the workspace reached {bytes} bytes, over the disk cap"),
        }
    }
}

/// The result of [`supervise`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SupervisedOutcome {
    pub end: End,
    pub elapsed_s: f64,
    /// Processes of the run still alive after the program ended, killed by the supervisor.
    pub leftovers_killed: usize,
}

/// Why the program could not be supervised (never the program's own failure).
#[derive(Debug, thiserror::Error)]
pub enum SuperviseError {
    #[error("cannot start {program}: {source}")]
    Start { program: String, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
}

/// Runs `spec` to its end or its limits and returns how it ended. The trace and monitor files are
/// written as things happen, so a crash of the harness loses nothing already printed.
pub fn supervise(spec: &Supervised) -> Result<SupervisedOutcome, SuperviseError> {
    let open_append = |path: &Path| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| SuperviseError::Write { path: path.to_path_buf(), source })
    };
    let trace = Arc::new(Mutex::new(open_append(&spec.trace)?));
    let mut monitor = open_append(&spec.monitor)?;
    let stdin = match &spec.stdin {
        Some(path) => {
            Stdio::from(File::open(path).map_err(|source| SuperviseError::Read { path: path.clone(), source })?)
        }
        None => Stdio::null(),
    };
    let program = spec.argv.first().cloned().unwrap_or_default();
    let mut cmd = Command::new(&program);
    cmd.args(&spec.argv[1..]).env_clear().envs(spec.env.iter().map(|(k, v)| (k, v))).current_dir(&spec.cwd);
    cmd.stdin(stdin).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    if let Some(uid) = spec.uid {
        cmd.uid(uid).gid(uid);
        let nproc = spec.max_processes;
        // SAFETY: the closure only calls setrlimit/getrlimit (async-signal-safe) on copied values.
        unsafe {
            cmd.pre_exec(move || {
                let (_, hard) = getrlimit(Resource::RLIMIT_NPROC).map_err(std::io::Error::from)?;
                setrlimit(Resource::RLIMIT_NPROC, nproc.min(hard), nproc.min(hard)).map_err(std::io::Error::from)?;
                setrlimit(Resource::RLIMIT_CORE, 0, 0).map_err(std::io::Error::from)
            });
        }
    }
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|source| SuperviseError::Start { program: program.to_string_lossy().into_owned(), source })?;
    let child_pid = child.id() as i32;
    let readers: Vec<_> = [child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>)]
        .into_iter()
        .chain([child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>)])
        .flatten()
        .map(|pipe| {
            let trace = Arc::clone(&trace);
            std::thread::spawn(move || copy_timestamped(pipe, &trace))
        })
        .collect();

    let deadline = started + spec.time_limit;
    let mut next_disk = started;
    let mut next_monitor = started;
    let mut stopping: Option<(End, Instant)> = None;
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        let now = Instant::now();
        // One walk of the watched dirs serves both the disk check and the monitor line.
        let disk_due = stopping.is_none() && now >= next_disk && now < deadline;
        let monitor_due = now >= next_monitor;
        let bytes = ((disk_due && spec.disk_cap.is_some()) || monitor_due).then(|| watched_bytes(spec));
        if stopping.is_none() {
            let mut reason = (now >= deadline).then_some(End::TimeLimit);
            if disk_due {
                next_disk = now + spec.disk_every;
                if let (Some(cap), Some(bytes)) = (spec.disk_cap, bytes)
                    && bytes > cap
                {
                    reason = Some(End::DiskCap { bytes });
                }
            }
            if let Some(reason) = reason {
                signal_run(spec.uid, child_pid, Signal::SIGTERM);
                stopping = Some((reason, now + spec.grace));
            }
        } else if let Some((_, kill_at)) = stopping
            && now >= kill_at
        {
            let _ = kill(Pid::from_raw(child_pid), Signal::SIGKILL);
            signal_run(spec.uid, child_pid, Signal::SIGKILL);
        }
        if let Some(bytes) = bytes.filter(|_| monitor_due) {
            next_monitor = now + spec.monitor_every;
            let _ = writeln!(monitor, "{}", monitor_line(started, spec, bytes));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // The program is gone; whatever of the run is left (a double-forked daemon outside any sandbox,
    // a GPU job) is killed now.
    let leftovers_killed = kill_leftovers(spec.uid, child_pid);
    // The trace is complete once every writer of the pipes is gone. Without a uid of its own, a
    // process that left the program's group may still hold them: stop waiting after a few seconds.
    let patience = Instant::now() + Duration::from_secs(5);
    while readers.iter().any(|r| !r.is_finished()) && Instant::now() < patience {
        std::thread::sleep(Duration::from_millis(20));
    }
    let end = match stopping {
        Some((reason, _)) => reason,
        None => match (status.code(), status.signal()) {
            (Some(code), _) => End::Exited { code },
            (None, Some(signal)) => End::Signaled { signal },
            (None, None) => End::Signaled { signal: 0 },
        },
    };
    let _ = writeln!(monitor, "{}", monitor_line(started, spec, watched_bytes(spec)));
    Ok(SupervisedOutcome { end, elapsed_s: started.elapsed().as_secs_f64(), leftovers_killed })
}

/// Copies a pipe into the trace, each line prefixed with `[YYYY-MM-DDTHH:MM:SSZ] ` (the original's
/// format) and written as soon as it is complete.
fn copy_timestamped(pipe: Box<dyn Read + Send>, trace: &Mutex<File>) {
    let flush = |line: &[u8]| {
        let stamp = chrono::Utc::now().format("[%Y-%m-%dT%H:%M:%SZ] ").to_string();
        let mut out = Vec::with_capacity(stamp.len() + line.len() + 1);
        out.extend_from_slice(stamp.as_bytes());
        out.extend_from_slice(line);
        if !line.ends_with(b"\n") {
            out.push(b'\n');
        }
        if let Ok(mut file) = trace.lock() {
            let _ = file.write_all(&out);
        }
    };
    let mut pending: Vec<u8> = Vec::new();
    crate::exec::for_each_chunk(pipe, |chunk| {
        pending.extend_from_slice(chunk);
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            flush(&line);
        }
    });
    if !pending.is_empty() {
        flush(&pending);
    }
}

/// Sends `signal` to every process of the run: every process of `uid` except the sandbox's own
/// outer process and the init of its PID namespace (whose death would tear the sandbox down before
/// the grace period), or the program's process group when the run has no uid of its own.
fn signal_run(uid: Option<u32>, child_pid: i32, signal: Signal) {
    match uid {
        Some(uid) => {
            for pid in processes_of(uid) {
                if signal == Signal::SIGKILL || (pid != child_pid && !is_namespace_init(pid)) {
                    let _ = kill(Pid::from_raw(pid), signal);
                }
            }
        }
        None => {
            let _ = killpg(Pid::from_raw(child_pid), signal);
        }
    }
}

/// Kills every remaining process of the run; returns how many there were.
fn kill_leftovers(uid: Option<u32>, child_pid: i32) -> usize {
    let Some(uid) = uid else {
        let _ = killpg(Pid::from_raw(child_pid), Signal::SIGKILL);
        return 0;
    };
    std::thread::sleep(Duration::from_millis(100));
    let first = processes_of(uid);
    for _ in 0..50 {
        let alive = processes_of(uid);
        if alive.is_empty() {
            break;
        }
        for pid in alive {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    first.len()
}

/// Host pids of live (not zombie) processes whose real uid is `uid`.
pub fn processes_of(uid: u32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| status_field(pid, "Uid:").and_then(|v| v.split_whitespace().next()?.parse().ok()) == Some(uid))
        .filter(|&pid| !status_field(pid, "State:").is_some_and(|s| s.starts_with(['Z', 'X'])))
        .collect()
}

fn status_field(pid: i32, name: &str) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_string())
}

/// True for the first process of a PID namespace below the host's (its innermost pid is 1).
fn is_namespace_init(pid: i32) -> bool {
    status_field(pid, "NSpid:").is_some_and(|v| {
        let ids: Vec<&str> = v.split_whitespace().collect();
        ids.len() > 1 && ids.last() == Some(&"1")
    })
}

/// Bytes of disk used by the files under `dir` (allocated blocks; symlinks not followed).
pub fn dir_size(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let Ok(meta) = entry.path().symlink_metadata() else { continue };
            total += meta.blocks() * 512;
            if meta.is_dir() {
                stack.push(entry.path());
            }
        }
    }
    total
}

/// Bytes in all the watched directories together.
fn watched_bytes(spec: &Supervised) -> u64 {
    spec.watch_dirs.iter().map(|d| dir_size(d)).sum()
}

/// One monitor sample: time, load, host memory, the run's processes and memory, the watched
/// directories' size (`workspace_bytes`), and the GPUs when `nvidia-smi` is there.
fn monitor_line(started: Instant, spec: &Supervised, workspace_bytes: u64) -> String {
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().and_then(|v| v.parse::<f64>().ok()));
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kib = |name: &str| -> Option<u64> {
        meminfo.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.split_whitespace().next()?.parse().ok())
    };
    let mem_used_mib = kib("MemTotal:").zip(kib("MemAvailable:")).map(|(t, a)| t.saturating_sub(a) / 1024);
    let (processes, rss_mib) = match spec.uid {
        Some(uid) => {
            let pids = processes_of(uid);
            let rss: u64 = pids
                .iter()
                .filter_map(|&p| {
                    status_field(p, "VmRSS:").and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
                })
                .sum();
            (Some(pids.len()), Some(rss / 1024))
        }
        None => (None, None),
    };
    let line = serde_json::json!({
        "time": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "elapsed_s": started.elapsed().as_secs(),
        "load_1m": load,
        "host_mem_used_mib": mem_used_mib,
        "run_processes": processes,
        "run_rss_mib": rss_mib,
        "workspace_bytes": workspace_bytes,
        "gpus": gpu_sample(),
    });
    line.to_string()
}

/// `nvidia-smi`'s utilisation and memory per GPU, or `null` when there is no `nvidia-smi`.
fn gpu_sample() -> serde_json::Value {
    let out = Command::new("nvidia-smi")
        .args(["--query-gpu=index,utilization.gpu,memory.used,memory.total", "--format=csv,noheader,nounits"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    let Some(out) = out.ok().filter(|o| o.status.success()) else { return serde_json::Value::Null };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<u64> = l.split(',').filter_map(|v| v.trim().parse().ok()).collect();
            (f.len() == 4).then(
                || serde_json::json!({"index": f[0], "util_pct": f[1], "mem_used_mib": f[2], "mem_total_mib": f[3]}),
            )
        })
        .collect()
}
