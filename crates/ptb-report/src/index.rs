//! The SQLite index of a results tree (`<results>/index.sqlite`): one row per run, rebuilt from the run
//! directories in one transaction, so `ptb index` is idempotent and the directories stay the truth.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};

use crate::error::ReportError;
use crate::store::{self, RunRecord};

/// Bumped when the table layout changes; an index of another version is rebuilt from scratch.
const SCHEMA_VERSION: i64 = 1;

/// The index file of a results root.
pub fn index_path(results_dir: &Path) -> PathBuf {
    results_dir.join("index.sqlite")
}

/// An open index.
pub struct Index {
    conn: Connection,
    path: PathBuf,
}

impl Index {
    /// Opens (creating if needed) the index at `path`.
    pub fn open(path: &Path) -> Result<Self, ReportError> {
        let err = |source| ReportError::Sqlite { path: path.to_path_buf(), source };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| ReportError::io(parent, e))?;
        }
        let conn = Connection::open(path).map_err(err)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(err)?;
        if version != SCHEMA_VERSION {
            conn.execute_batch(&format!(
                "DROP TABLE IF EXISTS runs;
                 CREATE TABLE runs (
                     dir TEXT PRIMARY KEY, method TEXT NOT NULL, benchmark TEXT NOT NULL, model TEXT NOT NULL,
                     run_id TEXT NOT NULL, source TEXT NOT NULL, accuracy REAL, time_seconds INTEGER,
                     contamination TEXT NOT NULL, disallowed TEXT NOT NULL, phase TEXT, record TEXT NOT NULL);
                 CREATE INDEX runs_cell ON runs (method, benchmark, model);
                 PRAGMA user_version = {SCHEMA_VERSION};"
            ))
            .map_err(err)?;
        }
        Ok(Self { conn, path: path.to_path_buf() })
    }

    fn err(&self, source: rusqlite::Error) -> ReportError {
        ReportError::Sqlite { path: self.path.clone(), source }
    }

    /// Replaces the whole table with `records`, in one transaction. Returns the number of rows.
    pub fn replace_all(&mut self, records: &[RunRecord]) -> Result<usize, ReportError> {
        let path = self.path.clone();
        let err = |source| ReportError::Sqlite { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(err)?;
        tx.execute("DELETE FROM runs", []).map_err(err)?;
        {
            let mut stmt = tx
                .prepare(
                    "INSERT INTO runs (dir, method, benchmark, model, run_id, source, accuracy, time_seconds,
                     contamination, disallowed, phase, record) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                )
                .map_err(err)?;
            for r in records {
                let json = serde_json::to_string(r).expect("run records serialise");
                stmt.execute(params![
                    r.dir,
                    r.method,
                    r.benchmark,
                    r.model,
                    r.run_id,
                    r.source,
                    r.accuracy,
                    r.time_seconds.map(|t| t as i64),
                    label(&r.contamination),
                    label(&r.disallowed),
                    r.phase,
                    json
                ])
                .map_err(err)?;
            }
        }
        tx.commit().map_err(err)?;
        Ok(records.len())
    }

    /// Scans `results_dir` and replaces the index with what it holds.
    pub fn rebuild(&mut self, results_dir: &Path) -> Result<usize, ReportError> {
        let records = store::scan(results_dir)?;
        self.replace_all(&records)
    }

    /// Every indexed run, ordered by directory.
    pub fn runs(&self) -> Result<Vec<RunRecord>, ReportError> {
        let mut stmt = self.conn.prepare("SELECT dir, record FROM runs ORDER BY dir").map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (dir, json) = row.map_err(|e| self.err(e))?;
            let record = serde_json::from_str(&json).map_err(|e| ReportError::Sqlite {
                path: self.path.clone(),
                source: rusqlite::Error::FromSqlConversionFailure(
                    0,
                    rusqlite::types::Type::Text,
                    format!("row {dir}: {e}").into(),
                ),
            })?;
            out.push(record);
        }
        Ok(out)
    }

    /// Number of indexed runs.
    pub fn count(&self) -> Result<usize, ReportError> {
        self.conn
            .query_row("SELECT COUNT(*) FROM runs", [], |r| r.get::<_, i64>(0))
            .map(|n| n as usize)
            .map_err(|e| self.err(e))
    }
}

fn label(j: &store::Judgement) -> &'static str {
    match j {
        store::Judgement::Clean => "clean",
        store::Judgement::Flagged => "flagged",
        store::Judgement::Missing => "missing",
        store::Judgement::Unexpected => "unexpected",
    }
}

/// Runs of a results root: from the index when it exists, else by scanning the directories.
pub fn load_runs(results_dir: &Path) -> Result<Vec<RunRecord>, ReportError> {
    let path = index_path(results_dir);
    if path.is_file() { Index::open(&path)?.runs() } else { store::scan(results_dir) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebuild_is_idempotent_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        for (m, name, acc) in
            [("a_10h", "gsm8k_Qwen_Qwen3-4B-Base_1", "0.25"), ("a_10h", "bfcl_Qwen_Qwen3-4B-Base_2", "0.5")]
        {
            let run = dir.path().join(m).join(name);
            std::fs::create_dir_all(&run).unwrap();
            std::fs::write(run.join("metrics.json"), format!("{{\"accuracy\": {acc}}}")).unwrap();
        }
        let mut index = Index::open(&index_path(dir.path())).unwrap();
        assert_eq!(index.rebuild(dir.path()).unwrap(), 2);
        assert_eq!(index.rebuild(dir.path()).unwrap(), 2);
        assert_eq!(index.count().unwrap(), 2);
        let runs = load_runs(dir.path()).unwrap();
        assert_eq!(runs, store::scan(dir.path()).unwrap());
        assert_eq!(runs[0].accuracy, Some(0.5));
    }
}
