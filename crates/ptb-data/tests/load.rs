//! Loaders against the real files in `shared/datasets`, synthetic GPQA and parquet files, and the offline
//! lookup (data dir and a Hugging Face hub cache built here).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, ListBuilder, RecordBatch, StringArray, StringBuilder,
    StructArray,
};
use arrow::datatypes::{DataType, Field};
use ptb_core::Registry;
use ptb_data::{DataError, FileStatus, HubCache, Record, locate_with, read_records, verify_benchmark};
use serde_json::json;

/// `shared/datasets` beside the repository; `$PTB_SHARED_DIR` names another `shared/` folder.
fn datasets() -> PathBuf {
    match std::env::var_os("PTB_SHARED_DIR").filter(|d| !d.is_empty()) {
        Some(shared) => PathBuf::from(shared).join("datasets"),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/datasets")),
    }
}

fn read(rel: &str) -> Vec<Record> {
    read_records(&datasets().join(rel)).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn gsm8k_jsonl_splits() {
    let test = read("gsm8k/test.jsonl");
    assert_eq!(test.len(), 1319);
    assert!(test[0]["question"].as_str().unwrap().starts_with("Janet"));
    assert!(test.iter().all(|r| r["answer"].as_str().unwrap().contains("#### ")));
    assert_eq!(read("gsm8k/train.jsonl").len(), 7473);
}

#[test]
fn humaneval_gzipped_jsonl() {
    let rows = read("humaneval/HumanEval.jsonl.gz");
    assert_eq!(rows.len(), 164);
    assert_eq!(rows[0]["task_id"], "HumanEval/0");
    assert_eq!(rows[163]["task_id"], "HumanEval/163");
    assert!(rows.iter().all(|r| r.contains_key("entry_point") && r.contains_key("test")));
}

#[test]
fn bfcl_json_lines_without_trailing_newline() {
    let path = datasets().join("bfcl/BFCL_v3_exec_simple.json");
    assert!(!std::fs::read(&path).unwrap().ends_with(b"\n"), "the fixture is the upstream file");
    let questions = read("bfcl/BFCL_v3_exec_simple.json");
    let answers = read("bfcl/possible_answer/BFCL_v3_exec_simple.json");
    assert_eq!((questions.len(), answers.len()), (100, 100));
    assert_eq!(questions[99]["id"], "exec_simple_99");
    assert!(questions.iter().zip(&answers).all(|(q, a)| q["id"] == a["id"]), "same order");
    assert!(answers[0]["ground_truth"][0].as_str().unwrap().contains('('));
    assert!(questions[0]["function"][0]["parameters"]["properties"].is_object());
}

#[test]
fn aime_arenahard_healthbench() {
    let aime = read("aime2025/test.jsonl");
    assert_eq!(aime.len(), 30);
    assert!(aime.iter().all(|r| r["answer"].is_u64()), "answers are JSON integers");
    assert_eq!(aime[29]["id"], "29");
    let questions = read("arenahard/arena-hard-v2.0/question.jsonl");
    let baseline = read("arenahard/arena-hard-v2.0/model_answer/Qwen3-1.7B.jsonl");
    assert_eq!((questions.len(), baseline.len()), (250, 250));
    assert!(baseline.iter().all(|r| r["model"] == "Qwen3-1.7B"));
    let health = read("healthbench/healthbench.jsonl");
    assert_eq!(health.len(), 245);
    assert_eq!(health.iter().filter(|r| r["ideal_completions_data"].is_null()).count(), 40);
}

#[test]
fn registry_files_are_located_in_the_shared_datasets() {
    let registry = Registry::builtin();
    let expected = [
        ("aime2025", "test", 30),
        ("arenahardwriting", "test", 250),
        ("arenahardwriting", "baseline", 250),
        ("bfcl", "test", 100),
        ("bfcl", "answers", 100),
        ("gsm8k", "test", 1319),
        ("gsm8k", "train", 7473),
        ("healthbench", "test", 245),
        ("humaneval", "test", 164),
    ];
    for (id, role, rows) in expected {
        let spec = registry.benchmark(id).unwrap();
        let path = locate_with(&datasets(), None, id, spec, role).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read_records(&path).unwrap().len(), rows, "{id} {role}");
    }
    let e = locate_with(&datasets(), None, "gpqamain", registry.benchmark("gpqamain").unwrap(), "test").unwrap_err();
    let dir = datasets().join("gpqa");
    assert_eq!(
        e.to_string(),
        format!("no data for benchmark gpqamain (test) in {}; run: ptb data fetch --benchmark gpqamain", dir.display())
    );
}

#[test]
fn shared_files_match_the_registry_hashes() {
    let registry = Registry::builtin();
    for id in ["aime2025", "arenahardwriting", "bfcl", "healthbench"] {
        for check in verify_benchmark(&datasets(), id, registry.benchmark(id).unwrap()).unwrap() {
            assert!(matches!(check.status, FileStatus::Ok { .. }), "{check:?}");
        }
    }
}

const GPQA_HEADER: &str = "Pre-Revision Question,Question,Correct Answer,Incorrect Answer 1,Incorrect Answer 2,Incorrect Answer 3,Explanation,Record ID,Subdomain";

#[test]
fn gpqa_csv_in_the_hub_column_layout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gpqa_main.csv");
    let csv = format!(
        "{GPQA_HEADER}\n\
         old,\"Which gas, at STP,\nis lightest?\",Hydrogen,Helium,Neon,\"Argon \"\"Ar\"\"\",Because.,recSynthetic001,Chemistry\n\
         old,What is 2+2?,4,3,5,22,,recSynthetic002,Arithmetic\n"
    );
    std::fs::write(&path, csv).unwrap();
    let rows = read_records(&path).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["Question"], "Which gas, at STP,\nis lightest?");
    assert_eq!(rows[0]["Correct Answer"], "Hydrogen");
    assert_eq!(rows[0]["Incorrect Answer 3"], "Argon \"Ar\"");
    assert_eq!(rows[1]["Record ID"], "recSynthetic002");
    assert_eq!(rows[1]["Explanation"], "");
    let keys: Vec<_> = rows[0].keys().map(String::as_str).collect();
    assert_eq!(keys, GPQA_HEADER.split(',').collect::<Vec<_>>(), "column order kept");

    std::fs::write(&path, format!("{GPQA_HEADER}\na,b,c,d,e,f,g,h,i\nshort,row\n")).unwrap();
    let e = read_records(&path).unwrap_err().to_string();
    assert!(e.contains("gpqa_main.csv") && e.contains("line 3"), "{e}");
}

#[test]
fn parquet_written_by_arrow_reads_back_as_json() {
    let mut tags = ListBuilder::new(StringBuilder::new());
    tags.values().append_value("x");
    tags.values().append_value("y");
    tags.append(true);
    tags.append(false);
    let meta = StructArray::from(vec![
        (Arc::new(Field::new("n", DataType::Int32, false)), Arc::new(Int32Array::from(vec![7, 8])) as ArrayRef),
        (
            Arc::new(Field::new("s", DataType::Utf8, true)),
            Arc::new(StringArray::from(vec![Some("a"), None])) as ArrayRef,
        ),
    ]);
    let batch = RecordBatch::try_from_iter(vec![
        ("question", Arc::new(StringArray::from(vec!["q1", "q2"])) as ArrayRef),
        ("id", Arc::new(Int64Array::from(vec![1, -2])) as ArrayRef),
        ("score", Arc::new(Float64Array::from(vec![0.5, f64::NAN])) as ArrayRef),
        ("ok", Arc::new(BooleanArray::from(vec![true, false])) as ArrayRef),
        ("note", Arc::new(StringArray::from(vec![None, Some("n")])) as ArrayRef),
        ("tags", Arc::new(tags.finish()) as ArrayRef),
        ("meta", Arc::new(meta) as ArrayRef),
    ])
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test-00000-of-00001.parquet");
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();

    let rows = read_records(&path).unwrap();
    assert_eq!(
        serde_json::Value::Array(rows.into_iter().map(serde_json::Value::Object).collect()),
        json!([
            {"question": "q1", "id": 1, "score": 0.5, "ok": true, "note": null, "tags": ["x", "y"], "meta": {"n": 7, "s": "a"}},
            {"question": "q2", "id": -2, "score": null, "ok": false, "note": "n", "tags": null, "meta": {"n": 8, "s": null}}
        ])
    );

    std::fs::write(&path, b"PAR1 not really").unwrap();
    let e = read_records(&path).unwrap_err();
    assert!(matches!(e, DataError::Parquet { .. }) && e.to_string().contains("test-00000-of-00001.parquet"), "{e}");
}

#[test]
fn malformed_lines_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.jsonl");
    std::fs::write(&path, "{\"a\": 1}\n\n{\"a\": 2,}\n{\"a\": 3}\n").unwrap();
    let e = read_records(&path).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, DataError::Malformed { line: 3, .. }), "{msg}");
    assert!(msg.contains("bad.jsonl") && msg.contains("line 3"), "{msg}");
    assert!(!msg.contains('\n'));

    std::fs::write(&path, "{\"a\": 1}\n[1, 2]\n").unwrap();
    assert!(read_records(&path).unwrap_err().to_string().contains("line 2"), "records must be objects");

    let path = dir.path().join("array.json");
    std::fs::write(&path, "[\n  {\"a\": 1},\n  {\"a\": }\n]").unwrap();
    let msg = read_records(&path).unwrap_err().to_string();
    assert!(msg.contains("array.json") && msg.contains("line 3"), "{msg}");

    let path = dir.path().join("data.txt");
    std::fs::write(&path, "x").unwrap();
    assert!(matches!(read_records(&path), Err(DataError::UnsupportedFormat { .. })));
}

#[test]
fn json_arrays_and_gzipped_json_keep_order() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rows.json");
    std::fs::write(&path, "\u{feff}[{\"id\": \"b\", \"z\": 1, \"a\": 2}, {\"id\": \"a\"}]").unwrap();
    let rows = read_records(&path).unwrap();
    assert_eq!(rows.iter().map(|r| r["id"].as_str().unwrap()).collect::<Vec<_>>(), ["b", "a"]);
    assert_eq!(rows[0].keys().collect::<Vec<_>>(), ["id", "z", "a"], "key order kept");

    let path = dir.path().join("rows.json.gz");
    let mut gz = flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::default());
    gz.write_all(b"{\"n\": 1}\r\n{\"n\": 2}").unwrap();
    gz.finish().unwrap();
    let rows = read_records(&path).unwrap();
    assert_eq!(rows.iter().map(|r| r["n"].as_i64().unwrap()).collect::<Vec<_>>(), [1, 2]);
}

/// Writes `{root}/{kind}--{org}--{name}/refs/main` and `snapshots/{sha}/{file}`.
fn fake_cache_repo(root: &Path, kind: &str, repo: &str, sha: &str, file: &str, bytes: &[u8]) -> PathBuf {
    let repo_dir = root.join(format!("{kind}--{}", repo.replace('/', "--")));
    std::fs::create_dir_all(repo_dir.join("refs")).unwrap();
    std::fs::write(repo_dir.join("refs/main"), sha).unwrap();
    let path = repo_dir.join("snapshots").join(sha).join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn locate_falls_back_to_the_hub_cache() {
    let cache_dir = tempfile::tempdir().unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let sha = "aa11bb22cc33dd44ee55ff6677889900aabbccdd";
    let cached =
        fake_cache_repo(cache_dir.path(), "datasets", "openai/gsm8k", sha, "main/test-00000-of-00001.parquet", b"{}");
    let cache = HubCache::new(cache_dir.path());
    let mut spec = Registry::builtin().benchmark("gsm8k").unwrap().clone();

    spec.files[0].revision = Some("main".into());
    assert_eq!(locate_with(data_dir.path(), Some(&cache), "gsm8k", &spec, "test").unwrap(), cached, "via refs/main");
    spec.files[0].revision = Some(sha.into());
    assert_eq!(locate_with(data_dir.path(), Some(&cache), "gsm8k", &spec, "test").unwrap(), cached, "sha revision");
    spec.files[0].revision = Some("bb11bb22cc33dd44ee55ff6677889900aabbccdd".into());
    assert!(locate_with(data_dir.path(), Some(&cache), "gsm8k", &spec, "test").is_err(), "other revision");

    // The data dir wins, under the pinned name or an alternative.
    spec.files[0].revision = Some("main".into());
    std::fs::create_dir_all(data_dir.path().join("gsm8k")).unwrap();
    std::fs::write(data_dir.path().join("gsm8k/test.jsonl"), "{}\n").unwrap();
    assert_eq!(
        locate_with(data_dir.path(), Some(&cache), "gsm8k", &spec, "test").unwrap(),
        data_dir.path().join("gsm8k/test.jsonl")
    );

    let e = locate_with(data_dir.path(), Some(&cache), "gsm8k", &spec, "train").unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "no data for benchmark gsm8k (train) in {}; run: ptb data fetch --benchmark gsm8k",
            data_dir.path().join("gsm8k").display()
        )
    );
    let e = locate_with(data_dir.path(), Some(&cache), "gsm8k", &spec, "dev").unwrap_err().to_string();
    assert!(e.contains("roles are: test, train"), "{e}");
}

#[test]
fn models_resolve_to_cached_snapshots() {
    let cache_dir = tempfile::tempdir().unwrap();
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let config = fake_cache_repo(cache_dir.path(), "models", "Qwen/Qwen3-1.7B-Base", sha, "config.json", b"{}");
    let cache = HubCache::new(cache_dir.path());
    let snapshot = cache.model_snapshot("Qwen/Qwen3-1.7B-Base", None).unwrap();
    assert_eq!(snapshot, config.parent().unwrap());
    assert_eq!(cache.model_snapshot("Qwen/Qwen3-1.7B-Base", Some(sha)).unwrap(), snapshot);
    let e = cache.model_snapshot("google/gemma-3-4b-pt", None).unwrap_err().to_string();
    assert!(e.contains("google/gemma-3-4b-pt") && e.contains(&cache_dir.path().display().to_string()), "{e}");
    assert!(cache.dataset_file("Qwen/Qwen3-1.7B-Base", "main", "config.json").is_none(), "models are not datasets");
}

#[test]
fn cache_root_follows_the_hf_variables() {
    fn vars<'a>(set: &'a [(&str, &str)]) -> impl Fn(&str) -> Option<PathBuf> + 'a {
        move |name| set.iter().find(|(k, _)| *k == name).map(|(_, v)| PathBuf::from(v))
    }
    let all = [("HF_HUB_CACHE", "/a"), ("HUGGINGFACE_HUB_CACHE", "/b"), ("HF_HOME", "/c"), ("HOME", "/home/u")];
    assert_eq!(HubCache::root_from(vars(&all[..])), Some(PathBuf::from("/a")));
    assert_eq!(HubCache::root_from(vars(&all[1..])), Some(PathBuf::from("/b")));
    assert_eq!(HubCache::root_from(vars(&all[2..])), Some(PathBuf::from("/c/hub")));
    assert_eq!(HubCache::root_from(vars(&all[3..])), Some(PathBuf::from("/home/u/.cache/huggingface/hub")));
    assert_eq!(HubCache::root_from(vars(&[])), None);
}
