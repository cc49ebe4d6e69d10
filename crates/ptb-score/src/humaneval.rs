//! HumanEval (scorers.md §5.2, §7.3): the code of a completion and the program that tests it.
//!
//! Pure text functions; running the program is the caller's job (in a sandbox). `PtbV1` is
//! inspect_evals' `find_code` + `extract_function_body` and its program `prompt + answer + "\n" + test
//! + "\n" + "check(entry_point)"`, quirks HE-1…HE-8 included. `Strict` reads paired, labelled fences,
//! prefers the block that defines the entry point, keeps whole definitions and appends a nonce line
//! after `check()` so that an early `sys.exit(0)` no longer passes (§7.3).

use std::sync::LazyLock;

use regex::Regex;

use crate::{Verdict, py};

/// The fields of a HumanEval record that the program is assembled from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Problem<'a> {
    /// Signature and docstring; always ends with `\n` in the dataset.
    pub prompt: &'a str,
    /// Defines `check(candidate)`.
    pub test: &'a str,
    /// The name of the function under test.
    pub entry_point: &'a str,
}

/// `` ```python\n(.*?)``` `` with DOTALL (§5.2 step 1).
static V1_PYTHON_FENCE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)```python\n(.*?)```").expect("valid regex"));
/// `` ```\n(.*?)``` `` with DOTALL (§5.2 step 1).
static V1_BARE_FENCE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?s)```\n(.*?)```").expect("valid regex"));

/// inspect_evals' `find_code` (§5.2 steps 1–3): the first of all `python` fence matches followed by
/// all bare fence matches, cut by [`extract_function_body_v1`]; the raw completion when there is none.
pub fn find_code_v1(completion: &str) -> String {
    let first = V1_PYTHON_FENCE
        .captures_iter(completion)
        .chain(V1_BARE_FENCE.captures_iter(completion))
        .find_map(|c| c.get(1).map(|m| m.as_str()));
    match first {
        Some(code) => extract_function_body_v1(code).to_string(),
        None => completion.to_string(),
    }
}

/// `code[code.find(":\n    ") + 2:]` (§5.2 step 2): from the four spaces after the first `:\n    `,
/// or, when there is none (`find` = −1), everything but the first character (HE-4).
pub fn extract_function_body_v1(code: &str) -> &str {
    match code.find(":\n    ") {
        Some(i) => &code[i + 2..],
        None => code.char_indices().nth(1).map_or("", |(i, _)| &code[i..]),
    }
}

/// The v1 program (§5.2 step 4): `prompt + answer + "\n" + test + "\n" + "check(entry_point)"`.
pub fn program_v1(problem: &Problem<'_>, answer: &str) -> String {
    [problem.prompt, answer, "\n", problem.test, "\n", "check(", problem.entry_point, ")"].concat()
}

/// The code the strict profile runs (§7.3 steps 1–3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrictCode {
    /// The chosen fenced block, or the whole completion (CRLF normalised) when there is none.
    pub code: String,
    /// Whether `code` defines the entry point at top level (`def name(` / `async def name(` at column 0).
    pub defines_entry_point: bool,
}

/// §7.3 steps 1–3. `None` for an empty (whitespace-only) completion, which strict scores `N`.
pub fn find_code_strict(completion: &str, entry_point: &str) -> Option<StrictCode> {
    if py::strip(completion).is_empty() {
        return None;
    }
    let text = completion.replace("\r\n", "\n");
    let blocks = fenced_blocks(&text);
    let python: Vec<&str> =
        blocks.iter().filter(|(info, _)| is_python_label(info)).map(|(_, code)| code.as_str()).collect();
    let candidates: Vec<&str> = if python.is_empty() {
        blocks.iter().filter(|(info, _)| info.is_empty()).map(|(_, code)| code.as_str()).collect()
    } else {
        python
    };
    let chosen = candidates
        .iter()
        .find(|code| defines_entry_point(code, entry_point))
        .or(candidates.first())
        .map_or(text.as_str(), |code| code);
    Some(StrictCode { code: chosen.to_string(), defines_entry_point: defines_entry_point(chosen, entry_point) })
}

/// The line the strict program prints last: `print("<nonce>")`.
pub fn nonce_line(nonce: &str) -> String {
    format!("print({nonce:?})")
}

/// The strict program (§7.3 step 4). A definition of the entry point keeps the whole code after the
/// prompt; a body is indented by four spaces if its first non-blank line is not; then the test,
/// `check(entry_point)` and the nonce line.
pub fn program_strict(problem: &Problem<'_>, code: &StrictCode, nonce: &str) -> String {
    let solution = if code.defines_entry_point {
        format!("\n{}", code.code)
    } else {
        let first = code.code.lines().find(|l| !l.trim().is_empty());
        if first.is_some_and(|l| !l.starts_with([' ', '\t'])) {
            code.code.split('\n').map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
        } else {
            code.code.clone()
        }
    };
    format!("{}{solution}\n{}\ncheck({})\n{}\n", problem.prompt, problem.test, problem.entry_point, nonce_line(nonce))
}

/// §7.3 step 5: C iff the program exited with status 0 and the last line of its stdout is the nonce.
pub fn verdict_strict(exited_zero: bool, stdout: &[u8], nonce: &str) -> Verdict {
    let stdout = String::from_utf8_lossy(stdout);
    let last = stdout.strip_suffix('\n').unwrap_or(&stdout).rsplit('\n').next().unwrap_or("");
    if exited_zero && last == nonce { Verdict::C } else { Verdict::I }
}

/// Paired fences in order (§7.3 step 2): `(info string, content)`. An opening fence is a line starting
/// with three backticks; its block ends at the next line that is only three backticks (trailing
/// whitespace allowed) or at the end of the text.
fn fenced_blocks(text: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(info) = lines[i].strip_prefix("```") else {
            i += 1;
            continue;
        };
        let end = (i + 1..lines.len()).find(|&j| lines[j].trim_end() == "```").unwrap_or(lines.len());
        blocks.push((info.trim().to_string(), lines[i + 1..end].join("\n")));
        i = end + 1;
    }
    blocks
}

/// `python`, `py` or `python3`, case-insensitive, as the first word of the info string.
fn is_python_label(info: &str) -> bool {
    info.split_whitespace().next().is_some_and(|w| ["python", "py", "python3"].contains(&w.to_lowercase().as_str()))
}

/// Whether a line at column 0 reads `def <name>(` or `async def <name>(` (spaces or tabs allowed
/// between the words and before the parenthesis).
pub fn defines_entry_point(code: &str, name: &str) -> bool {
    code.lines().any(|line| {
        let line = line.strip_prefix("async").filter(|r| r.starts_with([' ', '\t'])).map_or(line, str::trim_start);
        line.strip_prefix("def")
            .filter(|r| r.starts_with([' ', '\t']))
            .and_then(|r| r.trim_start().strip_prefix(name))
            .is_some_and(|r| r.trim_start_matches([' ', '\t']).starts_with('('))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADD: Problem<'static> = Problem {
        prompt: "def add(a, b):\n    \"\"\"Add.\"\"\"\n",
        test: "def check(candidate):\n    assert candidate(1, 2) == 3\n",
        entry_point: "add",
    };

    #[test]
    fn v1_takes_the_body_after_the_first_colon_newline_indent() {
        let c = "```python\ndef add(a, b):\n    return a + b\n```";
        assert_eq!(find_code_v1(c), "    return a + b\n");
        // HE-4: no `:\n    ` drops the first character.
        assert_eq!(find_code_v1("```python\ndef add(a, b): return a + b\n```"), "ef add(a, b): return a + b\n");
        assert_eq!(extract_function_body_v1(""), "");
        assert_eq!(extract_function_body_v1("é"), "");
        // HE-1: `py` is not recognised, the raw text is the answer.
        assert_eq!(find_code_v1("```py\nx\n```"), "```py\nx\n```");
        // The python block wins over an earlier bare block.
        assert_eq!(find_code_v1("```\nfirst\n```\n```python\nsecond\n```"), "econd\n");
    }

    #[test]
    fn v1_program_concatenates_like_inspect_evals() {
        assert_eq!(
            program_v1(&ADD, "    return a + b\n"),
            "def add(a, b):\n    \"\"\"Add.\"\"\"\n    return a + b\n\ndef check(candidate):\n    assert candidate(1, 2) == 3\n\ncheck(add)"
        );
    }

    #[test]
    fn strict_fences_pair_in_order_and_prefer_the_definition() {
        let c = "```js\nlet x;\n```\nIn Python:\n```py\nprint(add(1, 2))\n```\n```PYTHON extra\ndef add(a, b):\n    return a + b\n```";
        let code = find_code_strict(c, "add").unwrap();
        assert_eq!(code.code, "def add(a, b):\n    return a + b");
        assert!(code.defines_entry_point);
        let unclosed = find_code_strict("```python\r\ndef add(a, b):\r\n    return a + b\r\n", "add").unwrap();
        assert_eq!(unclosed.code, "def add(a, b):\n    return a + b\n");
        assert_eq!(find_code_strict(" \n", "add"), None);
    }

    #[test]
    fn strict_program_keeps_definitions_and_indents_bodies() {
        let def = StrictCode { code: "import re\ndef add(a, b):\n    return a + b".into(), defines_entry_point: true };
        let p = program_strict(&ADD, &def, "n0");
        assert!(p.starts_with("def add(a, b):\n    \"\"\"Add.\"\"\"\n\nimport re\ndef add(a, b):\n"));
        assert!(p.ends_with("\ncheck(add)\nprint(\"n0\")\n"));
        let body = StrictCode { code: "t = a\nreturn t + b".into(), defines_entry_point: false };
        assert!(program_strict(&ADD, &body, "n0").contains("\"\"\"Add.\"\"\"\n    t = a\n    return t + b\n"));
    }

    #[test]
    fn entry_point_definitions_are_found_at_column_zero_only() {
        assert!(defines_entry_point("async  def add (a):", "add"));
        assert!(defines_entry_point("x = 1\ndef add(a):", "add"));
        assert!(!defines_entry_point("    def add(a):", "add"));
        assert!(!defines_entry_point("def add_one(a):", "add"));
        assert!(!defines_entry_point("define add(a):", "add"));
    }

    #[test]
    fn strict_verdict_needs_exit_zero_and_the_nonce_last() {
        assert_eq!(verdict_strict(true, b"hi\nn0\n", "n0"), Verdict::C);
        assert_eq!(verdict_strict(true, b"n0", "n0"), Verdict::C);
        assert_eq!(verdict_strict(true, b"n0\nmore\n", "n0"), Verdict::I);
        assert_eq!(verdict_strict(false, b"n0\n", "n0"), Verdict::I);
        assert_eq!(verdict_strict(true, b"", "n0"), Verdict::I);
    }
}
