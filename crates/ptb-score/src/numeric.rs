//! The shared numeric matcher `M(completion, target)` used by GSM8K and AIME.

use crate::{Profile, ScoreError, Scored, strict, v1};

/// Scores `completion` against a numeric `target` under `profile`.
///
/// `PtbV1` is inspect's `match(location="end", numeric=True)` (scorers.md §1.4); `Strict` is §7.1.
pub fn score(profile: Profile, completion: &str, target: &str) -> Result<Scored, ScoreError> {
    match profile {
        Profile::PtbV1 => v1::match_end(completion, target),
        Profile::Strict => strict::score(completion, target),
    }
}
