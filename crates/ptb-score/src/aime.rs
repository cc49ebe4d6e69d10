//! AIME 2025 (scorers.md §3): v1 box removal, then the numeric matcher.

use std::sync::LazyLock;

use regex::Regex;

use crate::{Profile, ScoreError, Scored, numeric};

/// The v1 pattern `\\boxed\{(.+)\}`: `.` stops at `\n` and `.+` is greedy, as in Python `re`.
static BOXED_V1: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\\boxed\{(.+)\}").expect("valid regex"));

/// The v1 preprocessing (§3.2 step 1, quirk AIME-1): per line, the first `\boxed{` and the last
/// `}` are removed; a line whose only box is empty is left alone.
pub fn remove_boxes_v1(completion: &str) -> String {
    BOXED_V1.replace_all(completion, "${1}").into_owned()
}

/// Scores an AIME completion. `PtbV1` removes boxes first (§3.2); `Strict` unwraps boxes itself
/// with balanced braces (§7.1).
pub fn score(profile: Profile, completion: &str, target: &str) -> Result<Scored, ScoreError> {
    match profile {
        Profile::PtbV1 => numeric::score(profile, &remove_boxes_v1(completion), target),
        Profile::Strict => numeric::score(profile, completion, target),
    }
}
