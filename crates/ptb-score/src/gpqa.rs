//! GPQA main (scorers.md §4.2, §7.2): the letter of a chain-of-thought multiple-choice answer.
//!
//! `PtbV1` is inspect-ai's `parse_answers` (single-answer mode) followed by the `choice()` scorer: the
//! first `ANSWER:` line, else the first `answer:` anywhere, case-sensitive letters, no unwrapping
//! (quirks GPQA-1…7). `Strict` unwraps decorated letters, reads the letter right after the *last*
//! marker, upper-cases it, and answers `N` when there is none (§7.2).

use std::sync::LazyLock;

use regex::{Captures, Regex};

use crate::{Profile, Scored, Verdict, py};

/// The answer letters of a four-choice question, in presentation order.
pub const LETTERS: [char; 4] = ['A', 'B', 'C', 'D'];

// Python `re` semantics in Rust regex syntax: `\s` also takes U+001C–U+001F (Python's
// `str.isspace()`); under `(?i)` Python's `[A-Za-z]` also takes `İ` and `ı` (their simple lower/upper
// case is ASCII), which Rust's case folding does not, so they are listed; Python's `\w` on `str` is
// `isalnum()` or `_`, i.e. every letter (L*) and every number (N*) character.

/// §4.2 step 1, the strict search: `(?i)^ANSWER\s*:\s*([A-Za-z\d ,]+)\s*(?:$|\n|\.)`, MULTILINE.
static V1_STRICT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?im)^ANSWER[\s\x1C-\x1F]*:[\s\x1C-\x1F]*([A-Za-z\d ,\x{130}\x{131}]+)[\s\x1C-\x1F]*(?:$|\n|\.)")
        .expect("valid regex")
});

/// §4.2 step 2, the lenient search: `(?i)ANSWER\s*:\s*([A-Za-z\d ,]+)(?:[^\w]|\n|$|\.)`.
static V1_LENIENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)ANSWER[\s\x1C-\x1F]*:[\s\x1C-\x1F]*([A-Za-z\d ,\x{130}\x{131}]+)(?:[^\p{L}\p{N}_]|\n|$|\.)")
        .expect("valid regex")
});

/// The inspect-ai 0.3.158 answer of a completion (§4.2 steps 1–3): the first strict match, else the
/// first lenient match, capture stripped of whitespace and then of trailing `.`. `None` when neither
/// pattern matched. The result is not yet checked against the letters (step 4).
pub fn parse_v1(completion: &str) -> Option<String> {
    let caps = V1_STRICT.captures(completion).or_else(|| V1_LENIENT.captures(completion))?;
    let matched = caps.get(1).map_or("", |m| m.as_str());
    Some(py::strip(matched).trim_end_matches('.').to_string())
}

/// Scores a GPQA completion against the target letter under `profile`.
pub fn score(profile: Profile, completion: &str, target: &str) -> Scored {
    match profile {
        Profile::PtbV1 => {
            let answer = parse_v1(completion);
            // Step 4: valid only when exactly one of the letters; step 5: C iff it is the target.
            let valid = answer.as_deref().filter(|a| ["A", "B", "C", "D"].contains(a));
            let verdict = if valid.is_some_and(|a| a == target) { Verdict::C } else { Verdict::I };
            Scored { verdict, extracted: answer }
        }
        Profile::Strict => match parse_strict(completion) {
            StrictAnswer::None => Scored { verdict: Verdict::N, extracted: None },
            StrictAnswer::Several(text) => Scored { verdict: Verdict::I, extracted: Some(text) },
            StrictAnswer::Letter(letter) => {
                let verdict = if LETTERS.contains(&letter) && target.len() == 1 && target.starts_with(letter) {
                    Verdict::C
                } else {
                    Verdict::I
                };
                Scored { verdict, extracted: Some(letter.to_string()) }
            }
        },
    }
}

/// What the strict reading finds after the last marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrictAnswer {
    /// No marker, or no standalone letter after the last one (→ `N`).
    None,
    /// One letter, upper-cased (→ `C` or `I`; a letter outside A–D is `I`).
    Letter(char),
    /// Several letters joined by `,` `/` `&` `and` `or`, e.g. `C or D` (→ `I`); the text as read.
    Several(String),
}

/// §7.2 step 1: single letters wrapped in emphasis, math, boxes, brackets or quotes (inner spaces
/// allowed). Each alternative captures the letter in its own group.
static WRAPPED_LETTER: LazyLock<Regex> = LazyLock::new(|| {
    let l = r"[ \t]*([A-Za-z])[ \t]*";
    let forms = [
        format!(r"\*\*{l}\*\*"),
        format!(r"__{l}__"),
        format!(r"\${l}\$"),
        format!(r"\\boxed\{{{l}\}}"),
        format!(r"\\text\{{{l}\}}"),
        format!(r"\\textbf\{{{l}\}}"),
        format!(r"\({l}\)"),
        format!(r"\[{l}\]"),
        format!(r"'{l}'"),
        format!(r#""{l}""#),
        format!(r"`{l}`"),
    ];
    Regex::new(&forms.join("|")).expect("valid regex")
});

/// §7.2 step 1: `**` or `__` directly around the marker (`**ANSWER:**`, `**ANSWER**:`, `__ANSWER:__`).
static BOLD_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\*\*|__)?([Aa][Nn][Ss][Ww][Ee][Rr])(?:\*\*|__)?([\s\x1C-\x1F]*:)(?:\*\*|__)?").expect("valid regex")
});

/// §7.2 step 2: `ANSWER\s*:`, case-insensitive on the ASCII word.
static MARKER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[Aa][Nn][Ss][Ww][Ee][Rr][\s\x1C-\x1F]*:").expect("valid regex"));

/// §7.2 step 4: after the letter, a joiner and another standalone choice letter.
static SEVERAL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[ \t]*(?:,|/|&|(?i:and|or)\b)[ \t]*[A-D](?:$|[^\p{L}\p{N}])").expect("valid regex"));

/// The strict reading of a completion (§7.2 steps 1–5).
pub fn parse_strict(completion: &str) -> StrictAnswer {
    let mut text = BOLD_MARKER.replace_all(completion, "$1$2").into_owned();
    // Unwrap until nothing changes, so nested forms (`**(C)**`) open fully; each pass shortens the text.
    loop {
        let next = WRAPPED_LETTER.replace_all(&text, |caps: &Captures<'_>| {
            caps.iter().skip(1).flatten().next().map_or(String::new(), |m| m.as_str().to_string())
        });
        if next == text {
            break;
        }
        text = next.into_owned();
    }
    let Some(marker) = MARKER.find_iter(&text).last() else { return StrictAnswer::None };
    let rest = text[marker.end()..].trim_start_matches(py::is_space);
    let mut chars = rest.chars();
    let Some(first) = chars.next() else { return StrictAnswer::None };
    let standalone = chars.next().is_none_or(|c| !c.is_alphanumeric());
    if !first.is_alphabetic() || !standalone {
        return StrictAnswer::None;
    }
    let after = &rest[first.len_utf8()..];
    if let Some(joined) = SEVERAL.find(after) {
        return StrictAnswer::Several(format!("{first}{}", joined.as_str().trim_end()));
    }
    let mut upper = first.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(letter), None) => StrictAnswer::Letter(letter),
        // A letter whose upper case is several characters (`ß`) is no choice letter.
        _ => StrictAnswer::Letter(first),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_capture_is_stripped_and_case_kept() {
        assert_eq!(parse_v1("ANSWER: c").as_deref(), Some("c"));
        assert_eq!(parse_v1("ANSWER:  C  .").as_deref(), Some("C"));
        assert_eq!(parse_v1("ANSWER: C, D").as_deref(), Some("C, D"));
        assert_eq!(parse_v1("no marker"), None);
        // Python's `(?i)[A-Za-z]` takes the dotted capital I and the dotless small i.
        assert_eq!(parse_v1("ANSWER: \u{130}").as_deref(), Some("\u{130}"));
    }

    #[test]
    fn v1_lenient_boundary_is_pythons_non_word() {
        // `²` is numeric (a word character to Python) and U+0301 a combining mark (not one).
        assert_eq!(parse_v1("so answer: C\u{b2}"), None);
        assert_eq!(parse_v1("so answer: C\u{301}").as_deref(), Some("C"));
        assert_eq!(parse_v1("so answer: C\u{203f}").as_deref(), Some("C"));
    }

    #[test]
    fn strict_reads_after_the_last_marker() {
        assert_eq!(parse_strict("ANSWER: A\nno wait\nANSWER: **(c)**"), StrictAnswer::Letter('C'));
        assert_eq!(parse_strict("**ANSWER:** C"), StrictAnswer::Letter('C'));
        assert_eq!(parse_strict("**ANSWER**: $\\boxed{B}$"), StrictAnswer::Letter('B'));
        assert_eq!(parse_strict("ANSWER: Cl"), StrictAnswer::None);
        assert_eq!(parse_strict("ANSWER: C or D"), StrictAnswer::Several("C or D".into()));
        assert_eq!(parse_strict("ANSWER: C and a methyl group"), StrictAnswer::Letter('C'));
        assert_eq!(parse_strict("  \n "), StrictAnswer::None);
    }
}
