//! `limit_repetitions`, PostTrainBench's clean-up of degenerate model answers, shared by
//! ArenaHard-Writing and HealthBench (spec §7.10), ported rule for rule from the Python original so
//! that the judge sees exactly the text the original would have sent. Text is handled as Unicode code
//! points and "whitespace" is Python's `str.isspace`, as in the original.

/// The original's `MAX_REPETITIONS`.
pub const MAX_REPETITIONS: usize = 5;

/// Python's `str.isspace` for one character: Rust's `White_Space` plus U+001C–U+001F.
pub fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()` (no arguments).
pub fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// Limits repetitive patterns to at most `max_reps` repetitions. Up to 10 rounds, stopping after a
/// round that changes nothing; each round applies, in order, [`limit_consecutive_lines`],
/// [`limit_block_patterns`] and [`limit_regex_patterns`].
pub fn limit_repetitions(text: &str, max_reps: usize) -> String {
    let mut text = text.to_string();
    for _ in 0..10 {
        let (t, m1) = limit_consecutive_lines(&text, max_reps);
        let (t, m2) = limit_block_patterns(&t, max_reps);
        let (t, m3) = limit_regex_patterns(&t, max_reps);
        text = t;
        if !(m1 || m2 || m3) {
            break;
        }
    }
    text
}

/// Rule 1: a run of more than `max_reps` identical consecutive lines is cut to `max_reps` lines.
pub fn limit_consecutive_lines(text: &str, max_reps: usize) -> (String, bool) {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out: Vec<&str> = Vec::with_capacity(lines.len());
    let mut modified = false;
    let mut i = 0;
    while i < lines.len() {
        let mut j = i + 1;
        while j < lines.len() && lines[j] == lines[i] {
            j += 1;
        }
        let count = j - i;
        if count > max_reps {
            modified = true;
        }
        out.extend(std::iter::repeat_n(lines[i], count.min(max_reps)));
        i = j;
    }
    (out.join("\n"), modified)
}

/// Rule 2: for block sizes 2 … min(29, ⌊lines/5⌋), the first block (in scan order) repeated
/// consecutively more than `max_reps` times keeps `max_reps` copies; what follows the run is dropped
/// too when it is a partial repetition of the block (each line equal to, a prefix of, or prefixed by
/// the block's line, compared after stripping). Only the first modified block size is applied.
pub fn limit_block_patterns(text: &str, max_reps: usize) -> (String, bool) {
    let lines: Vec<&str> = text.split('\n').collect();
    let n = lines.len();
    let upper = 30.min(n / 5 + 1);
    for size in 2..upper {
        let mut i = 0;
        while i + size <= n {
            let block = &lines[i..i + size];
            let mut count = 1;
            let mut j = i + size;
            while j + size <= n && &lines[j..j + size] == block {
                count += 1;
                j += size;
            }
            if count > max_reps {
                let mut out: Vec<&str> = lines[..i].to_vec();
                for _ in 0..max_reps {
                    out.extend_from_slice(block);
                }
                let rest = &lines[j..];
                let keep_from = if !rest.is_empty() && is_partial_repeat(rest, block) { n } else { j };
                out.extend_from_slice(&lines[keep_from..]);
                return (out.join("\n"), true);
            }
            i += 1;
        }
    }
    (text.to_string(), false)
}

fn is_partial_repeat(rest: &[&str], block: &[&str]) -> bool {
    rest.iter().enumerate().all(|(k, rem)| {
        let Some(block_line) = block.get(k) else { return false };
        if rem == block_line {
            return true;
        }
        let rem_s = py_strip(rem);
        let block_s = py_strip(block_line);
        (!rem_s.is_empty() && block_line.starts_with(rem_s)) || (!block_s.is_empty() && rem.starts_with(block_s))
    })
}

/// The unit-length windows of rule 3, in the order they are applied.
const WINDOWS: [(usize, usize); 5] = [(3, 30), (30, 60), (60, 120), (120, 250), (250, 500)];

/// Rule 3: for each window `(m, M)`, Python's `re.sub(r'(.{m,M}?)\1{max_reps,}', unit * max_reps,
/// text, flags=re.DOTALL)` — a unit of m…M characters (shortest first) followed by at least
/// `max_reps` more copies of itself becomes `max_reps` copies — repeated over all windows until a
/// pass changes nothing.
pub fn limit_regex_patterns(text: &str, max_reps: usize) -> (String, bool) {
    let mut chars: Vec<char> = text.chars().collect();
    let mut modified = false;
    loop {
        let mut changed = false;
        for (min, max) in WINDOWS {
            if let Some(next) = sub_repeated_units(&chars, min, max, max_reps) {
                chars = next;
                changed = true;
            }
        }
        if !changed {
            break;
        }
        modified = true;
    }
    (chars.into_iter().collect(), modified)
}

/// One `re.sub` pass of rule 3 over `chars`; `None` when nothing matched.
fn sub_repeated_units(chars: &[char], min: usize, max: usize, max_reps: usize) -> Option<Vec<char>> {
    let n = chars.len();
    let mut out = Vec::with_capacity(n);
    let mut p = 0;
    let mut changed = false;
    while p < n {
        match repeated_unit_at(chars, p, min, max, max_reps) {
            Some((unit, copies)) => {
                for _ in 0..max_reps {
                    out.extend_from_slice(&chars[p..p + unit]);
                }
                p += unit * copies;
                changed = true;
            }
            None => {
                out.push(chars[p]);
                p += 1;
            }
        }
    }
    changed.then_some(out)
}

/// The regex at position `p`: the shortest unit length in `min..=max` that is followed by at least
/// `max_reps` copies, with the greedy number of copies (unit included).
fn repeated_unit_at(chars: &[char], p: usize, min: usize, max: usize, max_reps: usize) -> Option<(usize, usize)> {
    let rest = chars.len() - p;
    for unit in min..=max.min(rest) {
        let mut copies = 1;
        while p + unit * (copies + 1) <= chars.len()
            && chars[p..p + unit] == chars[p + unit * copies..p + unit * (copies + 1)]
        {
            copies += 1;
        }
        if copies > max_reps {
            return Some((unit, copies));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(parts: &[&str]) -> String {
        parts.join("\n")
    }

    #[test]
    fn consecutive_lines_are_cut_to_five() {
        let table = [
            (lines(&["a"; 7]), lines(&["a"; 5]), true),
            (lines(&["a"; 5]), lines(&["a"; 5]), false),
            (lines(&["x", "b", "b", "b", "b", "b", "b", "y"]), lines(&["x", "b", "b", "b", "b", "b", "y"]), true),
            (String::new(), String::new(), false),
            (lines(&["", "", "", "", "", "", ""]), lines(&["", "", "", "", ""]), true),
        ];
        for (input, want, modified) in table {
            assert_eq!(limit_consecutive_lines(&input, 5), (want, modified), "{input:?}");
        }
    }

    #[test]
    fn repeated_blocks_keep_five_copies_and_drop_a_partial_tail() {
        let mut input: Vec<&str> = vec!["intro"];
        for _ in 0..7 {
            input.extend(["one", "two"]);
        }
        let mut want: Vec<&str> = vec!["intro"];
        for _ in 0..5 {
            want.extend(["one", "two"]);
        }
        // A tail that is not a repetition is kept.
        let (out, m) = limit_block_patterns(&lines(&[&input[..], &["end"]].concat()), 5);
        assert!(m);
        assert_eq!(out, lines(&[&want[..], &["end"]].concat()));
        // A partial repetition ("on" is a prefix of "one") is dropped.
        let (out, m) = limit_block_patterns(&lines(&[&input[..], &["on"]].concat()), 5);
        assert!(m);
        assert_eq!(out, lines(&want));
        // ... and so is one that extends the block's line.
        let (out, _) = limit_block_patterns(&lines(&[&input[..], &["one more"]].concat()), 5);
        assert_eq!(out, lines(&want));
        // A tail longer than the block is not a partial repetition.
        let (out, _) = limit_block_patterns(&lines(&[&input[..], &["on", "tw", "x"]].concat()), 5);
        assert_eq!(out, lines(&[&want[..], &["on", "tw", "x"]].concat()));
        // Five copies are left alone.
        let five = lines(&want);
        assert_eq!(limit_block_patterns(&five, 5), (five.clone(), false));
    }

    #[test]
    fn regex_rule_keeps_five_copies_of_the_shortest_unit() {
        let table = [
            ("abcabcabcabcabcabcabc!", "abcabcabcabcabc!"),
            ("xyzxyzxyzxyzxyz", "xyzxyzxyzxyzxyz"),
            ("hééhééhééhééhééhééhééhéé", "hééhééhééhééhéé"),
        ];
        for (input, want) in table {
            assert_eq!(limit_regex_patterns(input, 5).0, want, "{input:?}");
        }
        // "ab"×20 = "abab"×10 matches with unit length 4 → 5 copies of "abab" (Python agrees).
        let (out, m) = limit_regex_patterns(&"ab".repeat(20), 5);
        assert!(m);
        assert_eq!(out, "ab".repeat(10));
        // Newlines are ordinary characters (DOTALL).
        assert_eq!(limit_regex_patterns(&"no\n".repeat(9), 5).0, "no\n".repeat(5));
    }

    #[test]
    fn rules_interact_over_rounds() {
        // Rule 1 cuts 8 identical lines to 5; then rule 3 sees "hi\n" ×4 + "hi" — under 6 copies, stop.
        assert_eq!(limit_repetitions(&lines(&["hi"; 8]), 5), lines(&["hi"; 5]));
        // A line that repeats a unit many times and a block repeated many times are both limited:
        // "la"×21 has unit "lala" (the shortest of 3+ characters) ×10 → ×5, plus the odd "la".
        let text = format!("{}\n{}", "la".repeat(21), lines(&["p", "q"].repeat(8)));
        let out = limit_repetitions(&text, 5);
        assert_eq!(out, format!("{}\n{}", "la".repeat(11), lines(&["p", "q"].repeat(5))));
        // Text without repetition is untouched.
        assert_eq!(limit_repetitions("A normal answer.\nWith two lines.", 5), "A normal answer.\nWith two lines.");
    }

    #[test]
    fn python_whitespace_includes_separators() {
        assert_eq!(py_strip("\u{1f} x \u{3000}"), "x");
        assert_eq!(py_strip("\u{200b}x"), "\u{200b}x");
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_never_grows(s in "(ab|\\n|x|é| |abc\\n){0,200}", reps in 1usize..7) {
            let out = limit_repetitions(&s, reps);
            proptest::prop_assert!(out.chars().count() <= s.chars().count());
        }

        #[test]
        fn never_panics_on_any_text(s in "\\PC{0,300}") {
            let out = limit_repetitions(&s, MAX_REPETITIONS);
            proptest::prop_assert!(out.chars().count() <= s.chars().count());
        }
    }
}
