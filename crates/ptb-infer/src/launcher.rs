//! Starts an inference engine (vLLM by default) for a model directory and waits until it serves.
//!
//! The command comes from a template. It is split into words with POSIX shell rules (quotes and
//! backslashes; no variables, globs or pipes — write `sh -c '…'` for those) and the placeholders
//! `{model}`, `{template}`, `{port}`, `{key}` and `{served_name}` are substituted inside each word, so a
//! path with spaces stays one argument. The engine runs in its own process group with stdout and stderr
//! in a log file; it must listen on `127.0.0.1:{port}`. It is ready once `GET /v1/models` answers 200
//! with the per-launch key. Stopping (or dropping the handle) ends the whole group: SIGTERM, a grace
//! period, then SIGKILL.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::{Child, Command};

use crate::client::{ApiKey, ClientConfig, fetch_models};

/// The default engine command: vLLM serving the model on loopback under its served name.
pub const DEFAULT_COMMAND: &str = "vllm serve {model} --served-model-name {served_name} --chat-template {template} \
     --host 127.0.0.1 --port {port} --api-key {key}";

/// Lines of the engine log quoted in a startup error.
const TAIL_LINES: usize = 20;

/// How to start an engine. [`LaunchConfig::new`] fills in the defaults.
#[derive(Clone, PartialEq)]
pub struct LaunchConfig {
    /// The command template (see the module docs); default [`DEFAULT_COMMAND`].
    pub command: String,
    /// The model directory (`{model}`).
    pub model: PathBuf,
    /// The chat-template file (`{template}`); required when the command uses `{template}`.
    pub chat_template: Option<PathBuf>,
    /// The name the engine serves the model under (`{served_name}`).
    pub served_name: String,
    /// The port (`{port}`); `None` picks a free one on 127.0.0.1.
    pub port: Option<u16>,
    /// The API key (`{key}`); `None` makes a random per-launch key.
    pub api_key: Option<String>,
    /// Extra environment variables for the engine (e.g. `CUDA_VISIBLE_DEVICES`).
    pub env: Vec<(String, String)>,
    /// Where the engine's stdout and stderr go (created or truncated), normally in the run directory.
    pub log_path: PathBuf,
    /// How long to wait for `/v1/models`; default 20 minutes (vLLM loads and compiles first).
    pub startup_timeout: Duration,
    /// Time between readiness polls; default 500 ms.
    pub poll_interval: Duration,
    /// Time between SIGTERM and SIGKILL when stopping; default 15 s.
    pub stop_grace: Duration,
}

impl fmt::Debug for LaunchConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LaunchConfig")
            .field("command", &self.command)
            .field("model", &self.model)
            .field("chat_template", &self.chat_template)
            .field("served_name", &self.served_name)
            .field("port", &self.port)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("env", &self.env)
            .field("log_path", &self.log_path)
            .field("startup_timeout", &self.startup_timeout)
            .field("poll_interval", &self.poll_interval)
            .field("stop_grace", &self.stop_grace)
            .finish()
    }
}

impl LaunchConfig {
    /// The default command for `model`, served as `served_name`, logging to `log_path`.
    pub fn new(model: impl Into<PathBuf>, served_name: impl Into<String>, log_path: impl Into<PathBuf>) -> Self {
        Self {
            command: DEFAULT_COMMAND.into(),
            model: model.into(),
            chat_template: None,
            served_name: served_name.into(),
            port: None,
            api_key: None,
            env: Vec::new(),
            log_path: log_path.into(),
            startup_timeout: Duration::from_secs(20 * 60),
            poll_interval: Duration::from_millis(500),
            stop_grace: Duration::from_secs(15),
        }
    }
}

/// Why an engine could not be started or stopped.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("engine command template {template:?} is unusable: {message}")]
    Template { template: String, message: String },
    #[error("cannot write the engine log {}: {source}; check that the run directory is writable", path.display())]
    Log { path: PathBuf, source: std::io::Error },
    #[error("cannot pick a free port on 127.0.0.1: {0}; set the port explicitly")]
    Port(std::io::Error),
    #[error("cannot make an API key from /dev/urandom: {0}; set the key explicitly")]
    Key(std::io::Error),
    #[error("cannot start `{program}`: {source}; install it or change the engine command template")]
    Spawn { program: String, source: std::io::Error },
    #[error("engine `{program}` exited ({status}) before it was ready; log {}: {tail}", log.display())]
    Exited { program: String, status: String, log: PathBuf, tail: String },
    #[error(
        "engine `{program}` did not answer http://127.0.0.1:{port}/v1/models within {seconds} s (last: {last}); raise the startup timeout or read the log {}: {tail}",
        log.display()
    )]
    StartupTimeout { program: String, port: u16, seconds: u64, last: String, log: PathBuf, tail: String },
    #[error("cannot stop engine process group {pgid}: {message}")]
    Stop { pgid: i32, message: String },
}

/// A running, ready engine. Stop it with [`EngineProcess::stop`]; dropping it also ends the process
/// group, blocking the current thread for up to the grace period.
pub struct EngineProcess {
    child: Child,
    pgid: Pid,
    program: String,
    base_url: String,
    api_key: String,
    served_name: String,
    port: u16,
    log_path: PathBuf,
    served_models: Vec<String>,
    grace: Duration,
    stopped: bool,
}

impl fmt::Debug for EngineProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineProcess")
            .field("program", &self.program)
            .field("pid", &self.pgid.as_raw())
            .field("base_url", &self.base_url)
            .field("served_name", &self.served_name)
            .field("log_path", &self.log_path)
            .finish_non_exhaustive()
    }
}

impl EngineProcess {
    /// The server root, `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The key the engine was started with.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The engine's process id, which is also its process-group id.
    pub fn pid(&self) -> u32 {
        self.pgid.as_raw() as u32
    }

    /// The engine's log file.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The model names `/v1/models` listed when the engine became ready.
    pub fn served_models(&self) -> &[String] {
        &self.served_models
    }

    /// Client settings for this engine: its URL, served name and key; tune the rest before building.
    pub fn client_config(&self) -> ClientConfig {
        ClientConfig {
            api_key: ApiKey::Value(self.api_key.clone()),
            ..ClientConfig::new(self.base_url.clone(), self.served_name.clone())
        }
    }

    /// Ends the process group (SIGTERM, up to the grace period for the engine to exit, then SIGKILL
    /// for whatever is left) and returns the engine's exit status.
    pub async fn stop(mut self) -> Result<ExitStatus, LaunchError> {
        self.stopped = true;
        signal_group(self.pgid, Signal::SIGTERM)?;
        let waited = tokio::time::timeout(self.grace, self.child.wait()).await;
        signal_group(self.pgid, Signal::SIGKILL)?;
        let status = match waited {
            Ok(status) => status,
            Err(_) => self.child.wait().await,
        };
        status.map_err(|e| LaunchError::Stop { pgid: self.pgid.as_raw(), message: e.to_string() })
    }

    /// The blocking counterpart of [`EngineProcess::stop`], for `Drop` and error paths.
    fn stop_blocking(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let _ = signal_group(self.pgid, Signal::SIGTERM);
        let deadline = Instant::now() + self.grace;
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = signal_group(self.pgid, Signal::SIGKILL);
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for EngineProcess {
    fn drop(&mut self) {
        self.stop_blocking();
    }
}

/// Sends `signal` to the group; a group that is already gone is not an error.
fn signal_group(pgid: Pid, signal: Signal) -> Result<(), LaunchError> {
    match killpg(pgid, signal) {
        Ok(()) | Err(Errno::ESRCH) => Ok(()),
        Err(e) => Err(LaunchError::Stop { pgid: pgid.as_raw(), message: format!("{signal}: {e}") }),
    }
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port())
}

fn random_key() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(format!("ptb-{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()))
}

/// The placeholder values of one launch.
struct Values<'a> {
    model: &'a str,
    template: Option<&'a str>,
    port: &'a str,
    key: &'a str,
    served_name: &'a str,
}

/// Splits `template` into words and substitutes the placeholders in each.
fn render(template: &str, values: &Values<'_>) -> Result<Vec<String>, LaunchError> {
    let bad = |message: String| LaunchError::Template { template: template.into(), message };
    let words = shell_words::split(template).map_err(|e| bad(format!("{e}; balance its quotes")))?;
    if words.is_empty() {
        return Err(bad("it is empty; give the engine command".into()));
    }
    words
        .into_iter()
        .map(|word| {
            if word.contains("{template}") && values.template.is_none() {
                return Err(bad("it uses {template} but no chat template file was given; give one or remove \
                     the option from the template"
                    .into()));
            }
            Ok(word
                .replace("{model}", values.model)
                .replace("{template}", values.template.unwrap_or_default())
                .replace("{port}", values.port)
                .replace("{key}", values.key)
                .replace("{served_name}", values.served_name))
        })
        .collect()
}

/// The last [`TAIL_LINES`] non-empty lines of the log, each cut to 300 characters, joined with ` | `.
fn log_tail(path: &Path) -> String {
    let Ok(bytes) = std::fs::read(path) else {
        return "(log unreadable)".into();
    };
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().map(str::trim_end).filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return "(log empty)".into();
    }
    lines[lines.len().saturating_sub(TAIL_LINES)..]
        .iter()
        .map(|l| match l.char_indices().nth(300) {
            Some((cut, _)) => format!("{}…", &l[..cut]),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Starts the engine described by `config` and waits until it is ready.
pub async fn launch(config: LaunchConfig) -> Result<EngineProcess, LaunchError> {
    let port = match config.port {
        Some(port) => port,
        None => free_port().map_err(LaunchError::Port)?,
    };
    let key = match &config.api_key {
        Some(key) => key.clone(),
        None => random_key().map_err(LaunchError::Key)?,
    };
    let model = config.model.to_string_lossy();
    let template = config.chat_template.as_ref().map(|t| t.to_string_lossy());
    let port_text = port.to_string();
    let values = Values {
        model: &model,
        template: template.as_deref(),
        port: &port_text,
        key: &key,
        served_name: &config.served_name,
    };
    let words = render(&config.command, &values)?;
    let shown = render(&config.command, &Values { key: "<redacted>", ..values })?;
    let program = words[0].clone();

    let log_error = |source| LaunchError::Log { path: config.log_path.clone(), source };
    if let Some(parent) = config.log_path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(log_error)?;
    }
    let mut log = std::fs::File::create(&config.log_path).map_err(log_error)?;
    writeln!(log, "# ptb launcher: {}", shell_words::join(&shown)).map_err(log_error)?;
    let stderr = log.try_clone().map_err(log_error)?;

    let child = Command::new(&program)
        .args(&words[1..])
        .envs(config.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(stderr))
        .process_group(0)
        .spawn()
        .map_err(|source| LaunchError::Spawn { program: program.clone(), source })?;
    let pid = child.id().expect("a freshly spawned child has a pid");
    tracing::info!(program = %program, pid, port, log = %config.log_path.display(), "engine started");

    let mut engine = EngineProcess {
        child,
        pgid: Pid::from_raw(pid as i32),
        program,
        base_url: format!("http://127.0.0.1:{port}"),
        api_key: key,
        served_name: config.served_name.clone(),
        port,
        log_path: config.log_path.clone(),
        served_models: Vec::new(),
        grace: config.stop_grace,
        stopped: false,
    };
    match wait_ready(&mut engine, &config).await {
        Ok(models) => {
            engine.served_models = models;
            tracing::info!(url = %engine.base_url, "engine ready");
            Ok(engine)
        }
        Err(e) => {
            engine.stop_blocking();
            Err(e.with_tail())
        }
    }
}

/// A startup failure whose log tail is read after the engine is stopped, so it holds its last words.
enum NotReady {
    Exited { program: String, status: String, log: PathBuf },
    Timeout { program: String, port: u16, seconds: u64, last: String, log: PathBuf },
}

impl NotReady {
    fn with_tail(self) -> LaunchError {
        match self {
            NotReady::Exited { program, status, log } => {
                LaunchError::Exited { program, status, tail: log_tail(&log), log }
            }
            NotReady::Timeout { program, port, seconds, last, log } => {
                LaunchError::StartupTimeout { program, port, seconds, last, tail: log_tail(&log), log }
            }
        }
    }
}

async fn wait_ready(engine: &mut EngineProcess, config: &LaunchConfig) -> Result<Vec<String>, NotReady> {
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .build()
        .expect("a plain reqwest client always builds");
    let auth = format!("Bearer {}", engine.api_key);
    let started = Instant::now();
    let mut last = String::from("no answer yet");
    loop {
        let remaining = config.startup_timeout.saturating_sub(started.elapsed());
        if remaining.is_zero() {
            return Err(NotReady::Timeout {
                program: engine.program.clone(),
                port: engine.port,
                seconds: config.startup_timeout.as_secs_f64().ceil() as u64,
                last,
                log: engine.log_path.clone(),
            });
        }
        // One poll, then a pause before the next; the engine exiting meanwhile ends the wait at once.
        let poll_then_pause = async {
            let answer =
                fetch_models(&http, &engine.base_url, Some(&auth), remaining.min(Duration::from_secs(10))).await;
            if answer.is_err() {
                tokio::time::sleep(config.poll_interval.min(remaining)).await;
            }
            answer
        };
        tokio::select! {
            status = engine.child.wait() => {
                let status = status.map_or_else(|e| format!("unknown status: {e}"), |s| s.to_string());
                return Err(NotReady::Exited { program: engine.program.clone(), status, log: engine.log_path.clone() });
            }
            answer = poll_then_pause => match answer {
                Ok(models) => return Ok(models),
                Err(e) => last = e.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> Values<'static> {
        Values { model: "/m/my model", template: Some("/t/c.jinja"), port: "8123", key: "k", served_name: "s" }
    }

    #[test]
    fn default_command_renders_every_placeholder() {
        let words = render(DEFAULT_COMMAND, &values()).unwrap();
        assert_eq!(
            words,
            [
                "vllm",
                "serve",
                "/m/my model",
                "--served-model-name",
                "s",
                "--chat-template",
                "/t/c.jinja",
                "--host",
                "127.0.0.1",
                "--port",
                "8123",
                "--api-key",
                "k"
            ]
        );
    }

    #[test]
    fn quotes_and_unknown_braces_survive() {
        let words = render(r#"sh -c 'serve --port={port}' --json '{"a": 1}'"#, &values()).unwrap();
        assert_eq!(words, ["sh", "-c", "serve --port=8123", "--json", r#"{"a": 1}"#]);
    }

    #[test]
    fn bad_templates_are_explained() {
        let err = render("vllm serve 'unclosed", &values()).unwrap_err();
        assert!(err.to_string().contains("quotes"), "{err}");
        let err = render("  ", &values()).unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
        let err = render(DEFAULT_COMMAND, &Values { template: None, ..values() }).unwrap_err();
        assert!(err.to_string().contains("no chat template"), "{err}");
    }

    #[test]
    fn log_tail_keeps_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("engine.log");
        let text: String = (1..=30).map(|i| format!("line {i}\n\n")).collect();
        std::fs::write(&path, text).unwrap();
        let tail = log_tail(&path);
        assert!(tail.starts_with("line 11 | "), "{tail}");
        assert!(tail.ends_with("line 30"), "{tail}");
        assert_eq!(log_tail(&dir.path().join("missing")), "(log unreadable)");
    }
}
