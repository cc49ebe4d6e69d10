//! The `strict` profile for numeric answers (scorers.md §7.1).

mod exact;
mod literal;

use std::sync::LazyLock;

use regex::Regex;

use crate::{ScoreError, Scored, Verdict, py};
use literal::Literal;

/// `ANSWER\s*:`, case-insensitive on the ASCII word only, with Python's whitespace set.
static MARKER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[Aa][Nn][Ss][Ww][Ee][Rr][\s\x1C-\x1F]*:").expect("valid regex"));

/// Wrappers unwrapped (repeatedly, balanced braces) when cleaning the span.
const WRAPPERS: [&str; 5] = ["\\boxed{", "\\text{", "\\textbf{", "\\mathrm{", "\\mathbf{"];

/// Deleted from the span, in this order.
const DELETIONS: [&str; 14] = ["\\$", "$", "**", "__", "\\(", "\\)", "\\[", "\\]", "£", "€", "¥", "\\,", "{,}", "\\!"];

/// Hedge marks: a picked literal right after one of these is never correct.
const HEDGES: [char; 6] = ['~', '≈', '<', '>', '≤', '≥'];

/// Scores `completion` against `target` by exact value.
pub(crate) fn score(completion: &str, target: &str) -> Result<Scored, ScoreError> {
    let target_value = parse_target(target)?;
    let text = normalise(completion);
    let (span, fallback) = match answer_span(&text) {
        Some(span) => (span, false),
        None => (text.as_str(), true),
    };
    let chars: Vec<char> = clean(span).chars().collect();
    let literals = literal::scan(&chars);
    let picked = if fallback { literals.last() } else { literals.first() };
    let Some(Literal { start, text, value }) = picked else {
        return Ok(Scored { verdict: Verdict::N, extracted: None });
    };
    let hedged = chars[..*start].iter().rev().find(|&&c| !py::is_space(c)).is_some_and(|c| HEDGES.contains(c));
    let verdict = if !hedged && *value == target_value { Verdict::C } else { Verdict::I };
    Ok(Scored { verdict, extracted: Some(text.clone()) })
}

/// The target as one literal, grouping commas removed (`-4` stays −4).
fn parse_target(target: &str) -> Result<exact::Exact, ScoreError> {
    let cleaned: Vec<char> = normalise(py::strip(target)).chars().filter(|&c| c != ',').collect();
    match literal::scan(&cleaned).as_slice() {
        [only] if only.start == 0 && only.text.chars().count() == cleaned.len() => Ok(only.value.clone()),
        _ => Err(ScoreError::InvalidTarget { target: target.to_string() }),
    }
}

/// Step 1: CRLF → LF, fullwidth ASCII → ASCII, Unicode minus → `-`, every decimal digit → ASCII.
fn normalise(s: &str) -> String {
    s.replace("\r\n", "\n")
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            '\u{2212}' | '\u{FE63}' => '-',
            _ => py::ascii_digit(c),
        })
        .collect()
}

/// Step 2 (a) then (b): the rest of the line after the last `ANSWER:` (or the next non-blank
/// line), else the content of the last balanced `\boxed{}`. `None` means the whole text.
fn answer_span(text: &str) -> Option<&str> {
    marker_span(text).or_else(|| last_box(text))
}

fn marker_span(text: &str) -> Option<&str> {
    let end = MARKER.find_iter(text).last()?.end();
    text[end..].split('\n').find(|line| !py::strip(line).is_empty())
}

fn last_box(text: &str) -> Option<&str> {
    let closes = matching_braces(text);
    let mut last = None;
    let mut pos = 0;
    while let Some(offset) = text[pos..].find("\\boxed{") {
        let open = pos + offset + "\\boxed".len();
        match closes[open] {
            Some(close) => {
                last = Some(&text[open + 1..close]);
                pos = close + 1;
            }
            None => pos = open + 1,
        }
    }
    last
}

/// For every byte index holding a `{`, the byte index of its matching `}` (if any).
fn matching_braces(s: &str) -> Vec<Option<usize>> {
    let mut closes = vec![None; s.len()];
    let mut open = Vec::new();
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'{' => open.push(i),
            b'}' => {
                if let Some(o) = open.pop() {
                    closes[o] = Some(i);
                }
            }
            _ => {}
        }
    }
    closes
}

/// Step 3: unwrap boxes and text commands, delete money signs and LaTeX spacing, drop a
/// trailing `.`.
fn clean(span: &str) -> String {
    let mut s = span.to_string();
    while let Some(unwrapped) = unwrap_pass(&s) {
        s = unwrapped;
    }
    for d in DELETIONS {
        s = s.replace(d, "");
    }
    let trimmed = s.trim_end_matches(py::is_space);
    trimmed.strip_suffix('.').unwrap_or(trimmed).to_string()
}

/// Unwraps every outermost balanced wrapper once; `None` when there is none.
fn unwrap_pass(s: &str) -> Option<String> {
    let closes = matching_braces(s);
    let mut found: Vec<(usize, usize, usize)> = WRAPPERS
        .iter()
        .flat_map(|w| s.match_indices(w).map(|(p, w)| (p, p + w.len() - 1)))
        .filter_map(|(p, open)| closes[open].map(|close| (p, open, close)))
        .collect();
    if found.is_empty() {
        return None;
    }
    found.sort_unstable();
    let mut out = String::with_capacity(s.len());
    let mut done = 0;
    for (start, open, close) in found {
        if start >= done {
            out.push_str(&s[done..start]);
            out.push_str(&s[open + 1..close]);
            done = close + 1;
        }
    }
    out.push_str(&s[done..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans() {
        assert_eq!(answer_span("x\nAnswer : 5 apples\n6"), Some(" 5 apples"));
        assert_eq!(answer_span("ANSWER: 1\nANSWER:\n\n  7\n"), Some("  7"));
        assert_eq!(answer_span("ANSWER:\n"), None);
        assert_eq!(answer_span(r"\boxed{1} \boxed{\frac{1}{2}}"), Some(r"\frac{1}{2}"));
        assert_eq!(answer_span(r"\boxed{1} \boxed{2"), Some("1"));
        assert_eq!(answer_span("no marker"), None);
    }

    #[test]
    fn cleaning() {
        assert_eq!(clean(r" \boxed{\text{\$1{,}200}}."), " 1200");
        assert_eq!(clean(r"**\textbf{42}** \mathrm{m}"), "42 m");
        assert_eq!(clean(r"\boxed{5"), r"\boxed{5");
        assert_eq!(clean(r"\te\text{}xt{5} \boxed{\boxed{6}}"), "5 6");
    }

    #[test]
    fn long_unbalanced_input_stays_fast() {
        let text = format!("{}ANSWER: \\text{{7}}", "\\boxed{ \\text{ 1 ".repeat(20_000));
        assert_eq!(score(&text, "7").expect("numeric target").verdict, Verdict::C);
        assert_eq!(last_box(&"\\boxed{".repeat(20_000)), None);
        assert_eq!(clean(&"\\text{ 2 ".repeat(20_000)).len(), 20_000 * 9 - 1);
    }

    #[test]
    fn normalisation() {
        assert_eq!(normalise("４２\r\n−３﹣٤"), "42\n-3-4");
    }

    #[test]
    fn targets() {
        assert!(parse_target("1,450,000").is_ok());
        assert!(parse_target(" -3 ").is_ok());
        for bad in ["", "abc", "4 5", "x4"] {
            assert!(matches!(parse_target(bad), Err(ScoreError::InvalidTarget { .. })), "{bad:?}");
        }
    }
}
