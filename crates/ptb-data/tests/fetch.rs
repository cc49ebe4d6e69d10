//! The downloader against a real HTTP server on 127.0.0.1 that serves files in the Hub's URL layout.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use ptb_core::{BenchmarkSpec, DataFile, FileKind, TemplateSpec};
use ptb_data::{DataError, FetchRecord, Fetcher, FileStatus, Progress, verify_benchmark};
use sha2::{Digest, Sha256};

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    range: Option<String>,
    auth: Option<String>,
}

#[derive(Default)]
struct HubState {
    files: HashMap<String, Vec<u8>>,
    seen: Vec<Seen>,
    /// Bearer token required for paths under this prefix.
    gated: Option<(String, String)>,
    /// Serve this many bytes of the next response, then drop the connection.
    drop_next_after: Option<usize>,
    /// Answer every request with the whole file and 200, as a server without Range support does.
    ignore_range: bool,
}

#[derive(Clone, Default)]
struct Hub(Arc<Mutex<HubState>>);

impl Hub {
    fn put(&self, path: &str, bytes: &[u8]) {
        self.0.lock().unwrap().files.insert(path.to_string(), bytes.to_vec());
    }
    fn seen(&self) -> Vec<Seen> {
        self.0.lock().unwrap().seen.clone()
    }
}

async fn serve(State(hub): State<Hub>, uri: Uri, headers: HeaderMap) -> Response {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let mut state = hub.0.lock().unwrap();
    let path = uri.path().to_string();
    state.seen.push(Seen { path: path.clone(), range: text(header::RANGE), auth: text(header::AUTHORIZATION) });
    if let Some((prefix, token)) = &state.gated
        && path.starts_with(prefix.as_str())
        && text(header::AUTHORIZATION).as_deref() != Some(&format!("Bearer {token}"))
    {
        return (StatusCode::UNAUTHORIZED, "Access to this dataset is restricted").into_response();
    }
    let Some(bytes) = state.files.get(&path).cloned() else {
        return (StatusCode::NOT_FOUND, "Entry not found").into_response();
    };
    let start = match (&text(header::RANGE), state.ignore_range) {
        (Some(r), false) => r.trim_start_matches("bytes=").trim_end_matches('-').parse::<usize>().unwrap(),
        _ => 0,
    };
    let status = if start > 0 { StatusCode::PARTIAL_CONTENT } else { StatusCode::OK };
    let rest = Bytes::from(bytes[start..].to_vec());
    let mut response = Response::builder()
        .status(status)
        .header(header::CONTENT_LENGTH, rest.len())
        .header(header::ACCEPT_RANGES, "bytes");
    if start > 0 {
        response = response.header(header::CONTENT_RANGE, format!("bytes {start}-{}/{}", bytes.len() - 1, bytes.len()));
    }
    let body = match state.drop_next_after.take() {
        None => Body::from(rest),
        Some(n) => {
            // The prefix, a pause so it reaches the client, then an error: hyper drops the connection.
            let prefix = rest.slice(..n);
            let chunks = futures::stream::unfold(0, move |step| {
                let prefix = prefix.clone();
                async move {
                    match step {
                        0 => Some((Ok(prefix), 1)),
                        1 => {
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            Some((Err(std::io::Error::other("connection dropped by the test")), 2))
                        }
                        _ => None,
                    }
                }
            });
            Body::from_stream(chunks)
        }
    };
    response.body(body).unwrap()
}

/// Starts the server; returns its endpoint (`http://127.0.0.1:PORT`) and shared state.
async fn start_hub() -> (String, Hub) {
    let hub = Hub::default();
    let app = axum::Router::new().fallback(serve).with_state(hub.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), hub)
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Deterministic content of `n` bytes.
fn content(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

fn hub_file(role: &str, repo: &str, path: &str, sha: &str) -> DataFile {
    DataFile {
        role: role.into(),
        kind: FileKind::Hub,
        repo: Some(repo.into()),
        revision: Some("0123456789abcdef0123456789abcdef01234567".into()),
        url: None,
        path: path.into(),
        alternatives: vec![],
        sha256: sha.into(),
    }
}

fn bench(folder: &str, files: Vec<DataFile>) -> BenchmarkSpec {
    BenchmarkSpec {
        display_name: "Test".into(),
        folder: folder.into(),
        items: 1,
        agent_limit: -1,
        max_tokens_ladder: vec![100],
        weight: 0.0,
        scoring: "numeric".into(),
        gated: false,
        files,
    }
}

const REV: &str = "0123456789abcdef0123456789abcdef01234567";

fn fetcher(endpoint: &str, token: Option<&str>) -> Fetcher {
    Fetcher::new(endpoint, token.map(str::to_string)).unwrap().with_progress(Progress::Quiet)
}

#[tokio::test]
async fn plain_download_is_hashed_recorded_and_not_repeated() {
    let (endpoint, hub) = start_hub().await;
    let data = content(300_000);
    let answers = b"{\"id\": 1}\n".to_vec();
    hub.put(&format!("/datasets/org/set/resolve/{REV}/sub/test.jsonl"), &data);
    hub.put("/raw/answers.jsonl", &answers);
    let mut url_file = hub_file("answers", "", "answers.jsonl", "");
    url_file.kind = FileKind::Url;
    url_file.repo = None;
    url_file.url = Some(format!("{endpoint}/raw/answers.jsonl"));
    let spec = bench("set", vec![hub_file("test", "org/set", "sub/test.jsonl", &sha256(&data)), url_file]);
    let dir = tempfile::tempdir().unwrap();

    let fetched = fetcher(&endpoint, Some("tok")).fetch_benchmark(dir.path(), "set", &spec).await.unwrap();
    assert_eq!(fetched.len(), 2);
    assert!(fetched.iter().all(|f| f.downloaded));
    assert_eq!(std::fs::read(dir.path().join("set/sub/test.jsonl")).unwrap(), data);
    assert_eq!(std::fs::read(dir.path().join("set/answers.jsonl")).unwrap(), answers);
    assert!(!dir.path().join("set/sub/test.jsonl.part").exists());

    let record = FetchRecord::load(&dir.path().join("set")).unwrap();
    let test = &record.files["sub/test.jsonl"];
    assert_eq!(test.url, format!("{endpoint}/datasets/org/set/resolve/{REV}/sub/test.jsonl"));
    assert_eq!(test.revision.as_deref(), Some(REV));
    assert_eq!((test.size, test.sha256.as_str()), (300_000, sha256(&data).as_str()));
    assert!(test.fetched_at.ends_with('Z') && test.fetched_at.len() == 20, "{}", test.fetched_at);
    let answers_rec = &record.files["answers.jsonl"];
    assert_eq!(answers_rec.sha256, sha256(&answers), "unpinned files are recorded too");
    assert_eq!(answers_rec.revision, None);
    let raw: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("set/ptb-data.json")).unwrap()).unwrap();
    assert_eq!(raw["files"]["answers.jsonl"]["size"], 10);

    let seen = hub.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].path, format!("/datasets/org/set/resolve/{REV}/sub/test.jsonl"));
    assert_eq!(seen[0].auth.as_deref(), Some("Bearer tok"), "the token goes to the Hub");
    assert_eq!(seen[1].auth, None, "the token never goes to other hosts");

    let again = fetcher(&endpoint, None).fetch_benchmark(dir.path(), "set", &spec).await.unwrap();
    assert!(again.iter().all(|f| !f.downloaded));
    assert_eq!(hub.seen().len(), 2, "valid files are not downloaded again");
    assert_eq!(FetchRecord::load(&dir.path().join("set")).unwrap(), record, "record unchanged");
}

#[tokio::test]
async fn dropped_connection_is_resumed_with_a_range_request() {
    let (endpoint, hub) = start_hub().await;
    let data = content(200_000);
    hub.put(&format!("/datasets/org/big/resolve/{REV}/big.bin"), &data);
    hub.0.lock().unwrap().drop_next_after = Some(70_000);
    let spec = bench("big", vec![hub_file("test", "org/big", "big.bin", &sha256(&data))]);
    let dir = tempfile::tempdir().unwrap();

    let fetched = fetcher(&endpoint, None).fetch_benchmark(dir.path(), "big", &spec).await.unwrap();
    assert!(fetched[0].downloaded);
    let seen = hub.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].range, None);
    assert_eq!(seen[1].range.as_deref(), Some("bytes=70000-"), "the retry continues the .part file");
    assert_eq!(std::fs::read(&fetched[0].path).unwrap(), data);
    assert_eq!(fetched[0].record.sha256, sha256(&data));
}

#[tokio::test]
async fn interrupted_download_keeps_the_part_and_the_next_fetch_resumes() {
    let (endpoint, hub) = start_hub().await;
    let data = content(150_000);
    hub.put(&format!("/datasets/org/big/resolve/{REV}/big.bin"), &data);
    hub.0.lock().unwrap().drop_next_after = Some(50_000);
    let spec = bench("big", vec![hub_file("test", "org/big", "big.bin", &sha256(&data))]);
    let dir = tempfile::tempdir().unwrap();

    let e = fetcher(&endpoint, None).with_attempts(1).fetch_benchmark(dir.path(), "big", &spec).await.unwrap_err();
    assert!(matches!(e, DataError::Interrupted { bytes: 50_000, .. }), "{e}");
    assert!(e.to_string().contains("run the command again to resume"), "{e}");
    let part = dir.path().join("big/big.bin.part");
    assert_eq!(std::fs::metadata(&part).unwrap().len(), 50_000);
    assert!(!dir.path().join("big/big.bin").exists());

    let fetched = fetcher(&endpoint, None).fetch_benchmark(dir.path(), "big", &spec).await.unwrap();
    assert_eq!(hub.seen().last().unwrap().range.as_deref(), Some("bytes=50000-"));
    assert_eq!(std::fs::read(&fetched[0].path).unwrap(), data);
    assert!(!part.exists());
}

#[tokio::test]
async fn existing_part_is_continued_and_a_server_ignoring_range_restarts() {
    let (endpoint, hub) = start_hub().await;
    let data = content(100_000);
    hub.put(&format!("/datasets/org/p/resolve/{REV}/d/f.bin"), &data);
    let spec = bench("p", vec![hub_file("test", "org/p", "d/f.bin", &sha256(&data))]);
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("p/d/f.bin.part");
    std::fs::create_dir_all(part.parent().unwrap()).unwrap();

    std::fs::write(&part, &data[..40_000]).unwrap();
    let fetched = fetcher(&endpoint, None).fetch_benchmark(dir.path(), "p", &spec).await.unwrap();
    assert_eq!(hub.seen()[0].range.as_deref(), Some("bytes=40000-"));
    assert_eq!(std::fs::read(&fetched[0].path).unwrap(), data);
    assert_eq!(fetched[0].record.sha256, sha256(&data));

    // A stale prefix with wrong bytes, and a server that answers 200 with the whole file: start over.
    std::fs::remove_file(&fetched[0].path).unwrap();
    std::fs::write(&part, vec![0u8; 30_000]).unwrap();
    hub.0.lock().unwrap().ignore_range = true;
    let fetched = fetcher(&endpoint, None).fetch_benchmark(dir.path(), "p", &spec).await.unwrap();
    assert_eq!(hub.seen()[1].range.as_deref(), Some("bytes=30000-"));
    assert_eq!(std::fs::read(&fetched[0].path).unwrap(), data);
}

#[tokio::test]
async fn hash_mismatch_is_an_error_and_leaves_no_file() {
    let (endpoint, hub) = start_hub().await;
    hub.put(&format!("/datasets/org/m/resolve/{REV}/x.json"), b"[{\"a\": 1}]");
    let wrong = "0".repeat(64);
    let spec = bench("m", vec![hub_file("test", "org/m", "x.json", &wrong)]);
    let dir = tempfile::tempdir().unwrap();

    let e = fetcher(&endpoint, None).fetch_benchmark(dir.path(), "m", &spec).await.unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, DataError::HashMismatch { .. }), "{msg}");
    assert!(msg.contains("x.json") && msg.contains(&wrong) && msg.contains(&sha256(b"[{\"a\": 1}]")), "{msg}");
    assert!(!dir.path().join("m/x.json").exists());
    assert!(!dir.path().join("m/x.json.part").exists());
    assert!(!dir.path().join("m/ptb-data.json").exists(), "nothing recorded");
}

#[tokio::test]
async fn gated_sets_need_a_token() {
    let (endpoint, hub) = start_hub().await;
    hub.put(&format!("/datasets/Idavidrein/gpqa/resolve/{REV}/gpqa_main.csv"), b"Question\nq\n");
    hub.0.lock().unwrap().gated = Some(("/datasets/Idavidrein/gpqa/".into(), "hf_secret".into()));
    let spec = bench("gpqa", vec![hub_file("test", "Idavidrein/gpqa", "gpqa_main.csv", "")]);
    let dir = tempfile::tempdir().unwrap();

    let e = fetcher(&endpoint, None).fetch_benchmark(dir.path(), "gpqamain", &spec).await.unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, DataError::Gated { status: 401, .. }), "{msg}");
    assert!(msg.contains("set HF_TOKEN and accept the dataset's terms at"), "{msg}");
    assert!(msg.contains(&format!("{endpoint}/datasets/Idavidrein/gpqa")), "{msg}");
    assert!(!msg.contains('\n'));

    let e = fetcher(&endpoint, Some("wrong")).fetch_benchmark(dir.path(), "gpqamain", &spec).await.unwrap_err();
    assert!(matches!(e, DataError::Gated { .. }), "{e}");

    let fetched = fetcher(&endpoint, Some("hf_secret")).fetch_benchmark(dir.path(), "gpqamain", &spec).await.unwrap();
    assert_eq!(std::fs::read(&fetched[0].path).unwrap(), b"Question\nq\n");
    assert_eq!(hub.seen().last().unwrap().auth.as_deref(), Some("Bearer hf_secret"));
}

#[tokio::test]
async fn missing_files_say_404_and_name_the_pin() {
    let (endpoint, _hub) = start_hub().await;
    let spec = bench("n", vec![hub_file("test", "org/none", "nope.jsonl", "")]);
    let dir = tempfile::tempdir().unwrap();
    let e = fetcher(&endpoint, None).fetch_benchmark(dir.path(), "nb", &spec).await.unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, DataError::NotFound { .. }), "{msg}");
    assert!(msg.contains(&format!("{endpoint}/datasets/org/none/resolve/{REV}/nope.jsonl")), "{msg}");
    assert!(msg.contains("404") && msg.contains("benchmark nb (test)"), "{msg}");
    assert!(!dir.path().join("n/nope.jsonl.part").exists());
}

#[tokio::test]
async fn unreachable_server_names_the_url() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let spec = bench("u", vec![hub_file("test", "org/u", "u.jsonl", "")]);
    let dir = tempfile::tempdir().unwrap();
    let e = fetcher(&endpoint, None).fetch_benchmark(dir.path(), "u", &spec).await.unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, DataError::Unreachable { .. }), "{msg}");
    assert!(msg.contains(&format!("{endpoint}/datasets/org/u/resolve/{REV}/u.jsonl")), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
}

#[tokio::test]
async fn paths_escaping_the_data_dir_are_refused() {
    let (endpoint, _hub) = start_hub().await;
    let spec = bench("e", vec![hub_file("test", "org/e", "../../etc/x", "")]);
    let dir = tempfile::tempdir().unwrap();
    let e = fetcher(&endpoint, None).fetch_benchmark(dir.path(), "e", &spec).await.unwrap_err();
    assert!(matches!(e, DataError::InvalidPin { .. }), "{e}");
    assert!(e.to_string().contains("../../etc/x"), "{e}");
}

#[tokio::test]
async fn templates_are_fetched_and_checked_the_same_way() {
    let (endpoint, hub) = start_hub().await;
    let qwen = b"{{ messages }}".to_vec();
    hub.put("/t/qwen3.jinja", &qwen);
    let templates = BTreeMap::from([(
        "qwen3".to_string(),
        TemplateSpec { url: format!("{endpoint}/t/qwen3.jinja"), file: "qwen3.jinja".into(), sha256: sha256(&qwen) },
    )]);
    let dir = tempfile::tempdir().unwrap();
    let fetched = fetcher(&endpoint, None).fetch_templates(dir.path(), &templates).await.unwrap();
    assert_eq!(fetched[0].path, dir.path().join("templates/qwen3.jinja"));
    assert_eq!(std::fs::read(&fetched[0].path).unwrap(), qwen);
    let record = FetchRecord::load(&dir.path().join("templates")).unwrap();
    assert_eq!(record.files["qwen3.jinja"].sha256, sha256(&qwen));

    std::fs::write(&fetched[0].path, b"tampered").unwrap();
    let checks = ptb_data::verify_templates(dir.path(), &templates).unwrap();
    assert!(matches!(checks[0].status, FileStatus::Mismatch { .. }), "{checks:?}");
    // A fetch replaces the tampered copy.
    let fetched = fetcher(&endpoint, None).fetch_templates(dir.path(), &templates).await.unwrap();
    assert!(fetched[0].downloaded);
    assert!(ptb_data::verify_templates(dir.path(), &templates).unwrap()[0].is_ok());
}

#[tokio::test]
async fn verify_reports_ok_mismatch_missing_and_unpinned() {
    let (endpoint, hub) = start_hub().await;
    let (a, b) = (b"alpha\n".to_vec(), b"beta\n".to_vec());
    hub.put(&format!("/datasets/org/v/resolve/{REV}/a.jsonl"), &a);
    hub.put(&format!("/datasets/org/v/resolve/{REV}/b.jsonl"), &b);
    let spec = bench(
        "v",
        vec![
            hub_file("test", "org/v", "a.jsonl", &sha256(&a)),
            hub_file("train", "org/v", "b.jsonl", ""),
            hub_file("answers", "org/v", "c.jsonl", ""),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let fetched_two = bench("v", spec.files[..2].to_vec());
    fetcher(&endpoint, None).fetch_benchmark(dir.path(), "v", &fetched_two).await.unwrap();

    let checks = verify_benchmark(dir.path(), "v", &spec).unwrap();
    assert_eq!(checks[0].status, FileStatus::Ok { sha256: sha256(&a) });
    assert_eq!(checks[1].status, FileStatus::Ok { sha256: sha256(&b) }, "checked against the record");
    assert_eq!(checks[2].status, FileStatus::Missing);
    assert_eq!(checks[2].what, "benchmark v (answers)");

    // Modify both files: the pinned one and the recorded one are both caught.
    std::fs::write(dir.path().join("v/a.jsonl"), b"alpha!\n").unwrap();
    std::fs::write(dir.path().join("v/b.jsonl"), b"beta!\n").unwrap();
    let checks = verify_benchmark(dir.path(), "v", &spec).unwrap();
    assert_eq!(checks[0].status, FileStatus::Mismatch { expected: sha256(&a), got: sha256(b"alpha!\n") });
    assert_eq!(checks[1].status, FileStatus::Mismatch { expected: sha256(&b), got: sha256(b"beta!\n") });
    assert!(!checks[0].is_ok());

    // Without a record, an unpinned file can only be reported as such.
    std::fs::remove_file(dir.path().join("v/ptb-data.json")).unwrap();
    let checks = verify_benchmark(dir.path(), "v", &spec).unwrap();
    assert_eq!(checks[1].status, FileStatus::Unpinned { sha256: sha256(b"beta!\n") });
    let json = serde_json::to_value(&checks[1]).unwrap();
    assert_eq!(json["status"], "unpinned");
    assert!(Path::new(json["path"].as_str().unwrap()).ends_with("v/b.jsonl"));
}
