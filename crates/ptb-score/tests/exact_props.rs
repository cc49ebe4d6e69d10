//! Property tests of the GPQA letter and HumanEval code extractors: no input makes them panic, v1
//! never answers `N`, and the plain well-formed answer is always read back.

use proptest::prelude::*;
use ptb_score::humaneval::{self as he, Problem, StrictCode};
use ptb_score::{Profile, Verdict, gpqa};

/// Text drawn from what the extractors treat specially, mixed with arbitrary Unicode.
fn tricky_text() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "ANSWER",
        "answer",
        "Answer:",
        ":",
        " ",
        "\t",
        "\n",
        "\r\n",
        ".",
        ",",
        "/",
        "&",
        " and ",
        " or ",
        "A",
        "B",
        "C",
        "D",
        "c",
        "E",
        "Cl",
        "1",
        "**",
        "__",
        "$",
        "(",
        ")",
        "[",
        "]",
        "'",
        "\"",
        "`",
        "\\boxed{",
        "\\text{",
        "\\textbf{",
        "{",
        "}",
        "İ",
        "ı",
        "ſ",
        "\u{212a}",
        "\u{1c}",
        "\u{a0}",
        "\u{301}",
        "²",
        "ß",
        "```",
        "```python\n",
        "```py\n",
        "```\n",
        "```Python extra\n",
        ":\n    ",
        "def f(",
        "async def f(",
        "def ",
        "f",
        "(x):",
        "    ",
        "return x",
        "é",
        "\u{0}",
    ]);
    let piece = prop_oneof![3 => atoms.prop_map(str::to_string), 1 => any::<char>().prop_map(String::from)];
    prop::collection::vec(piece, 0..32).prop_map(|v| v.concat())
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![tricky_text(), any::<String>()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn gpqa_extraction_never_panics(completion in any_text(), target in "[A-E]?") {
        let _ = gpqa::parse_v1(&completion);
        let _ = gpqa::parse_strict(&completion);
        let v1 = gpqa::score(Profile::PtbV1, &completion, &target);
        prop_assert_ne!(v1.verdict, Verdict::N, "v1 emits only C or I (§1.2)");
        let _ = gpqa::score(Profile::Strict, &completion, &target);
    }

    #[test]
    fn gpqa_final_answer_line_is_read_by_both_profiles(
        reasoning in "[a-zA-Z0-9 .,()\n]{0,200}".prop_filter("no marker", |r| !r.to_lowercase().contains("answer")),
        letter in prop::sample::select(vec!["A", "B", "C", "D"]),
    ) {
        let completion = format!("{reasoning}\nANSWER: {letter}");
        for profile in [Profile::PtbV1, Profile::Strict] {
            prop_assert_eq!(gpqa::score(profile, &completion, letter).verdict, Verdict::C);
        }
    }

    #[test]
    fn humaneval_extraction_never_panics(completion in any_text(), entry_point in any_text(), stdout in any::<Vec<u8>>()) {
        let problem = Problem { prompt: "def f(x):\n    \"\"\"Doc.\"\"\"\n", test: "def check(c):\n    pass\n", entry_point: &entry_point };
        let answer = he::find_code_v1(&completion);
        let _ = he::extract_function_body_v1(&completion);
        let _ = he::program_v1(&problem, &answer);
        let _ = he::defines_entry_point(&completion, &entry_point);
        match he::find_code_strict(&completion, &entry_point) {
            Some(code) => {
                let program = he::program_strict(&problem, &code, "n0nce");
                prop_assert!(program.ends_with("\nprint(\"n0nce\")\n"));
            }
            // Only a completion of Python whitespace (Rust's plus U+001C–U+001F) has no code.
            None => {
                let blank = completion.chars().all(|c| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c));
                prop_assert!(blank, "no code only for a blank completion: {:?}", completion);
            }
        }
        let _ = he::verdict_strict(true, &stdout, "n0nce");
    }

    #[test]
    fn humaneval_code_without_fences_is_taken_whole(code in "[a-z0-9 :()=+\n]{1,200}".prop_filter("code", |c| !c.trim().is_empty())) {
        prop_assert_eq!(he::find_code_v1(&code), code.clone());
        let strict = he::find_code_strict(&code, "f").unwrap();
        prop_assert_eq!(strict.code, code.clone());
        // A python fence gives the whole block to strict and the text after the first `:\n    ` to v1.
        let fenced = format!("Sure:\n```python\n{code}\n```\n");
        prop_assert_eq!(he::find_code_strict(&fenced, "f").unwrap().code, code.clone());
        let block = format!("{code}\n");
        prop_assert_eq!(he::find_code_v1(&fenced), he::extract_function_body_v1(&block).to_string());
    }

    #[test]
    fn strict_bodies_are_indented_once(body in "[a-z][a-z =+]{0,19}(\n[a-z =+]{1,20}){0,4}") {
        let code = StrictCode { code: body.clone(), defines_entry_point: false };
        let problem = Problem { prompt: "def f(x):\n", test: "", entry_point: "f" };
        let program = he::program_strict(&problem, &code, "n");
        let indented: Vec<String> = body.split('\n').map(|l| format!("    {l}")).collect();
        let want = format!("def f(x):\n{}", indented.join("\n"));
        prop_assert!(program.starts_with(&want), "{:?} does not start with {:?}", program, want);
    }
}
