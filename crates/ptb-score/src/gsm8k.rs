//! GSM8K (scorers.md §2): target extraction and scoring.

use crate::{Profile, ScoreError, Scored, numeric, py};

/// The target of a GSM8K record: the text after the last `####` of `answer`, Python-stripped
/// (the whole stripped answer when there is no `####`).
pub fn target_from_answer(answer: &str) -> String {
    let tail = answer.rsplit("####").next().unwrap_or(answer);
    py::strip(tail).to_string()
}

/// Scores a GSM8K completion: the numeric matcher on the whole completion (§2.2, §7.1).
pub fn score(profile: Profile, completion: &str, target: &str) -> Result<Scored, ScoreError> {
    numeric::score(profile, completion, target)
}
