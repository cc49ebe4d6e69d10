//! The `ptb-v1` profile: inspect-ai 0.3.158 `match_str(location="end", ignore_case=True,
//! ignore_punctuation=True, numeric=True)` (scorers.md §1.4), quirks included.

mod number;

use crate::{ScoreError, Scored, Verdict, py};

/// Scores like inspect's numeric `match()`: C iff the (normalised) completion ends with the target.
pub(crate) fn match_end(completion: &str, target: &str) -> Result<Scored, ScoreError> {
    let answer = py::strip(completion);
    let v = py::casefold(answer);
    let t = py::casefold(py::strip(target));
    if py::is_numeric(&t) {
        // Numeric path. `strip_numeric_punctuation(t)` is a no-op on an all-numeric target.
        let t = number::normalize(&t)?;
        let v = strip_numeric_punctuation(&v);
        let words = py::split_whitespace_runs(&v);
        let last_number = words.iter().rev().find(|w| qualifies(w));
        let v = match last_number {
            Some(w) => number::normalize(w)?,
            None => words.last().copied().unwrap_or_default().to_string(),
        };
        let verdict = verdict(v.ends_with(&t));
        Ok(Scored { verdict, extracted: Some(v) })
    } else {
        // Text path: strip ASCII whitespace and punctuation from both ends, then suffix-compare.
        let matched = strip_punctuation(&v).ends_with(strip_punctuation(&t));
        Ok(Scored { verdict: verdict(matched), extracted: Some(answer.to_string()) })
    }
}

fn verdict(matched: bool) -> Verdict {
    if matched { Verdict::C } else { Verdict::I }
}

/// A token counts as a number when, with every `.` deleted, it is non-empty and `isnumeric()`.
fn qualifies(word: &str) -> bool {
    py::is_numeric(&word.replace('.', ""))
}

/// `strip_numeric_punctuation`: delete `$ , £ € * _`, then every `.` not followed by a decimal digit.
fn strip_numeric_punctuation(s: &str) -> String {
    let kept: Vec<char> = s.chars().filter(|c| !matches!(c, '$' | ',' | '£' | '€' | '*' | '_')).collect();
    kept.iter()
        .enumerate()
        .filter(|&(i, &c)| c != '.' || kept.get(i + 1).is_some_and(|&n| py::decimal_value(n).is_some()))
        .map(|(_, &c)| c)
        .collect()
}

/// `s.strip(string.whitespace + string.punctuation)`.
fn strip_punctuation(s: &str) -> &str {
    s.trim_matches(|c| py::is_ascii_whitespace(c) || py::is_ascii_punctuation(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_punctuation() {
        assert_eq!(strip_numeric_punctuation("$1,200.50."), "1200.50");
        assert_eq!(strip_numeric_punctuation("**7**. 3.5 x.y ٣.٤"), "7 3.5 xy ٣.٤");
    }

    #[test]
    fn text_path_strip() {
        assert_eq!(strip_punctuation(" -2,400.\n"), "2,400");
        assert_eq!(strip_punctuation("2,400\u{a0}."), "2,400\u{a0}");
    }
}
