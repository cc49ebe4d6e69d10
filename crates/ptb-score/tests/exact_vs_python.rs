//! The v1 GPQA letter parser and HumanEval `find_code` against the Python they port, run by CPython
//! on the same 20,000 pseudo-random completions: every answer must be identical. The Python below is
//! inspect-ai 0.3.158's `parse_answers` (single-answer part) and inspect_evals' `find_code` /
//! `extract_function_body` as scorers.md §4.2 and §5.2 quote them.

use std::io::Write;
use std::process::{Command, Stdio};

use ptb_score::{gpqa, humaneval};

const PYTHON: &str = r#"
import json, re, sys
def parse(c):
    m = re.search(r"(?i)^ANSWER\s*:\s*([A-Za-z\d ,]+)\s*(?:$|\n|\.)", c, flags=re.MULTILINE)
    if m is None:
        m = re.search(r"(?i)ANSWER\s*:\s*([A-Za-z\d ,]+)(?:[^\w]|\n|$|\.)", c)
    if m is None:
        return None
    return m.group(1).strip().rstrip(".")
def find_code(completion):
    pattern_1 = re.compile(r"```python\n(.*?)```", re.DOTALL)
    pattern_2 = re.compile(r"```\n(.*?)```", re.DOTALL)
    matches = pattern_1.findall(completion) + pattern_2.findall(completion)
    if matches:
        code = matches[0]
        return code[code.find(":\n    ") + 2 :]
    return completion
for line in sys.stdin:
    c = json.loads(line)
    print(json.dumps([parse(c), find_code(c)]))
"#;

/// Pieces the two parsers treat specially, including the Unicode cases where Python's `re` and Rust's
/// `regex` differ by default (`ſ`, Kelvin sign, dotted/dotless i, U+001C, combining marks, `²`).
const ATOMS: &[&str] = &[
    "ANSWER",
    "answer",
    "Answer",
    "ANSWER:",
    ":",
    " ",
    "  ",
    "\n",
    "\r\n",
    ".",
    ",",
    "A",
    "B",
    "C",
    "D",
    "c",
    "x",
    "1",
    "²",
    "\u{301}",
    "\u{203f}",
    "_",
    "**",
    "(",
    ")",
    "$",
    "İ",
    "ı",
    "ſ",
    "\u{212a}",
    "\u{1c}",
    "\u{a0}",
    "\u{3000}",
    "FINAL ",
    "is",
    "!",
    "```",
    "```python\n",
    "```\n",
    "python",
    ":\n    ",
    "def f(x):",
    "\t",
    "é",
    "٣",
    "Ⅻ",
    "½",
];

#[test]
fn v1_parsers_agree_with_cpython() {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let cases: Vec<String> = (0..20_000).map(|_| (0..next(15)).map(|_| ATOMS[next(ATOMS.len())]).collect()).collect();

    let mut child = Command::new("python3")
        .args(["-c", PYTHON])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs (scripts/setup.sh installs it)");
    let input: String = cases.iter().map(|c| format!("{}\n", serde_json::to_string(c).unwrap())).collect();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(output.status.success());

    let expected: Vec<(Option<String>, String)> =
        String::from_utf8(output.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(expected.len(), cases.len());
    let mismatches: Vec<String> = cases
        .iter()
        .zip(&expected)
        .filter(|(c, (letter, code))| gpqa::parse_v1(c) != *letter || humaneval::find_code_v1(c) != *code)
        .map(|(c, want)| format!("{c:?}: python {want:?}"))
        .take(5)
        .collect();
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
