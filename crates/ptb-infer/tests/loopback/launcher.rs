use std::path::Path;
use std::time::{Duration, Instant};

use ptb_infer::client::OpenAiClient;
use ptb_infer::launcher::{LaunchConfig, LaunchError, launch};

/// A fake engine: writes "<own pid> <grandchild pid>" to argv[4], loads for 0.5 s, then serves
/// `/v1/models` to requests that carry the key. With argv[5] == "stubborn" it ignores SIGTERM.
const FAKE_ENGINE: &str = r#"
import http.server, json, os, signal, subprocess, sys, time
port, key, name, pidfile = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
if len(sys.argv) > 5 and sys.argv[5] == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen(["sleep", "300"])
with open(pidfile, "w") as f:
    f.write(f"{os.getpid()} {child.pid}")
print("fake engine loading", flush=True)
time.sleep(0.5)
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/v1/models" or self.headers.get("Authorization") != "Bearer " + key:
            self.send_response(401)
            self.end_headers()
            return
        body = json.dumps({"object": "list", "data": [{"id": name}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
"#;

/// Whether `pid` is gone (or a zombie waiting for a reaper that is not ours).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// Waits up to 5 s for `pid` to be gone (a re-parented grandchild dies asynchronously).
fn gone_soon(pid: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if gone(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn read_pids(path: &Path) -> (u32, u32) {
    let text = std::fs::read_to_string(path).unwrap();
    let (a, b) = text.split_once(' ').unwrap();
    (a.parse().unwrap(), b.parse().unwrap())
}

fn fake_config(dir: &Path, extra: &str) -> LaunchConfig {
    let script = dir.join("fake engine.py");
    std::fs::write(&script, FAKE_ENGINE).unwrap();
    LaunchConfig {
        command: format!("python3 {{model}}/'fake engine.py' {{port}} {{key}} {{served_name}} {{model}}/pids {extra}"),
        startup_timeout: Duration::from_secs(30),
        poll_interval: Duration::from_millis(50),
        stop_grace: Duration::from_millis(500),
        ..LaunchConfig::new(dir, "fake-model", dir.join("run/engine.log"))
    }
}

#[tokio::test]
async fn fake_engine_becomes_ready_and_stop_kills_its_group() {
    let dir = tempfile::tempdir().unwrap();
    let engine = launch(fake_config(dir.path(), "")).await.unwrap();
    assert_eq!(engine.served_models(), ["fake-model"]);
    assert!(engine.base_url().ends_with(&format!(":{}", engine.port())));
    let client = OpenAiClient::new(engine.client_config()).unwrap();
    assert_eq!(client.list_models().await.unwrap(), ["fake-model"]);

    let (pid, grandchild) = read_pids(&dir.path().join("pids"));
    assert_eq!(pid, engine.pid());
    assert!(!gone(pid) && !gone(grandchild));
    let log = std::fs::read_to_string(engine.log_path()).unwrap();
    assert!(log.contains("fake engine loading"), "{log}");
    assert!(!log.contains(engine.api_key()), "the key never reaches the log: {log}");

    let status = engine.stop().await.unwrap();
    assert!(!status.success());
    assert!(gone(pid));
    assert!(gone_soon(grandchild), "grandchild {grandchild} survived");
}

#[tokio::test]
async fn an_engine_ignoring_sigterm_is_killed_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let engine = launch(fake_config(dir.path(), "stubborn")).await.unwrap();
    let (pid, grandchild) = read_pids(&dir.path().join("pids"));
    drop(engine);
    assert!(gone(pid), "engine {pid} survived SIGKILL");
    assert!(gone_soon(grandchild), "grandchild {grandchild} survived");
}

#[tokio::test]
async fn an_engine_that_exits_at_once_reports_status_and_log_tail() {
    let dir = tempfile::tempdir().unwrap();
    let config =
        LaunchConfig { command: "sh -c 'echo CUDA out of memory >&2; exit 3'".into(), ..fake_config(dir.path(), "") };
    let err = launch(config).await.unwrap_err();
    assert!(matches!(err, LaunchError::Exited { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("exit status: 3"), "{text}");
    assert!(text.contains("CUDA out of memory"), "{text}");
    assert!(text.contains("engine.log"), "{text}");
    assert!(!text.contains('\n'), "{text}");
}

#[tokio::test]
async fn an_engine_that_never_answers_times_out_and_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let config = LaunchConfig {
        command: "sh -c 'echo $$ > {model}/pids; echo still loading weights; exec sleep 60'".into(),
        startup_timeout: Duration::from_secs(1),
        ..fake_config(dir.path(), "")
    };
    let err = launch(config).await.unwrap_err();
    assert!(matches!(err, LaunchError::StartupTimeout { seconds: 1, .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("still loading weights"), "{text}");
    assert!(text.contains("/v1/models"), "{text}");
    let pid: u32 = std::fs::read_to_string(dir.path().join("pids")).unwrap().trim().parse().unwrap();
    assert!(gone(pid), "engine {pid} survived the timeout");
}

#[tokio::test]
async fn a_missing_program_is_a_spawn_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = LaunchConfig { command: "ptb-no-such-engine {port}".into(), ..fake_config(dir.path(), "") };
    let err = launch(config).await.unwrap_err();
    assert!(matches!(err, LaunchError::Spawn { .. }), "{err:?}");
    assert!(err.to_string().contains("ptb-no-such-engine"), "{err}");
}
