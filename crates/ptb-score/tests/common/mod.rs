//! Shared table-test plumbing.

use ptb_score::{Profile, ScoreError, Scored, Verdict};

/// What a row expects under one profile.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Want {
    C,
    I,
    N,
    /// The Python scorer raised: a sample error.
    Err,
}

/// One completion shape: `(completion, target, ptb-v1, strict)`.
pub type Row = (&'static str, &'static str, Want, Want);

fn outcome(r: Result<Scored, ScoreError>) -> Want {
    match r.map(|s| s.verdict) {
        Ok(Verdict::C) => Want::C,
        Ok(Verdict::I) => Want::I,
        Ok(Verdict::N) => Want::N,
        Err(_) => Want::Err,
    }
}

/// Checks every row under both profiles with `score`, reporting all failures at once.
pub fn check(rows: &[Row], score: fn(Profile, &str, &str) -> Result<Scored, ScoreError>) {
    let mut failures = Vec::new();
    for &(completion, target, v1, strict) in rows {
        for (profile, want) in [(Profile::PtbV1, v1), (Profile::Strict, strict)] {
            let got = outcome(score(profile, completion, target));
            if got != want {
                failures.push(format!("{profile:?}: {completion:?} / {target:?}: want {want:?}, got {got:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
